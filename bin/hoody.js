#!/usr/bin/env node
// `hoody` CLI entry point: runs bin/hoody-cli.ts through tsx's ESM loader (no build step).
import { register } from "tsx/esm/api";

register();
await import("./hoody-cli.ts");

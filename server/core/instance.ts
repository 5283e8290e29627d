// The control plane of this process: one database, one engine, one Core. Created on first use
// (and at server start by instrumentation.ts, which also runs the reconciler).
import fs from "node:fs";
import path from "node:path";
import { openDb } from "../db/client";
import { HostClient } from "../engine/host-client";
import { HostEngine } from "../engine/host-engine";
import { incusEngineFromEnv } from "../engine/incus/engine";
import { OperatorAuth } from "./auth";
import { Core } from "./core";
import type { ScriptStore } from "./scripts";

// Next.js bundles instrumentation and each route separately: module-level singletons would be
// several Cores (several DB handles, stats history the routes never see). One per process, on globalThis.
const slot = globalThis as typeof globalThis & { __hoodyCore?: Core; __hoodyAuth?: OperatorAuth; __hoodyScripts?: ScriptStore };

export function dataDir(): string {
  return process.env.HOODY_DATA_DIR ?? "/var/lib/hoody";
}

export function getCore(): Core {
  if (slot.__hoodyCore) return slot.__hoodyCore;
  const dir = dataDir();
  const db = openDb(process.env.HOODY_DB_PATH ?? path.join(dir, "hoody.db"));
  // HOODY_ENGINE=incus drives an Incus server or cluster (HOODY_INCUS_* settings); the embedded host daemon is the default.
  const engine =
    process.env.HOODY_ENGINE === "incus"
      ? incusEngineFromEnv(process.env)
      : new HostEngine(new HostClient(process.env.HOODY_HOSTD_SOCKET ?? path.join(dir, "run", "hostd.sock")));
  const core = new Core(db, engine, {
    domain: process.env.HOODY_DOMAIN ?? "localhost",
    routerPort: Number(process.env.HOODY_ROUTER_PORT ?? 8080),
    maxFirewallRules: 100,
  });
  const tokenFile = path.join(dir, "admin-token");
  if (fs.existsSync(tokenFile)) core.tokens.ensureAdmin(fs.readFileSync(tokenFile, "utf8").trim());
  const auth = new OperatorAuth(db);
  const passwordFile = path.join(dir, "admin-password");
  auth.ensurePassword(fs.existsSync(passwordFile) ? fs.readFileSync(passwordFile, "utf8").trim() : null);
  slot.__hoodyAuth = auth;
  slot.__hoodyScripts = core.scripts;
  slot.__hoodyCore = core;
  return core;
}

export function getAuth(): OperatorAuth {
  getCore();
  return slot.__hoodyAuth!;
}

export function getScripts(): ScriptStore {
  getCore();
  return slot.__hoodyScripts!;
}

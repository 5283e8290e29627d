// The control plane of this process: one database, one engine, one Core. Created on first use
// (and at server start by instrumentation.ts, which also runs the reconciler).
import fs from "node:fs";
import path from "node:path";
import { openDb } from "../db/client";
import { HostClient } from "../engine/host-client";
import { HostEngine } from "../engine/host-engine";
import { incusEngine } from "../engine/incus/engine";
import { dashboardHost, dbPath, hostdSocket, publicUrl, tlsOn, webConfig } from "../config";
import { OperatorAuth } from "./auth";
import { domainResolution } from "./domains";
import { Core } from "./core";
import type { ScriptStore } from "./scripts";

// Next.js bundles instrumentation and each route separately: module-level singletons would be
// several Cores (several DB handles, stats history the routes never see). One per process, on globalThis.
const slot = globalThis as typeof globalThis & { __hoodyCore?: Core; __hoodyAuth?: OperatorAuth; __hoodyScripts?: ScriptStore };

export function getCore(): Core {
  if (slot.__hoodyCore) return slot.__hoodyCore;
  const config = webConfig();
  const dir = config.dataDir;
  const db = openDb(dbPath(config));
  // HOODY_ENGINE=incus drives an Incus server or cluster (HOODY_INCUS_* settings); the embedded host daemon is the default.
  const engine = config.engine === "incus" ? incusEngine(config) : new HostEngine(new HostClient(hostdSocket(config)));
  const core = new Core(db, engine, {
    domain: config.domain,
    routerPort: config.routerPort,
    maxFirewallRules: 100,
    warmPoolDefault: config.warmPoolDefault,
    publicUrl: publicUrl(config),
    dashboardHost: tlsOn(config) ? dashboardHost(config) : undefined,
    ...domainResolution(config),
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

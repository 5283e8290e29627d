// The services that make up a running Hoody, shared by up and down.
import path from "node:path";
import { HostClient } from "../server/engine/host-client.js";
import { caddyAdmin, caddyCommand, caddyPaths } from "../server/caddy/caddy.js";
import { tlsOn, webConfig } from "../server/config.js";
import { hostConfigFromEnv } from "../server/host/config.js";
import { ROOT, type Service } from "./services.js";
import type { UnitSpec } from "./systemd.js";

export const config = hostConfigFromEnv();
export const settings = webConfig();
/** Caddy in front (HOODY_DOMAIN is a public domain): the web server and router then listen on loopback only. */
export const behindCaddy = tlsOn(settings);
export const webPort = settings.webPort;
export const routerPort = settings.routerPort;
export const domain = settings.domain;
export const hostClient = new HostClient(config.socketPath);

const tsx = path.join(ROOT, "node_modules/.bin/tsx");

export const hostd: Service = {
  name: "hostd",
  description: "Hoody host daemon (LXC tenants, BTRFS pool, nftables)",
  command: tsx,
  args: [path.join(ROOT, "server/host/main.ts")],
  healthy: async () => !!(await hostClient.call("host.info", {}, 2000)),
};

export const web: Service = {
  name: "web",
  description: "Hoody web server (dashboard, REST API, /metrics)",
  // Next behind our own HTTP server (server/web/main.ts), run by node itself so the pid is the server's.
  command: process.execPath,
  args: ["--import", "tsx", path.join(ROOT, "server/web/main.ts"), "-p", String(webPort), "-H", behindCaddy ? "127.0.0.1" : "0.0.0.0"],
  env: { NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
  healthy: async () => (await fetch(`http://127.0.0.1:${webPort}/api/health`, { signal: AbortSignal.timeout(2000) })).ok,
};

export const router: Service = {
  name: "router",
  description: "Hoody tenant router",
  command: tsx,
  args: [path.join(ROOT, "server/router/main.ts")],
  env: { HOODY_ROUTER_PORT: String(routerPort), HOODY_DOMAIN: domain },
  healthy: async () => (await fetch(`http://127.0.0.1:${routerPort}/.hoody/health`, { signal: AbortSignal.timeout(2000) })).ok,
};

export const caddyFiles = caddyPaths(settings.dataDir);

/**
 * Caddy, when HOODY_DOMAIN is public: a unit after the router where systemd is PID 1, else a
 * detached process; `npm run up` starts it and hands it a changed configuration in place.
 */
export const caddy: Service = {
  name: "caddy",
  description: "Caddy in front of Hoody (TLS, on-demand certificates)",
  ...caddyCommand(settings.dataDir),
  healthy: async () => (await caddyAdmin(caddyFiles.adminSocket, "GET", "/config/")).status === 200,
};

/** The systemd units of these services, in start order (bin/systemd.ts); Caddy's only while it is in front. */
export const caddyUnit: UnitSpec = { service: caddy, after: [web, router] };
export const unitSpecs: UnitSpec[] = [
  { service: hostd, after: [], keepChildren: true },
  { service: web, after: [hostd] },
  // After the web server, which applies database migrations first.
  { service: router, after: [hostd, web] },
  ...(behindCaddy ? [caddyUnit] : []),
];

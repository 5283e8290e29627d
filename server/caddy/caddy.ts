// Running Caddy for Hoody: where its files live (under $HOODY_DATA_DIR/caddy, root only), the secret
// it shares with the router, its settings from the web config, and reloads through its admin API
// (POST /load on a unix socket: Caddy swaps configurations without dropping connections).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { dashboardHost, type WebConfig } from "../config";
import { type CaddySettings, caddyConfig } from "./config";

export function caddyPaths(dataDir: string) {
  const dir = path.join(dataDir, "caddy");
  return {
    dir,
    adminSocket: path.join(dir, "admin.sock"),
    storageDir: path.join(dir, "storage"),
    configFile: path.join(dir, "caddy.json"),
    accessLog: path.join(dir, "access.log"),
    proxySecret: path.join(dir, "proxy-secret"),
    /** The root of Caddy's internal CA (HOODY_TLS_ISSUER=internal): what clients must trust. */
    rootCert: path.join(dir, "storage", "pki", "authorities", "local", "root.crt"),
  };
}

/** The router–Caddy secret: made once (0600), then read. */
export function ensureProxySecret(dataDir: string): string {
  const { dir, proxySecret } = caddyPaths(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(proxySecret, randomBytes(32).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return fs.readFileSync(proxySecret, "utf8").trim();
}

/** The secret if Caddy was set up (the router trusts nobody's forwarding headers without it). */
export function readProxySecret(dataDir: string): string | null {
  try {
    return fs.readFileSync(caddyPaths(dataDir).proxySecret, "utf8").trim() || null;
  } catch {
    return null;
  }
}

/** Caddy's settings from the web config: it forwards to the router and the web server on loopback. */
export function caddySettings(c: WebConfig, secret: string, extra: Partial<CaddySettings> = {}): CaddySettings {
  const p = caddyPaths(c.dataDir);
  return {
    domain: c.domain,
    dashboardHost: dashboardHost(c),
    httpPort: c.httpPort,
    httpsPort: c.httpsPort,
    routerAddress: `127.0.0.1:${c.routerPort}`,
    webAddress: `127.0.0.1:${c.webPort}`,
    proxySecret: secret,
    adminSocket: p.adminSocket,
    storageDir: p.storageDir,
    accessLog: p.accessLog,
    issuer: c.tlsIssuer === "internal" ? { kind: "internal" } : { kind: "acme", email: c.acmeEmail, ca: c.acmeCa },
    ...(c.tlsCert && c.tlsKey && { certificate: { cert: c.tlsCert, key: c.tlsKey } }),
    ...extra,
  };
}

/** The command line and environment Caddy runs with (its autosave and state stay in its own directory). */
export function caddyCommand(dataDir: string): { command: string; args: string[]; env: Record<string, string> } {
  const p = caddyPaths(dataDir);
  return {
    command: "caddy",
    args: ["run", "--config", p.configFile],
    env: { HOME: p.dir, XDG_DATA_HOME: path.join(p.dir, "xdg"), XDG_CONFIG_HOME: path.join(p.dir, "xdg") },
  };
}

/** Writes the generated config (0600: it holds the secret) for Caddy to start with. */
export function writeCaddyConfig(s: CaddySettings, file: string): string {
  const text = JSON.stringify(caddyConfig(s), null, 2);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, text, { mode: 0o600 });
  return text;
}

/** A request to Caddy's admin API on its unix socket (an empty Host: Caddy allows no other there). */
export function caddyAdmin(socket: string, method: string, p: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // setHost: false, or Node fills in "localhost", which Caddy refuses on a socket.
    const req = http.request(
      { socketPath: socket, method, path: p, setHost: false, headers: { host: "", ...(body !== undefined && { "content-type": "application/json" }) }, timeout: 30_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("Caddy's admin API did not answer in 30 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Swaps Caddy's running configuration (graceful: open connections finish on the old one). */
export async function reloadCaddy(socket: string, configText: string): Promise<void> {
  const r = await caddyAdmin(socket, "POST", "/load", configText);
  if (r.status !== 200) throw new Error(`Caddy refused the configuration (${r.status}): ${r.body.slice(0, 500)}`);
}

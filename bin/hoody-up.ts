// `npm run up`: brings the whole system up on this machine (setup-host.sh already installed what
// was missing). Idempotent: what is already built or running is left as it is.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { dataDir, type Service, servicePid, startService, stopService, waitHealthy } from "./services.js";
import { caddySettings, ensureProxySecret, reloadCaddy, writeCaddyConfig } from "../server/caddy/caddy.js";
import { dashboardHost, publicUrl } from "../server/config.js";
import { behindCaddy, caddy, caddyFiles, config, domain, hostClient, hostd, router, routerPort, settings, unitSpecs, web, webPort } from "./stack.js";
import { ENV_FILE, installUnits, startUnit, stopUnit, systemdIsPid1, UNIT_DIR, unitActive, unitName } from "./systemd.js";
import { ensureWebBuild, sourceStamp, webStampFile } from "./web-build.js";

const log = (msg: string) => console.log(`[up] ${msg}`);

/** A secret file created once (mode 0600) and never rewritten. */
async function ensureSecret(file: string, make: () => string): Promise<"created" | "kept"> {
  try {
    await fs.writeFile(file, make() + "\n", { mode: 0o600, flag: "wx" });
    return "created";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return "kept";
  }
}

const stampFile = (s: Service) => path.join(dataDir(), "run", `${s.name}.stamp`);

/**
 * Starts a service, or restarts it when its code changed since it started (tenants are unaffected):
 * as a systemd unit where systemd is PID 1, else as a detached process with a pid file.
 */
async function startCurrent(service: Service, stamp: string, timeoutMs = 60_000): Promise<string> {
  const codeChanged = (await fs.readFile(stampFile(service), "utf8").catch(() => null)) !== stamp;
  let r: string;
  if (units) {
    // A process the detached mode started (before this box ran systemd, or before units existed) makes way for the unit.
    if (await servicePid(service)) await stopService(service);
    const how = await startUnit(service, codeChanged || unitsChanged.has(service.name));
    await waitHealthy(service, timeoutMs, () => unitActive(service));
    r = `${how} (${unitName(service)})${how === "restarted" ? (codeChanged ? ": code changed" : ": unit or settings changed") : ""}`;
  } else {
    let note = "";
    if ((await servicePid(service)) && codeChanged) {
      await stopService(service);
      note = " (restarted: code changed)";
    }
    r = (await startService(service, timeoutMs)) + note;
  }
  await fs.writeFile(stampFile(service), stamp, { mode: 0o600 });
  return r;
}

let units = false;
let unitsChanged = new Set<string>();

async function main() {
  if (process.getuid?.() !== 0) throw new Error("npm run up must run as root (it manages LXC, BTRFS and nftables)");
  const dir = dataDir();
  await fs.mkdir(dir, { recursive: true, mode: 0o711 });
  const tokenFile = path.join(dir, "admin-token");
  const passwordFile = path.join(dir, "admin-password");
  log(`admin token: ${await ensureSecret(tokenFile, () => `hdy_${randomBytes(24).toString("base64url")}`)}`);
  log(`admin password: ${await ensureSecret(passwordFile, () => randomBytes(12).toString("base64url"))}`);

  units = await systemdIsPid1();
  if (units) {
    unitsChanged = await installUnits(unitSpecs);
    log(`service mode: systemd units (${UNIT_DIR}/hoody-{${unitSpecs.map((u) => u.service.name).join(",")}}.service, enabled at boot; settings in ${ENV_FILE})`);
  } else log("service mode: detached processes with pid files (systemd is not PID 1 here, so nothing starts them at boot)");

  log(`host daemon: ${await startCurrent(hostd, await sourceStamp(["server/host", "server/engine"]))}`);
  const info = await hostClient.call("host.info", {});
  log(`pool ${info.pool.path} (quota: ${info.pool.quotaMode}), cgroup ${info.cgroup}, lxc ${info.lxcVersion}`);

  for (const recipe of ["mini", "starter"]) {
    let last = -1;
    const tpl = await hostClient.buildTemplate(recipe, {
      onProgress: (p, m) => {
        if (p !== last) log(`template ${recipe}: ${p}% ${m}`);
        last = p;
      },
    });
    log(`template ${tpl.name}: ready (${(tpl.bytes / 1048576).toFixed(1)} MiB, ${tpl.tenants} tenants)`);
  }

  await ensureWebBuild(undefined, log);
  log(`dashboard: ${await startCurrent(web, await fs.readFile(webStampFile(), "utf8"), 120_000)}`);
  // The router starts after the web server, which applies database migrations first.
  log(`tenant router: ${await startCurrent(router, await sourceStamp(["server/router", "server/core", "server/db", "server/engine", "drizzle"]))}`);

  if (behindCaddy) log(`caddy: ${await startCaddy()}`);
  // Back to localhost (or HOODY_CADDY=off): a Caddy from an earlier run would still hold :80/:443.
  else if ((units && (await stopUnit(caddy))) || (await stopService(caddy))) log("caddy: stopped (HOODY_DOMAIN is not a public domain, or HOODY_CADDY=off)");
  const { port: publicPort } = publicUrl(settings);
  const shownPort = publicPort === 443 ? "" : `:${publicPort}`;

  console.log(`
Hoody is up.
  Dashboard + API:   ${behindCaddy ? `https://${dashboardHost(settings)}${shownPort}/` : `http://localhost:${webPort}/`}
  Tenant URLs:       ${behindCaddy ? `https://<tenant>.${domain}${shownPort}/  (per port: https://<tenant>-http-<port>.${domain}${shownPort}/)` : `http://<tenant>.${domain}:${routerPort}/`}${behindCaddy && settings.tlsIssuer === "internal" ? `\n  Caddy's root CA:   ${caddyFiles.rootCert}  (trust it in clients)` : ""}
  Admin API token:   ${tokenFile}  (mode 0600)
  Admin password:    ${passwordFile}  (mode 0600)
  Data:              ${dir}   Logs: ${path.join(dir, "logs")}
  Host daemon:       ${config.socketPath}
  Services:          ${units ? `systemd units hoody-*.service (systemctl status hoody-web)` : "detached processes, pid files in " + path.join(dir, "run")}
Stop with: npm run down   (tenants keep running; npm run down -- --all stops them too)`);
}

/**
 * Caddy with the configuration generated from the settings: started with it, or, when it runs,
 * given it through its admin API if it changed (Caddy swaps it in while it keeps listening).
 */
async function startCaddy(): Promise<string> {
  const text = writeCaddyConfig(caddySettings(settings, ensureProxySecret(settings.dataDir)), caddyFiles.configFile);
  const loaded = path.join(dataDir(), "run", "caddy.config");
  // A Caddy the detached mode started makes way for the unit (as the other services do).
  if (units && (await servicePid(caddy))) await stopService(caddy);
  if (units ? await unitActive(caddy) : await servicePid(caddy)) {
    if ((await fs.readFile(loaded, "utf8").catch(() => "")) === text) return "running";
    await reloadCaddy(caddyFiles.adminSocket, text);
    await fs.writeFile(loaded, text, { mode: 0o600 });
    return "running (configuration reloaded)";
  }
  let r: string;
  if (units) {
    r = `${await startUnit(caddy, false)} (${unitName(caddy)})`;
    await waitHealthy(caddy, 30_000, () => unitActive(caddy));
  } else r = await startService(caddy, 30_000);
  await fs.writeFile(loaded, text, { mode: 0o600 });
  return r;
}

main().catch((e) => {
  console.error(`[up] failed: ${(e as Error).message}`);
  process.exit(1);
});

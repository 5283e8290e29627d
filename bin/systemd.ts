// Hoody's services as systemd units, where systemd is PID 1: `npm run up` writes them (and the
// settings file they read), enables them for boot and starts or restarts them with systemctl;
// `npm run down` stops and disables them. The units run exactly the commands the detached mode
// runs (bin/stack.ts), in order: the host daemon first (at boot it brings back every tenant that
// was running and has autostart), then the web server (which applies migrations), then the router.
import fs from "node:fs/promises";
import path from "node:path";
import { run } from "../server/shared/sys.js";
import { logFile, ROOT, type Service } from "./services.js";

export const UNIT_DIR = "/etc/systemd/system";
export const ENV_FILE = "/etc/hoody/hoody.env";

export interface UnitSpec {
  service: Service;
  /** Units this one starts after (and wants). */
  after: Service[];
  /**
   * Stop signals the main process only: the host daemon's tenants (their LXC monitors live in its
   * cgroup) must outlive a restart or stop of the daemon, as they do in the detached mode.
   */
  keepChildren?: boolean;
}

/** systemd is the service manager (sd_booted(3): this directory exists only then). */
export async function systemdIsPid1(): Promise<boolean> {
  return fs.stat("/run/systemd/system").then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export const unitName = (s: Pick<Service, "name">) => `hoody-${s.name}.service`;

/** A double-quoted string as systemd reads one (unit files and EnvironmentFile alike): backslash escapes. */
const quoted = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** One word of ExecStart: quoted when it needs it; `%` (specifiers) and `$` (variables) escaped. */
function execWord(arg: string): string {
  const q = /^[\w@+=:,./-]+$/.test(arg) ? arg : quoted(arg);
  return q.replace(/%/g, "%%").replace(/\$/g, "$$$$");
}

function noNewline(what: string, v: string): string {
  if (/[\n\r]/.test(v)) throw new Error(`${what} holds a line break: a unit file cannot carry it`);
  return v;
}

/** An Environment= line: quoted, with `%` escaped (systemd expands specifiers there, not variables). */
const environmentLine = (k: string, v: string) => `Environment=${quoted(noNewline(k, `${k}=${v}`)).replace(/%/g, "%%")}`;

export function renderUnit(u: UnitSpec, opts: { envFile?: string; log?: string } = {}): string {
  const s = u.service;
  const after = u.after.map(unitName);
  const log = opts.log ?? logFile(s.name);
  // Node's directory first: tsx's own launcher finds `node` on PATH.
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...s.env };
  return [
    "# Written by `npm run up` (bin/systemd.ts); changes here are overwritten at its next run.",
    "[Unit]",
    `Description=${s.description}`,
    `Documentation=file://${path.join(ROOT, "README.md")}`,
    `After=${["network.target", "local-fs.target", ...after].join(" ")}`,
    ...(after.length ? [`Wants=${after.join(" ")}`] : []),
    "",
    "[Service]",
    "Type=simple",
    `WorkingDirectory=${ROOT}`,
    // Optional ("-"): a unit started by hand before `npm run up` wrote it still runs on the defaults.
    `EnvironmentFile=-${opts.envFile ?? ENV_FILE}`,
    ...Object.entries(env).map(([k, v]) => environmentLine(k, v)),
    `ExecStart=${[s.command, ...s.args].map(execWord).join(" ")}`,
    "Restart=on-failure",
    "RestartSec=2",
    // The web server drains for up to 12 s on SIGTERM.
    "TimeoutStopSec=20",
    ...(u.keepChildren ? ["KillMode=process"] : []),
    `StandardOutput=append:${log}`,
    `StandardError=append:${log}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The settings the units run with: every HOODY_* setting of this shell, so a reboot keeps them. */
export function renderEnvFile(env: Record<string, string | undefined> = process.env): string {
  // The CLI's own settings and the tests' fault switch are not the services'.
  const skip = new Set(["HOODY_TOKEN", "HOODY_URL", "HOODY_FAULT_POINT"]);
  const lines = Object.entries(env)
    .filter(([k, v]) => k.startsWith("HOODY_") && !skip.has(k) && v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${quoted(noNewline(k, v!))}`);
  return ["# Hoody's settings for its systemd units, written by `npm run up` from its environment.", ...lines, ""].join("\n");
}

/** Writes a file when its content differs; true when it did. */
async function writeIfChanged(file: string, text: string, mode: number): Promise<boolean> {
  if ((await fs.readFile(file, "utf8").catch(() => null)) === text) return false;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await fs.writeFile(file, text, { mode });
  await fs.chmod(file, mode);
  return true;
}

const systemctl = (...args: string[]) => run("systemctl", args, { timeoutMs: 120_000 });

/** Writes the settings file and every unit; answers the units whose file or settings changed. */
export async function installUnits(units: UnitSpec[]): Promise<Set<string>> {
  const envChanged = await writeIfChanged(ENV_FILE, renderEnvFile(), 0o600);
  const changed = new Set<string>();
  for (const u of units) {
    await fs.mkdir(path.dirname(logFile(u.service.name)), { recursive: true, mode: 0o700 });
    if ((await writeIfChanged(path.join(UNIT_DIR, unitName(u.service)), renderUnit(u), 0o644)) || envChanged) changed.add(u.service.name);
  }
  if (changed.size) await systemctl("daemon-reload");
  await systemctl("enable", ...units.map((u) => unitName(u.service)));
  return changed;
}

export async function unitActive(s: Pick<Service, "name">): Promise<boolean> {
  // is-active exits 3 for inactive, failed or activating units (systemctl(1)).
  return (await run("systemctl", ["is-active", "--quiet", unitName(s)], { okCodes: [1, 2, 3, 4] })).exitCode === 0;
}

/** Starts the unit, or restarts it when `restart` (its code, unit or settings changed). */
export async function startUnit(s: Service, restart: boolean): Promise<"started" | "restarted" | "running"> {
  const active = await unitActive(s);
  if (active && !restart) return "running";
  await systemctl(active ? "restart" : "start", unitName(s));
  return active ? "restarted" : "started";
}

/** Stops the unit and takes it out of boot; false when it was not running. */
export async function stopUnit(s: Pick<Service, "name">): Promise<boolean> {
  const active = await unitActive(s);
  // A unit that was never installed (this box ran the detached mode until now) is not an error here.
  await run("systemctl", ["disable", "--now", unitName(s)], { timeoutMs: 120_000 }).catch(() => undefined);
  return active;
}

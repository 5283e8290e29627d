// Background services started by `npm run up` and stopped by `npm run down`: each one a detached
// process with a pid file and a log file under $HOODY_DATA_DIR. No broad process matching: a
// service is whatever pid its pid file names, checked against its command line.
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { webConfig } from "../server/config.js";

export const ROOT = path.resolve(import.meta.dirname, "..");

export interface Service {
  name: string;
  /** What it is, for its systemd unit's Description. */
  description: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Resolves true once the service answers. */
  healthy: () => Promise<boolean>;
}

export function dataDir(): string {
  return webConfig().dataDir;
}

const pidFile = (name: string) => path.join(dataDir(), "run", `${name}.pid`);
export const logFile = (name: string) => path.join(dataDir(), "logs", `${name}.log`);

/** A process's start time (clock ticks since boot): with the pid it names one process for good. */
async function startTime(pid: number): Promise<string | null> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  // Field 22; the command name (field 2) may contain spaces, so count from the closing paren.
  return stat ? (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null) : null;
}

/** The pid of a running service, or null. The pid file holds "pid starttime", so a recycled pid never matches. */
export async function servicePid(s: Pick<Service, "name">): Promise<number | null> {
  const text = await fs.readFile(pidFile(s.name), "utf8").catch(() => null);
  const [pidText, started] = (text ?? "").trim().split(" ");
  const pid = Number(pidText);
  if (!pid || !started) return null;
  return (await startTime(pid)) === started ? pid : null;
}

export async function startService(s: Service, timeoutMs = 60_000): Promise<"started" | "running"> {
  if (await servicePid(s)) {
    if (await s.healthy().catch(() => false)) return "running";
    throw new Error(`${s.name} runs (pid file ${pidFile(s.name)}) but is not healthy: see ${logFile(s.name)}`);
  }
  if (await s.healthy().catch(() => false)) {
    throw new Error(`something else already answers for ${s.name} (port or socket in use), but not a service this data dir started`);
  }
  await fs.mkdir(path.dirname(pidFile(s.name)), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.dirname(logFile(s.name)), { recursive: true, mode: 0o700 });
  const out = openSync(logFile(s.name), "a", 0o600);
  const child = spawn(s.command, s.args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, ...s.env },
  });
  closeSync(out);
  child.unref();
  await fs.writeFile(pidFile(s.name), `${child.pid} ${await startTime(child.pid!)}\n`, { mode: 0o600 });
  await waitHealthy(s, timeoutMs, async () => child.exitCode === null);
  return "started";
}

/** Waits until the service answers while `alive` holds; else fails with the end of its log. */
export async function waitHealthy(s: Pick<Service, "name" | "healthy">, timeoutMs: number, alive: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await alive())) break;
    if ((await s.healthy().catch(() => false)) && (await alive())) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const log = await fs.readFile(logFile(s.name), "utf8").catch(() => "");
  throw new Error(`${s.name} did not become healthy; last log lines:\n${log.split("\n").slice(-20).join("\n")}`);
}

export async function stopService(s: Pick<Service, "name">, timeoutMs = 15_000): Promise<boolean> {
  const pid = await servicePid(s);
  if (!pid) {
    await fs.rm(pidFile(s.name), { force: true });
    return false;
  }
  // Detached services lead their own process group: stop the group (with any workers they start).
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await servicePid(s))) await new Promise((r) => setTimeout(r, 100));
  if (await servicePid(s)) signal("SIGKILL");
  await fs.rm(pidFile(s.name), { force: true });
  return true;
}

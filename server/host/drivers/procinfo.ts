// Host-wide /proc readers for tenant stats: one read of /proc/net/dev serves every tenant's veth
// counters (instead of eight sysfs files each), and a process's start time from /proc/<pid>/stat.
import { readFileSync } from "node:fs";
import { readKernelText } from "./kernfile.js";

/** Counters of an interface as the kernel counts them on the host side. */
export interface IfaceCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** Parses /proc/net/dev: "name: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets errs drop …". */
export function parseNetDev(text: string): Map<string, IfaceCounters> {
  const out = new Map<string, IfaceCounters>();
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(line.slice(0, colon).trim(), { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! });
  }
  return out;
}

export function netDevCounters(): Map<string, IfaceCounters> {
  try {
    return parseNetDev(readFileSync("/proc/net/dev", "utf8"));
  } catch {
    return new Map();
  }
}

/** USER_HZ: /proc's clock ticks per second, 100 on every Linux architecture Debian ships. */
const TICKS_PER_S = 100;
let bootMs: number | null = null;

/** Boot time (ms since the epoch) from /proc/stat's btime; read once. */
function bootTimeMs(): number {
  if (bootMs === null) bootMs = Number(/^btime (\d+)/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0) * 1000;
  return bootMs;
}

/** Field 22 of /proc/<pid>/stat (start time in ticks after boot); the comm field may hold spaces and parentheses. */
export function parseStartTicks(stat: string): number | null {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(rest[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

/**
 * Start times of processes, each read once for as long as the process lasts (its start never changes).
 * `identity(pid)` must stay the same exactly as long as the process does and change for a new process
 * with a reused pid: the stats collection passes the open of the process's held ksm_stat (a held /proc
 * file fails once its process exits and is opened anew, kernfile.ts). Without one (no KSM, no held
 * files left) the start is read every time.
 */
export class ProcessStarts {
  private readonly known = new Map<number, { identity: number; ticks: number }>();

  constructor(private readonly identity: (pid: number) => number | null) {}

  /** When the oldest of these processes started (ms since the epoch), or null when none is readable. */
  oldestMs(pids: number[]): number | null {
    let min: number | null = null;
    for (const pid of pids) {
      const ticks = this.ticks(pid);
      if (ticks !== null && (min === null || ticks < min)) min = ticks;
    }
    return min === null ? null : bootTimeMs() + (min * 1000) / TICKS_PER_S;
  }

  /** Forgets the processes whose identity has gone (exited, or their held file closed). */
  prune(): void {
    for (const [pid, k] of this.known) if (this.identity(pid) !== k.identity) this.known.delete(pid);
  }

  private ticks(pid: number): number | null {
    const identity = this.identity(pid);
    const k = this.known.get(pid);
    if (identity !== null && k?.identity === identity) return k.ticks;
    const stat = readKernelText(`/proc/${pid}/stat`);
    const ticks = stat === null ? null : parseStartTicks(stat); // null: exited meanwhile
    if (ticks !== null && identity !== null) this.known.set(pid, { identity, ticks });
    return ticks;
  }
}

// Host-wide /proc readers for tenant stats: one read of /proc/net/dev serves a fleet's veth counters
// (instead of eight sysfs files each; a few tenants' are read from sysfs), and a process's start
// time from /proc/<pid>/stat.
import { readFileSync } from "node:fs";
import { readKernelNumber, readKernelText } from "./kernfile.js";

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

/**
 * Parses /proc/net/dev: "name: rx bytes packets errs drop fifo frame compressed multicast tx bytes
 * packets errs drop …". One pass over the characters: a collection parses a line per running tenant
 * (1,000 lines; splitting and mapping each took 3.4 ms of a collection, this takes a tenth).
 */
export function parseNetDev(text: string): Map<string, IfaceCounters> {
  const out = new Map<string, IfaceCounters>();
  const f = new Array<number>(16);
  // The two header lines.
  let at = text.indexOf("\n", text.indexOf("\n") + 1) + 1;
  while (at > 0 && at < text.length) {
    const eol = text.indexOf("\n", at) < 0 ? text.length : text.indexOf("\n", at);
    const colon = text.indexOf(":", at);
    if (colon > 0 && colon < eol) {
      let n = 0;
      let ok = true;
      for (let i = colon + 1; i < eol && ok; ) {
        while (i < eol && text.charCodeAt(i) === 32) i++;
        if (i === eol) break;
        let v = 0;
        const from = i;
        for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) v = v * 10 + (c - 48);
        // Not a number, or a 17th field: the line is not one of ours.
        if (i === from || (i < eol && text.charCodeAt(i) !== 32) || n === 16) ok = false;
        else f[n++] = v;
      }
      if (ok && n === 16)
        out.set(text.slice(at, colon).trim(), { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! });
    }
    at = eol + 1;
  }
  return out;
}

/**
 * Counters of interfaces by name: for a few, each one's sysfs statistics (eight small files); for
 * more, one read of /proc/net/dev. /proc/net/dev has a line per interface on the host, each a
 * summing of the device's per-CPU counters (and its veth peer's): with 1,000 tenants running it
 * costs milliseconds, which a single tenant's stats (its page, GET …/stats) would pay in full.
 */
export function netDevCounters(names?: string[]): Map<string, IfaceCounters> {
  if (names && names.length <= SYSFS_BELOW) return sysfsCounters(names);
  try {
    return parseNetDev(readFileSync("/proc/net/dev", "utf8"));
  } catch {
    return new Map();
  }
}

/** Up to this many interfaces are read from sysfs (eight small files each; /proc/net/dev took 1.3–1.8 ms at 1,000 running). */
const SYSFS_BELOW = 32;

const SYSFS_COUNTERS: [keyof IfaceCounters, string][] = [
  ["rxBytes", "rx_bytes"],
  ["rxPackets", "rx_packets"],
  ["rxErrors", "rx_errors"],
  ["rxDropped", "rx_dropped"],
  ["txBytes", "tx_bytes"],
  ["txPackets", "tx_packets"],
  ["txErrors", "tx_errors"],
  ["txDropped", "tx_dropped"],
];

/** Each named interface's counters from /sys/class/net/<name>/statistics; one not there (stopped) is left out. */
function sysfsCounters(names: string[]): Map<string, IfaceCounters> {
  const out = new Map<string, IfaceCounters>();
  for (const name of names) {
    // A name that is not one (the tenant's record is trusted, but a path stays a path).
    if (!name || name.includes("/") || name.startsWith(".")) continue;
    const c = {} as IfaceCounters;
    let present = true;
    for (const [key, file] of SYSFS_COUNTERS) {
      const v = readKernelNumber(`/sys/class/net/${name}/statistics/${file}`);
      if (v === null) {
        present = false;
        break;
      }
      c[key] = v;
    }
    if (present) out.set(name, c);
  }
  return out;
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

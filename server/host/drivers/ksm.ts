// KSM: ksmd merges identical anonymous pages, but only in memory that opted in. The tenant's
// processes opt in by inheriting PR_SET_MEMORY_MERGE: its init from the lxc-start the launcher
// execs with it set (launch.pl), what is run inside it (lxc-attach) from a spawn of this process,
// which sets it for exactly that synchronous spawn and clears it, so the daemon's own heap is not scanned.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { libcFunc } from "../ffi.js";
import { heldKernelFiles, readKernelNumber } from "./kernfile.js";

const PR_SET_MEMORY_MERGE = 67;
const KSM_DIR = "/sys/kernel/mm/ksm";

type Prctl = (option: number, a2: number, a3: number, a4: number, a5: number) => number;
function libcPrctl(): Prctl {
  const prctl = libcFunc<Prctl>("int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)");
  if (!prctl) throw new Error("libc.so.6 cannot be loaded: PR_SET_MEMORY_MERGE is unavailable");
  return prctl;
}

export function ksmAvailable(): boolean {
  return existsSync(`${KSM_DIR}/run`);
}

/** Turns ksmd on (run=1); idempotent. */
export function enableKsmd(): void {
  if (!ksmAvailable()) return;
  if (readFileSync(`${KSM_DIR}/run`, "utf8").trim() !== "1") writeFileSync(`${KSM_DIR}/run`, "1");
}

/** Runs a synchronous spawn with memory merging inherited by the child (or explicitly not). */
export function spawnWithMemoryMerge<T>(merge: boolean, spawn: () => T): T {
  if (!merge || !ksmAvailable()) return spawn();
  const fn = libcPrctl();
  if (fn(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) !== 0) return spawn();
  try {
    return spawn();
  } finally {
    fn(PR_SET_MEMORY_MERGE, 0, 0, 0, 0);
  }
}

function readNum(file: string): number {
  return readKernelNumber(file) ?? 0;
}

export function hostKsmStats() {
  const pageSize = 4096;
  const pagesShared = readNum(`${KSM_DIR}/pages_shared`);
  const pagesSharing = readNum(`${KSM_DIR}/pages_sharing`);
  return {
    run: readNum(`${KSM_DIR}/run`) === 1,
    pagesShared,
    pagesSharing,
    savedBytes: pagesSharing * pageSize,
    generalProfitBytes: readNum(`${KSM_DIR}/general_profit`),
  };
}

/**
 * /proc/PID/ksm_stat by pid, as one string per pid while it is read: the held files are keyed by
 * path, and a path made anew at each collection is hashed anew (a running tenant's few processes,
 * every collection). Emptied once it holds more pids than a box runs.
 */
const ksmStatPaths = new Map<number, string>();
export function ksmStatPath(pid: number): string {
  let p = ksmStatPaths.get(pid);
  if (p === undefined) {
    if (ksmStatPaths.size >= 65_536) ksmStatPaths.clear();
    p = `/proc/${pid}/ksm_stat`;
    ksmStatPaths.set(pid, p);
  }
  return p;
}

/** Per-process KSM numbers from /proc/PID/ksm_stat (merging pages and the kernel's profit estimate). */
export function processKsm(pid: number): { mergingPages: number; profitBytes: number } {
  const text = heldKernelFiles.text(ksmStatPath(pid)) ?? "";
  return { mergingPages: ksmField(text, "ksm_merging_pages "), profitBytes: ksmField(text, "ksm_process_profit ") };
}

/** The number after `key` at the start of a line of ksm_stat (the profit may be negative), or 0. */
export function ksmField(text: string, key: string): number {
  for (let at = 0; at < text.length; ) {
    const eol = text.indexOf("\n", at);
    const end = eol < 0 ? text.length : eol;
    if (text.startsWith(key, at)) return Number(text.slice(at + key.length, end)) || 0;
    at = end + 1;
  }
  return 0;
}

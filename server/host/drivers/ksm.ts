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

/** Per-process KSM numbers from /proc/PID/ksm_stat (merging pages and the kernel's profit estimate). */
export function processKsm(pid: number): { mergingPages: number; profitBytes: number } {
  const text = heldKernelFiles.text(`/proc/${pid}/ksm_stat`);
  let mergingPages = 0;
  let profitBytes = 0;
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.split(" ");
    if (k === "ksm_merging_pages") mergingPages = Number(v) || 0;
    else if (k === "ksm_process_profit") profitBytes = Number(v) || 0;
  }
  return { mergingPages, profitBytes };
}

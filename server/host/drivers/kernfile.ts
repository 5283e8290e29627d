// Reading the kernel's small files (sysfs attributes, cgroup files, /proc/PID/*): a stats collection
// reads about fifteen per running tenant, so each is one open, reads into a reused buffer and one
// close (readFileSync adds an fstat, a fresh buffer and a decode of its own for every file).
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { execa } from "execa";
import { libcFunc } from "../ffi.js";

const buffer = Buffer.allocUnsafe(64 * 1024);
type Pread = (fd: number, into: Buffer, count: number, offset: number) => number;
/**
 * pread(2) straight from libc: a stats collection makes about ten thousand reads, and fs.readSync
 * adds checks and a binding of its own to each (1-1.3 against 1.6-4 µs a read alone; in a whole
 * collection the kernel's own work per file is most of the time).
 */
const pread = libcFunc<Pread>("long pread(int, void *, size_t, long)");
/** Half of a 4 KiB page: a seq_file read shorter than this is its last. */
const LAST_READ_BELOW = 2048;

/** The file's text, or null when it cannot be read (gone, not there on this kernel, no permission). */
export function readKernelText(file: string): string | null {
  const fd = openOrNull(file);
  if (fd === null) return null;
  try {
    return readWhole(fd);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** An fd on the file (read-only), or null when it cannot be opened. */
function openOrNull(file: string): number | null {
  try {
    return openSync(file, "r");
  } catch {
    return null;
  }
}

/**
 * The whole content of an open kernel file, read from offset 0 (a seq_file read again from 0 shows
 * the value anew). seq_file files (cgroup.procs, /proc/PID/*) answer a page per read at most, however
 * large the buffer: a short read is not the end of a long file. But each read is as many whole
 * records as fill the page, and no record read here comes near half a page, so a read under half of
 * the smallest page is the end; a longer one is followed to a read of 0. (Saves a read per file: a
 * dozen per running tenant per collection.)
 */
function readWhole(fd: number): string {
  let text = "";
  for (let at = 0; ; ) {
    const n = pread ? pread(fd, buffer, buffer.length, at) : readSync(fd, buffer, 0, buffer.length, at);
    if (n < 0) throw new Error(`cannot read fd ${fd}`);
    text += buffer.toString("latin1", 0, n);
    at += n;
    if (n < LAST_READ_BELOW) return text;
  }
}

/** The file's content as a number, or null when it cannot be read or is not one. */
export function readKernelNumber(file: string): number | null {
  return asNumber(readKernelText(file));
}

function asNumber(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

/**
 * Kernel files read at every stats collection (a running tenant's cgroup values, its processes'
 * ksm_stat and stat, its qgroup's bytes), kept open and read again from offset 0: a read of a held
 * file costs a third of an open, read and close (measured: 1.4 against 4–6 µs a file, a dozen files
 * per running tenant). Only for files whose object's removal makes reads of an open file fail: a
 * removed cgroup or sysfs kobject answers ENODEV, an exited process's /proc files ESRCH; the holder
 * then closes it and opens the path anew (a cgroup made again under the same name, a reused pid), so
 * a held file never shows an old object's value. Not for files whose open pins a snapshot (v1
 * cgroup.procs reuses its pid list for a second after a read on the same open file) nor for regular
 * files (an unlinked one still reads). Each held seq_file keeps a page of kernel memory: at most
 * `max` are held (about 28 MiB for 1,000 running tenants); past that, files are read as readKernelText
 * does. Files not read for a minute (stopped tenants, exited processes) are closed by release().
 */
export class HeldKernelFiles {
  private readonly held = new Map<string, { fd: number; readAt: number; open: number }>();
  private releasedAt = 0;
  private opens = 0;

  /** `max`: how many it may hold (the daemon sets it once its open-file limit is raised, and splits it with the stats shard). */
  constructor(public max: number) {}

  get size(): number {
    return this.held.size;
  }

  text(file: string): string | null {
    const h = this.held.get(file);
    if (h) {
      try {
        const text = readWhole(h.fd);
        h.readAt = Date.now();
        return text;
      } catch {
        // Its object is gone: what is at the path now (if anything) is opened below.
        this.drop(file);
      }
    }
    if (this.held.size >= this.max) return readKernelText(file);
    const fd = openOrNull(file);
    if (fd === null) return null;
    try {
      const text = readWhole(fd);
      this.held.set(file, { fd, readAt: Date.now(), open: ++this.opens });
      return text;
    } catch {
      closeSync(fd);
      return null;
    }
  }

  number(file: string): number | null {
    return asNumber(this.text(file));
  }

  /** The file's text when it is held (as text() reads it), undefined when it is not: what was running is read so. */
  textIfHeld(file: string): string | null | undefined {
    return this.held.has(file) ? this.text(file) : undefined;
  }

  /** Closes the file if it is held. */
  close(file: string): void {
    if (this.held.has(file)) this.drop(file);
  }

  /**
   * Which open of the file is held (a number never given to another), or null when it is not: the
   * same for as long as reads find the same object (the same process, the same cgroup).
   */
  openOf(file: string): number | null {
    return this.held.get(file)?.open ?? null;
  }

  /** Closes the files not read for idleMs; does nothing if it last ran less than idleMs / 6 ago. */
  release(idleMs = 60_000): void {
    const now = Date.now();
    if (now - this.releasedAt < idleMs / 6) return;
    this.releasedAt = now;
    for (const [file, h] of this.held) if (now - h.readAt >= idleMs) this.drop(file);
  }

  /**
   * Closes the held files under `prefix` not read since `since` (ms since the epoch): a collection of
   * every running tenant reads each running process's /proc files, so one it did not read is of a
   * process gone from every tenant, whose held file would keep its pid and user namespaces alive.
   */
  closeUnread(prefix: string, since: number): void {
    for (const [file, h] of this.held) if (file.startsWith(prefix) && h.readAt < since) this.drop(file);
  }

  closeAll(): void {
    for (const file of [...this.held.keys()]) this.drop(file);
  }

  private drop(file: string): void {
    const h = this.held.get(file);
    if (!h) return;
    this.held.delete(file);
    try {
      closeSync(h.fd);
    } catch {
      // already closed
    }
  }
}

/**
 * How many kernel files the daemon may hold open: its open-file limit (Node raises the soft limit to
 * the hard one; systemd's default hard limit is 524,288) less HELD_FILES_RESERVE for everything else
 * it opens (sockets, pipes to its children, the files of a create), at least half of it, at most
 * 16,384 (a page of kernel memory each: 64 MiB).
 */
export function heldFileBudget(limits = readLimits()): number {
  const soft = openFileLimit(limits);
  if (!soft) return 0;
  if (soft === "unlimited") return 16_384;
  const n = Number(soft);
  return Math.min(16_384, Math.max(Math.floor(n / 2), n - HELD_FILES_RESERVE));
}

/** The soft open-file limit, "unlimited", or undefined when unknown. */
function openFileLimit(limits = readLimits()): string | undefined {
  return /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
}

/** Open files the daemon keeps for its other work: a few hundred at its busiest. */
const HELD_FILES_RESERVE = 4096;

function readLimits(): string {
  try {
    return readFileSync("/proc/self/limits", "latin1");
  } catch {
    return "";
  }
}

/**
 * Raises the daemon's open-file limit, soft and hard, to `want` (within the kernel's fs.nr_open) when
 * its hard limit is lower: a root daemon may, as HAProxy raises its own. The held files' budget comes
 * from it, and 1,000 running tenants' collection reads about 11,000 files: those past the budget
 * cost an open and a close each time.
 */
export async function raiseOpenFileLimit(want = 65_536): Promise<void> {
  const hard = /^Max open files\s+\S+\s+(\d+|unlimited)/m.exec(readLimits())?.[1];
  if (!hard || hard === "unlimited" || Number(hard) >= want) return;
  let nrOpen = want;
  try {
    nrOpen = Number(readFileSync("/proc/sys/fs/nr_open", "latin1").trim()) || want;
  } catch {
    // No procfs view of it: ask for `want`, which the kernel refuses if it is above.
  }
  const n = Math.min(want, nrOpen);
  // Best effort: a container or VM may deny even root (this one's root lacks CAP_SYS_RESOURCE).
  await execa("prlimit", ["--pid", String(process.pid), `--nofile=${n}:${n}`], { reject: false });
}

/** The daemon's held files (stats collections). */
export const heldKernelFiles = new HeldKernelFiles(heldFileBudget());

// Reading the kernel's small files (sysfs attributes, cgroup files, /proc/PID/*): a stats collection
// reads about fifteen per running tenant, so each is one open, reads into a reused buffer and one
// close (readFileSync adds an fstat, a fresh buffer and a decode of its own for every file).
import { closeSync, openSync, readSync } from "node:fs";

const buffer = Buffer.allocUnsafe(64 * 1024);
/** Half of a 4 KiB page: a seq_file read shorter than this is its last. */
const LAST_READ_BELOW = 2048;

/** The file's text, or null when it cannot be read (gone, not there on this kernel, no permission). */
export function readKernelText(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  try {
    let text = "";
    // seq_file files (cgroup.procs, /proc/PID/*) answer a page per read at most, however large the
    // buffer: a short read is not the end of a long file. But each read is as many whole records as
    // fill the page, and no record read here comes near half a page, so a read under half of the
    // smallest page is the end; a longer one is followed to a read of 0. (Saves a read per file:
    // a dozen per running tenant per collection.)
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      text += buffer.toString("latin1", 0, n);
      if (n < LAST_READ_BELOW) return text;
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The file's content as a number, or null when it cannot be read or is not one. */
export function readKernelNumber(file: string): number | null {
  const text = readKernelText(file);
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

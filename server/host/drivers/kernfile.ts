// Reading the kernel's small files (sysfs attributes, cgroup files, /proc/PID/*): a stats collection
// reads about fifteen per running tenant, so each is one open, reads into a reused buffer and one
// close (readFileSync adds an fstat, a fresh buffer and a decode of its own for every file).
import { closeSync, openSync, readSync } from "node:fs";

const buffer = Buffer.allocUnsafe(64 * 1024);

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
    // Read to the end (a read of 0): seq_file files (cgroup.procs, /proc/PID/*) answer at most a
    // page per read, however large the buffer, so a short read is not the end of a long one.
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return text;
      text += buffer.toString("latin1", 0, n);
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

// Reading the kernel's small files (sysfs attributes, cgroup files, /proc/PID/*): a stats collection
// reads about fifteen per running tenant, so each read is one open, one read into a reused buffer
// and one close (readFileSync adds an fstat, a fresh buffer and a decode of its own for every file).
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
    // Files past the buffer (a cgroup.procs of thousands of pids) are read on, piece by piece.
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      text += buffer.toString("latin1", 0, n);
      if (n < buffer.length) return text;
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

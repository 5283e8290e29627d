// The host's mount table, read from /proc (one read, no spawn): drivers check their own mounts with it
// on every start and erase.
import { readFileSync } from "node:fs";

/** Every mount point in this process's mount namespace (the host's, for the daemon). */
export function mountPoints(): Set<string> {
  return new Set(
    readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      .filter(Boolean),
  );
}

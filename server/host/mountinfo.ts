// The host's mount table, read from /proc (one read, no spawn): drivers check their own mounts with it
// on every start and erase.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

/** Every mount point in this process's mount namespace (the host's, for the daemon). */
export function mountPoints(): Set<string> {
  return new Set(
    readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      .filter(Boolean),
  );
}

/**
 * Whether a filesystem is mounted at `p`, in two stat calls: its device differs from its parent's
 * (or it is its own parent, "/"). Every create and start asks this of the tenant's ramdisk, /proc
 * point and shares; reading the mount table instead grew with the tenants on the box (each holds a
 * ramdisk mount: at 10,000 the table is megabytes, read several times per start). Holds for what
 * we mount (a tmpfs, a procfs, an idmapped bind of a BTRFS subvolume: each has a device of its
 * own); a bind of a directory onto another of the same filesystem would not be seen.
 */
export function isMountPoint(p: string): boolean {
  try {
    const a = statSync(p);
    const b = statSync(path.dirname(p));
    return a.dev !== b.dev || a.ino === b.ino;
  } catch {
    return false;
  }
}

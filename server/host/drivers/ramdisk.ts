// Per-tenant ramdisks: a size-capped tmpfs on the host, bind-mounted at /ramdisk in the tenant. A
// tmpfs made inside the container's own mount namespace would vanish with every restart; this one
// survives the tenant's restarts (Hoody's documented behaviour) and goes with a host reboot or the
// tenant's erasure. Its pages are charged to the memory cgroup of the tenant process that writes them.
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { run } from "../sys.js";

export class Ramdisks {
  constructor(readonly dir: string) {}

  path(id: string): string {
    return path.join(this.dir, id);
  }

  /** Whether the tenant's tmpfs is mounted (from the mount table: one read, no spawn). */
  mounted(id: string): boolean {
    const target = this.path(id);
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((line) => line.split(" ")[4] === target);
  }

  /**
   * Mounts the tenant's tmpfs (owned by its root, uid `owner` on the host) or, when it is there
   * already, sets its size. Shrinking below what is stored fails, and the ramdisk stays as it was.
   */
  async ensure(id: string, sizeMiB: number, owner: number): Promise<void> {
    const p = this.path(id);
    if (this.mounted(id)) {
      await run("mount", ["-o", `remount,size=${sizeMiB}m`, p]);
      return;
    }
    await fs.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await fs.mkdir(p, { recursive: true, mode: 0o700 });
    await run("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=1777,uid=${owner},gid=${owner},nosuid,nodev`, "hoody-ramdisk", p]);
  }

  /** Unmounts and removes the tenant's ramdisk (its contents are gone with it); says whether one was mounted. */
  async remove(id: string): Promise<boolean> {
    const was = this.mounted(id);
    if (was) await run("umount", [this.path(id)]);
    await fs.rm(this.path(id), { recursive: true, force: true });
    return was;
  }
}

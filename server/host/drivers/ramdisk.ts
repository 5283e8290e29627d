// Per-tenant ramdisks: a size-capped tmpfs on the host, bind-mounted at /ramdisk in the tenant. A
// tmpfs made inside the container's own mount namespace would vanish with every restart; this one
// survives the tenant's restarts (Hoody's documented behaviour) and goes with a host reboot or the
// tenant's erasure. Its pages are charged to the memory cgroup of the tenant process that writes them.
import fs from "node:fs/promises";
import path from "node:path";
import { run } from "../../shared/sys.js";
import { isMountPoint } from "../mountinfo.js";
import { MS_NODEV, MS_NOSUID, MS_REMOUNT, mount, unmount } from "./mount-api.js";

/**
 * mount(2) directly: every tenant start mounts (or resizes) its ramdisk, and a mount(8) process
 * would be one more spawn on the create path. On failure mount(8) runs the same thing, for its message.
 */
async function mountTmpfs(target: string, flags: number, data: string): Promise<void> {
  try {
    return mount("hoody-ramdisk", target, "tmpfs", flags, data);
  } catch {
    // mount(8) below, for its message.
  }
  const opts = [flags & MS_REMOUNT ? "remount" : null, "nosuid", "nodev", data].filter(Boolean).join(",");
  await run("mount", ["-t", "tmpfs", "-o", opts, "hoody-ramdisk", target]);
}

/**
 * Layout: <dir>/<id>/ is the tenant's gate, mode 0700 and owned by its root (its host uid), and the
 * tmpfs is mounted at <dir>/<id>/fs with /tmp's mode 1777 for the tenant's own users. The tenant's
 * root passes the gate to bind-mount it; no other host user does (the tmpfs alone would let anyone
 * on the host plant files in it). Ramdisks mounted by an older version at <dir>/<id> itself are
 * used where they are until the tenant's erasure or the next reboot.
 */
export class Ramdisks {
  constructor(readonly dir: string) {}

  private gate(id: string): string {
    return path.join(this.dir, id);
  }

  /** Where the tenant's tmpfs is (or will be) mounted. */
  path(id: string): string {
    const legacy = this.gate(id);
    return isMountPoint(legacy) ? legacy : path.join(legacy, "fs");
  }

  mounted(id: string): boolean {
    const legacy = this.gate(id);
    return isMountPoint(legacy) || isMountPoint(path.join(legacy, "fs"));
  }

  /**
   * Mounts the tenant's tmpfs (owned by its root, uid `owner` on the host) or, when it is there
   * already, sets its size. Shrinking below what is stored fails, and the ramdisk stays as it was.
   */
  async ensure(id: string, sizeMiB: number, owner: number): Promise<void> {
    const p = this.path(id);
    if (this.mounted(id)) return mountTmpfs(p, MS_REMOUNT | MS_NOSUID | MS_NODEV, `size=${sizeMiB}m`);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await fs.mkdir(p, { recursive: true, mode: 0o700 });
    await fs.chown(this.gate(id), owner, owner);
    await fs.chmod(this.gate(id), 0o700);
    await mountTmpfs(p, MS_NOSUID | MS_NODEV, `size=${sizeMiB}m,mode=1777,uid=${owner},gid=${owner}`);
  }

  /** Unmounts and removes the tenant's ramdisk (its contents are gone with it); says whether one was mounted. */
  async remove(id: string): Promise<boolean> {
    const was = this.mounted(id);
    // umount2(2): umount(8) would read the whole mount table, which grows with the tenants on the
    // box; it runs only for its message when the call fails.
    if (was && !unmount(this.path(id))) await run("umount", [this.path(id)]);
    await fs.rm(this.gate(id), { recursive: true, force: true });
    return was;
  }
}

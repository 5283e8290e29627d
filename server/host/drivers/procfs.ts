// The tenant's /proc. LXC mounts proc inside the tenant's own mount namespace, where anything laid
// over it (lxcfs's files, a cover for /proc/cmdline) is the tenant's root's to unmount, and where a
// proc with nothing locked on it lets that root mount a fresh, complete one. The kernel locks mounts
// that propagate into a namespace of a less privileged user namespace (all but the top one). So each
// tenant's /proc is bound from a shared mount point (`point`, a tmpfs the daemon mounts on the host
// before each start, which the start carries into its launch namespace: launch.ts), and a start-host
// hook (tenant-proc.hook) builds the tenant's procfs with its covers there, outside the tenant, and
// attaches it at the point in one piece: inside, the covers are locked, and the proc they sit on is
// not fully visible, so the kernel refuses the tenant a new procfs.
import { rmdirSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { run } from "../../shared/sys.js";
import { isMountPoint, mountPoints } from "../mountinfo.js";
import { detach, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC, MS_SHARED, mount } from "./mount-api.js";

export const TENANT_PROC_HOOK = path.join(import.meta.dirname, "tenant-proc.hook");

export class TenantProcs {
  constructor(readonly dir: string) {}

  /** The host-side mount point the tenant's /proc is bound from (and its procfs propagates through). */
  point(id: string): string {
    return path.join(this.dir, id);
  }

  /** Where the start hook builds the tenant's /proc before attaching it at the point (tenant-proc.hook: "$point.stage"). */
  stage(id: string): string {
    return `${this.point(id)}.stage`;
  }

  /**
   * Unmounts whatever is left at the point (the hook detaches the host's copy once the tenant has its
   * own; a start that failed half-way leaves it).
   */
  async release(id: string): Promise<boolean> {
    const p = this.point(id);
    // Stat first: nothing mounted at the point or its stage (the usual case) needs no read of the
    // mount table, which grows with the tenants on the box. Mounts under the point come only with it.
    const stage = this.stage(id);
    const under = () => (isMountPoint(p) || isMountPoint(stage)) && [...mountPoints()].some((m) => m === p || m.startsWith(p + "/") || m.startsWith(stage));
    const was = under();
    for (let i = 0; i < 8 && under(); i++) {
      // One lazy detach takes a whole tree (umount -R trips over mounts their parents took along).
      for (const m of [...mountPoints()].filter((x) => x === p || x === stage)) await run("umount", ["-l", m]).catch(() => undefined);
    }
    if (under()) throw new Error(`cannot unmount the tenant's /proc at ${p}`);
    return was;
  }

  /**
   * After lxc-start, started or not: what the host holds of the start (the point's tmpfs; the hook
   * builds and detaches its procfs in the launch namespace, but a daemon before the launcher, or a
   * hook run on the host, left it here) and the hook's scratch directory are detached, in a few
   * umount2 calls. umount(8) would read the whole mount table each time, and it grows with the
   * tenants on the box; release() (which does) is left for what these calls could not detach.
   */
  async detachHostCopy(id: string): Promise<void> {
    const p = this.point(id);
    const stage = this.stage(id);
    if (isMountPoint(stage)) detach(stage);
    // Private first (the hook did it; a hook that failed half-way may not have): the detach must not propagate.
    if (isMountPoint(p)) {
      try {
        mount(null, p, null, MS_REC | MS_PRIVATE);
      } catch {
        // Then release() below, by umount(8).
      }
    }
    for (let i = 0; i < 3 && isMountPoint(p); i++) detach(p);
    try {
      rmdirSync(stage);
    } catch {
      // Not there (the hook did not get as far), or still mounted: release() below.
    }
    await this.release(id);
  }

  /** A clean point before each start: the last start's procfs (of a pid namespace now gone) is unmounted. */
  async prepare(id: string): Promise<void> {
    const p = this.point(id);
    await this.release(id);
    await fs.mkdir(p, { recursive: true, mode: 0o711 });
    // An empty tmpfs (not a bind of this directory, whose host path the tenant's mountinfo would show),
    // in a peer group of its own: its copy in the tenant's namespace becomes its slave.
    for (const [src, type, flags, data] of [
      ["hoody-proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555"],
      [null, null, MS_PRIVATE, null],
      [null, null, MS_SHARED, null],
    ] as const) {
      mount(src, p, type, flags, data);
    }
  }

  /** Unmounts the tenant's /proc on the host and removes its point; says whether one was mounted. */
  async remove(id: string): Promise<boolean> {
    const was = await this.release(id);
    await fs.rm(this.point(id), { recursive: true, force: true });
    await fs.rm(this.stage(id), { recursive: true, force: true });
    return was;
  }
}

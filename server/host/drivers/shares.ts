// Read-only shares: a template's path (e.g. /usr) bound into each of its tenants, so they share one
// page cache. The share must stay read-only inside, where the tenant's root holds CAP_SYS_ADMIN over
// its own mount namespace: a mount LXC makes there (as it does for `lxc.mount.entry … idmap=container`,
// attached from a tree its privileged side cloned) is the tenant's to `mount -o remount,bind,rw`.
// The kernel locks the flags only of mounts that already exist when a mount namespace is copied into a
// less privileged user namespace (MNT_LOCK_READONLY, kept by every bind of them). So the daemon mounts
// each share on the host, idmapped to the tenant's uid range and read-only, before the tenant starts;
// LXC's child then binds its inherited, locked copy (a plain bind, see Lxc.configText).
import fs from "node:fs/promises";
import path from "node:path";
import { run } from "../../shared/sys.js";
import { isMountPoint, mountPoints } from "../mountinfo.js";
import { AT_RECURSIVE, closeFd, MOUNT_ATTR_IDMAP, MOUNT_ATTR_NODEV, MOUNT_ATTR_RDONLY, mountSetattr, moveMount, openTreeClone, unmount } from "./mount-api.js";

export interface Share {
  /** The template's directory on the host (its subvolume is read-only). */
  hostPath: string;
  /** Where the tenant sees it, e.g. /usr. */
  containerPath: string;
}

/** Layout: <dir>/<id>/<containerPath without its leading slash, '/' → '_'> is the host-side mount. */
export class Shares {
  constructor(readonly dir: string) {}

  /** Where the tenant's host-side mount of a share is (what its LXC config binds). */
  path(id: string, containerPath: string): string {
    return path.join(this.dir, id, containerPath.replace(/^\/+/, "").replace(/\//g, "_"));
  }

  /** Mounts every share of the tenant that is not mounted yet: idmapped to its range, read-only, nodev. */
  async ensure(id: string, uidBase: number, uidCount: number, shares: Share[]): Promise<void> {
    const missing = shares.filter((s) => !isMountPoint(this.path(id, s.containerPath)));
    if (!missing.length) return;
    await fs.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await fs.mkdir(path.join(this.dir, id), { recursive: true, mode: 0o711 });
    await withUserns(uidBase, uidCount, async (usernsFd) => {
      for (const s of missing) {
        const target = this.path(id, s.containerPath);
        await fs.mkdir(target, { recursive: true });
        try {
          idmappedBind(s.hostPath, target, usernsFd);
        } catch (e) {
          throw new Error(`cannot share ${s.containerPath}: ${(e as Error).message}`);
        }
      }
    });
  }

  /** Unmounts the tenant's shares and removes their mount points; says whether any was mounted. */
  async remove(id: string): Promise<boolean> {
    const dir = path.join(this.dir, id);
    // Shares are mounted only on <dir>/<id>'s own entries (path()): each is checked by stat, unmounted
    // by umount2(2) and its empty point removed, with no read of the mount table (it grows with the
    // tenants on the box). A point that will not go (still mounted, or holding more) leaves the rest
    // to umount(8) below, which says why it fails: the recursive rm must never walk into a mount.
    let unmounted = false;
    let clean = true;
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const p = path.join(dir, name);
      for (let i = 0; i < 8 && isMountPoint(p) && unmount(p); i++) unmounted = true;
      if (
        !(await fs.rmdir(p).then(
          () => true,
          () => false,
        ))
      )
        clean = false;
    }
    if (!clean) {
      const base = dir + "/";
      const left = [...mountPoints()].filter((m) => m.startsWith(base)).sort((a, b) => b.length - a.length);
      for (const m of left) await run("umount", [m]);
      unmounted ||= left.length > 0;
    }
    await fs.rm(dir, { recursive: true, force: true });
    return unmounted;
  }
}

/**
 * An idmapped, read-only, nodev clone of `source` (recursive) attached at `target`, in this process's
 * (the host's) mount namespace: open_tree + mount_setattr + move_mount.
 */
function idmappedBind(source: string, target: string, usernsFd: number): void {
  const fd = openTreeClone(source, AT_RECURSIVE);
  try {
    mountSetattr(fd, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, usernsFd, AT_RECURSIVE);
    moveMount(fd, target);
  } finally {
    closeFd(fd);
  }
}

/**
 * Runs fn with an fd on a user namespace that maps 0… to uidBase… (the tenant's mapping), held by a
 * short-lived `unshare --user` process whose maps we write as host root. The daemon is multithreaded,
 * so it cannot unshare a user namespace itself.
 */
async function withUserns<T>(uidBase: number, count: number, fn: (usernsFd: number) => Promise<T>): Promise<T> {
  let child: { pid?: number; stdin: NodeJS.WritableStream | null; stdout: NodeJS.ReadableStream | null } | undefined;
  const holder = run("unshare", ["--user", "--", "sh", "-c", "echo ready && exec cat"], {
    timeoutMs: 30_000,
    aroundSpawn: (spawn) => {
      const c = spawn();
      child = c as unknown as typeof child;
      return c;
    },
  });
  const ready = new Promise<void>((resolve, reject) => {
    child!.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    holder.catch(reject);
  });
  try {
    await ready;
    const pid = child!.pid!;
    await fs.writeFile(`/proc/${pid}/uid_map`, `0 ${uidBase} ${count}\n`);
    await fs.writeFile(`/proc/${pid}/gid_map`, `0 ${uidBase} ${count}\n`);
    const ns = await fs.open(`/proc/${pid}/ns/user`, "r");
    try {
      return await fn(ns.fd);
    } finally {
      await ns.close();
    }
  } finally {
    child?.stdin?.end();
    await holder.catch(() => undefined);
  }
}

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
import koffi from "koffi";
import { libcFunc } from "../ffi.js";
import { run } from "../../shared/sys.js";
import { isMountPoint, mountPoints } from "../mountinfo.js";

const SYS_OPEN_TREE = 428;
const SYS_MOVE_MOUNT = 429;
const SYS_MOUNT_SETATTR = 442;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_IDMAP = 0x100000;

koffi.struct("hoody_mount_attr", { attr_set: "uint64", attr_clr: "uint64", propagation: "uint64", userns_fd: "uint64" });
type Syscall = (nr: number, ...typedArgs: unknown[]) => number;
const syscall = () => {
  const f = libcFunc<Syscall>("long syscall(long, ...)");
  if (!f) throw new Error("libc.so.6 cannot be loaded: idmapped mounts are unavailable");
  return f;
};
const errno = () => koffi.errno();

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
    const base = path.join(this.dir, id) + "/";
    const ours = [...mountPoints()].filter((m) => m.startsWith(base));
    for (const m of ours) await run("umount", [m]);
    await fs.rm(path.join(this.dir, id), { recursive: true, force: true });
    return ours.length > 0;
  }
}

/**
 * An idmapped, read-only, nodev clone of `source` (recursive) attached at `target`, in this process's
 * (the host's) mount namespace: open_tree + mount_setattr + move_mount.
 */
function idmappedBind(source: string, target: string, usernsFd: number): void {
  const sc = syscall();
  const fd = sc(SYS_OPEN_TREE, "int", AT_FDCWD, "str", source, "uint", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) throw new Error(`open_tree ${source}: errno ${errno()}`);
  try {
    const attr = { attr_set: MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, attr_clr: 0, propagation: 0, userns_fd: usernsFd };
    if (sc(SYS_MOUNT_SETATTR, "int", fd, "str", "", "uint", AT_EMPTY_PATH | AT_RECURSIVE, "hoody_mount_attr *", attr, "size_t", 32) !== 0) {
      throw new Error(`mount_setattr (idmap, ro) on ${source}: errno ${errno()}`);
    }
    if (sc(SYS_MOVE_MOUNT, "int", fd, "str", "", "int", AT_FDCWD, "str", target, "uint", MOVE_MOUNT_F_EMPTY_PATH) !== 0) {
      throw new Error(`move_mount ${source} → ${target}: errno ${errno()}`);
    }
  } finally {
    closeFd(fd);
  }
}

function closeFd(fd: number): void {
  libcFunc<(fd: number) => number>("int close(int)")?.(fd);
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

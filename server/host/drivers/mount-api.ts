// The kernel's mount API (open_tree, move_mount, mount_setattr) and the classic mount(2)/umount2(2),
// called from the daemon through libc (koffi), not by spawning mount(8): idmapped shares (shares.ts),
// ramdisks (ramdisk.ts), /proc points (procfs.ts) and the parents that launch namespaces cut
// (launch.ts). None of these needs a single-threaded caller.
import koffi from "koffi";
import { libcFunc } from "../ffi.js";

const SYS_OPEN_TREE = 428;
const SYS_MOVE_MOUNT = 429;
const SYS_MOUNT_SETATTR = 442;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
export const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_REC = 1 << 14;
export const MS_PRIVATE = 1 << 18;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;

koffi.struct("hoody_mount_attr", { attr_set: "uint64", attr_clr: "uint64", propagation: "uint64", userns_fd: "uint64" });
type Syscall = (nr: number, ...typedArgs: unknown[]) => number;
type MountFn = (source: string | null, target: string, fstype: string | null, flags: number, data: string | null) => number;
type Umount2Fn = (target: string, flags: number) => number;

function syscall(): Syscall {
  const f = libcFunc<Syscall>("long syscall(long, ...)");
  if (!f) throw new Error("libc.so.6 cannot be loaded: the mount API is unavailable");
  return f;
}

/** A detached copy of the mount at `source` (and of the mounts below it with AT_RECURSIVE), as an fd. */
export function openTreeClone(source: string, flags = 0): number {
  const fd = syscall()(SYS_OPEN_TREE, "int", AT_FDCWD, "str", source, "uint", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);
  if (fd < 0) throw new Error(`open_tree ${source}: errno ${koffi.errno()}`);
  return fd;
}

/** Sets mount attributes on a detached tree (an idmap: `usernsFd`). */
export function mountSetattr(fd: number, attrSet: number, usernsFd = 0, flags = 0): void {
  const attr = { attr_set: attrSet, attr_clr: 0, propagation: 0, userns_fd: usernsFd };
  if (syscall()(SYS_MOUNT_SETATTR, "int", fd, "str", "", "uint", AT_EMPTY_PATH | flags, "hoody_mount_attr *", attr, "size_t", 32) !== 0) {
    throw new Error(`mount_setattr: errno ${koffi.errno()}`);
  }
}

/** Attaches a detached tree at `target`. */
export function moveMount(fd: number, target: string): void {
  if (syscall()(SYS_MOVE_MOUNT, "int", fd, "str", "", "int", AT_FDCWD, "str", target, "uint", MOVE_MOUNT_F_EMPTY_PATH) !== 0) {
    throw new Error(`move_mount → ${target}: errno ${koffi.errno()}`);
  }
}

export function closeFd(fd: number): void {
  libcFunc<(fd: number) => number>("int close(int)")?.(fd);
}

/** mount(2); throws with errno on failure. */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  const f = libcFunc<MountFn>("int mount(const char *, const char *, const char *, unsigned long, const char *)");
  if (!f) throw new Error("libc.so.6 cannot be loaded: mount(2) is unavailable");
  if (f(source, target, fstype, flags, data) !== 0) throw new Error(`mount ${target} (flags ${flags}): errno ${koffi.errno()}`);
}

/** umount2(2); says whether it unmounted something. */
function umount2(target: string, flags: number): boolean {
  return libcFunc<Umount2Fn>("int umount2(const char *, int)")?.(target, flags) === 0;
}

/** Not lazy: a busy filesystem stays mounted, and the call says so. */
export function unmount(target: string): boolean {
  return umount2(target, 0);
}

/** With MNT_DETACH: the mount leaves the tree now, the filesystem once nothing uses it. */
export function detach(target: string): boolean {
  return umount2(target, MNT_DETACH);
}

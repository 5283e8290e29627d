// Opens a file inside a directory tree that someone else controls (a tenant's rootfs) without
// following anything out of it: openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV resolves every component in the kernel, atomically, so a
// symlink or ".." swapped in between a check and the open cannot redirect it (a realpath check
// could be raced). glibc 2.36 has no openat2 wrapper: it goes through syscall(2), via koffi.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import koffi from "koffi";
import { libcFunc } from "../ffi.js";
import { EngineError } from "../../shared/errors.js";

const SYS_OPENAT2 = 437;
const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
const RESOLVE = 0x01n /* NO_XDEV */ | 0x02n /* NO_MAGICLINKS */ | 0x04n /* NO_SYMLINKS */ | 0x08n /* BENEATH */;
type Syscall = (nr: number, ...args: unknown[]) => number;

/**
 * Reads a regular file at `rel` beneath `root`, at most `max` bytes. Refuses (PATH_REFUSED) a path
 * through or to a symlink, out of the tree, or to anything but a regular file; PATH_NOT_FOUND when
 * it does not exist. The file is first opened O_PATH (opening a device or FIFO for reading can
 * have effects of its own), checked, then reopened for reading through its fd.
 */
export function readBeneath(root: string, rel: string, max: number): { size: number; data: Buffer | null } {
  const syscall = libcFunc<Syscall>("long syscall(long, ...)");
  if (!syscall) throw new EngineError("NOT_SUPPORTED", "openat2 is not reachable here (no libc through koffi)");
  const dirFd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  let pathFd = -1;
  try {
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(O_PATH | O_CLOEXEC | constants.O_NOFOLLOW), 0);
    how.writeBigUInt64LE(RESOLVE, 16);
    pathFd = Number(syscall(SYS_OPENAT2, "int", dirFd, "str", rel.replace(/^\/+/, "") || ".", "void *", how, "size_t", 24));
    if (pathFd < 0) throw openError(koffi.errno(), rel);
    const st: Stats = fstatSync(pathFd);
    if (!st.isFile()) throw new EngineError("PATH_REFUSED", `${rel} is not a regular file`);
    if (st.size > max) return { size: st.size, data: null };
    // The fd, not the path: the same inode that was checked.
    // (Following this magic link is the point: it is the checked inode, not a path.)
    const fd = openSync(`/proc/self/fd/${pathFd}`, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const buf = Buffer.alloc(max + 1);
      let n = 0;
      for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
      // Grown past the cap since the fstat: answer its size, not a cut.
      return n > max ? { size: n, data: null } : { size: n, data: buf.subarray(0, n) };
    } finally {
      closeSync(fd);
    }
  } finally {
    if (pathFd >= 0) closeSync(pathFd);
    closeSync(dirFd);
  }
}

function openError(errno: number, rel: string): EngineError {
  switch (errno) {
    case 2 /* ENOENT */:
    case 20 /* ENOTDIR */:
      return new EngineError("PATH_NOT_FOUND", `${rel} does not exist`);
    case 40 /* ELOOP */:
      return new EngineError("PATH_REFUSED", `${rel} goes through a symlink`);
    case 18 /* EXDEV */:
      return new EngineError("PATH_REFUSED", `${rel} leads out of the tenant's filesystem`);
    case 38 /* ENOSYS */:
      return new EngineError("NOT_SUPPORTED", "this kernel has no openat2 (Linux ≥ 5.6)");
    default:
      return new EngineError("SYSTEM_ERROR", `cannot open ${rel}: errno ${errno}`);
  }
}

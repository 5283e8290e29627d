// libc functions the host daemon calls directly (koffi FFI) instead of spawning a tool on a hot path:
// prctl for KSM, ioctl for BTRFS, mount for ramdisks. The library is loaded once, on first use.
import koffi, { type LibraryHandle } from "koffi";

let libc: LibraryHandle | null | undefined;
const funcs = new Map<string, unknown>();

/** A libc function by its C signature, or null where libc cannot be loaded (callers fall back to a tool). */
export function libcFunc<F>(signature: string): F | null {
  if (libc === undefined) {
    try {
      libc = koffi.load("libc.so.6");
    } catch {
      libc = null;
    }
  }
  if (!libc) return null;
  if (!funcs.has(signature)) funcs.set(signature, libc.func(signature));
  return funcs.get(signature) as F;
}

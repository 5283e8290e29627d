// Native library functions the host daemon calls directly (koffi FFI) instead of spawning a tool on
// a hot path: libc's prctl for KSM, ioctl for BTRFS and mount for ramdisks; libnftables for the
// firewall. Each library is loaded once, on first use.
import koffi, { type LibraryHandle } from "koffi";

const libraries = new Map<string, LibraryHandle | null>();
const funcs = new Map<string, unknown>();

/** A function of `library` by its C signature, or null where the library cannot be loaded (callers fall back to a tool). */
export function libFunc<F>(library: string, signature: string): F | null {
  if (!libraries.has(library)) {
    try {
      libraries.set(library, koffi.load(library));
    } catch {
      libraries.set(library, null);
    }
  }
  const lib = libraries.get(library);
  if (!lib) return null;
  const key = `${library}\0${signature}`;
  if (!funcs.has(key)) funcs.set(key, lib.func(signature));
  return funcs.get(key) as F;
}

export function libcFunc<F>(signature: string): F | null {
  return libFunc<F>("libc.so.6", signature);
}

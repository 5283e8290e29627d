// A tenant's hostname, set from the daemon's own thread (setns into the tenant's UTS namespace,
// sethostname, setns back) instead of spawning `nsenter … hostname`: a warm-pool claim names its
// member on the create's critical path, where a process start costs 5–20 ms on this 2-core VM.
import { closeSync, fstatSync, openSync } from "node:fs";
import { libcFunc } from "../ffi.js";

const CLONE_NEWUTS = 0x04000000;

/**
 * Sets the hostname of the UTS namespace `pid` is in; false when the calls are not available (the
 * caller then uses nsenter). Throws when the process is gone, is in the daemon's own namespace (a
 * tenant's never is: naming it would rename the host) or the kernel refuses. The UTS namespace is per thread: koffi's
 * synchronous calls run on this (the main) thread, which is back in its own namespace before any
 * other code runs; if it could not get back, the daemon stops rather than run in a tenant's.
 */
export function setHostnameOf(pid: number, name: string): boolean {
  const setns = libcFunc<(fd: number, nstype: number) => number>("int setns(int, int)");
  const sethostname = libcFunc<(name: string, len: number) => number>("int sethostname(const char *, size_t)");
  if (!setns || !sethostname) return false;
  const own = openSync("/proc/thread-self/ns/uts", "r");
  try {
    const target = openSync(`/proc/${pid}/ns/uts`, "r");
    try {
      if (fstatSync(target).ino === fstatSync(own).ino) throw new Error(`process ${pid} is in the host's UTS namespace`);
      if (setns(target, CLONE_NEWUTS) !== 0) throw new Error(`setns into process ${pid}'s UTS namespace failed`);
      try {
        if (sethostname(name, Buffer.byteLength(name)) !== 0) throw new Error(`sethostname in process ${pid}'s UTS namespace failed`);
        return true;
      } finally {
        if (setns(own, CLONE_NEWUTS) !== 0) {
          console.error("hostd: could not return to its own UTS namespace after naming a tenant; stopping");
          process.abort();
        }
      }
    } finally {
      closeSync(target);
    }
  } finally {
    closeSync(own);
  }
}

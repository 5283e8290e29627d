// The defaults both sides of the socket share: the web side's settings (server/config.ts) and the
// host daemon's (server/host/config.ts) must agree on where Hoody keeps its data and its socket.
import path from "node:path";

export const DEFAULT_DATA_DIR = "/var/lib/hoody";
export const DEFAULT_CACHE_DIR = "/var/cache/hoody";
/** Seconds between SIGTERM and SIGKILL when a tenant stops (both engines). */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/** The host daemon's socket, under the data directory unless HOODY_HOSTD_SOCKET says otherwise. */
export function defaultHostdSocket(dataDir: string): string {
  return path.join(dataDir, "run", "hostd.sock");
}

// The one error type both engines throw (and the daemon's client rethrows from the daemon's answer):
// a stable code and a message. The core maps the codes to API errors (server/core/errors.ts).
/** What an engine failure is; stable, for the core to map to API errors (and the daemon to answer with). */
export type EngineErrorCode =
  | "INVALID_INPUT"
  | "TENANT_NOT_FOUND"
  | "TEMPLATE_NOT_FOUND"
  | "SNAPSHOT_NOT_FOUND"
  | "TEMPLATE_IN_USE"
  | "ALREADY_EXISTS"
  | "EXHAUSTED"
  /** The pool has no room left (below its free-space reserve, or a write hit ENOSPC). */
  | "POOL_FULL"
  | "INVALID_STATE"
  /** A change made the tenant fail to start; it was rolled back (and the tenant started as before). */
  | "START_FAILED"
  /** A backup file that does not verify with this box's key (changed, cut, another key, not a backup). */
  | "BACKUP_INVALID"
  | "BACKUP_NOT_FOUND"
  /** A backup's template is not on this box, or holds other files than the one it was made against. */
  | "TEMPLATE_MISMATCH"
  /** This engine cannot do what was asked (e.g. read an Incus member's storage). */
  | "NOT_SUPPORTED"
  /** A path inside a tenant that may not be opened: through a symlink, out of it, or not a regular file. */
  | "PATH_REFUSED"
  | "PATH_NOT_FOUND"
  | "SYSTEM_ERROR";

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

/**
 * Structural, not instanceof: Next.js bundles each route and instrumentation separately, and the
 * per-process engine (made by whichever bundle came first) throws that bundle's class.
 */
export function isEngineError(e: unknown): e is EngineError {
  return e instanceof Error && e.name === "EngineError" && typeof (e as EngineError).code === "string";
}

// Errors the service layer raises: an HTTP status and a stable upper-case code, which REST maps to
// Hoody's envelope and tRPC to a TRPCError.
import { isEngineError } from "../shared/errors";

export class CoreError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly data: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "CoreError";
  }
}

/**
 * Structural checks, not instanceof: Next.js bundles each route and instrumentation separately, and
 * the per-process Core (made by whichever bundle came first) throws that bundle's classes.
 */
export function isCoreError(e: unknown): e is CoreError {
  return e instanceof Error && e.name === "CoreError" && typeof (e as CoreError).status === "number" && typeof (e as CoreError).code === "string";
}

export const notFound = (what: "CONTAINER" | "PROJECT" | "SNAPSHOT" | "TEMPLATE" | "TOKEN" | "RULE" | "DOMAIN", id: string) =>
  new CoreError(404, `${what}_NOT_FOUND`, `${what.toLowerCase()} ${id} not found`);

/** An engine call outside `audited()` (reads), its failure mapped as `audited()` maps it. */
export function viaEngine<T>(call: Promise<T>): Promise<T> {
  return call.catch((e) => Promise.reject(fromEngine(e)));
}

/** Maps an engine failure to a CoreError; anything unexpected stays a 500 with a generic message. */
export function fromEngine(e: unknown): CoreError {
  if (isCoreError(e)) return e;
  if (isEngineError(e)) {
    switch (e.code) {
      case "INVALID_INPUT":
        return new CoreError(422, "VALIDATION_ERROR", e.message);
      case "TENANT_NOT_FOUND":
        return new CoreError(404, "CONTAINER_NOT_FOUND", e.message);
      case "TEMPLATE_NOT_FOUND":
        return new CoreError(404, "TEMPLATE_NOT_FOUND", e.message);
      case "SNAPSHOT_NOT_FOUND":
        return new CoreError(404, "SNAPSHOT_NOT_FOUND", e.message);
      case "ALREADY_EXISTS":
        return new CoreError(409, "ALREADY_EXISTS", e.message);
      case "TEMPLATE_IN_USE":
        return new CoreError(409, "TEMPLATE_IN_USE", e.message);
      case "INVALID_STATE":
        return new CoreError(409, "INVALID_STATE", e.message);
      case "START_FAILED":
        return new CoreError(422, "START_FAILED", e.message);
      case "EXHAUSTED":
        return new CoreError(503, "CAPACITY_EXHAUSTED", e.message, null, { "Retry-After": "30" });
      case "POOL_FULL":
        // 507 Insufficient Storage: the pool has no room for another tenant; existing tenants are untouched.
        return new CoreError(507, "POOL_FULL", e.message, null, { "Retry-After": "60" });
      case "BACKUP_INVALID":
        return new CoreError(422, "BACKUP_INVALID", e.message);
      case "BACKUP_NOT_FOUND":
        return new CoreError(404, "BACKUP_NOT_FOUND", e.message);
      case "TEMPLATE_MISMATCH":
        return new CoreError(409, "BACKUP_TEMPLATE_MISMATCH", e.message);
      case "NOT_SUPPORTED":
        return new CoreError(422, "FEATURE_NOT_OFFERED", e.message);
      case "PATH_REFUSED":
        return new CoreError(422, "PATH_REFUSED", e.message);
      case "PATH_NOT_FOUND":
        return new CoreError(404, "PATH_NOT_FOUND", e.message);
      default:
        return new CoreError(500, "ENGINE_ERROR", e.message);
    }
  }
  const code = (e as NodeJS.ErrnoException)?.code;
  // Refused or missing socket: the daemon is down. Reset or hung up mid-call: it died (or restarted) while answering.
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EPIPE" || /socket hang up/.test((e as Error)?.message ?? ""))
    return new CoreError(503, "ENGINE_UNAVAILABLE", "the host daemon is not reachable", null, { "Retry-After": "5" });
  return new CoreError(500, "INTERNAL_ERROR", (e as Error)?.message ?? "internal error");
}

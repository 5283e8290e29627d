// Who may scrape /metrics. The series name every tenant and its project, so they are not public:
// with HOODY_METRICS_TOKEN set, a scrape needs that bearer token (from anywhere, loopback too);
// without it, only a client on this box may scrape: the socket's peer is a loopback address and
// no trusted proxy relayed the request for someone else (its forwarding headers survive only
// from trusted proxies, see server/web/forwarded.ts).
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";

export type MetricsRefusal = { status: 401 | 403; code: "METRICS_TOKEN_REQUIRED" | "METRICS_LOOPBACK_ONLY"; message: string };

const digest = (s: string) => createHash("sha256").update(s).digest();

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || (isIP(a) === 4 && a.startsWith("127."));
}

/** null: allowed; else the refusal to answer with. */
export function metricsRefusal(token: string | undefined, peer: string | undefined, headers: IncomingHttpHeaders): MetricsRefusal | null {
  if (token !== undefined) {
    const given = /^Bearer (.+)$/i.exec(headers.authorization ?? "")?.[1]?.trim() ?? "";
    // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
    if (given && timingSafeEqual(digest(given), digest(token))) return null;
    return { status: 401, code: "METRICS_TOKEN_REQUIRED", message: "send Authorization: Bearer <HOODY_METRICS_TOKEN>" };
  }
  const relayed = headers["x-forwarded-for"] !== undefined || headers.forwarded !== undefined || headers["x-real-ip"] !== undefined;
  if (isLoopback(peer) && !relayed) return null;
  return { status: 403, code: "METRICS_LOOPBACK_ONLY", message: "/metrics answers clients on this host only; set HOODY_METRICS_TOKEN to scrape from elsewhere" };
}

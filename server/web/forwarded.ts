// Which forwarding headers a request may keep. Next fills X-Forwarded-For from the socket only when
// the client sent none, so a client talking to Hoody directly could name any address: for the
// sign-in throttle, any client. Only a trusted proxy (by default one on this machine's loopback, the
// usual TLS terminator) may speak for the client; anyone else's forwarding headers are dropped and
// Next then records the socket's own address.
import type { IncomingHttpHeaders } from "node:http";

export const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-real-ip"] as const;

const DEFAULT_TRUSTED = "127.0.0.1,::1";

/** The proxies trusted to forward, from HOODY_TRUSTED_PROXIES (comma-separated addresses; "" trusts none). */
export function trustedProxies(value: string | undefined = process.env.HOODY_TRUSTED_PROXIES): Set<string> {
  return new Set((value ?? DEFAULT_TRUSTED).split(",").map((a) => normalizeAddress(a.trim())).filter(Boolean));
}

/** An IPv4 peer on a dual-stack socket reads ::ffff:a.b.c.d: the same address as a.b.c.d. */
export function normalizeAddress(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
}

/** Drops the forwarding headers of a request whose peer is not a trusted proxy (in place). */
export function dropUntrustedForwarding(headers: IncomingHttpHeaders, peer: string | undefined, trusted: Set<string>): void {
  if (peer && trusted.has(normalizeAddress(peer))) return;
  for (const h of FORWARDING_HEADERS) delete headers[h];
}

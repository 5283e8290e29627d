// Which forwarding headers a request may keep. Next fills X-Forwarded-For from the socket only when
// the client sent none, so a client talking to Hoody directly could name any address: for the
// sign-in throttle, any client. Only a trusted proxy (by default one on this machine's loopback, the
// usual TLS terminator) may speak for the client; anyone else's forwarding headers are dropped and
// Next then records the socket's own address.
import type { IncomingHttpHeaders } from "node:http";
import net from "node:net";

const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-real-ip"] as const;

const DEFAULT_TRUSTED = "127.0.0.1,::1";

export interface TrustedProxies {
  /** The entries as configured, for the start-up log. */
  readonly entries: string[];
  has(peer: string | undefined): boolean;
}

/**
 * The proxies trusted to forward, from HOODY_TRUSTED_PROXIES: comma-separated addresses or CIDR
 * blocks, IPv4 or IPv6 ("" trusts none). An entry that is neither is an error at start-up, not a
 * silent mismatch that would make every client behind the proxy share the proxy's address.
 */
export function trustedProxies(value: string | undefined): TrustedProxies {
  const entries = (value ?? DEFAULT_TRUSTED)
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address = "", prefix, extra] = entry.split("/");
    const family = net.isIP(address);
    const bits = prefix === undefined ? null : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!family || extra !== undefined || (bits !== null && !(bits <= (family === 6 ? 128 : 32)))) {
      throw new Error(`HOODY_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR block`);
    }
    const type = family === 6 ? "ipv6" : "ipv4";
    if (bits === null) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return {
    entries,
    has(peer) {
      if (!peer) return false;
      const address = normalizeAddress(peer);
      const family = net.isIP(address);
      return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
    },
  };
}

/** An IPv4 peer on a dual-stack socket reads ::ffff:a.b.c.d: the same address as a.b.c.d. */
export function normalizeAddress(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
}

/** Drops every forwarding header (in place). */
export function dropForwarding(headers: IncomingHttpHeaders): void {
  for (const h of FORWARDING_HEADERS) delete headers[h];
}

/** Drops the forwarding headers of a request whose peer is not a trusted proxy (in place). */
export function dropUntrustedForwarding(headers: IncomingHttpHeaders, peer: string | undefined, trusted: TrustedProxies): void {
  if (!trusted.has(peer)) dropForwarding(headers);
}

// Host names the router and Caddy's `ask` answer for: a tenant's own name, its per-port names
// (`<label>-http-<port>.<domain>`) and customer domains. Pure functions: core, router and the
// dashboard share them.
import type { FirewallRule } from "./protocol";

/** `<label>-http-<port>`: the per-port form. A tenant label of that shape would be ambiguous with it. */
const PORT_FORM = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-http-(\d{1,5})$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A Host header's name: lowercase, without port or trailing dot; null when it is no DNS name. */
export function hostName(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  const host = hostHeader.trim().toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  return isHostname(host) ? host : null;
}

/** A fully qualified DNS name: at least two labels, each 1–63 of [a-z0-9-] not starting or ending with '-'. */
export function isHostname(name: string): boolean {
  if (name.length > 253) return false;
  const labels = name.split(".");
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/** Whether a label would read as a per-port name (`acme-http-8080`): refused for tenants. */
export function isPortFormLabel(label: string): boolean {
  return PORT_FORM.test(label);
}

/** Where a name under the domain points: a tenant label, and a port when it is a per-port name. */
export function parseTenantHost(host: string, domain: string): { label: string; port: number | null } | null {
  const suffix = `.${domain}`;
  if (!host.endsWith(suffix)) return null;
  const sub = host.slice(0, -suffix.length);
  if (!LABEL.test(sub)) return null;
  const m = PORT_FORM.exec(sub);
  if (!m) return { label: sub, port: null };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { label: m[1]!, port } : null;
}

/** A tenant's per-port name: `<label>-http-<port>.<domain>`. */
export function portHost(label: string, port: number, domain: string): string {
  return `${label}-http-${port}.${domain}`;
}

/** Whether a port spec (`80`, `80-90`, `80,443`) contains a port. */
export function portInSpec(spec: string, port: number): boolean {
  return spec.split(",").some((part) => {
    const [lo, hi] = part.split("-").map(Number);
    return hi === undefined ? port === lo : port >= lo! && port <= hi;
  });
}

/**
 * Whether a tenant's ingress rules let the host open a TCP connection to a port, read as the
 * tenant's nft chain applies them: the first enabled rule that matches decides, nothing matching
 * is a drop. A rule on a source address list or a source port is not taken to match the host (the
 * router's source address and port are not something an operator names), so only a rule for
 * "host" or any source opens a per-port URL.
 */
export function hostReaches(rules: readonly FirewallRule[], port: number): boolean {
  for (const r of rules) {
    if (r.direction !== "ingress" || r.state === "disabled") continue;
    if (r.source !== undefined && r.source !== "host") continue;
    if (r.protocol !== undefined && r.protocol !== "tcp") continue;
    if (r.source_port !== undefined) continue;
    if (r.destination_port !== undefined && !portInSpec(r.destination_port, port)) continue;
    return r.action === "allow";
  }
  return false;
}

/** A domain that can have certificates (not localhost, a *.localhost name or an address): Caddy goes in front of it. */
export function isPublicDomain(domain: string): boolean {
  return isHostname(domain) && domain !== "localhost" && !domain.endsWith(".localhost");
}

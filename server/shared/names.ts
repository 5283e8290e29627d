// Names shared by both sides: the tenant's hostname (host engine) and its router subdomain (core).

/** A safe hostname/DNS label from a tenant name: lowercase letters, digits and '-', ≤ 63 chars, never leading or trailing '-'. */
export function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
  return label || "tenant";
}

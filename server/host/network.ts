// Networking of a tenant: its firewall chains and the host side of its veth.
import { writeFileSync } from "node:fs";
import { z } from "zod";
import { issuesText } from "../shared/issues.js";
import { EngineError } from "../shared/errors.js";
import { FirewallRuleSchema, type FirewallRule, type TenantInfo } from "../shared/protocol.js";
import type { TenantMeta } from "./meta.js";
import type { HostState } from "./state.js";

export async function applyFirewall(h: HostState, m: TenantMeta): Promise<void> {
  await h.firewall.setTenant({ id: m.id, veth: m.veth, ip: m.ip, rules: m.firewall });
}

/**
 * Host side of the routed veth: answer ARP for other tenants and allow forwarding (nft decides).
 * Proxy ARP replies at once: by default they wait up to 0.8 s in one queue of 64 for the whole
 * host, which overflows with a few hundred tenants and leaves new neighbours unresolved (found
 * with the density benchmark's 500 tenants running beside the tests). Strict reverse-path
 * filtering drops a packet whose source address does not route back through this veth (a forged
 * one) in routing, before any filter chain or tenant sees it; nft's source check stands behind it.
 * Tenants are IPv4-only (nft drops their IPv6), so the host side has no IPv6 at all: no link-local
 * address a tenant could reach the host on, and no address appearing 1–2 s after every start (when
 * duplicate address detection ends), which browsers on the host take as a network change and abort
 * their requests over (ERR_NETWORK_CHANGED, seen in the HTTPS e2e test).
 */
export function hostSideNetSysctls(m: TenantMeta): void {
  for (const [file, value] of [
    [`ipv4/conf/${m.veth}/rp_filter`, "1"],
    [`ipv4/conf/${m.veth}/proxy_arp`, "1"],
    [`ipv4/conf/${m.veth}/forwarding`, "1"],
    [`ipv4/neigh/${m.veth}/proxy_delay`, "0"],
    [`ipv6/conf/${m.veth}/disable_ipv6`, "1"],
  ] as const) {
    try {
      writeFileSync(`/proc/sys/net/${file}`, value);
    } catch {
      // The veth is gone if the tenant stopped meanwhile; nothing to set.
    }
  }
}

export async function setFirewall(h: HostState, id: string, rules: FirewallRule[]): Promise<TenantInfo> {
  const parsed = z.array(FirewallRuleSchema).max(200).safeParse(rules);
  if (!parsed.success) throw new EngineError("INVALID_INPUT", issuesText(parsed.error.issues));
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    const prev = m.firewall;
    m.firewall = parsed.data;
    try {
      await applyFirewall(h, m);
      await h.saveMeta(m);
    } catch (e) {
      m.firewall = prev;
      await applyFirewall(h, m).catch(() => undefined);
      throw e;
    }
    return h.tenantInfo(m);
  });
}

// Networking of a tenant on Incus: its network ACL (firewall) on the bridge, and the raw LXC keys
// that give it a routed /32 and its limits.
import { z } from "zod";
import { issuesText } from "../../shared/issues";
import { FirewallRuleSchema, type FirewallRule, type Limits, type TenantInfo } from "../../shared/protocol";
import type { IncusNetworkAclRule } from "./types";
import { type IncusContext, T, fail, mapError, quoteInitArg } from "./context";
import { getTenant } from "./tenants";

export function rawLxc(m: { initCmd: string[]; ip: string; gateway: string; ramdiskMiB: number }): string {
  return [
    `lxc.init.cmd = ${m.initCmd.map(quoteInitArg).join(" ")}`,
    "lxc.signal.halt = SIGTERM",
    // A /32 with the bridge as gateway: tenant traffic is routed through the host (see the header).
    `lxc.net.0.ipv4.address = ${m.ip}/32`,
    `lxc.net.0.ipv4.gateway = ${m.gateway}`,
    `lxc.mount.entry = tmpfs ramdisk tmpfs rw,nosuid,nodev,size=${m.ramdiskMiB}m,mode=1777,create=dir 0 0`,
    "lxc.mount.entry = tmpfs tmp tmpfs rw,nosuid,nodev,size=64m,mode=1777,create=dir 0 0",
  ].join("\n");
}

export function limitsConfig(l: Limits): Record<string, string> {
  return {
    "limits.memory": `${l.memoryMiB}MiB`,
    "limits.cpu.allowance": `${Math.max(1, Math.round(l.cpuMilli / 10))}ms/100ms`,
    "limits.processes": String(l.pids),
  };
}

/** The tenant's firewall as ACL rules scoped to its address ("host" = the bridge's own address). */
export function aclRules(ip: string, rules: FirewallRule[], gateway: string): { ingress: IncusNetworkAclRule[]; egress: IncusNetworkAclRule[] } {
  const conv = (r: FirewallRule): IncusNetworkAclRule => {
    const out: IncusNetworkAclRule = { action: r.action, state: r.state === "disabled" ? "disabled" : "enabled", description: r.description ?? "" };
    if (r.protocol) out.protocol = r.protocol;
    if (r.destination_port) out.destination_port = r.destination_port;
    if (r.source_port) out.source_port = r.source_port;
    if (r.icmp_type) out.icmp_type = r.icmp_type;
    if (r.icmp_code) out.icmp_code = r.icmp_code;
    if (r.direction === "ingress") {
      out.destination = `${ip}/32`;
      if (r.source) out.source = r.source === "host" ? `${gateway}/32` : r.source;
    } else {
      out.source = `${ip}/32`;
      if (r.destination) out.destination = r.destination;
    }
    return out;
  };
  return { ingress: rules.filter((r) => r.direction === "ingress").map(conv), egress: rules.filter((r) => r.direction === "egress").map(conv) };
}

export function aclName(id: string): string {
  return `hoody-${id}`;
}

/** Adds or removes a tenant ACL in the bridge's security.acls (one update at a time). */
export function attachAcl(cx: IncusContext, id: string, attach: boolean): Promise<void> {
  return cx.locks.run("network-acls", async () => {
    const n = await cx.client.get<{ config: Record<string, string> }>(`/1.0/networks/${cx.config.network}`);
    const list = (n.config["security.acls"] ?? "").split(",").filter(Boolean);
    const name = aclName(id);
    const next = attach ? [...new Set([...list, name])] : list.filter((x) => x !== name);
    if (next.join(",") === list.join(",")) return;
    await cx.client.patch(`/1.0/networks/${cx.config.network}`, { config: { "security.acls": next.join(",") } });
  });
}

export async function setFirewall(cx: IncusContext, id: string, rules: FirewallRule[]): Promise<TenantInfo> {
  const parsed = z.array(FirewallRuleSchema).max(200).safeParse(rules);
  if (!parsed.success) fail("INVALID_INPUT", issuesText(parsed.error.issues));
  return cx.locks.run(id, async () => {
    const inst = await cx.tenantInstance(id);
    const net = await cx.network();
    const ip = inst.config[T.ip]!;
    // ACL first (the enforcement), then the record on the instance; a failed record puts the old ACL back.
    const prev = JSON.parse(inst.config[T.firewall] ?? "[]") as FirewallRule[];
    await cx.client.put(`/1.0/network-acls/${aclName(id)}`, { description: `hoody tenant ${id}`, ...aclRules(ip, parsed.data, net.gateway) }).catch((e) => mapError(e));
    try {
      await cx.client.patch(`/1.0/instances/${id}`, { config: { [T.firewall]: JSON.stringify(parsed.data) } });
    } catch (e) {
      await cx.client.put(`/1.0/network-acls/${aclName(id)}`, { description: `hoody tenant ${id}`, ...aclRules(ip, prev, net.gateway) }).catch(() => undefined);
      mapError(e, { tenant: id });
    }
    cx.invalidate();
    return getTenant(cx, id);
  });
}

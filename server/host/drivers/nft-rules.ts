// A firewall rule rendered as an nft match and verdict, from validated fields only.
import type { FirewallRule } from "../../shared/protocol.js";

/** A rule's verdict; an allow is its chain's own ("return" in egress chains, "accept" in ingress ones). */
export function verdict(r: FirewallRule, allow: "accept" | "return"): string {
  if (r.action === "allow") return allow;
  if (r.action === "drop") return "drop";
  return r.protocol === "tcp" ? "reject with tcp reset" : "reject";
}

/** Builds the match part of a rule from validated fields only (the schema's regexes guard every value). */
export function ruleExpr(r: FirewallRule): string {
  const parts: string[] = [];
  const addr = r.direction === "ingress" ? r.source : r.destination;
  if (addr === "host") parts.push("fib saddr type local");
  else if (addr) parts.push(`ip ${r.direction === "ingress" ? "saddr" : "daddr"} ${addrSet(addr)}`);
  if (r.protocol === "icmp4") {
    parts.push("meta l4proto icmp");
    if (r.icmp_type) parts.push(`icmp type ${icmpNumber(r.icmp_type)}`);
    if (r.icmp_code) parts.push(`icmp code ${icmpNumber(r.icmp_code)}`);
  } else if (r.protocol) {
    parts.push(`meta l4proto ${r.protocol}`);
    if (r.source_port) parts.push(`${r.protocol} sport { ${portSet(r.source_port)} }`);
    if (r.destination_port) parts.push(`${r.protocol} dport { ${portSet(r.destination_port)} }`);
  }
  return parts.join(" ");
}

/** One address as is; a list as an anonymous set (items were checked by the schema). */
function addrSet(list: string): string {
  const items = list.split(",");
  if (!items.every((i) => /^[\d./-]+$/.test(i))) throw new RangeError(`invalid address list ${list}`);
  return items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`;
}

function icmpNumber(v: string): number {
  const n = Number(v);
  if (!/^\d{1,3}$/.test(v) || n > 255) throw new RangeError(`invalid icmp number ${v}`);
  return n;
}

export function portSet(spec: string): string {
  return spec
    .split(",")
    .map((part) => {
      const [lo, hi] = part.split("-").map(Number);
      if (lo === undefined || !(lo >= 1 && lo <= 65535) || (hi !== undefined && !(hi >= lo && hi <= 65535))) {
        throw new RangeError(`invalid port spec ${spec}`);
      }
      return hi === undefined ? String(lo) : `${lo}-${hi}`;
    })
    .join(", ");
}

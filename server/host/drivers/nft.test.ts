import { describe, expect, it } from "vitest";
import { FirewallRuleSchema, type FirewallRule } from "../../shared/protocol.js";
import { Firewall, portSet, ruleExpr } from "./nft.js";

type RuleInput = Omit<FirewallRule, "state"> & { state?: FirewallRule["state"] };
const rule = (r: RuleInput): FirewallRule => ({ state: "enabled", ...r });

describe("portSet", () => {
  it("renders a single port", () => {
    expect(portSet("80")).toBe("80");
  });

  it("renders a range", () => {
    expect(portSet("80-90")).toBe("80-90");
  });

  it("renders a list of ports and ranges as nft set elements", () => {
    expect(portSet("80,443,1000-2000")).toBe("80, 443, 1000-2000");
  });

  it("accepts the port bounds 1 and 65535", () => {
    expect(portSet("1,65535,1-65535")).toBe("1, 65535, 1-65535");
  });

  it("normalizes leading zeros", () => {
    expect(portSet("0080")).toBe("80");
  });

  it.each(["0", "70000", "65536", "90-80", "80-70000", "0-10", "", "80,", "abc"])("rejects %j with a RangeError", (spec) => {
    expect(() => portSet(spec)).toThrow(RangeError);
  });

  it("relies on the schema for shape: extra range parts are ignored, not rejected", () => {
    // FirewallRuleSchema's regex never lets "80-90-100" through; portSet alone would render it as 80-90.
    expect(portSet("80-90-100")).toBe("80-90");
  });

  it("names the whole spec in the error", () => {
    expect(() => portSet("80,0")).toThrow("invalid port spec 80,0");
  });
});

describe("ruleExpr", () => {
  it('turns an ingress source "host" into a fib local-address match', () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "host" }))).toBe("fib saddr type local");
  });

  it("matches an ingress CIDR source on saddr", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "10.0.0.0/8" }))).toBe("ip saddr 10.0.0.0/8");
  });

  it("matches an ingress single address on saddr", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "drop", source: "192.168.1.7" }))).toBe("ip saddr 192.168.1.7");
  });

  it("matches an egress destination on daddr", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "drop", destination: "1.1.1.1/32" }))).toBe("ip daddr 1.1.1.1/32");
  });

  it("ignores the field that does not belong to the direction", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "drop", source: "10.0.0.1" }))).toBe("");
    expect(ruleExpr(rule({ direction: "ingress", action: "drop", destination: "10.0.0.1" }))).toBe("");
  });

  it("matches icmp4 as l4proto icmp", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", protocol: "icmp4" }))).toBe("meta l4proto icmp");
  });

  it("matches a protocol without ports", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "drop", protocol: "udp" }))).toBe("meta l4proto udp");
  });

  it("combines address, protocol and a port set", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "10.9.0.0/24", protocol: "tcp", destination_port: "80,443,1000-2000" }))).toBe(
      "ip saddr 10.9.0.0/24 meta l4proto tcp tcp dport { 80, 443, 1000-2000 }",
    );
  });

  it("uses the protocol name for the dport match", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "allow", protocol: "udp", destination_port: "53" }))).toBe("meta l4proto udp udp dport { 53 }");
  });

  it("propagates an invalid port spec as a RangeError", () => {
    expect(() => ruleExpr(rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "0" }))).toThrow(RangeError);
  });

  it("is empty for a rule that matches everything", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "drop" }))).toBe("");
  });
});

describe("Firewall.baseScript", () => {
  const lines = (nat: boolean) => new Firewall("hoody_x", "hx", "10.9.0.0/24", nat).baseScript().trimEnd().split("\n");

  it.each([false, true])("checks a tenant's source address before any conntrack acceptance (outbound NAT %s)", (nat) => {
    const l = lines(nat);
    for (const chain of ["forward", "input"]) {
      const rules = l.filter((x) => x.startsWith(`add rule inet hoody_x ${chain} `));
      // A forged packet that copies another tenant's flow tuple is "established": the check must come first.
      expect(rules.slice(0, 2)).toEqual([
        `add rule inet hoody_x ${chain} iifname "hx*" meta nfproto ipv6 drop`,
        `add rule inet hoody_x ${chain} iifname "hx*" iifname . ip saddr != @tenant_source drop`,
      ]);
      expect(rules.findIndex((x) => x.includes("ct state established"))).toBeGreaterThan(1);
    }
    expect(l).toContain(`add set inet hoody_x tenant_source { type ifname . ipv4_addr ; }`);
  });
});

describe("Firewall.tenantScript", () => {
  const fw = new Firewall("hoody_x", "hx", "10.9.0.0/24", false);
  const T = "inet hoody_x";
  const script = (rules: FirewallRule[]) => fw.tenantScript({ id: "cabcdefghij", veth: "hxcabcdefghij", ip: "10.9.0.2", rules, conntrackMax: 4096 });
  const lines = (rules: FirewallRule[]) => {
    const s = script(rules);
    expect(s.endsWith("\n")).toBe(true);
    return s.slice(0, -1).split("\n");
  };

  it("builds the exact script for no rules", () => {
    expect(lines([])).toEqual([
      `add chain ${T} eg_cabcdefghij`,
      `add chain ${T} in_cabcdefghij`,
      `flush chain ${T} eg_cabcdefghij`,
      `flush chain ${T} in_cabcdefghij`,
      `add rule ${T} eg_cabcdefghij ct state new ct count over 4096 drop`,
      `add rule ${T} in_cabcdefghij drop`,
      `add element ${T} tenant_source { "hxcabcdefghij" . 10.9.0.2 }`,
      `add element ${T} tenant_egress { "hxcabcdefghij" : jump eg_cabcdefghij }`,
      `add element ${T} tenant_ingress { "hxcabcdefghij" : jump in_cabcdefghij }`,
    ]);
  });

  it("caps the tenant's new flows first in its egress chain, before any tenant rule can allow one", () => {
    const l = lines([rule({ direction: "egress", action: "allow", destination: "8.8.8.8" })]);
    const cap = l.indexOf(`add rule ${T} eg_cabcdefghij ct state new ct count over 4096 drop`);
    const user = l.indexOf(`add rule ${T} eg_cabcdefghij ip daddr 8.8.8.8 return`);
    expect(cap).toBe(l.findIndex((x) => x.startsWith(`add rule ${T} eg_cabcdefghij`)));
    expect(user).toBeGreaterThan(cap);
    // The source check lives in the base chains (before conntrack acceptance), not here.
    expect(l.filter((x) => x.includes("saddr !="))).toHaveLength(0);
  });

  it("renders each tenant's own conntrack cap", () => {
    const s = fw.tenantScript({ id: "cabcdefghij", veth: "hxcabcdefghij", ip: "10.9.0.2", rules: [], conntrackMax: 17 });
    expect(s).toContain(`add rule ${T} eg_cabcdefghij ct state new ct count over 17 drop`);
  });

  it("egress allow returns, ingress allow accepts", () => {
    const l = lines([
      rule({ direction: "egress", action: "allow", protocol: "tcp", destination_port: "443" }),
      rule({ direction: "ingress", action: "allow", source: "host", protocol: "tcp", destination_port: "8080" }),
    ]);
    expect(l).toContain(`add rule ${T} eg_cabcdefghij meta l4proto tcp tcp dport { 443 } return`);
    expect(l).toContain(`add rule ${T} in_cabcdefghij fib saddr type local meta l4proto tcp tcp dport { 8080 } accept`);
  });

  it("renders drop and reject verdicts per protocol", () => {
    const l = lines([
      rule({ direction: "egress", action: "reject", protocol: "tcp", destination_port: "25" }),
      rule({ direction: "egress", action: "reject", protocol: "udp", destination_port: "53" }),
      rule({ direction: "ingress", action: "reject", protocol: "icmp4" }),
      rule({ direction: "ingress", action: "drop", source: "10.9.0.0/24" }),
      rule({ direction: "egress", action: "reject" }),
    ]);
    expect(l).toContain(`add rule ${T} eg_cabcdefghij meta l4proto tcp tcp dport { 25 } reject with tcp reset`);
    expect(l).toContain(`add rule ${T} eg_cabcdefghij meta l4proto udp udp dport { 53 } reject`);
    expect(l).toContain(`add rule ${T} in_cabcdefghij meta l4proto icmp reject`);
    expect(l).toContain(`add rule ${T} in_cabcdefghij ip saddr 10.9.0.0/24 drop`);
    expect(l).toContain(`add rule ${T} eg_cabcdefghij  reject`);
    expect(l.filter((x) => x.endsWith("reject with tcp reset"))).toHaveLength(1);
  });

  it("skips disabled rules", () => {
    const enabled = lines([]);
    const withDisabled = lines([
      rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "22", state: "disabled" }),
      rule({ direction: "egress", action: "drop", destination: "1.2.3.4", state: "disabled" }),
    ]);
    expect(withDisabled).toEqual(enabled);
  });

  it("does not validate disabled rules' ports (they are never rendered)", () => {
    expect(() => script([rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "0", state: "disabled" })])).not.toThrow();
  });

  it("keeps rule order and ends the ingress chain with drop after the tenant rules", () => {
    const l = lines([rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "80" }), rule({ direction: "ingress", action: "drop", protocol: "tcp" })]);
    const ingressRules = l.filter((x) => x.startsWith(`add rule ${T} in_cabcdefghij`));
    expect(ingressRules).toEqual([`add rule ${T} in_cabcdefghij meta l4proto tcp tcp dport { 80 } accept`, `add rule ${T} in_cabcdefghij meta l4proto tcp drop`, `add rule ${T} in_cabcdefghij drop`]);
    // The final ingress drop comes before the set and map elements, which are the last three lines.
    expect(l.indexOf(`add rule ${T} in_cabcdefghij drop`)).toBe(l.length - 4);
  });

  it("keys the map elements by the veth name, not the tenant id", () => {
    const s = fw.tenantScript({ id: "c0123456789", veth: "hxzz", ip: "10.9.0.5", rules: [], conntrackMax: 4096 });
    expect(s).toContain(`add element ${T} tenant_egress { "hxzz" : jump eg_c0123456789 }`);
    expect(s).toContain(`add element ${T} tenant_ingress { "hxzz" : jump in_c0123456789 }`);
    expect(s).toContain(`add element ${T} tenant_source { "hxzz" . 10.9.0.5 }`);
    expect(s).not.toContain(`"c0123456789"`);
  });

  it("throws before producing a script when an enabled rule has an invalid port", () => {
    expect(() => script([rule({ direction: "ingress", action: "allow", protocol: "udp", destination_port: "90-80" })])).toThrow(RangeError);
  });
});

describe("FirewallRuleSchema", () => {
  const ok = (r: unknown) => FirewallRuleSchema.safeParse(r).success;

  it("accepts valid rules and defaults state to enabled", () => {
    const parsed = FirewallRuleSchema.parse({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "80,443,1000-2000", source: "host" });
    expect(parsed).toEqual({
      direction: "ingress",
      action: "allow",
      protocol: "tcp",
      destination_port: "80,443,1000-2000",
      source: "host",
      state: "enabled",
    });
    expect(ok({ direction: "egress", action: "reject", protocol: "udp", destination_port: "53", destination: "10.0.0.0/8" })).toBe(true);
    expect(ok({ direction: "ingress", action: "drop", protocol: "icmp4", source: "192.168.0.1", state: "disabled" })).toBe(true);
    expect(ok({ direction: "egress", action: "drop", description: "x".repeat(255) })).toBe(true);
  });

  it("rejects a destination_port without tcp or udp", () => {
    const noProto = FirewallRuleSchema.safeParse({ direction: "ingress", action: "allow", destination_port: "80" });
    expect(noProto.success).toBe(false);
    expect(noProto.error?.issues[0]?.path).toEqual(["destination_port"]);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", destination_port: "80" })).toBe(false);
  });

  it.each([
    ["source", "1.2.3.4; flush ruleset"],
    ["source", "1.2.3.4 accept"],
    ["source", "host\n"],
    ["source", "1.2.3.4/24\nflush ruleset"],
    ["destination", "1.2.3.4; flush ruleset"],
    ["destination", "host"],
    ["destination_port", "80 } accept; flush ruleset; {"],
    ["destination_port", "80\n"],
  ])("rejects injection in %s: %j", (field, value) => {
    expect(ok({ direction: "ingress", action: "allow", protocol: "tcp", [field]: value })).toBe(false);
  });

  // Out-of-range ports must fail validation (INVALID_INPUT), not later inside nft (a 500).
  it.each(["0", "70000", "90-80"])("rejects the out-of-range port spec %j", (port) => {
    expect(ok({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: port })).toBe(false);
  });

  it.each(["999.1.1.1", "10.0.0.0/40", "256.0.0.1/24"])("rejects the impossible address %j", (addr) => {
    expect(ok({ direction: "ingress", action: "allow", source: addr })).toBe(false);
    expect(ok({ direction: "egress", action: "allow", destination: addr })).toBe(false);
  });

  it("rejects a description longer than 255 chars", () => {
    expect(ok({ direction: "egress", action: "drop", description: "x".repeat(256) })).toBe(false);
  });

  it("rejects unknown enums", () => {
    expect(ok({ direction: "forward", action: "allow" })).toBe(false);
    expect(ok({ direction: "ingress", action: "accept" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp6" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", state: "off" })).toBe(false);
  });
});

describe("the SDK's rule fields", () => {
  const ok = (r: unknown) => FirewallRuleSchema.safeParse(r).success;

  it("renders a source port set before the destination ports", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", protocol: "udp", source_port: "53,1000-2000", destination_port: "5353" }))).toBe(
      "meta l4proto udp udp sport { 53, 1000-2000 } udp dport { 5353 }",
    );
  });

  it("renders icmp type and code as numbers", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "drop", protocol: "icmp4", icmp_type: "8", icmp_code: "0" }))).toBe("meta l4proto icmp icmp type 8 icmp code 0");
    expect(ruleExpr(rule({ direction: "egress", action: "allow", protocol: "icmp4", icmp_type: "0" }))).toBe("meta l4proto icmp icmp type 0");
  });

  it("renders address lists as a set and ranges as they are", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "10.0.0.0/8,192.168.1.1-192.168.1.9" }))).toBe("ip saddr { 10.0.0.0/8, 192.168.1.1-192.168.1.9 }");
    expect(ruleExpr(rule({ direction: "egress", action: "drop", destination: "1.1.1.1-1.1.1.3" }))).toBe("ip daddr 1.1.1.1-1.1.1.3");
  });

  it("refuses fields the protocol cannot honour", () => {
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", source_port: "80" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", source_port: "80" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "tcp", icmp_type: "8" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_code: "0" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_type: "256" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_type: "8; flush ruleset" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_type: "8", icmp_code: "3" })).toBe(true);
  });

  it.each(["10.0.0.9-10.0.0.1", "10.0.0.1,", "10.0.0.1, 10.0.0.2", "10.0.0.1,host", "1.2.3.4-1.2.3.5/24"])("refuses the address list %j", (v) => {
    expect(ok({ direction: "ingress", action: "allow", source: v })).toBe(false);
  });
});

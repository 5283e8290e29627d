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
  const lines = (nat: boolean) => new Firewall("hoody_x", "hx", "10.9.0.0/24", nat).baseScript(4096).trimEnd().split("\n");

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

  it("caps each tenant's new flows by its (checked) source address, before any tenant rule can allow one", () => {
    const l = lines(false);
    for (const chain of ["forward", "input"]) {
      const rules = l.filter((x) => x.startsWith(`add rule inet hoody_x ${chain} `));
      expect(rules[2]).toBe(`add rule inet hoody_x ${chain} iifname "hx*" ct state new add @tenant_flows_4096 { ip saddr ct count over 4096 } drop`);
      expect(rules.findIndex((x) => x.includes("vmap @tenant_egress"))).toBeGreaterThan(2);
    }
    expect(new Firewall("hoody_x", "hx", "10.9.0.0/24", false).baseScript(17)).toContain("ct count over 17 }");
  });
});

describe("Firewall rulesets", () => {
  const T = "inet hoody_x";
  /** A firewall whose scripts are recorded instead of run; `chains` is what a listing answers. */
  const recorded = (chains: string[] = []) => {
    const scripts: string[] = [];
    const fw = new Firewall("hoody_x", "hx", "10.9.0.0/24", false, async (s) => {
      if (s.startsWith("list chains")) return `table inet other {\n\tchain eg_rfeedfeedfeedfeed {\n\t}\n}\ntable inet hoody_x {\n${chains.map((c) => `\tchain ${c} {\n\t}`).join("\n")}\n}\n`;
      scripts.push(s);
      return "";
    });
    const last = () => scripts.at(-1)!.trimEnd().split("\n");
    return { fw, scripts, last };
  };
  const web = [rule({ direction: "ingress", action: "allow", source: "host", protocol: "tcp", destination_port: "8080" })];
  const r = Firewall.ruleset(web);

  it("builds a ruleset's chains, named by what they render to", () => {
    const { fw } = recorded();
    expect(r.name).toMatch(/^r[0-9a-f]{32}$/);
    expect(fw.rulesetScript(r).trimEnd().split("\n")).toEqual([
      `add chain ${T} eg_${r.name}`,
      `add chain ${T} in_${r.name}`,
      `flush chain ${T} eg_${r.name}`,
      `flush chain ${T} in_${r.name}`,
      `add rule ${T} in_${r.name} fib saddr type local meta l4proto tcp tcp dport { 8080 } accept`,
      `add rule ${T} in_${r.name} drop`,
    ]);
    // Same rendering, same chains; disabled rules render nothing; any change is another ruleset.
    expect(Firewall.ruleset([...web, rule({ direction: "egress", action: "drop", destination: "1.2.3.4", state: "disabled" })]).name).toBe(r.name);
    expect(Firewall.ruleset([]).name).not.toBe(r.name);
    expect(Firewall.ruleset([rule({ ...web[0]!, destination_port: "8081" })]).name).not.toBe(r.name);
  });

  it("egress allow returns, ingress allow accepts; drop and reject verdicts per protocol", () => {
    const x = Firewall.ruleset([
      rule({ direction: "egress", action: "allow", protocol: "tcp", destination_port: "443" }),
      rule({ direction: "egress", action: "reject", protocol: "tcp", destination_port: "25" }),
      rule({ direction: "egress", action: "reject", protocol: "udp", destination_port: "53" }),
      rule({ direction: "ingress", action: "reject", protocol: "icmp4" }),
      rule({ direction: "ingress", action: "drop", source: "10.9.0.0/24" }),
      rule({ direction: "egress", action: "reject" }),
    ]);
    expect(x.egress).toEqual(["meta l4proto tcp tcp dport { 443 } return", "meta l4proto tcp tcp dport { 25 } reject with tcp reset", "meta l4proto udp udp dport { 53 } reject", " reject"]);
    // Rule order is kept and the ingress chain ends with drop after the tenant's rules.
    expect(x.ingress).toEqual(["meta l4proto icmp reject", "ip saddr 10.9.0.0/24 drop", "drop"]);
  });

  it("throws before producing a script when an enabled rule has an invalid port; a disabled one is never rendered", () => {
    expect(() => Firewall.ruleset([rule({ direction: "ingress", action: "allow", protocol: "udp", destination_port: "90-80" })])).toThrow(RangeError);
    expect(() => Firewall.ruleset([rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "0", state: "disabled" })])).not.toThrow();
  });

  it("makes a ruleset's chains for its first tenant only, and keys every element by the veth", async () => {
    const { fw, last, scripts } = recorded();
    await fw.setTenant({ id: "c0000000001", veth: "hxa", ip: "10.9.0.2", rules: web });
    expect(last()).toEqual([
      ...fw.rulesetScript(r).trimEnd().split("\n"),
      `add element ${T} tenant_source { "hxa" . 10.9.0.2 }`,
      `add element ${T} tenant_egress { "hxa" : jump eg_${r.name} }`,
      `add element ${T} tenant_ingress { "hxa" : jump in_${r.name} }`,
    ]);
    await fw.setTenant({ id: "c0000000002", veth: "hxb", ip: "10.9.0.3", rules: web });
    expect(last()).toEqual([
      `add element ${T} tenant_source { "hxb" . 10.9.0.3 }`,
      `add element ${T} tenant_egress { "hxb" : jump eg_${r.name} }`,
      `add element ${T} tenant_ingress { "hxb" : jump in_${r.name} }`,
    ]);
    expect(scripts.join("")).not.toContain("c0000000002");
  });

  it("moves a tenant to another ruleset in one transaction, deleting chains only with their last user", async () => {
    const { fw, last } = recorded();
    const open = Firewall.ruleset([]);
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: web });
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: web });
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: [] });
    // c2 still jumps to the old chains: they stay.
    expect(last()).toEqual([
      ...fw.rulesetScript(open).trimEnd().split("\n"),
      `delete element ${T} tenant_egress { "hxa" }`,
      `delete element ${T} tenant_ingress { "hxa" }`,
      `add element ${T} tenant_source { "hxa" . 10.9.0.2 }`,
      `add element ${T} tenant_egress { "hxa" : jump eg_${open.name} }`,
      `add element ${T} tenant_ingress { "hxa" : jump in_${open.name} }`,
    ]);
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: [] });
    // The last user leaves: its elements go first, then the chains no one jumps to.
    expect(last()).toEqual([
      `delete element ${T} tenant_egress { "hxb" }`,
      `delete element ${T} tenant_ingress { "hxb" }`,
      `add element ${T} tenant_source { "hxb" . 10.9.0.3 }`,
      `add element ${T} tenant_egress { "hxb" : jump eg_${open.name} }`,
      `add element ${T} tenant_ingress { "hxb" : jump in_${open.name} }`,
      `delete chain ${T} eg_${r.name}`,
      `delete chain ${T} in_${r.name}`,
    ]);
    // The same rules again: nothing to delete, the elements re-added (a no-op when present).
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: [] });
    expect(last().every((l) => l.startsWith("add element"))).toBe(true);
  });

  it("removes a tenant's elements and flow count, and its ruleset's chains with their last user", async () => {
    const { fw, last } = recorded();
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: web });
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: web });
    expect(await fw.removeTenant("c1", "hxa", "10.9.0.2")).toEqual({ chains: [] });
    const flows = [`add element ${T} tenant_flows_0 { 10.9.0.2 }`, `delete element ${T} tenant_flows_0 { 10.9.0.2 }`];
    expect(last()).toEqual([`delete element ${T} tenant_egress { "hxa" }`, `delete element ${T} tenant_ingress { "hxa" }`, `delete element ${T} tenant_source { "hxa" . 10.9.0.2 }`, ...flows]);
    expect(await fw.removeTenant("c2", "hxb", "10.9.0.3")).toEqual({ chains: [`eg_${r.name}`, `in_${r.name}`] });
    expect(last().slice(-4)).toEqual([
      `delete chain ${T} eg_${r.name}`,
      `delete chain ${T} in_${r.name}`,
      `add element ${T} tenant_flows_0 { 10.9.0.3 }`,
      `delete element ${T} tenant_flows_0 { 10.9.0.3 }`,
    ]);
  });

  it("rebuilds every tenant's entries in one transaction at start, deleting chains no one jumps to (an older version's per-tenant ones)", async () => {
    const { fw, scripts } = recorded(["forward", "input", "output", "eg_cold0000001", "in_cold0000001", `eg_${r.name}`, `in_${r.name}`, "eg_rdeadbeefdeadbeef"]);
    const tenants = Array.from({ length: 300 }, (_, i) => ({ id: `c${i}`, veth: `hx${i}`, ip: `10.9.${i >> 8}.${i & 255}`, rules: i % 2 ? web : [] }));
    await fw.setTenants(tenants);
    expect(scripts).toHaveLength(1);
    const l = scripts[0]!.trimEnd().split("\n");
    expect(l.filter((x) => x.startsWith("add chain"))).toHaveLength(4);
    expect(l.filter((x) => x.startsWith("flush map") || x.startsWith("flush set"))).toEqual([`flush map ${T} tenant_egress`, `flush map ${T} tenant_ingress`, `flush set ${T} tenant_source`]);
    expect(l.filter((x) => x.startsWith("add element"))).toHaveLength(6);
    expect(l.join("\n")).toContain(`"hx299" : jump eg_${r.name}`);
    expect(l.filter((x) => x.startsWith("delete chain"))).toEqual([`delete chain ${T} eg_cold0000001`, `delete chain ${T} in_cold0000001`, `delete chain ${T} eg_rdeadbeefdeadbeef`]);
    expect(l.join("\n")).not.toContain("tenant_flows");
    // What it recorded is what the next change builds on: the last user of a ruleset takes its chains.
    for (const t of tenants.filter((x) => x.rules === web).slice(1)) await fw.removeTenant(t.id, t.veth, t.ip);
    expect(await fw.removeTenant("c1", "hx1", "10.9.0.1")).toEqual({ chains: [`eg_${r.name}`, `in_${r.name}`] });
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

describe("Firewall flow-count sets", () => {
  it("names the set after its cap and deletes the sets of other caps once no rule refers to them", async () => {
    const scripts: string[] = [];
    let sets = ["tenant_source", "tenant_flows_4096", "tenant_flows"];
    const fw = new Firewall("hoody_x", "hx", "10.9.0.0/24", false, async (s) => {
      if (s.startsWith("list sets")) return `table inet hoody_x {\n${sets.map((x) => `\tset ${x} {\n\t\ttype ipv4_addr\n\t}`).join("\n")}\n}\n`;
      scripts.push(s);
      return "";
    });
    await fw.ensureBase(2048);
    expect(scripts[0]).toContain(`add set inet hoody_x tenant_flows_2048 { type ipv4_addr ; size 65536 ; flags dynamic ; }`);
    expect(scripts[0]).toContain("add @tenant_flows_2048 { ip saddr ct count over 2048 } drop");
    expect(scripts[0]).not.toContain("@tenant_flows_4096");
    // After the base chains point at the new set: the old cap's sets go (a legacy unsuffixed one too).
    expect(scripts[1]!.trimEnd().split("\n")).toEqual(["delete set inet hoody_x tenant_flows_4096", "delete set inet hoody_x tenant_flows"]);
    sets = ["tenant_source", "tenant_flows_2048"];
    await fw.ensureBase(2048);
    expect(scripts).toHaveLength(3);
    await fw.removeTenant("c1", "hxa", "10.9.0.2");
    expect(scripts.at(-1)).toContain("delete element inet hoody_x tenant_flows_2048 { 10.9.0.2 }");
  });

  it("names only the chains it could delete when a removal falls back to one piece at a time", async () => {
    const web = [rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "80" })];
    const r = Firewall.ruleset(web);
    let refuse = false;
    const fw = new Firewall("hoody_x", "hx", "10.9.0.0/24", false, async (s) => {
      // The whole removal fails (something was missing), and so does the egress chain's delete alone.
      if (refuse && (s.split("\n").filter(Boolean).length > 2 || s.includes(`delete chain inet hoody_x eg_${r.name}`))) throw new Error("refused");
      return "";
    });
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: web });
    refuse = true;
    expect(await fw.removeTenant("c1", "hxa", "10.9.0.2")).toEqual({ chains: [`in_${r.name}`] });
  });
});

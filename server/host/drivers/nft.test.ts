import { describe, expect, it } from "vitest";
import type { FirewallRule } from "../../shared/protocol.js";
import { Firewall } from "./nft.js";

type RuleInput = Omit<FirewallRule, "state"> & { state?: FirewallRule["state"] };
const rule = (r: RuleInput): FirewallRule => ({ state: "enabled", ...r });

/**
 * A firewall whose scripts are recorded instead of run: listings answer `chains`, `sets` and `maps`;
 * `veths` are the links that exist (name → group), whose group writes are recorded too; a script
 * `refuse` picks fails as a killed nft would.
 */
function recorder(o: { chains?: string[]; sets?: () => string[]; maps?: () => string[]; veths?: Map<string, number>; refuse?: (script: string) => boolean }) {
  const scripts: string[] = [];
  const writes: string[] = [];
  const veths = o.veths ?? new Map<string, number>();
  const listed = (kind: string, names: string[]) => `table inet other {\n\t${kind} eg_rfeedfeedfeedfeed {\n\t}\n}\ntable inet hoody_x {\n${names.map((c) => `\t${kind} ${c} {\n\t}`).join("\n")}\n}\n`;
  const fw = new Firewall(
    "hoody_x",
    "hx",
    "10.9.0.0/24",
    false,
    async (s) => {
      if (s.startsWith("list chains")) return listed("chain", o.chains ?? []);
      if (s.startsWith("list sets")) return listed("set", o.sets?.() ?? []);
      if (s.startsWith("list maps")) return listed("map", o.maps?.() ?? []);
      if (o.refuse?.(s)) throw new Error("nft killed after it committed, perhaps");
      scripts.push(s);
      return "";
    },
    {
      write: (veth, group) => {
        writes.push(`${veth}=${group}`);
        if (!veths.has(veth)) return false;
        veths.set(veth, group);
        return true;
      },
      read: (prefix) => new Map([...veths].filter(([v]) => v.startsWith(prefix))),
    },
  );
  const last = () => scripts.at(-1)!.trimEnd().split("\n");
  return { fw, scripts, last, writes, veths };
}

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
      expect(rules.findIndex((x) => x.includes("iifgroup vmap @ruleset_egress"))).toBeGreaterThan(2);
    }
    expect(new Firewall("hoody_x", "hx", "10.9.0.0/24", false).baseScript(17)).toContain("ct count over 17 }");
  });
});

describe("Firewall rulesets", () => {
  const T = "inet hoody_x";
  const recorded = (chains: string[] = [], veths = new Map<string, number>(), refuse?: (script: string) => boolean) => recorder({ chains, veths, refuse });
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

  it("makes a ruleset's chains and number for its first tenant only; a tenant costs one source element and its veth's group", async () => {
    const { fw, last, scripts, writes } = recorded();
    await fw.setTenant({ id: "c0000000001", veth: "hxa", ip: "10.9.0.2", rules: web });
    expect(last()).toEqual([
      ...fw.rulesetScript(r).trimEnd().split("\n"),
      `add element ${T} ruleset_egress { 1 : jump eg_${r.name} }`,
      `add element ${T} ruleset_ingress { 1 : jump in_${r.name} }`,
      `add element ${T} ruleset_live { 1 }`,
      `add element ${T} tenant_source { "hxa" . 10.9.0.2 }`,
    ]);
    await fw.setTenant({ id: "c0000000002", veth: "hxb", ip: "10.9.0.3", rules: web });
    expect(last()).toEqual([`add element ${T} tenant_source { "hxb" . 10.9.0.3 }`]);
    expect(scripts.join("")).not.toContain("c0000000002");
    // Each veth is given its ruleset's number (neither exists here: the tenants are not running).
    expect(writes).toEqual(["hxa=1", "hxb=1"]);
    // A start gives the veth its number again; an unknown tenant has none.
    expect(fw.bindLink("c0000000002")).toBe(false);
    expect(writes.at(-1)).toBe("hxb=1");
    expect(fw.bindLink("c9")).toBe(false);
    expect(writes).toHaveLength(3);
  });

  it("moves a tenant to another ruleset: new chains first, then its veth, then the old chains with their last user", async () => {
    const { fw, scripts, last, writes, veths } = recorded(
      [],
      new Map([
        ["hxa", 0],
        ["hxb", 0],
      ]),
    );
    const open = Firewall.ruleset([]);
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: web });
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: web });
    expect([...veths]).toEqual([
      ["hxa", 1],
      ["hxb", 1],
    ]);
    const before = scripts.length;
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: [] });
    // c2 still uses the old chains: they stay, and the move is one transaction.
    expect(scripts).toHaveLength(before + 1);
    expect(last()).toEqual([
      ...fw.rulesetScript(open).trimEnd().split("\n"),
      `add element ${T} ruleset_egress { 2 : jump eg_${open.name} }`,
      `add element ${T} ruleset_ingress { 2 : jump in_${open.name} }`,
      `add element ${T} ruleset_live { 2 }`,
      `add element ${T} tenant_source { "hxa" . 10.9.0.2 }`,
    ]);
    expect(veths.get("hxa")).toBe(2);
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: [] });
    // The last user leaves: its source stays, its veth moves, and only then the old ruleset goes.
    expect(scripts.slice(before + 1).map((x) => x.trimEnd().split("\n"))).toEqual([
      [`add element ${T} tenant_source { "hxb" . 10.9.0.3 }`],
      [
        `delete element ${T} ruleset_live { 1 }`,
        `delete element ${T} ruleset_egress { 1 }`,
        `delete element ${T} ruleset_ingress { 1 }`,
        `delete chain ${T} eg_${r.name}`,
        `delete chain ${T} in_${r.name}`,
      ],
    ]);
    expect(writes).toEqual(["hxa=1", "hxb=1", "hxa=2", "hxb=2"]);
    // The same rules again: the source re-added (a no-op when present), nothing deleted. Back to the
    // first rules: they get a new number, never the one veths carried for them before.
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: [] });
    expect(last()).toEqual([`add element ${T} tenant_source { "hxb" . 10.9.0.3 }`]);
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: web });
    expect(last()).toContain(`add element ${T} ruleset_egress { 3 : jump eg_${r.name} }`);
    expect(veths.get("hxb")).toBe(3);
  });

  it("removes a tenant's source and flow count, and its ruleset (elements, then chains) with its last user", async () => {
    const { fw, last } = recorded();
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: web });
    await fw.setTenant({ id: "c2", veth: "hxb", ip: "10.9.0.3", rules: web });
    expect(await fw.removeTenant("c1", "hxa", "10.9.0.2")).toEqual({ chains: [] });
    const flows = [`add element ${T} tenant_flows_0 { 10.9.0.2 }`, `delete element ${T} tenant_flows_0 { 10.9.0.2 }`];
    expect(last()).toEqual([`delete element ${T} tenant_source { "hxa" . 10.9.0.2 }`, ...flows]);
    expect(await fw.removeTenant("c2", "hxb", "10.9.0.3")).toEqual({ chains: [`eg_${r.name}`, `in_${r.name}`] });
    expect(last()).toEqual([
      `delete element ${T} tenant_source { "hxb" . 10.9.0.3 }`,
      `delete element ${T} ruleset_live { 1 }`,
      `delete element ${T} ruleset_egress { 1 }`,
      `delete element ${T} ruleset_ingress { 1 }`,
      `delete chain ${T} eg_${r.name}`,
      `delete chain ${T} in_${r.name}`,
      `add element ${T} tenant_flows_0 { 10.9.0.3 }`,
      `delete element ${T} tenant_flows_0 { 10.9.0.3 }`,
    ]);
  });

  it("rebuilds every tenant in one transaction at start, keeping the numbers running veths carry and giving new ones above every carried number", async () => {
    const open = Firewall.ruleset([]);
    // hx1 (web) carries 7; hx2 (open) and an orphan veth of this prefix both carry 9; another prefix's 50 is not ours.
    const veths = new Map([
      ["hx1", 7],
      ["hx2", 9],
      ["hxorphan", 9],
      ["hx3", 0],
      ["other0", 50],
    ]);
    const { fw, scripts, writes } = recorded(["forward", "input", "output", "eg_cold0000001", "in_cold0000001", `eg_${r.name}`, `in_${r.name}`, "eg_rdeadbeefdeadbeef"], veths);
    const tenants = Array.from({ length: 300 }, (_, i) => ({ id: `c${i}`, veth: `hx${i}`, ip: `10.9.${i >> 8}.${i & 255}`, rules: i % 2 ? web : [] }));
    await fw.setTenants(tenants);
    expect(scripts).toHaveLength(1);
    const l = scripts[0]!.trimEnd().split("\n");
    expect(l.filter((x) => x.startsWith("add chain"))).toHaveLength(4);
    expect(l.filter((x) => x.startsWith("flush map") || x.startsWith("flush set"))).toEqual([
      `flush map ${T} ruleset_egress`,
      `flush map ${T} ruleset_ingress`,
      `flush set ${T} ruleset_live`,
      `flush set ${T} tenant_source`,
    ]);
    // web keeps 7; open's 9 is also the orphan's, so open gets 10 (above every carried number).
    expect(l.filter((x) => x.includes("element") && x.includes("ruleset_")).sort()).toEqual(
      [
        `add element ${T} ruleset_egress { 7 : jump eg_${r.name} }`,
        `add element ${T} ruleset_ingress { 7 : jump in_${r.name} }`,
        `add element ${T} ruleset_egress { 10 : jump eg_${open.name} }`,
        `add element ${T} ruleset_ingress { 10 : jump in_${open.name} }`,
        `add element ${T} ruleset_live { 7 }`,
        `add element ${T} ruleset_live { 10 }`,
      ].sort(),
    );
    expect(l.filter((x) => x.startsWith("add element") && x.includes("tenant_source"))).toHaveLength(2);
    expect(l.join("\n")).toContain(`"hx299" . 10.9.1.43`);
    expect(l.filter((x) => x.startsWith("delete chain"))).toEqual([`delete chain ${T} eg_cold0000001`, `delete chain ${T} in_cold0000001`, `delete chain ${T} eg_rdeadbeefdeadbeef`]);
    expect(l.join("\n")).not.toContain("tenant_flows");
    // Then the veths that exist and carry another number, after the transaction.
    expect(writes).toEqual(["hx2=10", "hx3=7"]);
    expect([...veths]).toEqual([
      ["hx1", 7],
      ["hx2", 10],
      ["hxorphan", 9],
      ["hx3", 7],
      ["other0", 50],
    ]);
    // What it recorded is what the next change builds on: a new ruleset's number follows, and the last user of a ruleset takes its chains.
    await fw.setTenant({ id: "c0", veth: "hx0", ip: "10.9.0.0", rules: [{ ...web[0]!, destination_port: "9" }] });
    expect(scripts.at(-1)).toContain("ruleset_egress { 11 : jump");
    for (const t of tenants.filter((x) => x.rules === web).slice(1)) await fw.removeTenant(t.id, t.veth, t.ip);
    expect(await fw.removeTenant("c1", "hx1", "10.9.0.1")).toEqual({ chains: [`eg_${r.name}`, `in_${r.name}`] });
    expect(scripts.at(-1)).toContain(`delete element ${T} ruleset_egress { 7 }`);
  });

  it("never gives a number twice: not after a transaction that failed, not when veths of two rulesets carry it", async () => {
    let refuse = true;
    const veths = new Map([
      ["hx1", 4],
      ["hx2", 4],
      ["hx3", 0],
    ]);
    const { fw, writes } = recorded([], veths, (script) => refuse && script.includes("add element"));
    await expect(fw.setTenant({ id: "c1", veth: "hx1", ip: "10.9.0.2", rules: web })).rejects.toThrow(/killed/);
    refuse = false;
    // The failed one may have committed 1: the next ruleset takes 2, and no veth was given 1.
    await fw.setTenant({ id: "c1", veth: "hx1", ip: "10.9.0.2", rules: web });
    expect(writes).toEqual(["hx1=2"]);
    // hx1 and hx2 are of two rulesets and both carry 4 (no run of this daemon does that): neither keeps it.
    veths.set("hx1", 4);
    await fw.setTenants([
      { id: "c1", veth: "hx1", ip: "10.9.0.2", rules: web },
      { id: "c2", veth: "hx2", ip: "10.9.0.3", rules: [] },
      { id: "c3", veth: "hx3", ip: "10.9.0.4", rules: [] },
    ]);
    expect(writes.slice(1).sort()).toEqual(["hx1=5", "hx2=6", "hx3=6"]);
  });
});

describe("Firewall flow-count sets", () => {
  const listing = (sets: () => string[], maps: () => string[]) => recorder({ sets, maps });

  it("names the set after its cap and deletes the sets of other caps once no rule refers to them", async () => {
    let sets = ["tenant_source", "tenant_flows_4096", "tenant_flows"];
    const { fw, scripts } = listing(
      () => sets,
      () => ["ruleset_egress", "ruleset_ingress"],
    );
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

  it("leaves an older version's base (maps keyed by veth name) in force until the rebuild swaps it in one transaction", async () => {
    let maps = ["tenant_egress", "tenant_ingress"];
    const { fw, scripts } = listing(
      () => ["tenant_source", "tenant_flows_4096", "tenant_flows_2048"],
      () => maps,
    );
    await fw.ensureBase(4096);
    await fw.ensureBase(2048);
    expect(scripts).toEqual([]);
    await fw.setTenants([{ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: [] }]);
    const l = scripts[0]!.trimEnd().split("\n");
    // The base (with the last cap asked), the maps filled, the old maps gone, in that order.
    const at = (x: string) => l.indexOf(x);
    expect(at("flush chain inet hoody_x forward")).toBeGreaterThan(-1);
    expect(l).toContain('add rule inet hoody_x forward iifname "hx*" ct state new add @tenant_flows_2048 { ip saddr ct count over 2048 } drop');
    expect(at("flush chain inet hoody_x forward")).toBeLessThan(at("add element inet hoody_x ruleset_live { 1 }"));
    expect(at("add element inet hoody_x ruleset_live { 1 }")).toBeLessThan(at("delete map inet hoody_x tenant_egress"));
    expect(l.slice(-2)).toEqual(["delete map inet hoody_x tenant_egress", "delete map inet hoody_x tenant_ingress"]);
    // Then the other cap's flow set, as a base of this version does.
    expect(scripts[1]!.trimEnd()).toBe("delete set inet hoody_x tenant_flows_4096");
    maps = ["ruleset_egress", "ruleset_ingress"];
    await fw.ensureBase(2048);
    expect(scripts[2]).toContain("flush chain inet hoody_x forward");
  });

  it("names only the chains it could delete when a removal falls back to one piece at a time", async () => {
    const web = [rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "80" })];
    const r = Firewall.ruleset(web);
    let refuse = false;
    // The whole removal fails (something was missing), and so does the egress chain's delete alone.
    const { fw } = recorder({ refuse: (s) => refuse && (s.split("\n").filter(Boolean).length > 2 || s.includes(`delete chain inet hoody_x eg_${r.name}`)) });
    await fw.setTenant({ id: "c1", veth: "hxa", ip: "10.9.0.2", rules: web });
    refuse = true;
    expect(await fw.removeTenant("c1", "hxa", "10.9.0.2")).toEqual({ chains: [`in_${r.name}`] });
  });
});

// The firewall driver changes the ruleset through libnftables in the daemon's process (no nft
// process per create): on a table of the test's own, what it installs is what `nft list table`
// shows, concurrent changes all land, and a script the kernel refuses fails with nft's own message.
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { Firewall, nftInProcess } from "../server/host/drivers/nft.js";

const table = `hoodyt${randomBytes(3).toString("hex")}`;
const fw = new Firewall(table, "hdt", "10.254.0.0/16", false);

afterAll(async () => {
  await execa("nft", ["delete", "table", "inet", table], { reject: false });
});

const listed = async () => (await execa("nft", ["list", "table", "inet", table])).stdout;

/** The chain a tenant's veth jumps to in one direction, as the kernel lists the verdict map. */
const jumpOf = (text: string, veth: string, dir: "eg" | "in") => new RegExp(`"${veth}" : jump (${dir}_r[0-9a-f]{32})`).exec(text)?.[1] ?? "";
/** A chain's body: from its header to the closing brace at chain depth. */
const chainBody = (name: string, all: string) => {
  const at = all.indexOf(`chain ${name} {`);
  return at < 0 ? "" : all.slice(at, all.indexOf("\n\t}", at));
};
const web = { direction: "ingress", action: "allow", protocol: "tcp", destination_port: "8080", source: "host", state: "enabled" } as const;

describe("firewall through libnftables", () => {
  it("loads libnftables", () => {
    expect(nftInProcess()).toBe(true);
  });

  it("installs, updates and removes tenants as nft lists them: one chain pair per ruleset; 20 changes at once all land", async () => {
    await fw.ensureBase(64);
    const ids = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(10, "0")}`);
    // Every third tenant opens port 9000 too: two rulesets among 20 tenants.
    const rulesOf = (i: number) => (i % 3 ? [web] : [web, { ...web, destination_port: "9000" }]);
    await Promise.all(ids.map((id, i) => fw.setTenant({ id, veth: `hdt${i}`, ip: `10.254.0.${i + 2}`, rules: rulesOf(i) })));
    const text = await listed();
    const chains = new Set<string>();
    for (const i of ids.keys()) {
      expect(text).toContain(`"hdt${i}" . 10.254.0.${i + 2}`);
      const [eg, ing] = [jumpOf(text, `hdt${i}`, "eg"), jumpOf(text, `hdt${i}`, "in")];
      expect(ing).toBe(jumpOf(text, i % 3 ? "hdt1" : "hdt0", "in"));
      expect(chainBody(ing, text)).toContain(i % 3 ? "tcp dport 8080 accept\n\t\tdrop" : "tcp dport 9000 accept");
      chains.add(eg).add(ing);
    }
    expect(chains.size).toBe(4);
    expect((await fw.chains()).filter((c) => /^(eg|in)_/.test(c)).sort()).toEqual([...chains].sort());
    // Each tenant's flow cap is one rule of the base chains, keyed by its source address.
    expect(chainBody("forward", text)).toContain("ct state new add @tenant_flows_64 { ip saddr ct count over 64 } drop");
    // Moving every port-9000 tenant back to the common rules leaves their chains unused: deleted.
    await Promise.all(ids.map((id, i) => (i % 3 ? null : fw.setTenant({ id, veth: `hdt${i}`, ip: `10.254.0.${i + 2}`, rules: [web] }))));
    expect((await fw.chains()).filter((c) => /^(eg|in)_/.test(c))).toHaveLength(2);
    expect(await fw.tenantLeftovers("hdt5", "10.254.0.7")).toEqual([
      "nft set tenant_source element of hdt5 / 10.254.0.7",
      "nft map tenant_egress element of hdt5 / 10.254.0.7",
      "nft map tenant_ingress element of hdt5 / 10.254.0.7",
    ]);
    // The probe (a delete the kernel checks and undoes) left them in place.
    expect(await listed()).toContain(`"hdt5" . 10.254.0.7`);
    expect(jumpOf(await listed(), "hdt5", "eg")).toBeTruthy();
    await Promise.all(ids.map((id, i) => fw.removeTenant(id, `hdt${i}`, `10.254.0.${i + 2}`)));
    const after = await listed();
    expect(after).not.toMatch(/chain (eg|in)_r/);
    expect(after).not.toMatch(/"hdt\d+"/);
    expect(await fw.tenantLeftovers("hdt5", "10.254.0.7")).toEqual([]);
  });

  it("the daemon's start rebuilds every tenant in one transaction and deletes chains nobody jumps to", async () => {
    await fw.ensureBase(64);
    // An older version's per-tenant chain, still jumped to: the rebuild moves the tenant to its ruleset's chains.
    await execa("nft", ["-f", "-"], { input: `add chain inet ${table} eg_cold00000001\nadd element inet ${table} tenant_egress { "hdtold" : jump eg_cold00000001 }\n` });
    const tenants = Array.from({ length: 600 }, (_, i) => ({ id: `c${i}`, veth: `hdr${i}`, ip: `10.254.${2 + (i >> 8)}.${i & 255}`, rules: [web] }));
    await fw.setTenants([...tenants, { id: "cold00000001", veth: "hdtold", ip: "10.254.1.9", rules: [web] }]);
    const text = await listed();
    expect(text).not.toContain("eg_cold00000001");
    expect(jumpOf(text, "hdtold", "eg")).toBe(jumpOf(text, "hdr599", "eg"));
    expect(text).toContain(`"hdr599" . 10.254.4.87`);
    expect((await fw.chains()).filter((c) => /^(eg|in)_/.test(c))).toHaveLength(2);
    await fw.setTenants([]);
    const emptied = await listed();
    expect(emptied).not.toMatch(/"hd[rt]\w/);
  });

  it("renders the SDK's source_port, icmp_type/icmp_code and address lists as the kernel lists them", async () => {
    await fw.ensureBase(64);
    const id = "c0000000sdk";
    await fw.setTenant({
      id,
      veth: "hdtsdk",
      ip: "10.254.1.2",
      rules: [
        { direction: "ingress", action: "allow", protocol: "udp", source_port: "53", destination_port: "5000-5010", source: "10.254.9.0/24,10.254.8.1-10.254.8.9", state: "enabled" },
        { direction: "ingress", action: "drop", protocol: "icmp4", icmp_type: "8", icmp_code: "0", state: "enabled" },
        { direction: "egress", action: "reject", protocol: "icmp4", icmp_type: "13", destination: "10.254.7.7", state: "enabled" },
        { direction: "egress", action: "drop", protocol: "tcp", source_port: "1024-2048", state: "disabled" },
      ],
    });
    const text = await listed();
    const ing = chainBody(jumpOf(text, "hdtsdk", "in"), text);
    const eg = chainBody(jumpOf(text, "hdtsdk", "eg"), text);
    expect(ing).toContain("ip saddr { 10.254.8.1-10.254.8.9, 10.254.9.0/24 } udp sport 53 udp dport 5000-5010 accept");
    expect(ing).toContain("icmp type echo-request icmp code net-unreachable drop");
    expect(eg).toContain("ip daddr 10.254.7.7 icmp type timestamp-request reject");
    // The disabled rule is not in the kernel; enabled, the same rule is (the control).
    expect(eg).not.toContain("sport 1024-2048");
    await fw.setTenant({ id, veth: "hdtsdk", ip: "10.254.1.2", rules: [{ direction: "egress", action: "drop", protocol: "tcp", source_port: "1024-2048", state: "enabled" }] });
    const now = await listed();
    expect(chainBody(jumpOf(now, "hdtsdk", "eg"), now)).toContain("tcp sport 1024-2048 drop");
    // The first ruleset had no other user: its chains went with the change.
    expect(now).not.toContain("icmp type echo-request");
    expect((await fw.removeTenant(id, "hdtsdk", "10.254.1.2")).chains).toHaveLength(2);
    expect(await listed()).not.toMatch(/chain (eg|in)_r/);
  });

  it("a script the kernel refuses fails with nft's message and changes nothing", async () => {
    const before = await listed();
    // A veth name with a quote: a syntax error (not an unresolvable address, which nft would look up in DNS).
    await expect(fw.setTenant({ id: "cbad", veth: 'hdt"bad', ip: "10.254.0.250", rules: [] })).rejects.toThrow(/^nft -f - exited 1: Error: syntax error/s);
    expect(await listed()).toBe(before);
    // Its ruleset was never recorded as made: a good tenant with the same rules makes the chains.
    await fw.setTenant({ id: "cgood", veth: "hdtgood", ip: "10.254.0.251", rules: [] });
    expect(jumpOf(await listed(), "hdtgood", "in")).toMatch(/^in_r/);
    await fw.removeTenant("cgood", "hdtgood", "10.254.0.251");
  });

  it("a new flow cap takes a new set: the old cap's set, with the caps its elements keep, goes", async () => {
    await fw.ensureBase(64);
    await execa("nft", ["add", "element", "inet", table, "tenant_flows_64", "{ 10.254.3.3 }"]);
    await fw.ensureBase(32);
    const text = await listed();
    expect(text).toContain("set tenant_flows_32 {");
    expect(text).not.toContain("tenant_flows_64");
    expect(chainBody("forward", text)).toContain("add @tenant_flows_32 { ip saddr ct count over 32 } drop");
    await fw.ensureBase(64);
  });
});

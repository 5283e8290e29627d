// The firewall driver changes the ruleset through libnftables in the daemon's process (no nft
// process per create): on a table of the test's own, what it installs is what `nft list table`
// shows, concurrent changes all land, and a script the kernel refuses fails with nft's own message.
// Tenants reach their ruleset's chains by their veth's netdev group: most veths here are names
// only (their groups are recorded), the "hdtv" ones are real links made and removed by the test.
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { chainOfGroup, linkGroup } from "./nft-listing.js";
import { afterAll, describe, expect, it } from "vitest";
import { type LinkGroups, netdevGroups } from "../server/host/drivers/netdev-group.js";
import { Firewall } from "../server/host/drivers/nft.js";
import { nftInProcess } from "../server/host/drivers/nft-script.js";

const table = `hoodyt${randomBytes(3).toString("hex")}`;
/** The group each veth was given; a real link's is written to the kernel too. */
const given = new Map<string, number>();
const links: LinkGroups = {
  write: (veth, group) => {
    given.set(veth, group);
    return veth.startsWith("hdtv") ? netdevGroups.write(veth, group) : true;
  },
  read: (prefix) => new Map([...[...given].filter(([v]) => v.startsWith(prefix) && !v.startsWith("hdtv")), ...netdevGroups.read(prefix)]),
};
const fw = new Firewall(table, "hdt", "10.254.0.0/16", false, undefined, links);
const madeLinks: string[] = [];

afterAll(async () => {
  for (const l of madeLinks) await execa("ip", ["link", "del", l], { reject: false });
  await execa("nft", ["delete", "table", "inet", table], { reject: false });
});

const listed = async () => (await execa("nft", ["list", "table", "inet", table])).stdout;

/** The chain a tenant's veth reaches in one direction: its group's element in the kernel's map. */
const jumpOf = (text: string, veth: string, dir: "eg" | "in") => {
  // A veth given no number would make two lookups equal by both finding nothing.
  if (!given.has(veth)) throw new Error(`${veth} was given no number`);
  return chainOfGroup(text, given.get(veth)!, dir);
};
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
    expect(await fw.tenantLeftovers("hdt5", "10.254.0.7")).toEqual(["nft set tenant_source element of hdt5 / 10.254.0.7"]);
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
    // An older version's per-tenant chain, jumped to from its map keyed by veth name: the base
    // stays until the rebuild, which drops the map and then the chain.
    await execa("nft", ["-f", "-"], {
      input: `add map inet ${table} tenant_egress { type ifname : verdict ; }\nadd chain inet ${table} eg_cold00000001\nadd element inet ${table} tenant_egress { "hdtold" : jump eg_cold00000001 }\n`,
    });
    await fw.ensureBase(64);
    expect(await listed()).toContain("tenant_egress");
    const tenants = Array.from({ length: 600 }, (_, i) => ({ id: `c${i}`, veth: `hdr${i}`, ip: `10.254.${2 + (i >> 8)}.${i & 255}`, rules: [web] }));
    await fw.setTenants([...tenants, { id: "cold00000001", veth: "hdtold", ip: "10.254.1.9", rules: [web] }]);
    const text = await listed();
    expect(text).not.toContain("eg_cold00000001");
    expect(text).not.toContain("tenant_egress");
    // One ruleset for all 601: one element per map, leading to its chains.
    const elements = [...text.matchAll(/(\d+) : jump (eg|in)_(r[0-9a-f]{32})/g)];
    expect(elements.map((m) => m[2]).sort()).toEqual(["eg", "in"]);
    expect(chainBody(`in_${elements[0]![3]}`, text)).toContain("tcp dport 8080 accept");
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
  it("a running tenant's veth carries its ruleset's number, which the kernel's maps lead to its chains; a move and the next start keep it right", async () => {
    await fw.ensureBase(64);
    const veth = `hdtv${randomBytes(3).toString("hex")}`;
    const other = `hdtv${randomBytes(3).toString("hex")}`;
    for (const l of [veth, other]) {
      madeLinks.push(l);
      await execa("ip", ["link", "add", l, "type", "veth", "peer", "name", `${l}p`]);
    }
    // The control: a new link carries group 0, which no element of the maps names.
    expect(await linkGroup(veth)).toBe("default");
    await fw.setTenant({ id: "cv1", veth, ip: "10.254.6.1", rules: [web] });
    await fw.setTenant({ id: "cv2", veth: other, ip: "10.254.6.2", rules: [] });
    const [g1, g2] = [await linkGroup(veth), await linkGroup(other)];
    expect(g1).toMatch(/^[1-9]\d*$/);
    expect(g2).toMatch(/^[1-9]\d*$/);
    expect(g1).not.toBe(g2);
    let text = await listed();
    expect(chainBody(chainOfGroup(text, g1, "in"), text)).toContain("tcp dport 8080 accept");
    expect(chainBody(chainOfGroup(text, g2, "in"), text)).not.toContain("8080");
    // Moving cv1 to cv2's rules gives its veth cv2's number; cv1's old ruleset (no user left) goes.
    await fw.setTenant({ id: "cv1", veth, ip: "10.254.6.1", rules: [] });
    expect(await linkGroup(veth)).toBe(g2);
    text = await listed();
    expect(chainOfGroup(text, g1, "in")).toBe("");
    expect(text).not.toContain("tcp dport 8080");
    // A link made again (a restarted tenant) starts at 0; its start gives the number back.
    await execa("ip", ["link", "del", veth]);
    await execa("ip", ["link", "add", veth, "type", "veth", "peer", "name", `${veth}p`]);
    expect(await linkGroup(veth)).toBe("default");
    expect(fw.bindLink("cv1")).toBe(true);
    expect(await linkGroup(veth)).toBe(g2);
    // The next start's rebuild: the number the veths carry stays theirs, a new ruleset's is above it.
    await fw.setTenants([
      { id: "cv1", veth, ip: "10.254.6.1", rules: [] },
      { id: "cv2", veth: other, ip: "10.254.6.2", rules: [] },
      { id: "cv3", veth: "hdtnolink", ip: "10.254.6.3", rules: [web] },
    ]);
    text = await listed();
    expect(await linkGroup(veth)).toBe(g2);
    expect(chainBody(chainOfGroup(text, g2, "in"), text)).not.toContain("8080");
    // (cv3 has no link, so nothing was written for it: its ruleset's number is the map's.)
    const numbers = [...text.matchAll(/(\d+) : jump in_(r[0-9a-f]{32})/g)].map((m) => ({ group: Number(m[1]), web: chainBody(`in_${m[2]}`, text).includes("8080") }));
    expect(numbers.find((n) => n.web)!.group).toBeGreaterThan(Math.max(Number(g1), Number(g2)));
    expect(given.has("hdtnolink")).toBe(false);
    for (const [id, v, ip] of [
      ["cv1", veth, "10.254.6.1"],
      ["cv2", other, "10.254.6.2"],
      ["cv3", "hdtnolink", "10.254.6.3"],
    ] as const)
      await fw.removeTenant(id, v, ip);
    expect(await listed()).not.toMatch(/chain (eg|in)_r/);
  });
});

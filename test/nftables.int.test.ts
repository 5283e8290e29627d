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

describe("firewall through libnftables", () => {
  it("loads libnftables", () => {
    expect(nftInProcess()).toBe(true);
  });

  it("installs, updates and removes tenant chains as nft lists them; 20 changes at once all land", async () => {
    await fw.ensureBase();
    const ids = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(10, "0")}`);
    await Promise.all(
      ids.map((id, i) =>
        fw.setTenant({
          id,
          veth: `hdt${i}`,
          ip: `10.254.0.${i + 2}`,
          conntrackMax: 64,
          rules: [{ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "8080", source: "host", state: "enabled" }],
        }),
      ),
    );
    const text = await listed();
    for (const [i, id] of ids.entries()) {
      expect(text).toContain(`chain eg_${id}`);
      expect(text).toContain(`"hdt${i}" . 10.254.0.${i + 2}`);
      expect(text).toContain(`chain eg_${id} {\n\t\tct state new ct count over 64 drop`);
      expect(text).toMatch(new RegExp(`"hdt${i}" : jump in_${id}`));
    }
    expect((await fw.tenantChains()).length).toBe(40);
    await Promise.all(ids.map((id, i) => fw.removeTenant(id, `hdt${i}`, `10.254.0.${i + 2}`)));
    const after = await listed();
    expect(after).not.toMatch(/chain (eg|in)_c/);
    expect(after).not.toMatch(/"hdt\d+" \. 10\.254/);
  });

  it("renders the SDK's source_port, icmp_type/icmp_code and address lists as the kernel lists them", async () => {
    await fw.ensureBase();
    const id = "c0000000sdk";
    await fw.setTenant({
      id,
      veth: "hdtsdk",
      ip: "10.254.1.2",
      conntrackMax: 64,
      rules: [
        { direction: "ingress", action: "allow", protocol: "udp", source_port: "53", destination_port: "5000-5010", source: "10.254.9.0/24,10.254.8.1-10.254.8.9", state: "enabled" },
        { direction: "ingress", action: "drop", protocol: "icmp4", icmp_type: "8", icmp_code: "0", state: "enabled" },
        { direction: "egress", action: "reject", protocol: "icmp4", icmp_type: "13", destination: "10.254.7.7", state: "enabled" },
        { direction: "egress", action: "drop", protocol: "tcp", source_port: "1024-2048", state: "disabled" },
      ],
    });
    const text = await listed();
    // A chain's body: from its header to the closing brace at chain depth.
    const chain = (name: string, all = text) => {
      const at = all.indexOf(`chain ${name} {`);
      return at < 0 ? "" : all.slice(at, all.indexOf("\n\t}", at));
    };
    const ing = chain(`in_${id}`);
    const eg = chain(`eg_${id}`);
    expect(ing).toContain("ip saddr { 10.254.8.1-10.254.8.9, 10.254.9.0/24 } udp sport 53 udp dport 5000-5010 accept");
    expect(ing).toContain("icmp type echo-request icmp code net-unreachable drop");
    expect(eg).toContain("ip daddr 10.254.7.7 icmp type timestamp-request reject");
    // The disabled rule is not in the kernel; enabled, the same rule is (the control).
    expect(eg).not.toContain("sport 1024-2048");
    await fw.setTenant({ id, veth: "hdtsdk", ip: "10.254.1.2", conntrackMax: 64, rules: [{ direction: "egress", action: "drop", protocol: "tcp", source_port: "1024-2048", state: "enabled" }] });
    expect(chain(`eg_${id}`, await listed())).toContain("tcp sport 1024-2048 drop");
    await fw.removeTenant(id, "hdtsdk", "10.254.1.2");
    expect(await listed()).not.toContain(`in_${id}`);
  });

  it("a script the kernel refuses fails with nft's message and changes nothing", async () => {
    const before = await listed();
    // A chain name with a space: a syntax error (not an unresolvable address, which nft would look up in DNS).
    await expect(fw.setTenant({ id: "c bad", veth: "hdtbad", ip: "10.254.0.250", rules: [], conntrackMax: 64 })).rejects.toThrow(/^nft -f - exited 1: Error: syntax error.*eg_c bad/s);
    expect(await listed()).toBe(before);
  });
});

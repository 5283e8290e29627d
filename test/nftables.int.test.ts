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
    await Promise.all(ids.map((id, i) => fw.setTenant({ id, veth: `hdt${i}`, ip: `10.254.0.${i + 2}`, conntrackMax: 64, rules: [{ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "8080", source: "host", state: "enabled" }] })));
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

  it("a script the kernel refuses fails with nft's message and changes nothing", async () => {
    const before = await listed();
    // A chain name with a space: a syntax error (not an unresolvable address, which nft would look up in DNS).
    await expect(fw.setTenant({ id: "c bad", veth: "hdtbad", ip: "10.254.0.250", rules: [], conntrackMax: 64 })).rejects.toThrow(/^nft -f - exited 1: Error: syntax error.*eg_c bad/s);
    expect(await listed()).toBe(before);
  });
});

// A create whose steps run together (snapshot, LXC config, firewall chains) is undone completely
// when one of them fails while the others succeed: here the config step fails (an init argument
// LXC cannot express), after the snapshot and the chains were made.
import fs from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestHost } from "../testkit/host-harness.js";

let h: TestHost;
beforeAll(async () => {
  h = await TestHost.create();
  await h.client.buildTemplate("mini");
});
afterAll(async () => {
  await h?.stop();
});

describe("create rollback when one of the parallel steps fails", () => {
  it("leaves no subvolume, LXC directory, nft chain or lease", async () => {
    const src = await h.client.call("tenants.create", { template: "mini", start: false });
    await h.client.call("templates.promote", { id: src.id, name: "badinit", settings: { initCmd: ["/bin/sh", "-c", "echo two words"] } });
    await h.client.call("tenants.delete", { id: src.id });
    const subvolumes = async () =>
      (await execa("btrfs", ["subvolume", "list", h.poolPath])).stdout
        .split("\n")
        .map((l) => l.replace(/^.* path /, ""))
        // A template's spare (made after a create, in the background) is the daemon's, not the create's.
        .filter((p) => !p.startsWith("spares/"))
        .sort();
    const before = await subvolumes();
    await expect(h.client.call("tenants.create", { template: "badinit", name: "doomed" })).rejects.toThrow(/init argument not allowed/);
    expect(await subvolumes()).toEqual(before);
    expect(await h.client.call("tenants.list", {})).toEqual([]);
    expect(await fs.readdir(h.lxcPath)).toEqual([]);
    const table = (await execa("nft", ["list", "table", "inet", h.env.HOODY_NFT_TABLE!])).stdout;
    // No element, and no ruleset chains without a tenant to jump to them.
    expect(table).not.toMatch(/chain (eg|in)_r/);
    expect(table).not.toMatch(/elements/);
    // The lease is free again: the next tenant gets the first address.
    const ok = await h.client.call("tenants.create", { template: "mini", start: false });
    expect(ok.ip).toBe(h.env.HOODY_SUBNET!.replace(/\.0\/24$/, ".2"));
    await h.client.call("tenants.delete", { id: ok.id });
    await h.client.call("templates.delete", { name: "badinit" });
  });
});

// Spare snapshots (server/host/spares.ts) on a real pool: a create from a template takes the spare
// made after the one before it (the tenant's subvolume is that spare, renamed), another is made, two
// creates never get one spare, a spare goes with its template and at the daemon's start.
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestHost, waitFor } from "../testkit/host-harness.js";
import type { TenantInfo } from "../server/shared/protocol.js";

let h: TestHost;
beforeAll(async () => {
  h = await TestHost.create();
  await h.client.buildTemplate("mini");
});
afterAll(async () => {
  await h?.stop();
});

/** Subvolumes of the pool, path → id, from btrfs itself. */
async function subvolumes(): Promise<Map<string, number>> {
  const out = (await execa("btrfs", ["subvolume", "list", h.poolPath])).stdout;
  return new Map([...out.matchAll(/^ID (\d+) .* path (\S+)$/gm)].map((m) => [m[2]!, Number(m[1])]));
}
/** The spares of a template: path → subvolume id. */
async function sparesOf(template: string): Promise<Map<string, number>> {
  return new Map([...(await subvolumes())].filter(([p]) => p.startsWith(`spares/${template}.`)));
}
const oneSpare = (template: string) => waitFor(async () => ((await sparesOf(template)).size === 1 ? [...(await sparesOf(template))][0]! : null), 30_000);
const uuids = async (p: string) => {
  const show = (await execa("btrfs", ["subvolume", "show", path.join(h.poolPath, p)])).stdout;
  return { uuid: /^\s*UUID:\s*(\S+)/m.exec(show)?.[1], parent: /Parent UUID:\s*(\S+)/.exec(show)?.[1] };
};

describe("spare snapshots", () => {
  const made: TenantInfo[] = [];

  it("a create takes the template's spare (its subvolume is that spare) and another is made after it", async () => {
    const tpl = (await h.client.call("templates.list", {})).find((t: { name: string }) => t.name === "mini")!;
    // Control: a fresh daemon has none; the first create snapshots, then one is made.
    expect((await sparesOf("mini")).size).toBe(0);
    made.push(await h.client.call("tenants.create", { template: "mini", start: false }));
    const [sparePath, spareId] = await oneSpare("mini");
    expect(sparePath).toMatch(new RegExp(`^spares/mini\\.${tpl.subvolumeId}\\.[0-9a-f]{8}$`));
    const t = await h.client.call("tenants.create", { template: "mini" });
    made.push(t);
    expect(t.subvolumeId).toBe(spareId);
    const all = await subvolumes();
    expect(all.get(`tenants/${t.id}`)).toBe(spareId);
    expect(all.has(sparePath)).toBe(false);
    // A snapshot of the template like any other, and it runs.
    expect((await uuids(`tenants/${t.id}`)).parent).toBe((await uuids("templates/mini")).uuid);
    expect((await h.client.call("tenants.get", { id: t.id })).state).toBe("running");
    // The next spare is another subvolume.
    const [nextPath, nextId] = await oneSpare("mini");
    expect(nextPath).not.toBe(sparePath);
    expect(nextId).not.toBe(spareId);
  });

  it("never gives one spare to two creates at once", async () => {
    const [, spareId] = await oneSpare("mini");
    const burst = await Promise.all(Array.from({ length: 4 }, () => h.client.call("tenants.create", { template: "mini", start: false })));
    made.push(...burst);
    const ids = burst.map((t) => t.subvolumeId);
    expect(new Set(ids).size).toBe(4);
    expect(ids.filter((id) => id === spareId)).toHaveLength(1);
    // And none tried to take one another had (its rename would fail, logged, and it would snapshot).
    expect(h.daemonLog).not.toMatch(/hostd: spare/);
    const all = await subvolumes();
    for (const t of burst) expect(all.get(`tenants/${t.id}`)).toBe(t.subvolumeId);
    await oneSpare("mini");
  });

  it("goes with its template: a promoted template's spare (its tenant's files) is deleted with it", async () => {
    const src = await h.client.call("tenants.create", { template: "mini" });
    await h.client.call("tenants.exec", { id: src.id, command: ["/bin/sh", "-c", "echo customer-secret > /root/note"] });
    await h.client.call("templates.promote", { id: src.id, name: "promoted" });
    const copy = await h.client.call("tenants.create", { template: "promoted", start: false });
    const [spare] = await oneSpare("promoted");
    await h.client.call("tenants.delete", { id: copy.id });
    await h.client.call("tenants.delete", { id: src.id });
    await h.client.call("templates.delete", { name: "promoted" });
    expect((await subvolumes()).has(spare)).toBe(false);
    expect([...(await subvolumes()).keys()].filter((p) => p.includes("promoted"))).toEqual([]);
  });

  it("is dropped at the daemon's start, never taken by the next run", async () => {
    const [old, oldId] = await oneSpare("mini");
    await h.killDaemon();
    await h.startDaemon();
    const t = await h.client.call("tenants.create", { template: "mini", start: false });
    made.push(t);
    expect((await subvolumes()).get(`tenants/${t.id}`)).toBe(t.subvolumeId);
    expect(t.subvolumeId).not.toBe(oldId);
    await waitFor(async () => ![...(await subvolumes()).values()].includes(oldId), 30_000);
    // This run's own spare is made after its first create.
    expect((await oneSpare("mini"))[0]).not.toBe(old);
  });

  it("gives a tenant back its filesystem found among the spares at the start (a rename the pool had not committed)", async () => {
    const t = await h.client.call("tenants.create", { template: "mini" });
    made.push(t);
    await h.client.call("tenants.exec", { id: t.id, command: ["/bin/sh", "-c", "echo mine > /root/mark"] });
    await h.client.call("tenants.stop", { id: t.id });
    await h.killDaemon();
    // As after a crash before the pool's commit: the tenant's record says ready, its tree is a spare again.
    const tpl = (await subvolumes()).get("templates/mini")!;
    await execa("mv", [path.join(h.poolPath, "tenants", t.id), path.join(h.poolPath, "spares", `mini.${tpl}.0badc0de`)]);
    await h.startDaemon();
    expect((await subvolumes()).get(`tenants/${t.id}`)).toBe(t.subvolumeId);
    expect(h.daemonLog).toContain(`${t.id}'s filesystem was still a spare: given back`);
    await h.client.call("tenants.start", { id: t.id });
    expect((await h.client.call("tenants.exec", { id: t.id, command: ["/bin/cat", "/root/mark"] })).stdout).toBe("mine\n");
    for (const m of made) await h.client.call("tenants.delete", { id: m.id });
  });
});

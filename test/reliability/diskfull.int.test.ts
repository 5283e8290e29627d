// Disk full: tenants fill a small pool (dd from /dev/urandom inside them, as a runaway app would).
// Creates then fail with 507 POOL_FULL in the error envelope (the host keeps a free-space reserve,
// HOODY_POOL_MIN_FREE_MIB, default 5% of the pool, for the tenants already there; an ENOSPC from
// btrfs or a file write maps to the same code). Existing tenants keep running and answering HTTP,
// no operation answers 500, the database stays consistent, and once space is freed creates work again.
// Snapshots and promotes are refused below the reserve the same way.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import { execa } from "execa";
import { TestStack } from "../../testkit/stack-harness.js";
import { httpGet, waitFor } from "../../testkit/host-harness.js";
import { checkConsistency } from "./consistency.js";

const MiB = 1024 * 1024;
let s: TestStack;
let project: string;
const tenants: { id: string; engine_name: string; ip: string }[] = [];

async function poolFree(): Promise<{ freeMiB: number; sizeMiB: number }> {
  const st = await fs.statfs(s.host.poolPath);
  return { freeMiB: Math.floor((st.bavail * st.bsize) / MiB), sizeMiB: Math.floor((st.blocks * st.bsize) / MiB) };
}

beforeAll(async () => {
  s = await TestStack.create({ poolSizeMiB: 768 });
  project = (await s.api("POST", "/projects", { alias: "diskfull" })).body.data.id;
  for (let i = 0; i < 3; i++) {
    const r = await s.api("POST", `/projects/${project}/containers`, { name: `full-${i}`, template: "mini" });
    expect(r.status).toBe(201);
    tenants.push({ id: r.body.data.id, engine_name: r.body.data.engine_name, ip: r.body.data.ip });
  }
});
afterAll(async () => {
  await s?.stop();
});

async function allAnswer(): Promise<void> {
  for (const t of tenants) {
    const info = await s.host.lxc("lxc-info", t.engine_name, "-s");
    expect(info.stdout, t.id).toMatch(/RUNNING/);
    const res = await waitFor(() => httpGet(`http://${t.ip}:8080/`).catch(() => null), 10_000);
    expect(res.status, `${t.id} over HTTP`).toBe(200);
  }
}

describe("a pool that runs out of space", () => {
  it("refuses creates with 507 POOL_FULL, keeps tenants running and the DB consistent, and recovers when space is freed", async () => {
    await allAnswer();
    const before = await poolFree();
    // Tenants write until the pool says no (each may hit its own quota first: then the next one writes).
    let writers = 0;
    for (const t of tenants) {
      writers++;
      const r = await s.api("POST", `/containers/${t.id}/exec`, { command: ["/bin/sh", "-c", "dd if=/dev/urandom of=/fill bs=1M count=4096 2>&1; sync"], timeout: 300 });
      expect(r.status).toBe(200);
      if (/No space left/.test(r.body.data.stdout)) break;
    }
    await execa("btrfs", ["filesystem", "sync", s.host.poolPath]);
    const full = await poolFree();
    console.log(`[diskfull] pool ${full.sizeMiB} MiB: ${before.freeMiB} MiB free before, ${full.freeMiB} MiB after ${writers} tenant(s) wrote until ENOSPC`);

    const r = await s.api("POST", `/projects/${project}/containers`, { name: "one-too-many", template: "mini" });
    console.log(`[diskfull] create on the full pool: ${r.status} ${r.body.code}: ${r.body.message}`);
    expect(r.status).toBe(507);
    expect(r.body).toMatchObject({ statusCode: 507, code: "POOL_FULL", error: "Insufficient Storage" });
    expect(r.body.message).toMatch(/pool/i);
    // A copy is a create too; a snapshot and a promote add to the pool too (a snapshot pins the blocks
    // it shares, so the tenant's deletes would stop freeing space): all refused the same way.
    const copy = await s.api("POST", `/containers/${tenants[1]!.id}/copy`, { target_project_id: project, name: "copy-too-many" });
    const snap = await s.api("POST", `/containers/${tenants[1]!.id}/snapshots`, {});
    const promote = await s.api("POST", "/templates/promote", { container_id: tenants[1]!.id, name: "full-promoted" });
    console.log(`[diskfull] on the full pool: copy ${copy.status} ${copy.body.code}; snapshot ${snap.status} ${snap.body.code}; promote ${promote.status} ${promote.body.code}`);
    for (const refused of [copy, snap, promote]) {
      expect(refused.status, `${refused.body.code} ${refused.body.message}`).toBe(507);
      expect(refused.body.code).toBe("POOL_FULL");
    }
    expect((await s.api("GET", `/containers/${tenants[1]!.id}/snapshots`)).body.data.snapshots).toEqual([]);
    expect((await s.api("GET", "/templates")).body.data.templates.map((t: { name: string }) => t.name)).not.toContain("full-promoted");
    const list = await s.api("GET", `/projects/${project}/containers`);
    expect(list.status).toBe(200);
    expect(list.body.data.pagination.total).toBe(tenants.length);

    await allAnswer();
    const mid = await checkConsistency(s.host, { settled: true });
    expect(mid.problems).toEqual([]);
    expect(mid.snapshot.rows.map((x) => x.id).sort()).toEqual(tenants.map((t) => t.id).sort());

    // Free the space: the tenants delete what they wrote; creates work again.
    for (const t of tenants) await s.api("POST", `/containers/${t.id}/exec`, { command: ["/bin/rm", "-f", "/fill"] });
    await waitFor(
      async () => {
        await execa("btrfs", ["filesystem", "sync", s.host.poolPath]);
        return (await poolFree()).freeMiB > before.freeMiB / 2;
      },
      60_000,
      500,
    );
    const again = await s.api("POST", `/projects/${project}/containers`, { name: "after-cleanup", template: "mini" });
    expect(again.status, `${again.body.code} ${again.body.message}`).toBe(201);
    tenants.push({ id: again.body.data.id, engine_name: again.body.data.engine_name, ip: again.body.data.ip });
    const snapAgain = await s.api("POST", `/containers/${tenants[1]!.id}/snapshots`, {});
    expect(snapAgain.status, `${snapAgain.body.code} ${snapAgain.body.message}`).toBe(201);
    await allAnswer();
    const end = await checkConsistency(s.host, { settled: true });
    expect(end.problems).toEqual([]);
  });
});

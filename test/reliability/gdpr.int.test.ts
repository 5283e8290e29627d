// GDPR erasure, searched for byte by byte: a tenant that holds personal data everywhere a tenant can
// (env vars, a file, its app's SQLite written through the router, a snapshot) is deleted; afterwards
// the data dir (database file and WAL, configs, logs), the pool's raw image and the services' logs
// hold none of it, only the receipt. Before the delete the same search finds it (the control).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { TestStack } from "../../testkit/stack-harness.js";
import { waitFor } from "../../testkit/host-harness.js";

let s: TestStack;

beforeAll(async () => {
  s = await TestStack.create({ templates: ["mini", "starter"] });
  await s.startRouter();
});
afterAll(async () => {
  await s?.stop();
});

/** Files under `dir` whose bytes contain any needle (grep -a reads the pool image, the DB and its WAL as they are). */
async function filesContaining(dir: string, needles: string[]): Promise<string[]> {
  await execa("btrfs", ["filesystem", "sync", s.host.poolPath], { reject: false });
  await execa("sync");
  const r = await execa("grep", ["-r", "-l", "-a", "-F", ...needles.flatMap((n) => ["-e", n]), dir], { reject: false });
  return r.stdout.split("\n").filter(Boolean);
}

/**
 * Makes a `starter` subject holding personal data everywhere, erases it and searches for it. With
 * `claimed`, the subject is a warm-pool member claimed by the create (its status log says so).
 */
async function eraseAndSearch(claimed: boolean): Promise<void> {
  const t0 = Date.now();
  const step = (what: string) => console.log(`[gdpr ${claimed ? "claimed" : "fresh"}] ${what} at ${Math.round((Date.now() - t0) / 1000)} s`);
  const stamp = Date.now().toString(36);
  const envSecret = `iban-DE89-${stamp}-envsecret`;
  const fileMarker = `passport-${stamp}-filemarker`;
  const noteMarker = `diagnosis-${stamp}-notemarker`;
  const project = (await s.api("POST", "/projects", { alias: "gdpr" })).body.data.id;
  const other = (await s.api("POST", `/projects/${project}/containers`, { template: "mini", name: "bystander", environment_vars: { KEEP: "other-tenant-data" } })).body.data;
  const made = await s.api("POST", `/projects/${project}/containers`, { template: "starter", name: `subject-${stamp}`, environment_vars: { CUSTOMER_IBAN: envSecret } });
  expect(made.status).toBe(201);
  const t = made.body.data;
  const logs = (await s.api("GET", `/containers/${t.id}/status-logs?sort_order=asc`)).body.data.logs.map((l: any) => l.to_status);
  expect(logs.slice(0, 2)).toEqual(claimed ? ["claiming", "running"] : ["running"]);
  // Personal data in every place a tenant keeps it: a file, the app's SQLite (through the router), a snapshot, an env change.
  await s.api("POST", `/containers/${t.id}/exec`, { command: ["/bin/sh", "-c", `echo ${fileMarker} > /data/customer.txt; echo ${fileMarker} > /ramdisk/cache.txt`] });
  const label = new URL(t.url).hostname.split(".")[0]!;
  await waitFor(async () => (await s.viaRouter(label, "/api/notes", { method: "POST", body: noteMarker, headers: { "content-type": "text/plain" } })).status === 201, 20_000);
  expect((await s.viaRouter(label, "/api/notes")).body).toContain(noteMarker);
  expect((await s.api("POST", `/containers/${t.id}/snapshots`, { alias: "nightly" })).status).toBe(201);
  await s.api("PATCH", `/containers/${t.id}`, { environment_vars: { CUSTOMER_IBAN: `${envSecret}-v2` }, restart: false });

  step("data written");
  // Control: before the delete the search finds each needle on disk.
  const needles = [envSecret, fileMarker, noteMarker];
  for (const n of needles) expect((await filesContaining(s.host.dir, [n])).length, `${n} before delete`).toBeGreaterThan(0);
  const image = path.join(s.host.dir, "pool.img");
  expect(await filesContaining(image, [fileMarker])).toEqual([image]);

  step("control search done");
  const del = await s.api("DELETE", `/containers/${t.id}`);
  expect(del.status).toBe(200);
  const receipt = del.body.data;
  expect(receipt).toMatchObject({ container_id: t.id, project_id: project });
  expect(receipt.erased.host.join("\n")).toMatch(/snapshot/);

  // Nothing anywhere in the data dir (database + WAL, lxc configs and logs, hostd/web logs, the pool's raw image).
  expect(await filesContaining(s.host.dir, needles)).toEqual([]);
  expect(await filesContaining(s.host.dir, [t.id, t.engine_name, `subject-${stamp}`]).then((f) => f.filter((p) => !p.endsWith("hoody.db") && !p.endsWith("hoody.db-wal")))).toEqual([]);
  // The services' own output: web, router, host daemon.
  for (const [name, log] of [["web", s.webLog], ["router", s.routerLog], ["hostd", s.host.daemonLog]] as const) {
    for (const n of needles) expect(log.includes(n), `${name} log holds ${n}`).toBe(false);
  }
  // The database keeps the receipt and nothing else naming the tenant; the other tenant is untouched.
  const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts;
  expect(receipts.filter((r: any) => r.container_id === t.id)).toHaveLength(1);
  expect((await s.api("GET", `/containers/${t.id}`)).body.code).toBe("CONTAINER_NOT_FOUND");
  expect((await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout).not.toContain(t.engine_name);
  await expect(fs.stat(path.join(s.host.lxcPath, t.engine_name))).rejects.toThrow();
  const kept = (await s.api("GET", `/containers/${other.id}`)).body.data;
  expect(kept.environment_vars).toMatchObject({ KEEP: "other-tenant-data" });
  await s.api("DELETE", `/projects/${project}`);
}

describe("GDPR delete", () => {
  it("leaves no byte of the tenant's data in the data dir, the pool image, the database or any log", async () => {
    await eraseAndSearch(false);
  }, 600_000);

  it("a tenant claimed from the warm pool is erased as completely as a fresh one", async () => {
    const set = await s.api("PUT", "/warm-pool/starter", { size: 1 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await waitFor(async () => (await s.api("GET", "/warm-pool")).body.data.pools.find((p: any) => p.template === "starter")?.ready === 1, 60_000);
    // The refill makes the next member while the subject lives and is erased: a sibling on the box.
    await eraseAndSearch(true);
    expect((await s.api("PUT", "/warm-pool/starter", { size: 0 })).status).toBe(200);
  }, 600_000);
});

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
  for (const [name, log] of [
    ["web", s.webLog],
    ["router", s.routerLog],
    ["hostd", s.host.daemonLog],
  ] as const) {
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

describe("GDPR delete after dedup", () => {
  it("erasing a tenant whose extents dedup shared keeps the other's file intact and leaves none of its own bytes", async () => {
    const stamp = Date.now().toString(36);
    const markers = { gone: `medical-${stamp}-onlyerased`, kept: `contract-${stamp}-onlykept` };
    const project = (await s.api("POST", "/projects", { alias: "gdpr-dedup" })).body.data.id;
    const [gone, kept] = await Promise.all(
      (["gone", "kept"] as const).map(async (k) => (await s.api("POST", `/projects/${project}/containers`, { template: "mini", name: `dedup-${k}-${stamp}` })).body.data),
    );
    const sh = async (id: string, script: string) => {
      const r = await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", script] });
      expect(r.body.data?.exit_code, JSON.stringify(r.body)).toBe(0);
      return String(r.body.data.stdout ?? "");
    };
    // The same 8 MiB in both (one seeded generator), and a file of its own each: its marker between
    // random bytes, so compression cannot hide it from the byte search.
    const same = `/bin/busybox awk 'BEGIN { srand(1515); for (i = 0; i < 1048576; i++) printf "%08x", int(rand() * 4294967296) }' > /root/shared.bin`;
    for (const [t, marker] of [
      [gone, markers.gone],
      [kept, markers.kept],
    ] as const) {
      await sh(t.id, `${same} && { head -c 65536 /dev/urandom; for i in $(seq 1 64); do echo ${marker}; done; head -c 65536 /dev/urandom; } > /root/own.bin && sync`);
    }
    const sum = (id: string) => sh(id, "/bin/busybox sha256sum /root/shared.bin").then((o) => o.split(" ")[0]);
    const keptSum = await sum(kept.id);
    expect(await sum(gone.id)).toBe(keptSum);

    const run = await s.api("POST", "/dedup", { deadline_s: 600 });
    expect(run.status).toBe(202);
    await waitFor(
      async () => {
        const st = (await s.api("GET", "/dedup")).body.data;
        return st.running === null && st.runs.find((r: any) => r.id === run.body.data.run.id)?.state === "completed";
      },
      180_000,
      250,
    );
    // The dedup shared the file: neither container holds it alone. (btrfs counts bytes on disk: zstd
    // stores the 8 MiB of hex in about 4.7 MiB; each tenant's own file is 128 KiB of random bytes.)
    const acc = (await s.api("GET", "/dedup")).body.data.accounting;
    for (const t of [gone, kept]) {
      const x = acc.containers.find((c: any) => c.container_id === t.id);
      expect(x.shared_bytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
      expect(x.exclusive_bytes).toBeLessThan(2 * 1024 * 1024);
    }

    // Control: before the erase the search finds both tenants' own bytes in the pool image.
    const image = path.join(s.host.dir, "pool.img");
    expect(await filesContaining(image, [markers.gone])).toEqual([image]);
    expect(await filesContaining(image, [markers.kept])).toEqual([image]);
    expect((await s.api("DELETE", `/containers/${gone.id}`)).status).toBe(200);

    // What only it referenced is gone from the pool; what it shared lives on, whole, in the other tenant.
    expect(await filesContaining(image, [markers.gone])).toEqual([]);
    expect(await filesContaining(image, [markers.kept])).toEqual([image]);
    expect(await sum(kept.id)).toBe(keptSum);
    expect(await sh(kept.id, "cat /root/own.bin | grep -c " + markers.kept)).toContain("64");
    // Nothing in the data dir names it (the dedup hash file and accounting included), the database aside.
    const naming = await filesContaining(s.host.dir, [gone.id, gone.engine_name]);
    expect(naming.filter((p) => !p.endsWith("hoody.db") && !p.endsWith("hoody.db-wal"))).toEqual([]);
    expect((await s.api("GET", "/dedup")).body.data.accounting.containers.map((c: any) => c.container_id)).not.toContain(gone.id);
  });
});

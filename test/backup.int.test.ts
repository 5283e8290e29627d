// Backups on real stacks: a tenant with data, env, a firewall rule and two snapshots is backed up,
// restored in place, exported, erased (its backups with it), and its backup file imported on a
// second stack (its own data dir, pool, daemon and database) answers with the same data, env,
// firewall and snapshots. A changed, cut or foreign-key file is refused and changes nothing.
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { chainOfGroup, linkGroup } from "./nft-listing.js";
import { TestStack } from "../testkit/stack-harness.js";
import { waitFor } from "../testkit/host-harness.js";

let a: TestStack;
let b: TestStack;
let dir: string;
let keyFile: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-backup-test-"));
  keyFile = path.join(dir, "operator.key");
  // Two boxes, one operator: both daemons use the same key file (copied to the second box in real life).
  [a, b] = await Promise.all([
    TestStack.create({ hostEnv: { HOODY_BACKUP_KEY_FILE: keyFile }, webEnv: { HOODY_BACKUP_SWEEP_MS: "300" } }),
    TestStack.create({ hostEnv: { HOODY_BACKUP_KEY_FILE: keyFile } }),
  ]);
}, 240_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await fs.rm(dir, { recursive: true, force: true });
});

const sh = (s: TestStack, engineName: string, cmd: string) => s.host.client.call("tenants.exec", { id: engineName, command: ["sh", "-c", cmd] });

async function importFile(s: TestStack, projectId: string, file: string, query = "") {
  const res = await fetch(`${s.url}/api/v1/projects/${projectId}/containers/import${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.adminToken}`, "content-type": "application/octet-stream" },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: "half",
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as any };
}

/** Subvolumes in a stack's pool and rows of its containers: what a refused import must not change. */
async function footprint(s: TestStack) {
  // Ids and paths (generations move with any write).
  // (Templates' spares come and go after creates, in the background: not a request's footprint.)
  const subvols = (await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout
    .split("\n")
    .filter((l) => !/ path spares\//.test(l))
    .map((l) => l.replace(/ gen \d+/, ""));
  const work = await fs.readdir(path.join(s.host.poolPath, "backup-work")).catch(() => []);
  return { subvols, work, containers: (await s.api("GET", "/containers")).body.data.pagination.total };
}

describe("backup, restore, export, erase, import on another stack", () => {
  const MiB = 1024 * 1024;
  let container: any;
  let backup: any;
  let copy: string;

  it("backs up a tenant with data, env, a firewall rule and two snapshots; the file holds its delta, not its template", async () => {
    const project = (await a.api("POST", "/projects", { alias: "bk" })).body.data;
    const c = await a.api("POST", `/projects/${project.id}/containers`, { name: "bk-src", template: "mini", environment_vars: { PLAN: "pro" } });
    expect(c.status).toBe(201);
    container = c.body.data;
    const rule = await a.api("POST", `/containers/${container.id}/firewall/ingress`, { action: "allow", protocol: "tcp", destination_port: "9000", source: "10.9.0.0/16", description: "partner" });
    expect(rule.status).toBe(200);
    expect((await sh(a, container.engine_name, "mkdir -p /data/sub && echo one > /data/a.txt && head -c 2097152 /dev/urandom > /data/sub/b.bin && sync")).exitCode).toBe(0);
    expect((await a.api("POST", `/containers/${container.id}/snapshots`, { alias: "first" })).status).toBe(201);
    await sh(a, container.engine_name, "echo two > /data/a.txt");
    expect((await a.api("POST", `/containers/${container.id}/snapshots`, { alias: "second" })).status).toBe(201);
    await sh(a, container.engine_name, "echo three > /data/a.txt && echo c > /data/c.txt && sync");

    const r = await a.api("POST", `/containers/${container.id}/backups`);
    expect(r.status).toBe(201);
    backup = r.body.data;
    expect(backup).toMatchObject({ container_id: container.id, template: "mini", snapshots: expect.any(Array) });
    expect(backup.snapshots).toHaveLength(2);
    // Listed, and on disk where it says.
    const list = (await a.api("GET", `/containers/${container.id}/backups`)).body.data.backups;
    expect(list.map((x: any) => x.id)).toEqual([backup.id]);
    expect((await fs.stat(backup.location)).size).toBe(backup.size_bytes);
    // Its delta: the 2 MiB it wrote (shared by its snapshots, sent once), not the template's tree.
    const tpl = (await a.host.client.call("templates.list", {})).find((t) => t.name === "mini")!;
    const full = Number((await execa("du", ["-sb", path.join(a.host.poolPath, "templates", "mini")])).stdout.split("\t")[0]);
    expect(backup.size_bytes).toBeGreaterThan(2 * MiB);
    expect(backup.size_bytes).toBeLessThan(2 * MiB + 256 * 1024);
    expect(full).toBeGreaterThan(512 * 1024);
    expect(backup.size_bytes).toBeLessThan(2 * MiB + full / 2);
    console.log(`[backup] ${backup.size_bytes} bytes for 2 MiB of data; template mini ${full} bytes of files (qgroup ${tpl.bytes})`);
    // Sealed: the data is not readable in the file.
    const raw = await fs.readFile(backup.location);
    expect(raw.includes(Buffer.from("PLAN"))).toBe(false);
    expect(raw.includes(Buffer.from("partner"))).toBe(false);
    copy = path.join(dir, "copy.hbk");
    await fs.copyFile(backup.location, copy);
  });

  it("restores in place: data, env and snapshots as they were at the backup", async () => {
    await sh(a, container.engine_name, "echo changed > /data/a.txt && rm /data/c.txt");
    expect((await a.api("PATCH", `/containers/${container.id}`, { environment_vars: { PLAN: "changed" } })).status).toBe(200);
    const r = await a.api("POST", `/containers/${container.id}/backups/${backup.id}/restore`);
    expect(r.status).toBe(200);
    expect(r.body.data.status).toBe("running");
    expect((await sh(a, container.engine_name, "cat /data/a.txt /data/c.txt")).stdout).toBe("three\nc\n");
    expect((await a.api("GET", `/containers/${container.id}`)).body.data.environment_vars.PLAN).toBe("pro");
    expect((await sh(a, container.engine_name, "cat /proc/1/environ | tr '\\0' '\\n' | grep ^PLAN=")).stdout.trim()).toBe("PLAN=pro");
    // A restore of a backup that is not there: 404, nothing changed (live control: the restore above).
    const missing = await a.api("POST", `/containers/${container.id}/backups/b20000101-000000-000000/restore`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("BACKUP_NOT_FOUND");
    expect((await sh(a, container.engine_name, "cat /data/a.txt")).stdout).toBe("three\n");
  });

  it("exports exactly the tenant's own files as a tar (the template's are left out)", async () => {
    const res = await fetch(`${a.url}/api/v1/containers/${container.id}/export`, { headers: { authorization: `Bearer ${a.adminToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="bk-src-files.tar"');
    // Not gzipped on the way (Next compresses "compressible" types): a tar streams at disk speed.
    expect(res.headers.get("content-encoding")).toBeNull();
    const tar = path.join(dir, "export.tar");
    await fs.writeFile(tar, Buffer.from(await res.arrayBuffer()));
    // Read whole means done: the read-only snapshot the tar was made from is gone by then (it was
    // removed only after the answer ended, which a fuzzed read once caught in between).
    expect((await execa("btrfs", ["subvolume", "list", a.host.poolPath])).stdout).not.toMatch(/backup-work\/export-/);
    const listed = (await execa("tar", ["-tf", tar])).stdout.split("\n").sort();
    // What it wrote; nothing of the template (its /bin/busybox, /etc/passwd, /hoody/init), no LXC mount points.
    expect(listed).toEqual(["data/a.txt", "data/c.txt", "data/sub/b.bin"]);
    expect((await execa("tar", ["-xOf", tar, "data/a.txt"])).stdout).toBe("three");
    const md5 = (await execa("sh", ["-c", `tar -xOf ${tar} data/sub/b.bin | md5sum`])).stdout.split(" ")[0];
    expect((await sh(a, container.engine_name, "md5sum /data/sub/b.bin")).stdout.split(" ")[0]).toBe(md5);
  });

  it("an export whose client goes away stops, and its snapshot of the tenant's files goes at once", async () => {
    const project = (await a.api("POST", "/projects", { alias: "bk-abort" })).body.data;
    const big = (await a.api("POST", `/projects/${project.id}/containers`, { name: "bk-big", template: "mini" })).body.data;
    // More than the pipes and sockets between tar and the client hold: tar must wait on a full pipe.
    expect((await sh(a, big.engine_name, "head -c 50331648 /dev/urandom > /big.bin && sync")).exitCode).toBe(0);
    const listExports = async () => (await execa("btrfs", ["subvolume", "list", a.host.poolPath])).stdout.split("\n").filter((l) => /backup-work\/export-/.test(l));
    const abort = new AbortController();
    const res = await fetch(`${a.url}/api/v1/containers/${big.id}/export`, { headers: { authorization: `Bearer ${a.adminToken}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    // Live probe: mid-stream, the export's read-only snapshot is there.
    expect(await listExports()).toHaveLength(1);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    await waitFor(async () => (await listExports()).length === 0, 15_000);
    expect((await a.api("DELETE", `/containers/${big.id}`)).status).toBe(200);
  });

  it("erasing the tenant erases its backups, and the receipt says so", async () => {
    const r = await a.api("DELETE", `/containers/${container.id}`);
    expect(r.status).toBe(200);
    const host: string[] = r.body.data.erased.host;
    expect(host.some((l) => /^1 backup file\(s\) in .*not reached from here/.test(l))).toBe(true);
    await expect(fs.stat(backup.location)).rejects.toThrow();
    await expect(fs.stat(path.dirname(backup.location))).rejects.toThrow();
  });

  it("imports the file on a second stack: same data, env, firewall and snapshots", async () => {
    const project = (await b.api("POST", "/projects", { alias: "moved" })).body.data;
    const r = await importFile(b, project.id, copy, "?name=bk-moved");
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const moved = r.body.data;
    expect(moved).toMatchObject({ name: "bk-moved", status: "running" });
    expect(moved.environment_vars.PLAN).toBe("pro");
    expect((await sh(b, moved.engine_name, "cat /data/a.txt /data/c.txt")).stdout).toBe("three\nc\n");
    const rules = (await b.api("GET", `/containers/${moved.id}/firewall/rules`)).body.data;
    expect(JSON.stringify(rules)).toContain("partner");
    // In force, as nft shows it on the second box.
    const table = (await execa("nft", ["list", "table", "inet", b.host.env.HOODY_NFT_TABLE!])).stdout;
    const { veth } = await b.host.client.call("tenants.get", { id: moved.engine_name });
    // Its veth's group is its ruleset's number, which the ingress map leads to the ruleset's chain.
    const jump = chainOfGroup(table, await linkGroup(veth), "in");
    const chain = (await execa("nft", ["list", "chain", "inet", b.host.env.HOODY_NFT_TABLE!, String(jump)])).stdout;
    expect(chain).toContain("10.9.0.0/16");
    expect(chain).toContain("9000");
    // Its snapshots came along: the first one holds the first version.
    const snaps = (await b.api("GET", `/containers/${moved.id}/snapshots`)).body.data.snapshots;
    expect(snaps).toHaveLength(2);
    expect((await b.api("PUT", `/containers/${moved.id}/snapshots/${snaps[0].name}`)).status).toBe(200);
    expect((await sh(b, moved.engine_name, "cat /data/a.txt")).stdout).toBe("one\n");
    expect((await b.api("PUT", `/containers/${moved.id}/snapshots/${snaps[1].name}`)).status).toBe(200);
    expect((await sh(b, moved.engine_name, "cat /data/a.txt")).stdout).toBe("two\n");
  });

  it("refuses a changed, cut or foreign-key backup with BACKUP_INVALID and changes nothing", async () => {
    const project = (await b.api("POST", "/projects", { alias: "tamper" })).body.data;
    const before = await footprint(b);
    const good = await fs.readFile(copy);
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length / 2)]! ^= 0x01;
    const cases: [string, Buffer][] = [
      ["one bit flipped", flipped],
      ["cut short", good.subarray(0, good.length - 40)],
      ["cut at a chunk edge", good.subarray(0, Math.floor(good.length / 3))],
      ["not a backup", Buffer.from("hello")],
    ];
    for (const [what, bytes] of cases) {
      const f = path.join(dir, "bad.hbk");
      await fs.writeFile(f, bytes);
      const r = await importFile(b, project.id, f).catch((e) => {
        throw new Error(`${what}: ${e.cause?.message ?? e.message}\n${b.webLog.slice(-3000)}`);
      });
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(422);
      expect(r.body.code, what).toBe("BACKUP_INVALID");
    }
    expect(await footprint(b)).toEqual(before);
    // Another operator's key: refused by name.
    const other = await TestStack.create({ hostEnv: { HOODY_BACKUP_KEY_FILE: path.join(dir, "other.key") } });
    try {
      const p = (await other.api("POST", "/projects", { alias: "other" })).body.data;
      const r = await importFile(other, p.id, copy);
      expect(r.status).toBe(422);
      expect(r.body.code).toBe("BACKUP_INVALID");
      expect(r.body.message).toContain("another key");
    } finally {
      await other.stop();
    }
    // Live control: the same untouched file still imports.
    const ok = await importFile(b, project.id, copy, "?name=bk-control");
    expect(ok.status).toBe(201);
  });
});

describe("backup schedules", () => {
  it("a project's schedule backs up its containers and keeps the N newest", async () => {
    const project = (await a.api("POST", "/projects", { alias: "sched" })).body.data;
    const c = (await a.api("POST", `/projects/${project.id}/containers`, { name: "sched-1", template: "mini" })).body.data;
    const manual: string[] = [];
    for (let i = 0; i < 2; i++) manual.push((await a.api("POST", `/containers/${c.id}/backups`)).body.data.id);
    const bad = await a.api("PUT", `/projects/${project.id}/backup-schedule`, { every_hours: 0, keep: 2 });
    expect(bad.status).toBe(422);
    expect((await a.api("GET", `/projects/${project.id}/backup-schedule`)).body.data.every_hours).toBeNull();
    const set = await a.api("PUT", `/projects/${project.id}/backup-schedule`, { every_hours: 24, keep: 2 });
    expect(set.status).toBe(200);
    // The sweep (every 300 ms here) writes one and prunes to the two newest: the oldest manual one goes.
    const list = await waitFor(
      async () => {
        const l = (await a.api("GET", `/containers/${c.id}/backups`)).body.data.backups.map((x: any) => x.id);
        return l.length === 2 && !l.includes(manual[0]) ? l : null;
      },
      30_000,
      200,
    );
    expect(list).toContain(manual[1]);
    const sched = (await a.api("GET", `/projects/${project.id}/backup-schedule`)).body.data;
    expect(sched).toMatchObject({ every_hours: 24, keep: 2, last_runs: { [c.id]: expect.any(String) } });
    // Not due again for 24 h: the next sweeps leave the two alone.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await a.api("GET", `/containers/${c.id}/backups`)).body.data.backups.map((x: any) => x.id)).toEqual(list);
    expect((await a.api("DELETE", `/projects/${project.id}/backup-schedule`)).status).toBe(200);
  });
});

// Dedup against the real system: a host daemon on a loop-backed BTRFS pool runs the real duperemove.
// Whether extents are shared is read with btrfs's own tools (`btrfs filesystem du`: a file's
// exclusive vs shared bytes) and the pool's used bytes with statfs, each before the run (the
// control: nothing shared yet) and after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { TestHost, waitFor } from "../testkit/host-harness.js";
import type { DedupRun, TenantInfo } from "../server/shared/protocol.js";

let h: TestHost;
let a: TenantInfo;
let b: TenantInfo;
const MiB = 1024 * 1024;

beforeAll(async () => {
  h = await TestHost.create({ poolSizeMiB: 6144 });
  await h.client.buildTemplate("mini");
  a = await h.client.call("tenants.create", { template: "mini", name: "dedup-a", limits: { diskMiB: 4096 } });
  b = await h.client.call("tenants.create", { template: "mini", name: "dedup-b", limits: { diskMiB: 4096 } });
});
afterAll(async () => {
  await h?.stop();
});

/** The file's path in the pool (its tenant's subvolume), as the tenant sees it at `inTenant`. */
const onPool = (t: TenantInfo, inTenant: string) => path.join(h.poolPath, "tenants", t.id, inTenant);

/**
 * Writes bytes into a tenant's tree from the host, owned by the tenant's root. A plain write, not a
 * copy: copy_file_range on BTRFS would clone (share) the extents before dedup had a chance to.
 */
/**
 * One write(2) of the whole file, then fsync: duperemove 0.11 pairs extents only when their length
 * matches too, and fs.writeFile's 512 KiB chunks, with writeback between them, can leave one copy in
 * two extents and its twin in one, a pair no run ever dedupes (README: Dedup). The product's limit;
 * the tests make each file one extent so that they measure the rest.
 */
async function put(t: TenantInfo, inTenant: string, bytes: Buffer): Promise<void> {
  const p = onPool(t, inTenant);
  await fs.mkdir(path.dirname(p), { recursive: true });
  const fh = await fs.open(p, "w");
  try {
    const { bytesWritten } = await fh.write(bytes, 0, bytes.length, 0);
    if (bytesWritten !== bytes.length) throw new Error(`short write to ${p}: ${bytesWritten} of ${bytes.length}`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.chown(p, t.uidBase, t.uidBase);
}

/** `btrfs filesystem du -s --raw` of each path: exclusive and shared bytes. */
async function du(...paths: string[]): Promise<{ exclusive: number; shared: number }[]> {
  await execa("btrfs", ["filesystem", "sync", h.poolPath]);
  const out = (await execa("btrfs", ["filesystem", "du", "-s", "--raw", ...paths])).stdout;
  return out
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .map((f) => ({ exclusive: Number(f[1]), shared: Number(f[2]) }));
}

async function poolUsed(): Promise<number> {
  await execa("btrfs", ["filesystem", "sync", h.poolPath]);
  const st = await fs.statfs(h.poolPath);
  return (st.blocks - st.bfree) * st.bsize;
}

/** Waits for the run to end and answers it as the history records it. */
async function finished(id: string, timeoutMs = 120_000): Promise<DedupRun> {
  return waitFor(
    async () => {
      const st = await h.client.call("dedup.status", {});
      return st.running?.id === id ? null : (st.runs.find((r) => r.id === id) ?? null);
    },
    timeoutMs,
    200,
  );
}

const sha = async (p: string) =>
  createHash("sha256")
    .update(await fs.readFile(p))
    .digest("hex");

describe("dedup", () => {
  it("shares two tenants' identical 64 MiB file: the pool drops by ≥ 60 MiB, both read back the same", async () => {
    const big = randomBytes(64 * MiB);
    await put(a, "root/model.bin", big);
    await put(b, "root/model.bin", big);
    const files = [onPool(a, "root/model.bin"), onPool(b, "root/model.bin")];
    // Control: two copies, each all its own.
    expect(await du(...files)).toEqual([
      { exclusive: 64 * MiB, shared: 0 },
      { exclusive: 64 * MiB, shared: 0 },
    ]);
    const qBefore = (await h.client.call("host.stats", { sync: true })).tenants;
    const usedBefore = await poolUsed();

    const { run, started } = await h.client.call("dedup.start", { deadlineS: 300 });
    expect(started).toBe(true);
    // One run at a time: a second ask answers the run in flight.
    const again = await h.client.call("dedup.start", {});
    if (again.started === false) expect(again.run.id).toBe(run.id);
    const done = await finished(run.id);
    expect(done).toMatchObject({ state: "completed", trigger: "manual" });

    // The kernel shares the extents: neither file holds bytes of its own any more.
    expect(await du(...files)).toEqual([
      { exclusive: 0, shared: 64 * MiB },
      { exclusive: 0, shared: 64 * MiB },
    ]);
    const usedAfter = await poolUsed();
    expect(usedBefore - usedAfter).toBeGreaterThanOrEqual(60 * MiB);
    expect(done.savedBytes).toBeGreaterThanOrEqual(60 * MiB);
    expect(await sha(files[0]!)).toBe(createHash("sha256").update(big).digest("hex"));
    expect(await sha(files[1]!)).toBe(await sha(files[0]!));

    // Simple quotas keep a shared extent charged to the tenant that wrote it first: one of the two
    // qgroups lost the 64 MiB, the other still counts it. The accounting says so beside what each references.
    const qAfter = (await h.client.call("host.stats", { sync: true })).tenants;
    const delta = (list: typeof qAfter, t: TenantInfo) => list.find((x) => x.id === t.id)!.deltaBytes;
    const drops = [a, b].map((t) => delta(qBefore, t) - delta(qAfter, t));
    expect(Math.max(...drops)).toBeGreaterThanOrEqual(63 * MiB);
    expect(Math.min(...drops)).toBeLessThan(MiB);
    const st = await h.client.call("dedup.status", {});
    expect(st.available).toBe(true);
    const acc = st.accounting!;
    for (const t of [a, b]) {
      const x = acc.tenants.find((y) => y.id === t.id)!;
      expect(x.sharedBytes).toBeGreaterThanOrEqual(64 * MiB);
      expect(x.referencedBytes).toBeGreaterThanOrEqual(64 * MiB);
      // Erasing either frees none of the shared file: less than a MiB of its own.
      expect(x.exclusiveBytes).toBeLessThan(MiB);
      expect(x.qgroupBytes).toBe(delta(qAfter, t));
    }
    expect(acc.referencedBytes - acc.poolDataBytes).toBeGreaterThan(64 * MiB);
  });

  it("a run that hits its deadline stops cleanly, keeps what it read in the hash file, and the next run finishes the job", async () => {
    // 2 × 1,200 one-MiB files, pairwise identical: far more than one idle-priority second of hashing.
    const n = 1200;
    for (let i = 0; i < n; i++) {
      const blob = randomBytes(MiB);
      await put(a, `srv/pkg/${i}`, blob);
      await put(b, `srv/pkg/${i}`, blob);
    }
    const pair = [onPool(a, "srv/pkg"), onPool(b, "srv/pkg")];
    expect((await du(...pair)).map((x) => x.shared)).toEqual([0, 0]);
    const hashFile = path.join(h.dir, "dedup", "hashes.db");
    const listed = async () => (await execa("duperemove", ["-L", `--hashfile=${hashFile}`])).stdout.split("\n").filter((l) => l.includes("/srv/pkg/")).length;

    // A 1 s run is cut (at idle priority on a busy machine one may not get to hash anything: then
    // the next tries again) and keeps what it hashed in the hash file.
    let cut: { state: string; message: string | null; kept: number } | null = null;
    for (let i = 0; i < 10 && !(cut && cut.kept > 0); i++) {
      const { run } = await h.client.call("dedup.start", { deadlineS: 1 });
      const done = await finished(run.id);
      cut = { state: done.state, message: done.message, kept: await listed() };
      expect(cut.state).toBe("deadline");
    }
    expect(cut!.message).toMatch(/resumes/);
    expect(cut!.kept).toBeGreaterThan(0);
    expect(cut!.kept).toBeLessThan(2 * n);
    expect((await du(...pair)).reduce((sum, x) => sum + x.shared, 0)).toBeLessThan(2 * n * MiB);
    // The next run goes on from there (duperemove reads only files the hash file lacks or that changed) and finishes.
    const { run } = await h.client.call("dedup.start", { deadlineS: 600 });
    expect(await finished(run.id, 300_000)).toMatchObject({ state: "completed" });
    expect(await listed()).toBe(2 * n);
    expect(await du(...pair)).toEqual([
      { exclusive: 0, shared: n * MiB },
      { exclusive: 0, shared: n * MiB },
    ]);
    const status = await h.client.call("dedup.status", {});
    expect(status.runs[0]!.state).toBe("completed");
  }, 600_000);

  it("a tenant's erase stops a run in flight instead of waiting for it, and leaves no hash file naming it", async () => {
    const c = await h.client.call("tenants.create", { template: "mini", name: "dedup-c", limits: { diskMiB: 4096 } });
    for (let i = 0; i < 300; i++) await put(c, `srv/blob/${i}`, randomBytes(MiB));
    // The hash file is gone only if a run made one: start from none, so the run below writes it.
    await fs.rm(path.join(h.dir, "dedup", "hashes.db"), { force: true });
    const { run } = await h.client.call("dedup.start", { deadlineS: 600 });
    await waitFor(
      async () =>
        fs.stat(path.join(h.dir, "dedup", "hashes.db")).then(
          () => true,
          () => false,
        ),
      10_000,
    );
    const t0 = Date.now();
    const report = await h.client.call("tenants.delete", { id: c.id });
    // The run had gigabytes to read again (the hash file was gone): the erase did not wait for it.
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(report.erased.join("\n")).toMatch(/dedup hash file/);
    expect(await finished(run.id)).toMatchObject({ state: "preempted" });
    const left = await execa("grep", ["-r", "-l", "-a", "-F", c.id, path.join(h.dir, "dedup")], { reject: false });
    expect(left.stdout).toBe("");
    // Control: the other tenants' shared files are intact and a new run works.
    const next = await h.client.call("dedup.start", { deadlineS: 300 });
    expect(await finished(next.run.id)).toMatchObject({ state: "completed" });
    expect(await sha(onPool(a, "root/model.bin"))).toBe(await sha(onPool(b, "root/model.bin")));
  }, 600_000);
});

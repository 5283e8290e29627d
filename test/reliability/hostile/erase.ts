// Hostile tenants against their disk quota, their erasure and the control plane's view of them
// (issue 20, items 2, 3, 4 and 20), attacked from inside tenants on the whole stack (production web
// build, router, real host daemon, LXC, BTRFS). Each "cannot" has a control that shows the probe ran
// and would have worked: an allowed BTRFS ioctl answers from inside, a hidden tenant's top cgroup is
// really empty, the markers are in the pool image before the erase.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { TestStack } from "../../../testkit/stack-harness.js";
import { waitFor } from "../../../testkit/host-harness.js";

const MiB = 1024 * 1024;
let s: TestStack;
let project: string;
let probeBinary: string;

/**
 * BTRFS ioctls as a tenant's own code would make them (mini has no python: a static binary the test
 * puts in the tenant's filesystem). Prints "OK <n>" or "ERR <strerror>".
 *   lookup <path>                  INO_LOOKUP: the subvolume id of path (allowed: the control)
 *   subvol <dir> <name> [high]     SUBVOL_CREATE (high: with bit 32 of the request set; the kernel ignores it)
 *   subvol2 <dir> <name>           SUBVOL_CREATE_V2
 *   snap <src> <dir> <name>        SNAP_CREATE
 *   snap2 <src> <dir> <name>       SNAP_CREATE_V2
 */
const PROBE_C = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
struct vol_args { long long fd; char name[4088]; };
struct vol_args_v2 { long long fd; unsigned long long transid, flags, unused[4]; char name[4040]; };
int main(int argc, char **argv) {
  long r = -1; unsigned long long out = 0;
  if (!strcmp(argv[1], "lookup")) {
    unsigned long long a[512] = {0}; a[1] = 256;
    r = ioctl(open(argv[2], O_RDONLY), 0xd0009412UL, a); out = a[0];
  } else if (!strcmp(argv[1], "subvol")) {
    struct vol_args a = {0}; strncpy(a.name, argv[3], sizeof a.name - 1);
    r = ioctl(open(argv[2], O_RDONLY | O_DIRECTORY), 0x5000940eUL | (argc > 4 ? 1UL << 32 : 0), &a);
  } else if (!strcmp(argv[1], "subvol2")) {
    struct vol_args_v2 a = {0}; strncpy(a.name, argv[3], sizeof a.name - 1);
    r = ioctl(open(argv[2], O_RDONLY | O_DIRECTORY), 0x50009418UL, &a);
  } else if (!strcmp(argv[1], "snap")) {
    struct vol_args a = {0}; a.fd = open(argv[2], O_RDONLY); strncpy(a.name, argv[4], sizeof a.name - 1);
    r = ioctl(open(argv[3], O_RDONLY | O_DIRECTORY), 0x50009401UL, &a);
  } else if (!strcmp(argv[1], "snap2")) {
    struct vol_args_v2 a = {0}; a.fd = open(argv[2], O_RDONLY); strncpy(a.name, argv[4], sizeof a.name - 1);
    r = ioctl(open(argv[3], O_RDONLY | O_DIRECTORY), 0x50009417UL, &a);
  }
  if (r == 0) printf("OK %llu\n", out); else printf("ERR %s\n", strerror(errno));
  return 0;
}
`;

beforeAll(async () => {
  s = await TestStack.create({ templates: ["mini"], poolSizeMiB: 2048 });
  await s.startRouter();
  project = (await s.api("POST", "/projects", { alias: "hostile-erase" })).body.data.id;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-probe-"));
  await fs.writeFile(path.join(dir, "probe.c"), PROBE_C);
  probeBinary = path.join(dir, "probe");
  await execa("gcc", ["-static", "-O1", "-o", probeBinary, path.join(dir, "probe.c")]);
});
afterAll(async () => {
  await s?.stop();
  if (probeBinary) await fs.rm(path.dirname(probeBinary), { recursive: true, force: true });
});

/** A container as the API answers it: `id` for the API, `engine_name` for the host's own tools and paths. */
interface Tenant {
  id: string;
  ip: string;
  engine_name: string;
}

async function createTenant(body: Record<string, unknown> = {}): Promise<Tenant> {
  const r = await s.api("POST", `/projects/${project}/containers`, { template: "mini", ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data;
}

/** A shell script run inside the tenant through the API (as its owner's code would run). */
async function inside(id: string, script: string): Promise<string> {
  const r = await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", script] });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data.stdout + r.body.data.stderr;
}

/** What the probe binary answers inside the tenant. */
async function probe(t: Tenant, ...args: string[]): Promise<string> {
  const target = path.join(s.host.poolPath, "tenants", t.engine_name, "probe");
  if (!existsSync(target)) await fs.copyFile(probeBinary, target);
  await fs.chmod(target, 0o755);
  return (await inside(t.id, `/probe ${args.join(" ")}`)).trim();
}

const lxcState = async (engineName: string) => (await s.host.lxc("lxc-info", engineName, "-sH")).stdout.trim();

/**
 * The needles the pool's raw image holds: committed first (so what is on disk is what is searched),
 * unless `asLeft` (no commit and no sync(2), which commits too: what the erase itself left).
 */
async function inPoolImage(needles: string[], asLeft = false): Promise<string[]> {
  if (!asLeft) {
    await execa("btrfs", ["filesystem", "sync", s.host.poolPath]);
    await execa("sync");
  }
  const r = await execa("grep", ["-a", "-o", "-F", ...needles.flatMap((n) => ["-e", n]), path.join(s.host.dir, "pool.img")], { reject: false });
  return [...new Set(r.stdout.split("\n").filter(Boolean))];
}

/** Host paths (below the pool) of every subvolume, from btrfs itself. */
async function subvolumePaths(): Promise<string[]> {
  return (await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout.split("\n").map((l) => l.replace(/^.* path /, ""));
}

/** A large marker: 2 MiB of random bytes (so compression leaves them as they are) around the marker. */
const largeMarkerScript = (marker: string, file: string) =>
  `dd if=/dev/urandom of=${file} bs=1M count=1 2>/dev/null; echo ${marker} >> ${file}; dd if=/dev/urandom bs=1M count=1 2>/dev/null >> ${file}; sync`;

describe("item 2: disk quota", () => {
  it("a tenant cannot make a subvolume or snapshot outside its qgroup, and its bytes count", async () => {
    const t = await createTenant({ name: "quota-escape", limits: { disk_mib: 64 } });
    // Control: BTRFS ioctls reach the filesystem from inside (this one is allowed and answers).
    expect(await probe(t, "lookup", "/data")).toMatch(/^OK \d+$/);
    // The attack of the issue, every variant: refused by seccomp before btrfs sees it.
    expect(await probe(t, "subvol", "/data", "nested")).toBe("ERR Operation not permitted");
    expect(await probe(t, "subvol", "/data", "nested-high", "high")).toBe("ERR Operation not permitted");
    expect(await probe(t, "subvol2", "/data", "nested2")).toBe("ERR Operation not permitted");
    expect(await probe(t, "snap", "/", "/data", "rootcopy")).toBe("ERR Operation not permitted");
    expect(await probe(t, "snap2", "/", "/data", "rootcopy2")).toBe("ERR Operation not permitted");
    expect((await subvolumePaths()).filter((p) => p.startsWith(`tenants/${t.engine_name}/`))).toEqual([]);
    // What it writes counts against its limit: delta_disk_bytes follows, and the limit holds.
    await inside(t.id, "dd if=/dev/urandom of=/data/fill bs=1M count=24 2>/dev/null; sync");
    await waitFor(async () => (await s.api("GET", `/containers/${t.id}`)).body.data.stats.delta_disk_bytes >= 24 * MiB, 20_000, 250);
    expect(await inside(t.id, "dd if=/dev/urandom of=/data/more bs=1M count=80 2>&1; sync")).toMatch(/quota exceeded/i);
    expect((await s.api("DELETE", `/containers/${t.id}`)).status).toBe(200);
  });
});

describe("item 4: a tenant hiding in a child cgroup", () => {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  // Every process of the tenant into a child cgroup it made (v1: the pids controller mounted inside).
  const hide = v2
    ? "mkdir -p /sys/fs/cgroup/hide && for p in $(cat /sys/fs/cgroup/cgroup.procs); do echo $p > /sys/fs/cgroup/hide/cgroup.procs 2>/dev/null; done; echo hidden"
    : "mkdir -p /tmp/cg && mount -t cgroup -o pids cgroup /tmp/cg && mkdir -p /tmp/cg/hide && for p in $(cat /tmp/cg/cgroup.procs); do echo $p > /tmp/cg/hide/cgroup.procs 2>/dev/null; done; echo hidden";
  // The tenant's lasting cgroup, and LXC's container cgroup in it (the tenant's cgroup namespace root).
  const tenantCgroup = (id: string) => (v2 ? `/sys/fs/cgroup/hoody.tenants/${id}` : `/sys/fs/cgroup/pids/hoody.tenants/${id}`);
  const topCgroup = (id: string) => `${tenantCgroup(id)}/payload`;
  const procsIn = async (dir: string) => (await fs.readFile(`${dir}/cgroup.procs`, "utf8").catch(() => "")).split("\n").filter(Boolean);

  async function hidden(t: Tenant): Promise<void> {
    const id = t.engine_name;
    expect(await inside(t.id, hide)).toContain("hidden");
    // Control: the hide worked (the top cgroup is empty, the child holds the app) and LXC says it runs.
    await waitFor(async () => (await procsIn(topCgroup(id))).length === 0, 10_000);
    expect((await procsIn(`${topCgroup(id)}/hide`)).length).toBeGreaterThan(0);
    expect(await lxcState(id)).toBe("RUNNING");
  }

  it("state, stats, exec, stop and DELETE see the whole subtree", async () => {
    const t = await createTenant({ name: "hider" });
    await hidden(t);
    const view = (await s.api("GET", `/containers/${t.id}`)).body.data;
    expect(view.status).toBe("running");
    expect(view.stats.pids).toBeGreaterThan(0);
    expect(view.stats.memory_bytes).toBeGreaterThan(0);
    expect(view.stats.cpu_usage_ns).toBeGreaterThan(0);
    expect(await inside(t.id, "echo still-reachable")).toContain("still-reachable");
    expect((await s.api("POST", `/containers/${t.id}/stop`)).status).toBe(200);
    expect(await lxcState(t.engine_name)).toBe("STOPPED");
    // DELETE stops it first (no rootfs unlinked under a running container) and does not hang.
    expect((await s.api("POST", `/containers/${t.id}/start`)).status).toBe(200);
    await hidden(t);
    const del = await s.api("DELETE", `/containers/${t.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.data.erased.host.join("\n")).toMatch(/processes \(force-stopped\)/);
    expect(await lxcState(t.engine_name)).not.toBe("RUNNING");
    expect(existsSync(topCgroup(t.engine_name))).toBe(false);
    expect(existsSync(tenantCgroup(t.engine_name))).toBe(false);
  });

  it("the router's idle sweep stops a hidden tenant", async () => {
    const t = await createTenant({ name: "idle-hider", idle_timeout_s: 1 });
    await hidden(t);
    await waitFor(async () => (await lxcState(t.engine_name)) === "STOPPED", 30_000, 200);
    expect((await s.api("DELETE", `/containers/${t.id}`)).status).toBe(200);
  });
});

describe("items 3 and 20: erasure on a pool with history", () => {
  beforeAll(async () => {
    // History: 240 other tenants created, written to, snapshotted and all but 15 deleted, through the
    // host daemon (the fast API; unstarted, their files written from the host as their root would).
    const c = s.host.client;
    const live: string[] = [];
    for (let round = 0; round < 30; round++) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const t = await c.call("tenants.create", { template: "mini", start: false, name: `history-${round}-${i}` });
          const data = path.join(s.host.poolPath, "tenants", t.id, "data");
          await fs.writeFile(path.join(data, "note.txt"), `history ${round} ${i} ${Math.random()}\n`);
          await fs.writeFile(path.join(data, "blob"), Buffer.alloc(48 * 1024, `${round}-${i}`));
          if (i % 2 === 0) await c.call("snapshots.create", { id: t.id, name: "s1" });
          if (i === 0 && round % 2 === 0) live.push(t.id);
          else await c.call("tenants.delete", { id: t.id });
        }),
      );
    }
    expect(live.length).toBe(15);
  });

  it("a nested subvolume and a failed restore's leftover are erased, and no marker stays in the pool image", async () => {
    const stamp = Date.now().toString(36);
    const small = { nested: `nested-${stamp}-small`, deeper: `deeper-${stamp}-small`, aside: `aside-${stamp}-small` };
    const large = { nested: `nested-${stamp}-large`, aside: `aside-${stamp}-large` };
    const t = await createTenant({ name: "erase-me" });
    // Nested subvolumes (two deep) as an older tenant or a gap in the ioctl filter would leave them.
    const root = path.join(s.host.poolPath, "tenants", t.engine_name);
    await execa("btrfs", ["subvolume", "create", path.join(root, "data/nested")]);
    await execa("btrfs", ["subvolume", "create", path.join(root, "data/nested/deeper")]);
    await inside(t.id, `echo ${small.nested} > /data/nested/note.txt; echo ${small.deeper} > /data/nested/deeper/note.txt; ${largeMarkerScript(large.nested, "/data/nested/big")}`);
    // A restore that died after moving the old filesystem aside (kill -9 of the daemon there).
    await inside(t.id, `echo ${small.aside} > /data/aside.txt; ${largeMarkerScript(large.aside, "/data/aside-big")}`);
    await execa("btrfs", ["subvolume", "snapshot", root, path.join(s.host.poolPath, "tenants", `.restore-${t.engine_name}`)]);
    await inside(t.id, "rm /data/aside.txt /data/aside-big; sync");
    const needles = [...Object.values(small), ...Object.values(large)];
    // Control: every marker is in the image now.
    expect((await inPoolImage(needles)).sort()).toEqual([...needles].sort());

    const del = await s.api("DELETE", `/containers/${t.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.data.erased.host.join("\n")).toMatch(/2 nested subvolume\(s\)/);
    expect(del.body.data.erased.host.join("\n")).toMatch(/failed restore/);
    expect((await subvolumePaths()).filter((p) => p.includes(t.engine_name))).toEqual([]);
    expect(await inPoolImage(needles)).toEqual([]);
  });

  it("a failed restore rolls back completely: old filesystem back, running, nothing aside", async () => {
    const t = await createTenant({ name: "restore-fails" });
    await inside(t.id, "echo before-snapshot > /data/state.txt");
    const snap = await s.api("POST", `/containers/${t.id}/snapshots`, { alias: "broken" });
    expect(snap.status).toBe(201);
    await inside(t.id, "echo after-snapshot > /data/state.txt");
    // The snapshot's subvolume vanishes behind the daemon's back: the restore must fail midway.
    await execa("btrfs", ["subvolume", "delete", path.join(s.host.poolPath, "snapshots", t.engine_name, snap.body.data.snapshot.name)]);
    const r = await s.api("PUT", `/containers/${t.id}/snapshots/broken`);
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(existsSync(path.join(s.host.poolPath, "tenants", `.restore-${t.engine_name}`))).toBe(false);
    expect(await lxcState(t.engine_name)).toBe("RUNNING");
    expect((await inside(t.id, "cat /data/state.txt")).trim()).toBe("after-snapshot");
    expect((await s.api("DELETE", `/containers/${t.id}`)).status).toBe(200);
  });

  it("erasure fails loudly (no hang, no receipt) while the tenant's filesystem is in use, and finishes on retry", async () => {
    const t = await createTenant({ name: "pinned" });
    // Its rootfs bind-mounted elsewhere on the host: BTRFS would delete the subvolume and its cleaner
    // then wait for that mount for ever (the hang of the issue, there with a running container).
    const pin = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-pin-"));
    await execa("mount", ["--bind", path.join(s.host.poolPath, "tenants", t.engine_name), pin]);
    let mounted = true;
    try {
      const first = await s.api("DELETE", `/containers/${t.id}`);
      expect(first.status).toBeGreaterThanOrEqual(500);
      expect(first.body.message).toContain(pin);
      expect((await s.api("GET", "/erasure-receipts")).body.data.receipts.filter((x: any) => x.container_id === t.id)).toEqual([]);
      await execa("umount", [pin]);
      mounted = false;
      const second = await s.api("DELETE", `/containers/${t.id}`);
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body.data.erased.host.join("\n")).toMatch(/verified gone/);
    } finally {
      if (mounted) await execa("umount", [pin], { reject: false });
      await fs.rmdir(pin);
    }
  });

  it("a small file a tenant deletes leaves no stale copy in freed metadata leaves (the cause of item 20)", async () => {
    const marker = `stale-${Date.now().toString(36)}-inline`;
    const t = await createTenant({ name: "stale-copies" });
    // Committed in a leaf, then that leaf copied on write many times (each commit frees the old copy).
    await inside(t.id, `echo ${marker} > /data/record.txt; sync`);
    expect(await inPoolImage([marker])).toEqual([marker]);
    await inside(t.id, "for i in $(seq 1 30); do echo $i > /data/n$i; sync; done; rm /data/record.txt; sync");
    // Nothing trims here: only the commit that freed each copy can have discarded it.
    expect(await inPoolImage([marker])).toEqual([]);
    expect((await s.api("DELETE", `/containers/${t.id}`)).status).toBe(200);
  });

  it("a tenant's small (inline) and large files leave no byte in the pool image after its erase", async () => {
    const stamp = Date.now().toString(36);
    const smallMarker = `inline-${stamp}-note`;
    const largeMarker = `extent-${stamp}-blob`;
    const t = await createTenant({ name: "item-20" });
    await inside(t.id, `echo ${smallMarker} > /data/note.txt; ${largeMarkerScript(largeMarker, "/data/blob")}`);
    expect((await s.api("POST", `/containers/${t.id}/snapshots`, { alias: "nightly" })).status).toBe(201);
    // More writes after the snapshot: the leaves holding the note are copied and the old ones freed.
    await inside(t.id, "for i in $(seq 1 40); do echo $i > /data/f$i; done; sync");
    expect((await inPoolImage([smallMarker, largeMarker])).sort()).toEqual([largeMarker, smallMarker].sort());
    expect((await inPoolImage([smallMarker, largeMarker], true)).sort()).toEqual([largeMarker, smallMarker].sort());
    const del = await s.api("DELETE", `/containers/${t.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.data.erased.host.join("\n")).toMatch(/freed pool blocks discarded/);
    // As the receipt leaves it, before any later commit could discard what the erase did not.
    expect(await inPoolImage([smallMarker, largeMarker], true)).toEqual([]);
    expect(await inPoolImage([smallMarker, largeMarker])).toEqual([]);
  });
});

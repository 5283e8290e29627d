// The pool's ioctls (no process) do what the btrfs CLI does, on a real loop-backed pool: the
// subvolume id lookup answers what `btrfs inspect-internal rootid` answers, and the exclusive-bytes
// limit is what `btrfs qgroup show -e` reports and what the kernel enforces; a snapshot is what
// `btrfs subvolume show` calls a snapshot of its source, writable or read-only as asked.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BtrfsPool, qgroupLimitByIoctl, snapshotByIoctl, subvolumeIdByIoctl } from "../server/host/drivers/btrfs.js";

let dir = "";
let pool: BtrfsPool;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-subvolid-"));
  pool = await BtrfsPool.open({ mountPath: path.join(dir, "pool"), image: path.join(dir, "pool.img"), imageSizeMiB: 512 });
});

afterAll(async () => {
  await execa("umount", [path.join(dir, "pool")], { reject: false });
  await fs.rm(dir, { recursive: true, force: true });
});

describe("BtrfsPool.subvolumeId", () => {
  it("matches btrfs inspect-internal rootid", async () => {
    const a = pool.path("tenants", "a");
    const b = pool.path("tenants", "b");
    await pool.createSubvolume(a);
    await fs.mkdir(path.join(a, "inner"));
    await pool.snapshot(a, b, false);
    for (const p of [a, b, path.join(b, "inner"), pool.mountPath]) {
      const cli = Number((await execa("btrfs", ["inspect-internal", "rootid", p])).stdout.trim());
      expect(subvolumeIdByIoctl(p), p).toBe(cli);
      if (p !== pool.mountPath) expect(await pool.subvolumeId(p)).toBe(cli);
    }
    expect(subvolumeIdByIoctl(pool.mountPath)).toBe(5); // the top level (FS_TREE) is not a tenant's
    expect(await pool.subvolumeId(a)).not.toBe(await pool.subvolumeId(b));
  });
  it("answers null for a path that does not exist", () => {
    expect(subvolumeIdByIoctl(pool.path("nope"))).toBeNull();
  });
  it("sets and clears a subvolume's exclusive limit, as btrfs qgroup show reports it", async () => {
    const c = pool.path("tenants", "c");
    const id = await pool.createSubvolume(c);
    const maxExcl = async () => {
      await execa("btrfs", ["filesystem", "sync", pool.mountPath]);
      const line = (await execa("btrfs", ["qgroup", "show", "-e", "--raw", pool.mountPath])).stdout.split("\n").find((l) => l.startsWith(`0/${id} `));
      return line?.trim().split(/\s+/)[3];
    };
    expect(qgroupLimitByIoctl(c, 32 * 1024 * 1024)).toBe(true);
    expect(await maxExcl()).toBe(String(32 * 1024 * 1024));
    // Enforced: writing past it fails with EDQUOT.
    const w = await execa("dd", ["if=/dev/urandom", `of=${path.join(c, "big")}`, "bs=1M", "count=64", "conv=fsync"], { reject: false });
    expect(w.exitCode).not.toBe(0);
    expect(w.stderr).toMatch(/quota/i);
    await fs.rm(path.join(c, "big"), { force: true });
    expect(qgroupLimitByIoctl(c, null)).toBe(true);
    expect(await maxExcl()).toBe("none");
    await pool.limitExclusive(c, 48 * 1024 * 1024);
    expect(await maxExcl()).toBe(String(48 * 1024 * 1024));
  });
});

describe("BtrfsPool.snapshot", () => {
  const show = async (p: string) =>
    Object.fromEntries(
      (await execa("btrfs", ["subvolume", "show", p])).stdout
        .split("\n")
        .slice(1)
        .map((l) => /^\s*([^:]+):\s*(.*)$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => [m[1], m[2]]),
    );
  it("makes a snapshot of its source by ioctl, writable or read-only, as btrfs subvolume show reports it", async () => {
    const src = pool.path("tenants", "snapsrc");
    await pool.createSubvolume(src);
    await fs.writeFile(path.join(src, "marker"), "from the source");
    for (const readonly of [false, true]) {
      const dst = pool.path("snapshots", `snap-${readonly ? "ro" : "rw"}`);
      await fs.mkdir(path.dirname(dst), { recursive: true });
      expect(await snapshotByIoctl(src, dst, readonly)).toBe(true);
      const info = await show(dst);
      expect(info["Parent UUID"]).toBe((await show(src)).UUID);
      expect(info.Flags).toBe(readonly ? "readonly" : "-");
      expect(await fs.readFile(path.join(dst, "marker"), "utf8")).toBe("from the source");
      const write = fs.writeFile(path.join(dst, "new"), "x");
      if (readonly) await expect(write).rejects.toThrow(/EROFS|read-only/);
      else await write;
    }
  });
  it("creates nothing when the ioctl fails; the pool then refuses to snapshot over something, or says the tool's reason", async () => {
    const src = pool.path("tenants", "snapsrc");
    const taken = pool.path("snapshots", "snap-rw");
    expect(await snapshotByIoctl(src, taken, false)).toBe(false);
    expect(await snapshotByIoctl(pool.path("tenants", "missing"), pool.path("snapshots", "x"), false)).toBe(false);
    await expect(fs.stat(pool.path("snapshots", "x"))).rejects.toThrow(/ENOENT/);
    await expect(pool.snapshot(src, taken, false)).rejects.toThrow(/it exists/);
    await expect(pool.snapshot(pool.path("tenants", "missing"), pool.path("snapshots", "x"), false)).rejects.toThrow(/^btrfs subvolume snapshot .* exited 1/);
    await expect(fs.readdir(taken)).resolves.toEqual(["marker", "new"]); // untouched: no snapshot nested in it
  });
});

describe("BtrfsPool: a tree of subvolumes by the root tree's references", () => {
  /** Makes a subvolume at the byte path parent/name (a name that is not UTF-8 cannot be an argument: the shell makes it). */
  const createAt = (parent: string, nameHex: string) => execa("bash", ["-c", `btrfs subvolume create "$1/$(printf "$2")" >/dev/null`, "-", parent, nameHex]);
  const listed = async () => Buffer.from((await execa("btrfs", ["subvolume", "list", pool.mountPath], { encoding: "buffer" })).stdout).toString("latin1");

  it("lists every subvolume below one, children first, whatever their names; not its siblings", async () => {
    const t = pool.path("tenants", "tree");
    const id = await pool.createSubvolume(t);
    await pool.createSubvolume(pool.path("tenants", "tree-sibling"));
    await fs.mkdir(path.join(t, "data/deep"), { recursive: true });
    await createAt(path.join(t, "data/deep"), "a\\xff\\xfe"); // not UTF-8
    await createAt(t, "b\\nID 5 gen 1 top level 5 path tenants"); // a newline that forges a listing line
    await createAt(path.join(t, "data/deep"), "a\\xff\\xfe/c");
    const below = await pool.nestedSubvolumes(t);
    const rel = below.map((s) => s.path.subarray(Buffer.byteLength(t)).toString("latin1"));
    expect(rel).toEqual(expect.arrayContaining(["/data/deep/a\xff\xfe/c", "/data/deep/a\xff\xfe", "/b\nID 5 gen 1 top level 5 path tenants"]));
    expect(rel.length).toBe(3);
    // Children first, each a subvolume with the id listed (Node opens the byte path as it is).
    expect(rel.indexOf("/data/deep/a\xff\xfe/c")).toBeLessThan(rel.indexOf("/data/deep/a\xff\xfe"));
    for (const s of below) expect(subvolumeIdByIoctl(s.path)).toBe(s.id);
    // The ids are the ones btrfs lists below the tree, and nothing else.
    const cliIds = [...(await listed()).matchAll(/^ID (\d+) .*? path tenants\/tree\//gm)].map((m) => Number(m[1]));
    expect(below.map((s) => s.id).sort()).toEqual(cliIds.sort());
    expect(await pool.hasSubvolume(id)).toBe(true);
  });

  it("deletes the whole tree, read-only members and names that are not UTF-8 included, and it is gone from the root tree", async () => {
    const t = pool.path("tenants", "tree");
    const id = await pool.subvolumeId(t);
    const ids = (await pool.nestedSubvolumes(t)).map((s) => s.id);
    // A read-only parent refuses to lose the entry of a child: made writable first.
    const roDir = `"$1/data/deep/$(printf 'a\\xff\\xfe')"`;
    await execa("bash", ["-c", `btrfs property set -ts ${roDir} ro true`, "-", t]);
    expect((await execa("bash", ["-c", `btrfs property get -ts ${roDir} ro`, "-", t])).stdout.trim()).toBe("ro=true");
    await pool.deleteSubvolume(t);
    for (const gone of [id, ...ids]) expect(await pool.hasSubvolume(gone), String(gone)).toBe(false);
    expect(await listed()).not.toMatch(/path tenants\/tree\//);
    expect(await listed()).toMatch(/path tenants\/tree-sibling$/m);
    expect(await pool.hasSubvolume(await pool.subvolumeId(pool.path("tenants", "tree-sibling")))).toBe(true);
  });

  it("finds nothing below a path that is gone, and waits for the cleaner to drop a deleted subvolume", async () => {
    expect(await pool.nestedSubvolumes(pool.path("tenants", "gone"))).toEqual([]);
    const p = pool.path("tenants", "dropped");
    const id = await pool.createSubvolume(p);
    await execa("dd", ["if=/dev/urandom", `of=${path.join(p, "data")}`, "bs=1M", "count=8", "conv=fsync"]);
    await execa("btrfs", ["subvolume", "delete", p]); // no commit, no wait: as a crash would leave it
    expect(await pool.hasSubvolume(id)).toBe(true); // control: deleted, still in the pool
    await pool.waitDropped([id]);
    expect(await pool.hasSubvolume(id)).toBe(false);
  });
});

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

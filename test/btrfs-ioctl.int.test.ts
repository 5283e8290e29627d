// The pool's ioctls (no process) do what the btrfs CLI does, on a real loop-backed pool: the
// subvolume id lookup answers what `btrfs inspect-internal rootid` answers, and the exclusive-bytes
// limit is what `btrfs qgroup show -e` reports and what the kernel enforces.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BtrfsPool, qgroupLimitByIoctl, subvolumeIdByIoctl } from "../server/host/drivers/btrfs.js";

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

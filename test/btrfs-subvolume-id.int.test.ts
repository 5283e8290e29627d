// The pool's subvolume id lookup (an ioctl, no process) answers what `btrfs inspect-internal rootid`
// answers, for a subvolume, a snapshot and a directory inside a snapshot, on a real loop-backed pool.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BtrfsPool, subvolumeIdByIoctl } from "../server/host/drivers/btrfs.js";

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
});

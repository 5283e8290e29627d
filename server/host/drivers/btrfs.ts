// BTRFS pool driver: a loop-backed image (default) or an existing BTRFS mount. Capabilities
// (quota mode) are probed and reported, never assumed. Subvolume byte counts come from sysfs
// (/sys/fs/btrfs/<uuid>/qgroups/0_<id>/exclusive) so stats spawn nothing.
import fs from "node:fs/promises";
import { closeSync, openSync, readFileSync } from "node:fs";
import { heldKernelFiles, readKernelNumber } from "./kernfile.js";
import path from "node:path";
import { libcFunc } from "../ffi.js";
import { BTRFS_IOC_INO_LOOKUP, type Ioctl, ioctlOnPath, TOP_DIR_OBJECTID, type SubvolumeBelow, subvolumeExists, subvolumesBelow } from "./btrfs-tree.js";
import { run, SysError } from "../../shared/sys.js";
import type { QuotaMode } from "../../shared/protocol.js";

export interface PoolOptions {
  mountPath: string;
  image: string | null;
  imageSizeMiB: number;
}

export class BtrfsPool {
  /**
   * Wraps every subvolume delete: the dedup runner (server/host/dedup.ts) stops a scan that may hold
   * files of it open (the cleaner would wait for them) and starts none until the delete is done.
   */
  aroundDelete: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  private constructor(
    readonly mountPath: string,
    readonly image: string | null,
    readonly uuid: string,
    readonly quotaMode: QuotaMode,
    readonly progsVersion: string,
    /** Whether the device discards (loop images punch holes); from the trim at open. */
    readonly discards: boolean,
  ) {}

  /** Creates (if needed) and mounts the pool, enables quotas; idempotent. */
  static async open(opts: PoolOptions): Promise<BtrfsPool> {
    const progsVersion = (await run("btrfs", ["--version"])).stdout.split("\n")[0] ?? "";
    await fs.mkdir(opts.mountPath, { recursive: true });
    if (!(await isBtrfsMount(opts.mountPath))) {
      if (!opts.image) throw new Error(`${opts.mountPath} is not a mounted BTRFS filesystem`);
      await fs.mkdir(path.dirname(opts.image), { recursive: true });
      const exists = await fs.stat(opts.image).then(
        () => true,
        () => false,
      );
      if (!exists) {
        const fh = await fs.open(opts.image, "wx", 0o600);
        try {
          await fh.truncate(opts.imageSizeMiB * 1024 * 1024);
        } finally {
          await fh.close();
        }
        await run("mkfs.btrfs", ["-q", "-L", "hoody", opts.image]);
      }
      // The image holds every tenant's bytes: root's alone (an image made by an older version was 0644).
      await fs.chmod(opts.image, 0o600);
      // compress=zstd: templates and deltas are mostly text and binaries; space_cache=v2 is the modern default.
      await run("mount", ["-o", `loop,compress=zstd:1,noatime,${SYNC_DISCARD}`, opts.image, opts.mountPath]);
    } else if (!(await mountOptions(opts.mountPath)).includes(SYNC_DISCARD)) {
      await run("mount", ["-o", `remount,${SYNC_DISCARD}`, opts.mountPath]);
    }
    const uuid = await fsUuid(opts.mountPath);
    const quotaMode = await enableQuota(opts.mountPath, uuid);
    // Tenants' roots (mapped uids) bind-mount shared read-only paths from templates/ inside their
    // namespaces, so they must traverse to them: search bit only, no listing. A tenant's own rootfs
    // and its snapshots are mounted by LXC's privileged side (an idmapped mount) and need nothing:
    // no other host user may reach them.
    await fs.chmod(opts.mountPath, 0o711);
    for (const [dir, mode] of [
      ["templates", 0o711],
      ["tenants", 0o700],
      ["snapshots", 0o700],
    ] as const) {
      await fs.mkdir(path.join(opts.mountPath, dir), { recursive: true });
      await fs.chmod(path.join(opts.mountPath, dir), mode);
    }
    // Once, here: free space from before `discard` was on (a pool an older version mounted, or
    // blocks a crash freed between a commit and its discards). From then on every block is
    // discarded by the commit that frees it, so an erase needs a commit, not a trim of the whole
    // pool (1 s at 11,000 tenants, bench scale). The exit says whether the device discards at all.
    const discards = (await run("fstrim", [opts.mountPath], { okCodes: [1, 32], timeoutMs: 300_000 })).exitCode === 0;
    return new BtrfsPool(opts.mountPath, opts.image, uuid, quotaMode, progsVersion, discards);
  }

  /** Unmounts the pool and detaches its loop device (tests, `down --all --destroy`). */
  async close(): Promise<void> {
    await run("umount", [this.mountPath], { okCodes: [32] });
  }

  path(...parts: string[]): string {
    return path.join(this.mountPath, ...parts);
  }

  async createSubvolume(p: string): Promise<number> {
    await run("btrfs", ["subvolume", "create", p]);
    return this.subvolumeId(p);
  }

  /** O(1) copy: a snapshot shares every extent with its source until either side writes. */
  async snapshot(src: string, dst: string, readonly: boolean): Promise<number> {
    // An ioctl, not a process: this is on every create's critical path, where `btrfs` cost 5–10 ms.
    // When it is unavailable or fails, the tool runs instead (and says why, if it fails too).
    if (!(await snapshotByIoctl(src, dst, readonly))) {
      // Given an existing dst the tool would snapshot into dst/<name of src>: never over something.
      if (
        await fs.lstat(dst).then(
          () => true,
          () => false,
        )
      )
        throw new Error(`cannot snapshot ${src} to ${dst}: it exists`);
      await run("btrfs", ["subvolume", "snapshot", ...(readonly ? ["-r"] : []), src, dst]);
    }
    return this.subvolumeId(dst);
  }

  async setReadonly(p: string, ro: boolean): Promise<void> {
    await run("btrfs", ["property", "set", "-ts", p, "ro", String(ro)]);
  }

  async subvolumeId(p: string): Promise<number> {
    // An ioctl, not a process: this runs on every create, where a spawn cost 5–20 ms.
    const fast = subvolumeIdByIoctl(p);
    if (fast !== null && fast >= 256) return fast;
    const out = (await run("btrfs", ["inspect-internal", "rootid", p])).stdout.trim();
    const id = Number(out);
    if (!Number.isInteger(id) || id < 256) throw new Error(`unexpected subvolume id for ${p}: ${out}`);
    return id;
  }

  async isSubvolume(p: string): Promise<boolean> {
    const st = await fs.stat(p).catch(() => null);
    // A subvolume's root directory always has inode 256 on BTRFS.
    return !!st && st.isDirectory() && st.ino === 256;
  }

  /**
   * Deletes a subvolume, every subvolume nested in it (deepest first: BTRFS refuses to delete one
   * that still holds another) and their qgroups. Waits for the cleaner so the space (and, with
   * simple quotas, the qgroup) is really gone: this is what GDPR erasure relies on. The wait is
   * bounded: a subvolume still in use (mounted by a process we failed to stop) fails the call
   * instead of hanging it. Missing subvolume: no error.
   */
  async deleteSubvolume(p: string): Promise<void> {
    if (!(await this.isSubvolume(p))) {
      await fs.rm(p, { recursive: true, force: true });
      return;
    }
    await this.aroundDelete(async () => {
      const id = await this.subvolumeId(p);
      const nested = await this.nestedSubvolumes(p);
      // A read-only subvolume refuses to lose an entry, so the whole tree is made writable first.
      for (const s of [Buffer.from(p), ...nested.map((n) => n.path)]) clearReadonly(s);
      // By id: a nested subvolume's name may be anything but a command-line argument (not UTF-8).
      for (const n of nested) await this.deleteOneSubvolume(n.id);
      await this.deleteOneSubvolume(id);
    });
  }

  private async deleteOneSubvolume(id: number): Promise<void> {
    await run("btrfs", ["subvolume", "delete", "-c", "--subvolid", String(id), this.mountPath]);
    await run("btrfs", ["subvolume", "sync", this.mountPath, String(id)], { timeoutMs: SUBVOLUME_SYNC_TIMEOUT_MS });
    if (this.quotaMode !== "none" && this.qgroupExists(id)) {
      await run("btrfs", ["qgroup", "destroy", `0/${id}`, this.mountPath], { okCodes: [1] });
    }
  }

  /** Ids of every subvolume in the pool. */
  async subvolumeIds(): Promise<Set<number>> {
    const out = (await run("btrfs", ["subvolume", "list", this.mountPath])).stdout;
    return new Set([...out.matchAll(/^ID (\d+) /gm)].map((m) => Number(m[1])));
  }

  /** Whether the subvolume (or a deleted one the cleaner has not dropped yet) is still in the pool. */
  async hasSubvolume(id: number): Promise<boolean> {
    return subvolumeExists(this.mountPath, id) ?? (await this.subvolumeIds()).has(id);
  }

  /**
   * Waits until the cleaner has dropped those of these subvolumes that are deleted but still in the
   * pool: an erase resumed after a crash between a delete and its wait finds the path gone while
   * the data is not, and must not discard free space or say "gone" before it is.
   */
  async waitDropped(ids: number[]): Promise<void> {
    const pending: string[] = [];
    for (const id of ids) if (await this.hasSubvolume(id)) pending.push(String(id));
    if (!pending.length) return;
    // The cleaner starts on a commit; without one it would wait for the next periodic one (30 s).
    await this.commit();
    await run("btrfs", ["subvolume", "sync", this.mountPath, ...pending], { timeoutMs: SUBVOLUME_SYNC_TIMEOUT_MS });
  }

  /**
   * Subvolumes below p (a tenant could make them in its own tree), children before their parents:
   * from the root tree's references of p's own subvolumes (an ioctl per subvolume below p, however
   * many the pool holds). Without the ioctl, from `btrfs subvolume list`, each listed path checked
   * against its id: a name with a newline cannot forge a line that points at another subvolume.
   */
  async nestedSubvolumes(p: string): Promise<SubvolumeBelow[]> {
    // Gone already (an erase resumed after a crash): nothing below it.
    if (!(await this.isSubvolume(p))) return [];
    const below = subvolumesBelow(this.mountPath, p, await this.subvolumeId(p));
    if (below) return below;
    const prefix = path.relative(this.mountPath, p) + "/";
    const out = (await run("btrfs", ["subvolume", "list", this.mountPath])).stdout;
    const found: SubvolumeBelow[] = [];
    for (const line of out.split("\n")) {
      const m = /^ID (\d+) .*? path (.*)$/.exec(line);
      if (!m?.[2]?.startsWith(prefix)) continue;
      const abs = path.join(this.mountPath, m[2]);
      if ((await this.isSubvolume(abs)) && subvolumeIdByIoctl(abs) === Number(m[1])) found.push({ id: Number(m[1]), path: Buffer.from(abs) });
    }
    return found.sort((a, b) => b.path.toString().split("/").length - a.path.toString().split("/").length);
  }

  /**
   * `btrfs filesystem du -s` of one tree: bytes its files reference, those no other file in the pool
   * references, and those shared. Walks every file (FIEMAP), so it runs at idle priority and only
   * where it is asked for (the dedup run's accounting), never in stats.
   */
  async du(p: string, timeoutMs: number, signal?: AbortSignal): Promise<{ totalBytes: number; exclusiveBytes: number; sharedBytes: number }> {
    const out = (await run("ionice", ["-c3", "nice", "-n19", "btrfs", "filesystem", "du", "-s", "--raw", p], { timeoutMs, signal })).stdout;
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+/m.exec(out.split("\n").slice(1).join("\n"));
    if (!m) throw new Error(`unexpected btrfs filesystem du output for ${p}: ${out.slice(0, 200)}`);
    return { totalBytes: Number(m[1]), exclusiveBytes: Number(m[2]), sharedBytes: Number(m[3]) };
  }

  /** Bytes the pool's data block groups hold (sysfs), whatever shares them. */
  dataBytes(): number {
    return readKernelNumber(`/sys/fs/btrfs/${this.uuid}/allocation/data/bytes_used`) ?? 0;
  }

  /**
   * Bytes still charged to qgroups whose subvolume is gone. Simple quotas charge an extent to the
   * subvolume that wrote it until the extent is freed: once dedup made a tenant's extent shared, its
   * erase leaves that charge on a "squota space holder" qgroup until the last sharer frees it.
   */
  async orphanQgroupBytes(): Promise<number> {
    const names = await fs.readdir(`/sys/fs/btrfs/${this.uuid}/qgroups`).catch(() => [] as string[]);
    const live = await this.subvolumeIds();
    let sum = 0;
    for (const n of names) {
      const m = /^0_(\d+)$/.exec(n);
      if (m && Number(m[1]) >= 256 && !live.has(Number(m[1]))) sum += this.subvolumeBytes(Number(m[1]));
    }
    return sum;
  }

  qgroupExists(id: number): boolean {
    return readKernelNumber(this.qgroupFile(id, "exclusive")) !== null;
  }

  private qgroupFile(id: number, field: "exclusive" | "referenced"): string {
    return qgroupFile(this.uuid, id, field);
  }

  /**
   * Bytes a subvolume owns: with simple quotas exactly what it wrote since it was made. `held`: read
   * at every stats collection (a running tenant's), so its file is held open (kernfile.ts).
   */
  subvolumeBytes(id: number, held = false): number {
    return qgroupExclusiveBytes(this.uuid, id, held);
  }

  /**
   * Caps a subvolume's exclusive bytes (its qgroup limit): with simple quotas, what the tenant wrote
   * since its snapshot. Writes past it fail with EDQUOT inside the tenant, not ENOSPC for everyone.
   * null lifts the cap. Without quotas there is nothing to enforce with, which info() reports.
   */
  async limitExclusive(p: string, bytes: number | null): Promise<void> {
    if (this.quotaMode === "none") return;
    // An ioctl, not a process: every create sets its template's disk limit (a spawn cost 10–20 ms).
    if (qgroupLimitByIoctl(p, bytes)) return;
    await run("btrfs", ["qgroup", "limit", "-e", bytes === null ? "none" : String(bytes), p]);
  }

  /**
   * Discards every block freed so far: a commit, since blocks a deleted subvolume freed stay pinned
   * until their transaction commits, and that commit discards them (`discard`, see SYNC_DISCARD);
   * what was free before is trimmed at open. False where the device does not discard.
   */
  async discardFreed(): Promise<boolean> {
    await this.commit();
    return this.discards;
  }

  /** Forces a transaction commit so qgroup numbers include recent writes. One spawn per call, not per tenant. */
  async sync(): Promise<void> {
    await run("btrfs", ["filesystem", "sync", this.mountPath]);
  }

  /**
   * Commits the pool's transaction (BTRFS_IOC_SYNC: delalloc flushed, then a commit), so a
   * subvolume's generation includes every write made so far; on koffi's worker thread, since a
   * commit waits for the disk. Falls back to the tool.
   */
  async commit(): Promise<void> {
    if (!(await asyncIoctlOnPath(this.mountPath, BTRFS_IOC_SYNC, null))) await this.sync();
  }

  async usage(): Promise<{ sizeBytes: number; usedBytes: number }> {
    const st = await fs.statfs(this.mountPath);
    const sizeBytes = st.blocks * st.bsize;
    return { sizeBytes, usedBytes: sizeBytes - st.bfree * st.bsize };
  }
}

/** How long an erase waits for the BTRFS cleaner per subvolume before it fails loudly. */
const SUBVOLUME_SYNC_TIMEOUT_MS = 60_000;

// BTRFS_IOC_SYNC = _IO(0x94, 8): no argument.
const BTRFS_IOC_SYNC = 0x9408;

/** An ioctl on an fd of p on koffi's worker thread; false when unavailable or failed. */
async function asyncIoctlOnPath(p: string, request: number, args: Buffer | null): Promise<boolean> {
  const ioctl = libcFunc<AsyncIoctl>("int ioctl(int, unsigned long, void *)");
  if (!ioctl) return false;
  let fd = -1;
  try {
    fd = openSync(p, "r");
    const f = fd;
    const rc = await new Promise<number>((resolve, reject) => ioctl.async(f, request, args as Buffer, (err, r) => (err ? reject(err) : resolve(r))));
    return rc >= 0;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

// BTRFS_IOC_SNAP_CREATE_V2 = _IOW(0x94, 23, struct btrfs_ioctl_vol_args_v2 { s64 fd; u64 transid;
// u64 flags; u64 unused[4]; char name[4040]; }), 4096 bytes, on an fd of the new snapshot's parent
// directory, with fd the source subvolume's; BTRFS_SUBVOL_RDONLY makes the snapshot read-only.
const BTRFS_IOC_SNAP_CREATE_V2 = 0x50009417;
const BTRFS_SUBVOL_RDONLY = 1n << 1n;
const SNAPSHOT_NAME_OFFSET = 56;
type AsyncIoctl = Ioctl & { async: (fd: number, request: number, arg: Buffer, done: (err: unknown, rc: number) => void) => void };

/**
 * Snapshots the subvolume src as dst; false when the ioctl is unavailable or fails (it creates
 * nothing then). Runs on koffi's worker thread: a snapshot waits for a transaction commit, which
 * must not stall the daemon's event loop. (errno is not readable there, hence false, not the reason.)
 */
export async function snapshotByIoctl(src: string, dst: string, readonly: boolean): Promise<boolean> {
  const ioctl = libcFunc<AsyncIoctl>("int ioctl(int, unsigned long, void *)");
  const name = Buffer.from(path.basename(dst));
  if (!ioctl || name.length >= 4096 - SNAPSHOT_NAME_OFFSET) return false;
  let srcFd = -1;
  let parentFd = -1;
  try {
    srcFd = openSync(src, "r");
    parentFd = openSync(path.dirname(dst), "r");
    const args = Buffer.alloc(4096);
    args.writeBigInt64LE(BigInt(srcFd), 0);
    args.writeBigUInt64LE(readonly ? BTRFS_SUBVOL_RDONLY : 0n, 16);
    name.copy(args, SNAPSHOT_NAME_OFFSET);
    const fd = parentFd;
    const rc = await new Promise<number>((resolve, reject) => ioctl.async(fd, BTRFS_IOC_SNAP_CREATE_V2, args, (err, r) => (err ? reject(err) : resolve(r))));
    return rc === 0;
  } catch {
    return false;
  } finally {
    if (srcFd >= 0) closeSync(srcFd);
    if (parentFd >= 0) closeSync(parentFd);
  }
}

/** The subvolume id of the directory p is in, or null when the ioctl is unavailable (then the CLI answers). */
export function subvolumeIdByIoctl(p: string | Buffer): number | null {
  // INO_LOOKUP (btrfs-tree.ts) asked for a subvolume's top directory with treeid 0 answers the id of
  // the subvolume the fd is in, which is what `btrfs inspect-internal rootid` does.
  const args = Buffer.alloc(4096);
  args.writeBigUInt64LE(0n, 0);
  args.writeBigUInt64LE(TOP_DIR_OBJECTID, 8);
  if (!ioctlOnPath(p, BTRFS_IOC_INO_LOOKUP, args)) return null;
  const id = Number(args.readBigUInt64LE(0));
  return Number.isInteger(id) && id > 0 ? id : null;
}

// BTRFS_IOC_GET_SUBVOL_INFO = _IOR(0x94, 60, struct btrfs_ioctl_get_subvol_info_args), 504 bytes, on
// an fd of the subvolume; its generation (u64 at offset 280) moves with every transaction that
// changes the subvolume, which is what a cached change listing is checked against.
const BTRFS_IOC_GET_SUBVOL_INFO = 0x81f8943c;

/** The subvolume's generation (BTRFS transaction id of its last change); null when the ioctl is unavailable. */
export function subvolumeGeneration(p: string): number | null {
  const args = Buffer.alloc(504);
  if (!ioctlOnPath(p, BTRFS_IOC_GET_SUBVOL_INFO, args)) return null;
  return Number(args.readBigUInt64LE(280));
}

// BTRFS_IOC_QGROUP_LIMIT = _IOR(0x94, 43, struct btrfs_ioctl_qgroup_limit_args { u64 qgroupid;
// struct btrfs_qgroup_limit { u64 flags, max_rfer, max_excl, rsv_rfer, rsv_excl } }), 48 bytes.
// qgroupid 0 = the subvolume the fd is in; max_excl (u64)-1 clears the limit (what "none" does).
const BTRFS_IOC_QGROUP_LIMIT = 0x8030942b;
const BTRFS_QGROUP_LIMIT_MAX_EXCL = 1n << 1n;

/** Sets (or clears, null) the exclusive-bytes limit of the subvolume at p; false when the ioctl is unavailable. */
export function qgroupLimitByIoctl(p: string, bytes: number | null): boolean {
  const args = Buffer.alloc(48);
  args.writeBigUInt64LE(0n, 0);
  args.writeBigUInt64LE(BTRFS_QGROUP_LIMIT_MAX_EXCL, 8);
  args.writeBigUInt64LE(bytes === null ? 0xffffffffffffffffn : BigInt(bytes), 24);
  return ioctlOnPath(p, BTRFS_IOC_QGROUP_LIMIT, args) === true;
}

// BTRFS_IOC_SUBVOL_GETFLAGS / SETFLAGS = _IOR / _IOW(0x94, 25 / 26, u64) on an fd of the subvolume.
const BTRFS_IOC_SUBVOL_GETFLAGS = 0x80089419;
const BTRFS_IOC_SUBVOL_SETFLAGS = 0x4008941a;

/** Makes the subvolume at p writable if it is read-only (best effort: a delete that still fails says why). */
function clearReadonly(p: Buffer): void {
  const flags = Buffer.alloc(8);
  if (!ioctlOnPath(p, BTRFS_IOC_SUBVOL_GETFLAGS, flags)) return;
  const current = flags.readBigUInt64LE(0);
  if (!(current & BTRFS_SUBVOL_RDONLY)) return;
  flags.writeBigUInt64LE(current & ~BTRFS_SUBVOL_RDONLY, 0);
  ioctlOnPath(p, BTRFS_IOC_SUBVOL_SETFLAGS, flags);
}

/**
 * Every block BTRFS frees is discarded in the commit that frees it, before it can be allocated or
 * held anywhere else. Without it (the kernel's default is discard=async, which leaves metadata block
 * groups alone) a tenant's small files, stored inline in metadata leaves, stay readable in every
 * copy-on-write copy of their leaf until something trims that exact block: the erase's fstrim
 * reaches only what is in the free-space tree at that moment, not space an allocation cluster
 * holds or blocks still pinned, so on a pool with history an erased tenant's note could survive.
 */
const SYNC_DISCARD = "discard";

async function mountOptions(p: string): Promise<string[]> {
  const real = await fs.realpath(p);
  const line = (await fs.readFile("/proc/self/mounts", "utf8")).split("\n").find((l) => l.split(" ")[1]?.replace(/\\040/g, " ") === real);
  return line?.split(" ")[3]?.split(",") ?? [];
}

async function isBtrfsMount(p: string): Promise<boolean> {
  const mounts = await fs.readFile("/proc/self/mounts", "utf8");
  const real = await fs.realpath(p);
  return mounts.split("\n").some((line) => {
    const [, mnt, type] = line.split(" ");
    return type === "btrfs" && mnt?.replace(/\\040/g, " ") === real;
  });
}

async function fsUuid(mountPath: string): Promise<string> {
  const out = (await run("btrfs", ["filesystem", "show", mountPath])).stdout;
  const m = /uuid:\s*([0-9a-f-]{36})/.exec(out);
  if (!m?.[1]) throw new Error(`cannot read the BTRFS uuid of ${mountPath}`);
  return m[1];
}

/** Simple quotas where progs and kernel have them (≥ 6.7), else full qgroups; reports which. */
async function enableQuota(mountPath: string, uuid: string): Promise<QuotaMode> {
  const current = currentQuotaMode(uuid);
  if (current !== "none") return current;
  try {
    await run("btrfs", ["quota", "enable", "--simple", mountPath]);
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    await run("btrfs", ["quota", "enable", mountPath]);
    await run("btrfs", ["quota", "rescan", "-w", mountPath], { timeoutMs: 600_000 });
  }
  return currentQuotaMode(uuid);
}

function currentQuotaMode(uuid: string): QuotaMode {
  const base = `/sys/fs/btrfs/${uuid}/qgroups`;
  try {
    const enabled = readFileSync(`${base}/enabled`, "utf8").trim();
    if (enabled !== "1") return "none";
  } catch {
    return "none";
  }
  try {
    return readFileSync(`${base}/mode`, "utf8").trim() === "squota" ? "simple" : "full";
  } catch {
    return "full";
  }
}

function qgroupFile(uuid: string, id: number, field: "exclusive" | "referenced"): string {
  return `/sys/fs/btrfs/${uuid}/qgroups/0_${id}/${field}`;
}

/** A subvolume's exclusive bytes from its qgroup's sysfs file (BtrfsPool.subvolumeBytes; the stats shard has no pool). */
export function qgroupExclusiveBytes(uuid: string, id: number, held = false): number {
  const file = qgroupFile(uuid, id, "exclusive");
  return (held ? heldKernelFiles.number(file) : readKernelNumber(file)) ?? 0;
}

// btrfs send/receive for backups: the streams, the parent a stream was made against, and the
// "anchor" that lets a stream made against a template on one box be received against the same
// template built on another (btrfs receive finds a parent by its received UUID).
import { closeSync, openSync } from "node:fs";
import { libcFunc } from "../ffi.js";
import { EngineError } from "../../shared/errors.js";
import { run, runPiped } from "../../shared/sys.js";

/** `btrfs send [-p parent] subvol` as a stream of its stdout (subvol must be read-only). */
export function sendStream(subvol: string, parent: string | null) {
  return runPiped("btrfs", ["send", "-q", ...(parent ? ["-p", parent] : []), subvol]);
}

/** `btrfs receive dir`: feed the stream to child.stdin, then await done. */
export function receiveStream(dir: string) {
  return runPiped("btrfs", ["receive", "-q", dir], { stdin: "pipe", stdout: "ignore" });
}

export async function subvolumeUuid(p: string): Promise<string> {
  const out = (await run("btrfs", ["subvolume", "show", p])).stdout;
  const m = /^\s*UUID:\s*([0-9a-f-]{36})\s*$/m.exec(out);
  if (!m) throw new Error(`no UUID for ${p}`);
  return m[1]!;
}

const STREAM_MAGIC = Buffer.from("btrfs-stream\0");
const CMD_SNAPSHOT = 2;
const A_CLONE_UUID = 20;
const A_CLONE_CTRANSID = 21;

/**
 * The parent a send stream was made against (its first command, SNAPSHOT, names the parent's UUID
 * and ctransid); null when the head is not complete yet. Not a stream parser beyond that command.
 */
export function streamParent(head: Buffer): { uuid: Buffer; ctransid: bigint } | null {
  if (head.length < 17 + 10) return null;
  if (!head.subarray(0, 13).equals(STREAM_MAGIC)) throw new EngineError("BACKUP_INVALID", "the backup's filesystem stream has no btrfs-stream header");
  const len = head.readUInt32LE(17);
  const cmd = head.readUInt16LE(21);
  if (head.length < 27 + len) return null;
  if (cmd !== CMD_SNAPSHOT) throw new EngineError("BACKUP_INVALID", "the backup's filesystem stream is not an incremental one");
  let uuid: Buffer | null = null;
  let ctransid: bigint | null = null;
  for (let o = 27; o + 4 <= 27 + len; ) {
    const type = head.readUInt16LE(o);
    const alen = head.readUInt16LE(o + 2);
    const data = head.subarray(o + 4, o + 4 + alen);
    if (type === A_CLONE_UUID) uuid = Buffer.from(data);
    if (type === A_CLONE_CTRANSID) ctransid = data.readBigUInt64LE(0);
    o += 4 + alen;
  }
  if (!uuid || ctransid === null) throw new EngineError("BACKUP_INVALID", "the backup's filesystem stream names no parent");
  return { uuid, ctransid };
}

// BTRFS_IOC_SET_RECEIVED_SUBVOL = _IOWR(0x94, 37, struct btrfs_ioctl_received_subvol_args { char
// uuid[16]; u64 stransid; u64 rtransid; struct btrfs_ioctl_timespec stime, rtime (u64 sec, u32
// nsec, padded to 16); u64 flags; u64 reserved[16]; }), 200 bytes, on a writable subvolume's root.
// What `btrfs receive` itself does to every subvolume it finishes.
const BTRFS_IOC_SET_RECEIVED_SUBVOL = 0xc0c89425;
type Ioctl = (fd: number, request: number, arg: Buffer) => number;

/** Marks the writable subvolume p as received from (uuid, ctransid), so `receive` takes it as that parent. */
export function setReceived(p: string, uuid: Buffer, ctransid: bigint): void {
  const ioctl = libcFunc<Ioctl>("int ioctl(int, unsigned long, void *)");
  if (!ioctl) throw new EngineError("SYSTEM_ERROR", "libc ioctl unavailable: cannot mark a restore's parent");
  const args = Buffer.alloc(200);
  uuid.copy(args, 0, 0, 16);
  args.writeBigUInt64LE(ctransid, 16);
  const fd = openSync(p, "r");
  try {
    if (ioctl(fd, BTRFS_IOC_SET_RECEIVED_SUBVOL, args) !== 0) throw new EngineError("SYSTEM_ERROR", `BTRFS_IOC_SET_RECEIVED_SUBVOL failed on ${p}`);
  } finally {
    closeSync(fd);
  }
}

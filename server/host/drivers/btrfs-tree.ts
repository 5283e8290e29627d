// The pool's root tree read by ioctl (BTRFS_IOC_TREE_SEARCH, root only): the subvolumes that hang
// below one, and whether one still exists. `btrfs subvolume list` answers both by listing every
// subvolume of the pool with its path, seconds per erase at 11,000 tenants, for a question about
// one tenant's tree. Names come back as bytes: a name that is not UTF-8 is found and reached too.
import { closeSync, openSync } from "node:fs";
import { libcFunc } from "../ffi.js";

export type Ioctl = (fd: number, request: number, arg: Buffer) => number;

/**
 * ioctl(request, args) on an fd of p; null when libc or p cannot be opened, else whether it
 * succeeded (a non-negative answer: GET_SUBVOL_INFO answers 1 on success on this kernel).
 */
export function ioctlOnPath(p: string | Buffer, request: number, args: Buffer): boolean | null {
  const ioctl = libcFunc<Ioctl>("int ioctl(int, unsigned long, void *)");
  if (!ioctl) return null;
  let fd: number;
  try {
    fd = openSync(p, "r");
  } catch {
    return null;
  }
  try {
    return ioctl(fd, request, args) >= 0;
  } finally {
    closeSync(fd);
  }
}

// BTRFS_IOC_TREE_SEARCH = _IOWR(0x94, 17, struct btrfs_ioctl_search_args { struct btrfs_ioctl_search_key
// { u64 tree_id, min_objectid, max_objectid, min_offset, max_offset, min_transid, max_transid; u32
// min_type, max_type, nr_items, unused; u64 unused1..4; } (104 bytes); char buf[3992]; }). Each item
// in buf: a header { u64 transid, objectid, offset; u32 type, len; } (32 bytes), then len bytes.
const BTRFS_IOC_TREE_SEARCH = 0xd0009411;
const SEARCH_ARGS_BYTES = 4096;
const SEARCH_KEY_BYTES = 104;
const ITEM_HEADER_BYTES = 32;
const U64_MAX = 0xffffffffffffffffn;
const ROOT_TREE_OBJECTID = 1n;
const ROOT_ITEM_KEY = 132;
const ROOT_REF_KEY = 156;
// struct btrfs_root_ref { le64 dirid; le64 sequence; le16 name_len; } then the name.
const ROOT_REF_NAME_OFFSET = 18;

interface TreeItem {
  offset: bigint;
  data: Buffer;
}

/** The root tree's items (objectid, type, any offset) seen from the filesystem at fsPath; null when the ioctl failed. */
function rootTreeItems(fsPath: string, objectid: bigint, type: number): TreeItem[] | null {
  const items: TreeItem[] = [];
  let minOffset = 0n;
  for (;;) {
    const args = Buffer.alloc(SEARCH_ARGS_BYTES);
    args.writeBigUInt64LE(ROOT_TREE_OBJECTID, 0);
    args.writeBigUInt64LE(objectid, 8);
    args.writeBigUInt64LE(objectid, 16);
    args.writeBigUInt64LE(minOffset, 24);
    args.writeBigUInt64LE(U64_MAX, 32);
    args.writeBigUInt64LE(U64_MAX, 48);
    args.writeUInt32LE(type, 56);
    args.writeUInt32LE(type, 60);
    args.writeUInt32LE(SEARCH_ARGS_BYTES, 64);
    if (!ioctlOnPath(fsPath, BTRFS_IOC_TREE_SEARCH, args)) return null;
    const found = args.readUInt32LE(64);
    if (found === 0) return items;
    let at = SEARCH_KEY_BYTES;
    for (let i = 0; i < found; i++) {
      const offset = args.readBigUInt64LE(at + 16);
      const len = args.readUInt32LE(at + 28);
      items.push({ offset, data: Buffer.from(args.subarray(at + ITEM_HEADER_BYTES, at + ITEM_HEADER_BYTES + len)) });
      at += ITEM_HEADER_BYTES + len;
      if (offset === U64_MAX) return items;
      minOffset = offset + 1n;
    }
  }
}

// BTRFS_IOC_INO_LOOKUP = _IOWR(0x94, 18, struct btrfs_ioctl_ino_lookup_args { u64 treeid; u64 objectid;
// char name[4080]; }): the path of a directory inside its subvolume ("a/b/", empty for the top).
export const BTRFS_IOC_INO_LOOKUP = 0xd0009412;
/** A subvolume's top directory (BTRFS_FIRST_FREE_OBJECTID). */
export const TOP_DIR_OBJECTID = 256n;

function dirPathInSubvolume(fsPath: string, treeId: bigint, dirId: bigint): Buffer | null {
  if (dirId === TOP_DIR_OBJECTID) return Buffer.alloc(0);
  const args = Buffer.alloc(4096);
  args.writeBigUInt64LE(treeId, 0);
  args.writeBigUInt64LE(dirId, 8);
  if (!ioctlOnPath(fsPath, BTRFS_IOC_INO_LOOKUP, args)) return null;
  const name = args.subarray(16);
  const end = name.indexOf(0);
  return Buffer.from(name.subarray(0, end < 0 ? name.length : end));
}

export interface SubvolumeBelow {
  id: number;
  /** Its path as bytes (a name need not be UTF-8): Node's fs takes a Buffer path as it is. */
  path: Buffer;
}

/**
 * Every subvolume below the subvolume `id` mounted (or reached) at `at`, children before their
 * parents (the order BTRFS deletes them in); `fsPath` is any path on the same filesystem. null when
 * the root tree cannot be searched (no CAP_SYS_ADMIN, no libc), where the caller lists instead.
 */
export function subvolumesBelow(fsPath: string, at: string | Buffer, id: number): SubvolumeBelow[] | null {
  const out: SubvolumeBelow[] = [];
  const walk = (parentId: bigint, parentPath: Buffer): boolean => {
    const refs = rootTreeItems(fsPath, parentId, ROOT_REF_KEY);
    if (!refs) return false;
    for (const ref of refs) {
      const dir = dirPathInSubvolume(fsPath, parentId, ref.data.readBigUInt64LE(0));
      if (!dir) return false;
      const name = ref.data.subarray(ROOT_REF_NAME_OFFSET, ROOT_REF_NAME_OFFSET + ref.data.readUInt16LE(16));
      const childPath = Buffer.concat([parentPath, Buffer.from("/"), dir, name]);
      if (!walk(ref.offset, childPath)) return false;
      out.push({ id: Number(ref.offset), path: childPath });
    }
    return true;
  };
  return walk(BigInt(id), Buffer.isBuffer(at) ? at : Buffer.from(at)) ? out : null;
}

/** Whether the pool still has a root item for the subvolume (a deleted one keeps it until the cleaner drops it); null when unsearchable. */
export function subvolumeExists(fsPath: string, id: number): boolean | null {
  const items = rootTreeItems(fsPath, BigInt(id), ROOT_ITEM_KEY);
  return items === null ? null : items.length > 0;
}

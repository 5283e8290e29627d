// Reads a `btrfs send --no-data -p <base> <snapshot>` stream into the list of what the snapshot
// changed relative to its base. The kernel computes that stream by comparing the two trees (it walks
// only the blocks they do not share, so its cost follows the size of the delta, not of the tenant),
// and it names every path it creates, renames, links, unlinks and writes. With --no-data it sends
// extents' offsets and lengths, not their bytes. The stream is replayed on a small model of the
// namespace (new inodes first appear under temporary "o<ino>-<gen>-<n>" names and are renamed into
// place; directories being removed are first renamed to such a name), so the result names final
// paths for what exists and base paths for what was deleted.
// Format (btrfs-progs send.h): "btrfs-stream\0", u32 version; then commands {u32 len, u16 cmd,
// u32 crc} followed by len bytes of TLVs {u16 type, u16 len, value}, all little-endian.
import type { ChangeFileType } from "../../shared/changes.js";

const MAGIC = Buffer.from("btrfs-stream\0", "latin1");
const CMD_HEADER = 10;

const C = {
  MKFILE: 3,
  MKDIR: 4,
  MKNOD: 5,
  MKFIFO: 6,
  MKSOCK: 7,
  SYMLINK: 8,
  RENAME: 9,
  LINK: 10,
  UNLINK: 11,
  RMDIR: 12,
  SET_XATTR: 13,
  REMOVE_XATTR: 14,
  WRITE: 15,
  CLONE: 16,
  TRUNCATE: 17,
  CHMOD: 18,
  CHOWN: 19,
  UTIMES: 20,
  FALLOCATE: 23,
  FILEATTR: 24,
  ENCODED_WRITE: 25,
} as const;
const A = { SIZE: 4, PATH: 15, PATH_TO: 16, PATH_LINK: 17, DATA: 19, CLONE_LEN: 24 } as const;
const MAKES: Record<number, ChangeFileType> = { [C.MKFILE]: "file", [C.MKDIR]: "dir", [C.MKNOD]: "other", [C.MKFIFO]: "other", [C.MKSOCK]: "other", [C.SYMLINK]: "symlink" };

/** One inode name in the replayed namespace. */
export interface NsNode {
  name: string;
  parent: NsNode | null;
  children: Map<string, NsNode> | null;
  /** Its path in the base, for an inode the base has; null for one the stream created. */
  origin: string | null;
  created: boolean;
  /** Renamed or linked by the stream itself (not just carried along with its directory). */
  moved: boolean;
  /** Its data or metadata (mode, owner, xattrs, size) changed. */
  touched: boolean;
  type: ChangeFileType | null;
  /** Bytes of file data written (extent lengths). */
  written: number;
}

const join = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);

/** Paths a replay holds at most: the daemon's memory is shared by every tenant (~300 bytes a path). */
export const MAX_REPLAY_NODES = 1_000_000;

export class TooManyChanges extends Error {}

/** The namespace the stream is replayed on, and the base paths it deleted. */
export class SendReplay {
  readonly root: NsNode = { name: "", parent: null, children: new Map(), origin: "/", created: false, moved: false, touched: false, type: "dir", written: 0 };
  /** Base paths gone from where they were (unlinked, removed, or renamed away), with their type when the stream says. */
  readonly deleted = new Map<string, ChangeFileType | null>();
  private buf: Buffer = Buffer.alloc(0);
  private headerSeen = false;
  private nodes = 0;

  constructor(private readonly maxNodes = MAX_REPLAY_NODES) {}

  /** Feeds the next bytes of the stream; commands split across chunks wait for the rest. */
  push(chunk: Buffer): void {
    let b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    if (!this.headerSeen) {
      if (b.length < MAGIC.length + 4) {
        this.buf = b;
        return;
      }
      if (!b.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error("not a btrfs send stream");
      const version = b.readUInt32LE(MAGIC.length);
      if (version < 1 || version > 3) throw new Error(`unsupported send stream version ${version}`);
      off = MAGIC.length + 4;
      this.headerSeen = true;
    }
    while (b.length - off >= CMD_HEADER) {
      const len = b.readUInt32LE(off);
      if (b.length - off < CMD_HEADER + len) break;
      this.command(b.readUInt16LE(off + 4), b, off + CMD_HEADER, off + CMD_HEADER + len);
      off += CMD_HEADER + len;
    }
    b = b.subarray(off);
    // A copy: the rest must not pin the whole chunk it came from.
    this.buf = b.length ? Buffer.from(b) : Buffer.alloc(0);
  }

  /** Checks the stream ended on a command boundary. */
  finish(): void {
    if (!this.headerSeen || this.buf.length) throw new Error("the send stream ended mid-command");
  }

  private command(cmd: number, b: Buffer, start: number, end: number): void {
    // UTIMES is left out on purpose: the stream sends it for every directory a change landed in.
    if (cmd === C.UTIMES || cmd > C.ENCODED_WRITE) return;
    let path: string | null = null;
    let to: string | null = null;
    let link: string | null = null;
    let len = 0;
    for (let p = start; p + 4 <= end; ) {
      const type = b.readUInt16LE(p);
      const tlen = b.readUInt16LE(p + 2);
      const v = p + 4;
      if (type === A.PATH) path = b.toString("utf8", v, v + tlen);
      else if (type === A.PATH_TO) to = b.toString("utf8", v, v + tlen);
      else if (type === A.PATH_LINK) link = b.toString("utf8", v, v + tlen);
      else if ((type === A.SIZE || type === A.CLONE_LEN) && tlen === 8) len = Number(b.readBigUInt64LE(v));
      else if (type === A.DATA) len = cmd === C.ENCODED_WRITE ? end - v : tlen;
      // v2's ENCODED_WRITE data runs to the end of the command with no length of its own.
      p = type === A.DATA && cmd === C.ENCODED_WRITE ? end : v + tlen;
    }
    if (path === null) return;
    const made = MAKES[cmd];
    if (made) {
      // A symlink's target travels as PATH_LINK; the name made is PATH.
      this.attach(path, this.node(null, made, true));
      return;
    }
    switch (cmd) {
      case C.RENAME: {
        if (to === null) return;
        const n = this.lookup(path);
        this.detach(n);
        n.moved = true;
        this.attach(to, n);
        return;
      }
      case C.LINK: {
        if (link === null) return;
        const target = this.lookup(link);
        const n = this.node(null, target.type, true);
        this.attach(path, n);
        return;
      }
      case C.UNLINK:
      case C.RMDIR: {
        const n = this.lookup(path);
        this.detach(n);
        this.gone(n, cmd === C.RMDIR ? "dir" : n.type);
        return;
      }
      case C.WRITE:
      case C.ENCODED_WRITE:
      case C.CLONE:
      case 22 /* UPDATE_EXTENT: what --no-data sends for a write */:
        {
          const n = this.lookup(path);
          n.written += len;
          n.touched = true;
          if (n.type === null) n.type = "file";
          return;
        }
      case C.TRUNCATE:
      case C.FALLOCATE:
      case C.CHMOD:
      case C.CHOWN:
      case C.SET_XATTR:
      case C.REMOVE_XATTR:
      case C.FILEATTR:
        this.lookup(path).touched = true;
        return;
    }
  }

  private node(origin: string | null, type: ChangeFileType | null, created: boolean): NsNode {
    if (++this.nodes > this.maxNodes) throw new TooManyChanges(`more than ${this.maxNodes} changed paths`);
    return { name: "", parent: null, children: null, origin, created, moved: false, touched: false, type, written: 0 };
  }

  /** The node a stream path names now; a base inode the stream has not touched yet gets a node here. */
  private lookup(p: string): NsNode {
    let cur = this.root;
    for (const name of p.split("/")) {
      if (!name) continue;
      let next = cur.children?.get(name);
      if (!next) {
        next = this.node(cur.origin === null ? null : join(cur.origin, name), null, false);
        next.name = name;
        next.parent = cur;
        cur.children ??= new Map();
        cur.children.set(name, next);
      }
      cur = next;
    }
    return cur;
  }

  private attach(p: string, n: NsNode): void {
    const slash = p.lastIndexOf("/");
    const dir = this.lookup(slash < 0 ? "" : p.slice(0, slash));
    const name = slash < 0 ? p : p.slice(slash + 1);
    const existing = dir.children?.get(name);
    // Over an inode still there: that one is gone from this name.
    if (existing && existing !== n) this.gone(existing, existing.type);
    n.name = name;
    n.parent = dir;
    dir.children ??= new Map();
    dir.children.set(name, n);
  }

  private detach(n: NsNode): void {
    if (n.parent?.children?.get(n.name) === n) n.parent.children.delete(n.name);
    n.parent = null;
  }

  private gone(n: NsNode, type: ChangeFileType | null): void {
    if (n.origin !== null) this.deleted.set(n.origin, type);
  }
}

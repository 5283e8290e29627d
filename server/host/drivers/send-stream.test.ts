// The send-stream replay on hand-made streams shaped as the kernel sends them (temporary orphan
// names, a removed directory renamed away first, a rename as link + unlink), split at every byte.
import { describe, expect, it } from "vitest";
import { listChanges } from "../../shared/changes";
import { buildChangeTree } from "./change-tree";
import { SendReplay } from "./send-stream";

const CMD = { MKFILE: 3, MKDIR: 4, SYMLINK: 8, RENAME: 9, LINK: 10, UNLINK: 11, RMDIR: 12, TRUNCATE: 17, CHMOD: 18, UTIMES: 20, UPDATE_EXTENT: 22 };
const ATTR = { SIZE: 4, PATH: 15, PATH_TO: 16, PATH_LINK: 17, FILE_OFFSET: 18 };

function tlv(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value]);
}
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
function cmd(c: number, attrs: [number, string | number][]): Buffer {
  const body = Buffer.concat(attrs.map(([t, v]) => tlv(t, typeof v === "number" ? u64(v) : Buffer.from(v))));
  const h = Buffer.alloc(10);
  h.writeUInt32LE(body.length, 0);
  h.writeUInt16LE(c, 4);
  return Buffer.concat([h, body]);
}
function stream(cmds: Buffer[]): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(1);
  return Buffer.concat([Buffer.from("btrfs-stream\0", "latin1"), v, ...cmds]);
}

// What `btrfs send --no-data -p tpl snap` sent for: rm -r old; echo >> etc/a; mv etc/keep etc/kept;
// mkdir -p new/sub; echo > new/sub/n.txt; ln -s /x link; truncate usr/big.
const sample = stream([
  cmd(CMD.RENAME, [
    [ATTR.PATH, "old"],
    [ATTR.PATH_TO, "o260-9-0"],
  ]),
  cmd(CMD.UPDATE_EXTENT, [
    [ATTR.PATH, "etc/a"],
    [ATTR.FILE_OFFSET, 0],
    [ATTR.SIZE, 14],
  ]),
  cmd(CMD.TRUNCATE, [
    [ATTR.PATH, "usr/big"],
    [ATTR.SIZE, 10],
  ]),
  cmd(CMD.UNLINK, [[ATTR.PATH, "o260-9-0/f1"]]),
  cmd(CMD.UNLINK, [[ATTR.PATH, "o260-9-0/f2"]]),
  cmd(CMD.RMDIR, [[ATTR.PATH, "o260-9-0"]]),
  cmd(CMD.LINK, [
    [ATTR.PATH, "etc/kept"],
    [ATTR.PATH_LINK, "etc/keep"],
  ]),
  cmd(CMD.UNLINK, [[ATTR.PATH, "etc/keep"]]),
  cmd(CMD.MKDIR, [[ATTR.PATH, "o266-11-0"]]),
  cmd(CMD.RENAME, [
    [ATTR.PATH, "o266-11-0"],
    [ATTR.PATH_TO, "new"],
  ]),
  cmd(CMD.MKDIR, [[ATTR.PATH, "o267-11-0"]]),
  cmd(CMD.RENAME, [
    [ATTR.PATH, "o267-11-0"],
    [ATTR.PATH_TO, "new/sub"],
  ]),
  cmd(CMD.MKFILE, [[ATTR.PATH, "o268-11-0"]]),
  cmd(CMD.RENAME, [
    [ATTR.PATH, "o268-11-0"],
    [ATTR.PATH_TO, "new/sub/n.txt"],
  ]),
  cmd(CMD.UPDATE_EXTENT, [
    [ATTR.PATH, "new/sub/n.txt"],
    [ATTR.FILE_OFFSET, 0],
    [ATTR.SIZE, 3],
  ]),
  cmd(CMD.SYMLINK, [
    [ATTR.PATH, "o270-11-0"],
    [ATTR.PATH_LINK, "/x"],
  ]),
  cmd(CMD.RENAME, [
    [ATTR.PATH, "o270-11-0"],
    [ATTR.PATH_TO, "link"],
  ]),
  cmd(CMD.RENAME, [
    [ATTR.PATH, "srv/moved-away"],
    [ATTR.PATH_TO, "srv/moved-here"],
  ]),
  cmd(CMD.UTIMES, [[ATTR.PATH, "etc"]]),
]);

async function changes(s: Buffer, chunk: number) {
  const r = new SendReplay();
  for (let i = 0; i < s.length; i += chunk) r.push(s.subarray(i, i + chunk));
  r.finish();
  // Roots that do not exist: sizes are 0, types are what the stream said.
  const tree = await buildChangeTree(r, "/nonexistent-snapshot", "/nonexistent-base");
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of listChanges(tree, p, "name", undefined, 100).entries) {
      out.push(`${e.path} ${e.change ?? "-"}${e.from ? ` from ${e.from}` : ""}`);
      if (e.children) walk(e.path);
    }
  };
  walk("/");
  return { out, root: listChanges(tree, "/", "name", undefined, 100).entry };
}

describe("send stream replay", () => {
  it("names final paths for what exists and base paths for what was deleted, whatever the chunking", async () => {
    const expected = [
      "/etc -",
      "/etc/a modified",
      "/etc/keep deleted",
      "/etc/kept added",
      "/link added",
      "/new added",
      "/new/sub added",
      "/new/sub/n.txt added",
      "/old deleted",
      "/old/f1 deleted",
      "/old/f2 deleted",
      "/srv -",
      "/srv/moved-away deleted",
      "/srv/moved-here added from /srv/moved-away",
      "/usr -",
      "/usr/big modified",
    ];
    for (const chunk of [1, 7, 64, sample.length]) expect((await changes(sample, chunk)).out).toEqual(expected);
    const { root } = await changes(sample, 4096);
    expect(root.totals).toMatchObject({ added: 6, modified: 2, deleted: 5, written: 17 });
  });

  it("stops at its cap of paths instead of growing without bound", () => {
    expect(() => new SendReplay(5).push(sample)).toThrow(/more than 5 changed paths/);
    expect(() => new SendReplay(100).push(sample)).not.toThrow();
  });

  it("refuses what is not a send stream, and a stream cut mid-command", () => {
    expect(() => new SendReplay().push(Buffer.from("not a stream at all"))).toThrow(/not a btrfs send stream/);
    const r = new SendReplay();
    r.push(sample.subarray(0, sample.length - 3));
    expect(() => r.finish()).toThrow(/mid-command/);
  });
});

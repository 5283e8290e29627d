// A replayed send stream (send-stream.ts) turned into the change tree (server/shared/changes.ts):
// entries with kinds and sizes; the shared code sums the per-directory totals and lists it.
import { lstatSync } from "node:fs";
import { setImmediate as yieldLoop } from "node:timers/promises";
import { type ChangeFileType, type ChangeKind, dirNode, placeChange, sumTotals, type TreeNode } from "../../shared/changes.js";
import { finalPath, type NsNode, type SendReplay } from "./send-stream.js";

/** lstat calls between two yields to the event loop (a listing must not stall the daemon's other calls). */
const STAT_BATCH = 2000;

function typeOf(mode: number): ChangeFileType {
  const t = mode & 0o170000;
  return t === 0o100000 ? "file" : t === 0o040000 ? "dir" : t === 0o120000 ? "symlink" : "other";
}

/**
 * Builds the tree: current sizes and types come from an lstat in the (read-only) snapshot, the sizes
 * of deleted entries from one in the base. Both are frozen, so nothing races the reads.
 */
export async function buildChangeTree(replay: SendReplay, snapshotRoot: string, baseRoot: string): Promise<TreeNode> {
  const root = dirNode("");
  let stats = 0;
  const stat = async (p: string) => {
    if (++stats % STAT_BATCH === 0) await yieldLoop();
    return lstatSync(p, { throwIfNoEntry: false });
  };
  const place = (path: string) => placeChange(root, path);
  // Depth-first over the final namespace; an explicit stack (a deep tree must not overflow the JS stack).
  const stack: NsNode[] = [...(replay.root.children?.values() ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.children) stack.push(...n.children.values());
    const p = finalPath(n);
    const renamedHere = n.moved && n.origin !== null && n.origin !== p;
    if (renamedHere) replay.deleted.set(n.origin!, replay.deleted.get(n.origin!) ?? n.type);
    const change: ChangeKind | null = n.created || renamedHere ? "added" : n.touched ? "modified" : null;
    if (change === null) continue;
    const st = await stat(snapshotRoot + p);
    const t = place(p);
    t.change = change;
    t.type = st ? typeOf(st.mode) : (n.type ?? "other");
    t.size = st && t.type !== "dir" ? st.size : 0;
    t.written = n.written;
    if (renamedHere) t.from = n.origin!;
  }
  for (const [p, type] of replay.deleted) {
    const t = place(p);
    // Something new stands where a base entry was: the name was replaced, i.e. modified.
    if (t.change === "added" && !t.from) {
      t.change = "modified";
      continue;
    }
    if (t.change !== null) continue;
    const st = await stat(baseRoot + p);
    t.change = "deleted";
    t.type = st ? typeOf(st.mode) : (type ?? "other");
    t.size = st && t.type !== "dir" ? st.size : 0;
  }
  sumTotals(root);
  return root;
}


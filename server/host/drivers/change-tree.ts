// A replayed send stream (send-stream.ts) turned into the change tree (server/shared/changes.ts):
// entries with kinds and sizes; the shared code sums the per-directory totals and lists it.
import { lstatSync } from "node:fs";
import { type ChangeFileType, type ChangeKind, dirNode, placeChange, sumTotals, type TreeNode } from "../../shared/changes.js";
import type { NsNode, SendReplay } from "./send-stream.js";

/** Work between two yields to the event loop: a listing must not stall the daemon's other calls. */
const BATCH = 1000;
const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

function typeOf(mode: number): ChangeFileType {
  const t = mode & 0o170000;
  return t === 0o100000 ? "file" : t === 0o040000 ? "dir" : t === 0o120000 ? "symlink" : "other";
}

interface Pending {
  t: TreeNode;
  path: string;
  type: ChangeFileType | null;
}

/**
 * Sizes and types from lstat in a frozen tree. Synchronous calls in batches: on a busy box they
 * beat the threadpool's round trips (0.7 s against 3.9 s for 100,000 files here).
 */
async function stat(list: Pending[], root: string): Promise<void> {
  for (let i = 0; i < list.length; i++) {
    if (i % BATCH === BATCH - 1) await yieldLoop();
    const { t, path, type } = list[i]!;
    const st = lstatSync(root + path, { throwIfNoEntry: false });
    t.type = st ? typeOf(st.mode) : (type ?? "other");
    t.size = st && t.type !== "dir" ? st.size : 0;
  }
}

/**
 * Builds the tree: current sizes and types come from an lstat in the (read-only) snapshot, the sizes
 * of deleted entries from one in the base. Both are frozen, so nothing races the reads.
 */
export async function buildChangeTree(replay: SendReplay, snapshotRoot: string, baseRoot: string): Promise<TreeNode> {
  const root = dirNode("");
  const present: Pending[] = [];
  // Depth-first over the final namespace, each node's path and tree node built from its parent's;
  // an explicit stack (a deep tree must not overflow the JS stack).
  const stack: { n: NsNode; dir: string; parent: TreeNode }[] = [...(replay.root.children?.values() ?? [])].map((n) => ({ n, dir: "", parent: root }));
  for (let i = 0; stack.length; i++) {
    if (i % BATCH === BATCH - 1) await yieldLoop();
    const { n, dir, parent } = stack.pop()!;
    const p = `${dir}/${n.name}`;
    const t = dirNode(n.name);
    parent.children!.set(n.name, t);
    if (n.children) for (const c of n.children.values()) stack.push({ n: c, dir: p, parent: t });
    const renamedHere = n.moved && n.origin !== null && n.origin !== p;
    if (renamedHere) replay.deleted.set(n.origin!, replay.deleted.get(n.origin!) ?? n.type);
    const change: ChangeKind | null = n.created || renamedHere ? "added" : n.touched ? "modified" : null;
    if (change === null) continue;
    t.change = change;
    t.written = n.written;
    if (renamedHere) t.from = n.origin!;
    present.push({ t, path: p, type: n.type });
  }
  prune(root);
  const gone: Pending[] = [];
  for (const [p, type] of replay.deleted) {
    const t = placeChange(root, p);
    // Something new stands where a base entry was: the name was replaced, i.e. modified.
    if (t.change === "added" && !t.from) {
      t.change = "modified";
      continue;
    }
    if (t.change !== null) continue;
    t.change = "deleted";
    gone.push({ t, path: p, type });
  }
  await stat(present, snapshotRoot);
  await stat(gone, baseRoot);
  sumTotals(root);
  return root;
}

/** Drops directories the walk made for untouched inodes with nothing changed below them (post-order). */
function prune(root: TreeNode): void {
  const order: [TreeNode, TreeNode][] = [];
  const stack: TreeNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    for (const c of n.children?.values() ?? []) {
      order.push([c, n]);
      stack.push(c);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const [n, parent] = order[i]!;
    if (n.change === null && !n.children?.size) parent.children!.delete(n.name);
  }
}

// The delta browser's shapes, shared by the daemon, both engines, the core and the dashboard: what a
// tenant added, modified and deleted relative to its template (or to one of its snapshots), as a
// tree with per-directory totals, and the rule every path inside a tenant must pass.
import { z } from "zod";

/** Longest path accepted (PATH_MAX). */
export const MAX_TENANT_PATH = 4096;
/** The largest file the content view shows. */
export const MAX_CONTENT_BYTES = 64 * 1024;

/**
 * A path inside a tenant as "/a/b" ("/" for its root), or null when it is not one: "." and ".."
 * components, NUL bytes and over-long paths are refused before anything opens them (the daemon
 * also opens beneath the tenant's root with no symlinks, so this is not the only guard).
 */
export function normalizeTenantPath(p: string): string | null {
  if (p.length > MAX_TENANT_PATH || p.includes("\0")) return null;
  const parts = p.split("/").filter((s) => s !== "");
  if (parts.some((s) => s === "." || s === "..")) return null;
  return "/" + parts.join("/");
}

export const TenantPathSchema = z
  .string()
  .max(MAX_TENANT_PATH)
  .refine((p) => normalizeTenantPath(p) !== null, "a path inside the tenant: no '.' or '..' components, no NUL")
  .transform((p) => normalizeTenantPath(p) as string);

export const CHANGE_SORTS = ["name", "size", "change"] as const;
export type ChangeSort = (typeof CHANGE_SORTS)[number];

export type ChangeKind = "added" | "modified" | "deleted";
export type ChangeFileType = "file" | "dir" | "symlink" | "other";

/** Counts and bytes of the changes at and below an entry. */
export interface ChangeTotals {
  added: number;
  modified: number;
  deleted: number;
  /** Current bytes of the added and modified files (apparent size). */
  bytes: number;
  /** Bytes the deleted files had. */
  deletedBytes: number;
  /** Bytes of file data the send stream reports written (what the tenant's delta holds for them). */
  written: number;
}

export interface ChangeEntry {
  name: string;
  /** "/a/b" inside the tenant. */
  path: string;
  type: ChangeFileType;
  /** null: a directory listed only because changes are below it. */
  change: ChangeKind | null;
  /** A file's current size (deleted: the size it had); a directory's: its totals' bytes. */
  size: number;
  /** Base path of an entry that was renamed or hard-linked here. */
  from?: string;
  totals: ChangeTotals;
  /** Directories: how many changed entries are directly inside. */
  children: number;
}

export interface ChangesResult {
  /** What the tenant is compared with. */
  base: { kind: "template" | "snapshot"; name: string };
  /** The tenant subvolume's BTRFS generation the listing was computed at. */
  generation: number;
  computedAt: string;
  /** How long the computation took (0 when the listing came from the cache). */
  computeMs: number;
  cached: boolean;
  /** The directory (or file) listed, with its totals. */
  entry: ChangeEntry;
  /** Changed entries directly inside it, sorted, at most `limit`. */
  entries: ChangeEntry[];
  truncated: boolean;
}

export const ChangesQuerySchema = z.object({
  path: TenantPathSchema.default("/"),
  compare: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/)
    .optional(),
  sort: z.enum(CHANGE_SORTS).default("size"),
  order: z.enum(["asc", "desc"]).optional(),
  limit: z.number().int().min(1).max(5000).default(500),
  /** Reuse a listing computed at most this many seconds ago even if the tenant wrote since (drilling through one listing). */
  maxAgeS: z.number().int().min(0).max(3600).default(0),
});

export interface FileContent {
  path: string;
  size: number;
  /** The bytes (base64), when size ≤ MAX_CONTENT_BYTES; else null. */
  base64: string | null;
}

/** Sorts one directory's entries: by size (largest first), name (A–Z) or kind of change. */
export function sortChanges(entries: ChangeEntry[], sort: ChangeSort, order?: "asc" | "desc"): ChangeEntry[] {
  const rank = { added: 0, modified: 1, deleted: 2 } as const;
  const cmp: Record<ChangeSort, (a: ChangeEntry, b: ChangeEntry) => number> = {
    name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    size: (a, b) => a.size - b.size || b.totals.deletedBytes - a.totals.deletedBytes,
    change: (a, b) => (a.change === null ? 3 : rank[a.change]) - (b.change === null ? 3 : rank[b.change]),
  };
  const dir = (order ?? (sort === "size" ? "desc" : "asc")) === "asc" ? 1 : -1;
  return entries.sort((a, b) => dir * cmp[sort](a, b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The change tree an engine builds, then lists one directory of at a time. */
export interface TreeNode {
  name: string;
  type: ChangeFileType;
  change: ChangeKind | null;
  size: number;
  from?: string;
  written: number;
  children: Map<string, TreeNode> | null;
  totals: ChangeTotals;
}

const zeroTotals = (): ChangeTotals => ({ added: 0, modified: 0, deleted: 0, bytes: 0, deletedBytes: 0, written: 0 });
export const dirNode = (name: string): TreeNode => ({ name, type: "dir", change: null, size: 0, written: 0, children: new Map(), totals: zeroTotals() });

/** The node at path "/a/b" below root, made (as a directory holding changes) where missing. */
export function placeChange(root: TreeNode, path: string): TreeNode {
  let cur = root;
  for (const name of path.split("/")) {
    if (!name) continue;
    let next = cur.children?.get(name);
    if (!next) {
      next = dirNode(name);
      cur.children ??= new Map();
      cur.children.set(name, next);
    }
    cur = next;
  }
  return cur;
}

/** Fills every node's totals (post-order, iteratively: a deep tree must not overflow the stack); a directory's size is its totals' bytes. */
export function sumTotals(root: TreeNode): void {
  const order: TreeNode[] = [];
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    order.push(n);
    if (n.children) stack.push(...n.children.values());
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const t = n.totals;
    if (n.change === "deleted") {
      t.deleted++;
      if (n.type !== "dir") t.deletedBytes += n.size;
    } else if (n.change) {
      t[n.change]++;
      if (n.type !== "dir") t.bytes += n.size;
      t.written += n.written;
    }
    for (const c of n.children?.values() ?? []) {
      t.added += c.totals.added;
      t.modified += c.totals.modified;
      t.deleted += c.totals.deleted;
      t.bytes += c.totals.bytes;
      t.deletedBytes += c.totals.deletedBytes;
      t.written += c.totals.written;
    }
    if (n.type === "dir") n.size = n.change === "deleted" ? t.deletedBytes : t.bytes;
  }
}

function entryOf(n: TreeNode, path: string): ChangeEntry {
  return { name: n.name, path, type: n.type, change: n.change, size: n.size, ...(n.from ? { from: n.from } : {}), totals: n.totals, children: n.children?.size ?? 0 };
}

/** One directory of the tree (or one file): its entry and its sorted children, at most `limit`. A path with no changes lists empty. */
export function listChanges(root: TreeNode, path: string, sort: ChangeSort, order: "asc" | "desc" | undefined, limit: number): { entry: ChangeEntry; entries: ChangeEntry[]; truncated: boolean } {
  let cur: TreeNode | undefined = root;
  const parts = path.split("/").filter(Boolean);
  for (const name of parts) cur = cur?.children?.get(name);
  const here = "/" + parts.join("/");
  if (!cur) return { entry: entryOf(dirNode(parts.at(-1) ?? ""), here), entries: [], truncated: false };
  const children = [...(cur.children?.values() ?? [])].map((c) => entryOf(c, here === "/" ? `/${c.name}` : `${here}/${c.name}`));
  const sorted = sortChanges(children, sort, order);
  return { entry: entryOf(cur, here), entries: sorted.slice(0, limit), truncated: sorted.length > limit };
}

// GDPR Art. 20 export: the tenant's own files as a tar, the template's unchanged files left out.
// "Own" = what the kernel's diff of a read-only snapshot against the template (the delta browser's,
// host/changes.ts) says was added or modified: a file, link or node not in the template, or with
// other data, mode, owner or xattrs (a bare mtime change is not); directories are implied by their
// files. Read from that snapshot, so the tenant keeps running and the tar is consistent.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { TreeNode } from "../../shared/changes.js";
import { runPiped } from "../../shared/sys.js";
import { diffTree } from "../changes.js";
import type { HostState } from "../state.js";
import { dropWork } from "./backups.js";

/** Paths (relative, sorted) of the tenant's own entries in the read-only snapshot `snap` compared with the template at `base`. */
export async function ownFiles(snap: string, base: string): Promise<string[]> {
  const out = new Set<string>();
  const stack: [TreeNode, string][] = [[await diffTree(base, snap), ""]];
  while (stack.length) {
    const [n, dir] = stack.pop()!;
    for (const c of n.children?.values() ?? []) {
      const p = dir ? `${dir}/${c.name}` : c.name;
      const own = c.change === "added" || c.change === "modified";
      if (own && c.type === "dir" && c.from) {
        // A directory moved here: the diff names the move, not what it holds; all of it is under the customer's name now.
        for (const e of await fs.readdir(path.join(snap, p), { recursive: true, withFileTypes: true })) {
          if (!e.isDirectory()) out.add(path.relative(snap, path.join(e.parentPath, e.name)));
        }
        continue;
      }
      if (own && c.type !== "dir") out.add(p);
      if (c.children) stack.push([c, p]);
    }
  }
  return [...out].sort();
}

/** The tar stream and when it (and its snapshot's removal) finished. */
export async function exportTenant(h: HostState, id: string): Promise<{ stream: Readable; done: Promise<void>; files: number }> {
  const dir = h.pool.path("backup-work", `export-${randomBytes(6).toString("hex")}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const snap = path.join(dir, "root");
  const tplName = await h.lock
    .run(id, async () => {
      const m = h.getTenant(id);
      await h.pool.snapshot(h.pool.path("tenants", id), snap, true);
      return m.template;
    })
    .catch(async (e) => {
      await fs.rm(dir, { recursive: true, force: true });
      throw e;
    });
  const drop = () => dropWork(h, dir);
  try {
    const files = await ownFiles(snap, h.pool.path("templates", tplName));
    const { child, done } = runPiped("tar", ["-c", "--null", "--no-recursion", "--numeric-owner", "-C", snap, "-T", "-"], { stdin: "pipe" });
    child.stdin!.end(files.map((f) => f + "\0").join(""));
    return { stream: child.stdout!, done: done.finally(drop), files: files.length };
  } catch (e) {
    await drop();
    throw e;
  }
}

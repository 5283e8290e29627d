// GDPR Art. 20 export: the tenant's own files as a tar, the template's unchanged files left out.
// "Own" = a file, link or node not in the template, or differing from it in type, size, mtime,
// mode, owner or link target (directories are implied by their files); read from a read-only snapshot, so the tenant keeps running and the tar is consistent.
// (Kept separate from any send-stream parser: the delta browser has its own; the lead dedupes.)
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Stats } from "node:fs";
import type { Readable } from "node:stream";
import { runPiped } from "../../shared/sys.js";
import type { HostState } from "../state.js";
import { dropWork } from "./backups.js";

type Stat = Stats;

async function differs(a: Stat, aPath: string, b: Stat | null, bPath: string): Promise<boolean> {
  if (!b) return true;
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (a.isSymbolicLink()) return (await fs.readlink(aPath)) !== (await fs.readlink(bPath));
  if (a.isFile()) return a.size !== b.size || a.mtimeMs !== b.mtimeMs;
  return false;
}

/** Paths (relative, sorted) of the tenant's own entries in root compared with the template at base. */
export async function ownFiles(root: string, base: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, inBase: boolean): Promise<void> => {
    for (const n of (await fs.readdir(path.join(root, rel))).sort()) {
      const r = path.join(rel, n);
      const st = await fs.lstat(path.join(root, r));
      const bst = inBase ? await fs.lstat(path.join(base, r)).catch(() => null) : null;
      // Directories are not listed: tar makes a file's parents on extraction, and the empty ones a
      // tenant has are LXC's mount points (sys/devices/...), not the customer's data.
      if (st.isDirectory()) await walk(r, inBase && bst?.isDirectory() === true);
      else if (await differs(st, path.join(root, r), bst, path.join(base, r))) out.push(r);
    }
  };
  await walk("", true);
  return out;
}

/** The tar stream and when it (and its snapshot's removal) finished. */
export async function exportTenant(h: HostState, id: string): Promise<{ stream: Readable; done: Promise<void>; files: number }> {
  const dir = h.pool.path("backup-work", `export-${randomBytes(6).toString("hex")}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const snap = path.join(dir, "root");
  const tplName = await h.lock.run(id, async () => {
    const m = h.getTenant(id);
    await h.pool.snapshot(h.pool.path("tenants", id), snap, true);
    return m.template;
  }).catch(async (e) => {
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

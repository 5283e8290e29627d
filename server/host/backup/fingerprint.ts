// A template's identity across boxes: a hash of every path, type, mode, owner, link target and file
// content in it (not times or inode numbers, which differ between two builds of the same recipe).
// A backup records it; a restore refuses a template that differs, since the backup is a delta on it.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

const cache = new Map<string, Promise<string>>();

/** Templates are read-only, so each is hashed once per daemon run (keyed by path and subvolume id). */
export function templateFingerprint(root: string, subvolumeId: number): Promise<string> {
  const key = `${root}\0${subvolumeId}`;
  let p = cache.get(key);
  if (!p) {
    p = compute(root);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function compute(root: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (rel: string): Promise<void> => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const n of names) {
      const r = path.join(rel, n);
      const abs = path.join(root, r);
      const st = await fs.lstat(abs);
      h.update(`${r}\0${st.mode}\0${st.uid}\0${st.gid}\0`);
      if (st.isSymbolicLink()) h.update(`l${await fs.readlink(abs)}\0`);
      else if (st.isFile()) {
        h.update(`f${st.size}\0`);
        for await (const c of createReadStream(abs)) h.update(c as Buffer);
      } else if (st.isDirectory()) await walk(r);
      else h.update(`o${st.rdev}\0`);
    }
  };
  await walk("");
  return h.digest("hex");
}

// File-based routing over the scripts folder, like Next.js: scripts/a/b.ts → /exec/a/b,
// scripts/tenants/[id].ts → /exec/tenants/123 with params {id: "123"}. Only .ts/.js files are routes;
// the folder is read on each request, so adding, changing or removing a file needs no restart.
import fs from "node:fs/promises";
import path from "node:path";
import { scriptsDir } from "../config";

export interface ScriptRoute {
  /** The script's name: its path without extension, e.g. "stripe-webhook" or "tenants/[id]". */
  name: string;
  file: string;
  params: Record<string, string>;
}

const SEGMENT = /^[A-Za-z0-9._-]{1,100}$/;
const EXT = /\.(ts|js)$/;

export async function listScripts(dir = scriptsDir()): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      if (e.name.startsWith(".") || e.name.startsWith("_")) continue;
      if (e.isDirectory()) await walk(path.join(rel, e.name));
      else if (EXT.test(e.name) && !e.name.endsWith(".d.ts")) out.push(path.join(rel, e.name).replace(EXT, ""));
    }
  };
  await walk("");
  return out.sort();
}

/** Resolves /exec/<segments> to a script file; static names win over [param] ones. */
export async function resolveScript(segments: string[], dir = scriptsDir()): Promise<ScriptRoute | null> {
  if (!segments.length || !segments.every((s) => SEGMENT.test(s) && s !== "." && s !== "..")) return null;
  const names = await listScripts(dir);
  const candidates = names
    .map((name) => ({ name, parts: name.split(path.sep) }))
    .filter((c) => c.parts.length === segments.length)
    .map((c) => {
      const params: Record<string, string> = {};
      let score = 0;
      for (let i = 0; i < c.parts.length; i++) {
        const part = c.parts[i]!;
        const m = /^\[([A-Za-z_][A-Za-z0-9_]*)\]$/.exec(part);
        if (m) params[m[1]!] = segments[i]!;
        else if (part === segments[i]) score += 1;
        else return null;
      }
      return { name: c.name, params, score };
    })
    .filter((c): c is { name: string; params: Record<string, string>; score: number } => c !== null)
    .sort((a, b) => b.score - a.score);
  const best = candidates[0];
  if (!best) return null;
  for (const ext of [".ts", ".js"]) {
    const file = path.join(dir, best.name + ext);
    if (
      await fs.stat(file).then(
        () => true,
        () => false,
      )
    )
      return { name: best.name.split(path.sep).join("/"), file, params: best.params };
  }
  return null;
}

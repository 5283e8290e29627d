// The dashboard's client modules import server code only where it is safe in a browser bundle:
// following every runtime (non-type) import of ~/server/… from a "use client" file, or from the kit
// they use, must reach no node: module, database or native package. Turbopack does not map .js to .ts,
// so those imports carry no extension.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bytes, fmtDate, parseTime, plural } from "./format";
import { errorPaths, errorText } from "./errors";

const ROOT = path.resolve(__dirname, "../..");
const FORBIDDEN = /^(node:|better-sqlite3$|drizzle-orm|execa$)/;

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.tsx?$/.test(e.name) && !e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : []));
}

/** Runtime import specifiers of a module (`import type` and `export type` left out). */
function runtimeImports(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gm)) if (!m[2]) out.push(m[3]!);
  for (const m of src.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push(m[1]!);
  return out;
}

function resolve(from: string, spec: string): string | null {
  const base = spec.startsWith("~/") ? path.join(ROOT, spec.slice(2)) : spec.startsWith(".") ? path.resolve(path.dirname(from), spec) : null;
  if (!base) return null;
  for (const c of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  throw new Error(`${path.relative(ROOT, from)}: cannot resolve ${spec}`);
}

/** Every forbidden package reached from `file`, with the chain that reaches it. */
function reach(file: string, seen = new Set<string>(), chain: string[] = []): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const here = [...chain, path.relative(ROOT, file)];
  return runtimeImports(fs.readFileSync(file, "utf8")).flatMap((spec) => {
    if (FORBIDDEN.test(spec)) return [`${here.join(" → ")} → ${spec}`];
    const next = resolve(file, spec);
    return next ? reach(next, seen, here) : [];
  });
}

describe("dashboard client bundle", () => {
  const clientFiles = files(path.join(ROOT, "app")).filter((f) => /^["']use client["']/.test(fs.readFileSync(f, "utf8")) || f.includes("/_components/"));

  it("finds the client modules it checks", () => {
    expect(clientFiles.length).toBeGreaterThan(20);
  });

  it("reaches no node-only module from a client module", () => {
    expect(clientFiles.flatMap((f) => reach(f))).toEqual([]);
  });

  it("imports server modules without a .js extension", () => {
    const bad = clientFiles.flatMap((f) =>
      runtimeImports(fs.readFileSync(f, "utf8"))
        .filter((s) => s.startsWith("~/server/") && s.endsWith(".js"))
        .map((s) => `${path.relative(ROOT, f)}: ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it("catches a node import when there is one (live control)", () => {
    const tmp = path.join(ROOT, "app/_lib/.client-imports-control.ts");
    fs.writeFileSync(tmp, 'import { ENV_KEY_RE } from "~/server/shared/env";\nimport { newPublicId } from "~/server/core/ids";\nexport { ENV_KEY_RE, newPublicId };\n');
    try {
      expect(reach(tmp).some((r) => r.endsWith("node:crypto"))).toBe(true);
    } finally {
      fs.rmSync(tmp);
    }
  });
});

describe("dashboard formatting", () => {
  it("reads SQLite's zone-less times as UTC, and ISO times as they are", () => {
    expect(parseTime("2026-01-02 03:04:05").toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(parseTime("2026-01-02T03:04:05Z").toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(parseTime("2026-01-02T03:04:05+01:00").toISOString()).toBe("2026-01-02T02:04:05.000Z");
    expect(fmtDate(null)).toBe("–");
    expect(fmtDate("not a date")).toBe("not a date");
  });

  it("sizes and counts", () => {
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(bytes(undefined)).toBe("–");
    expect(plural(1, "snapshot")).toBe("1 snapshot");
    expect(plural(3, "snapshot")).toBe("3 snapshots");
  });

  it("puts validation issues into words and names their fields", () => {
    const e = new Error(
      JSON.stringify([
        { path: ["name"], message: "too short" },
        { path: ["env", "A"], message: "bad" },
      ]),
    );
    expect(errorText(e)).toBe("name: too short; env.A: bad");
    expect(errorPaths(e)).toEqual(["name", "env.A"]);
    expect(errorText(new Error("plain"))).toBe("plain");
    expect(errorPaths(new Error("plain"))).toEqual([]);
  });
});

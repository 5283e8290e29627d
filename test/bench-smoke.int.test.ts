// The benchmark suite's smoke run (bench/run.ts --smoke): every scenario with tiny counts, so the
// scripts keep working. Checks that the outputs are there and well-formed (finite, non-negative
// numbers where they are times, sizes and counts) — never what the timings are.
import fs from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCENARIOS = ["provision", "wake", "density", "stats", "delete", "metrics", "changes", "scale"];
const INCUS = existsSync("/usr/libexec/incus/incusd");
let out = "";
let run: { exitCode?: number; all?: string } = {};
const results: Record<string, any> = {};

/** Every number in a result, with its path. */
function numbers(v: unknown, at = "", acc: [string, number][] = []): [string, number][] {
  if (typeof v === "number") acc.push([at, v]);
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) numbers(x, `${at}[${i}]`, acc);
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) numbers(x, at ? `${at}.${k}` : k, acc);
  return acc;
}

beforeAll(async () => {
  out = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-bench-smoke-"));
  run = await execa(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "bench/run.ts"), "--smoke", "--out", out], { cwd: ROOT, all: true, reject: false, timeout: 600_000 });
  for (const s of [...SCENARIOS, "meta"]) results[s] = JSON.parse(await fs.readFile(path.join(out, `${s}.json`), "utf8").catch(() => "null"));
}, 700_000);

afterAll(async () => {
  if (out) await fs.rm(out, { recursive: true, force: true });
});

describe("bench smoke", () => {
  it("runs every scenario without an error", () => {
    expect(run.exitCode, run.all?.slice(-4000)).toBe(0);
    expect(results.meta.errors).toEqual({});
    for (const s of SCENARIOS) expect(results[s]?.scenario, s).toBe(s);
  });

  it("writes only finite numbers; times, sizes and counts are non-negative", () => {
    for (const s of SCENARIOS) {
      const nums = numbers(results[s]);
      expect(nums.length, s).toBeGreaterThan(3);
      for (const [at, n] of nums) {
        expect(Number.isFinite(n), `${s}.${at} = ${n}`).toBe(true);
        // A least-squares fit's slope, intercept or R² may be negative (the smoke fits a few points a
        // few tenants apart, where noise outweighs the per-tenant cost); a used-memory difference is
        // noise-signed. The measured times they are fitted to are checked here like any other.
        if (!/ms_per_1000_tenants|intercept|r2|delta_mib|used_per_tenant|host_used|host_delta_per_running/.test(at)) expect(n, `${s}.${at}`).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it("provision measures hoody and the floor side by side (and Incus where installed)", () => {
    const p = results.provision;
    const mini = p.templates.mini.contenders;
    for (const c of ["hoody", "floor"]) {
      expect(mini[c].sequential_ms.n).toBe(p.options.sequential);
      expect(mini[c].concurrent_ms.n).toBe(p.options.concurrency * p.options.rounds);
      expect(mini[c].sequential_ms.median).toBeGreaterThan(0);
    }
    expect(mini.floor.ratio_to_floor.sequential_median).toBe(1);
    expect(p.templates.mini.first_byte_via_router_ms.n).toBe(p.options.sequential);
    if (INCUS) expect(mini.incus.sequential_ms.n).toBe(p.options.sequential);
    else {
      console.log(`bench smoke: Incus contender skipped: ${p.skipped.incus}`);
      expect(p.skipped.incus).toMatch(/not installed/);
    }
  });

  it("density, stats and delete report what they measured", () => {
    const d = results.density;
    expect(d.running).toBe(d.options.target);
    expect(d.delta_at_creation_kib.n).toBe(d.running);
    expect(d.ksm.settings_restored).toBe(true);
    expect(d.shared_paths.on.cgroup_per_tenant_mib).toBeGreaterThan(0);
    expect(d.shared_paths.off.cgroup_per_tenant_mib).toBeGreaterThan(0);
    expect(results.stats.points.map((p: { tenants: number }) => p.tenants)).toEqual(expect.arrayContaining([4, 8]));
    expect(results.delete.complete, results.delete.failures.join("; ")).toBe(true);
    expect(results.wake.templates.mini.first_byte_ms.n).toBe(results.wake.n);
  });

  it("renders RESULTS.md with the targets and SVG charts", async () => {
    const md = await fs.readFile(path.join(out, "RESULTS.md"), "utf8");
    expect(md).toMatch(/## Targets/);
    expect(md).toMatch(/\| hoody \|/);
    for (const c of ["provision", "density", "memory", "stats"]) {
      const svg = await fs.readFile(path.join(out, "charts", `${c}.svg`), "utf8");
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      expect(md).toContain(`charts/${c}.svg`);
    }
  });
});

// Shared helpers for the benchmark suite: summaries (median, p99), a monotonic timer, system
// memory and KSM readings. Numbers only; nothing here asserts a timing.
import { readFileSync } from "node:fs";

export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) throw new Error("percentile of an empty sample");
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function summarize(xs: number[]): Summary {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    n: xs.length,
    median: r(percentile(xs, 50)),
    p99: r(percentile(xs, 99)),
    min: r(Math.min(...xs)),
    max: r(Math.max(...xs)),
    mean: r(xs.reduce((a, b) => a + b, 0) / xs.length),
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** /proc/meminfo in bytes. */
export function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/meminfo", "utf8").split("\n")) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (line.endsWith("kB") ? 1024 : 1);
  }
  return out;
}

/** Memory in use, page cache included (MemTotal - MemFree), and what the kernel calls available. */
export function memoryNow(): { usedBytes: number; availableBytes: number; cachedBytes: number } {
  const m = meminfo();
  return { usedBytes: m.MemTotal! - m.MemFree!, availableBytes: m.MemAvailable!, cachedBytes: (m.Cached ?? 0) + (m.Buffers ?? 0) };
}

const KSM = "/sys/kernel/mm/ksm";
export function ksmRead(key: string): number {
  try {
    return Number(readFileSync(`${KSM}/${key}`, "utf8").trim());
  } catch {
    return NaN;
  }
}

export const MiB = 1024 * 1024;
export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Rotates a list by i (contenders take turns going first). */
export function rotate<T>(xs: T[], i: number): T[] {
  const k = i % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** Least-squares line through (x, y) with R², to show stats cost grows linearly. */
export function linearFit(points: { x: number; y: number }[]): { slope: number; intercept: number; r2: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxx ? sxy / sxx : 0;
  const intercept = my - slope * mx;
  const ssTot = points.reduce((s, p) => s + (p.y - my) ** 2, 0);
  const ssRes = points.reduce((s, p) => s + (p.y - (intercept + slope * p.x)) ** 2, 0);
  return { slope, intercept, r2: ssTot ? 1 - ssRes / ssTot : 1 };
}

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

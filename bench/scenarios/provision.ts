// Provision: create → running for each contender, per template, sequentially (one at a time) and
// concurrently (bursts of `concurrency`). Contenders alternate within the run: in the sequential
// part each iteration lets every contender create one container, the first one rotating; in the
// concurrent part each round gives every contender one burst, the order rotating. Cleanup between
// is untimed. For hoody it also times create → first HTTP byte through the tenant URL (the router).
import type { Contender } from "../lib/contenders.js";
import type { TestStack } from "../../testkit/stack-harness.js";
import { log, rotate, round, sleep, summarize, type Summary } from "../lib/util.js";

export interface ProvisionOptions {
  templates: string[];
  sequential: number;
  concurrency: number;
  rounds: number;
  /** Containers a contender keeps before an untimed cleanup. */
  keep: number;
}

export interface ContenderResult {
  sequential_ms: Summary;
  concurrent_ms: Summary;
  /** Containers per second over the bursts (burst size / burst wall time). */
  concurrent_per_s: number;
  ratio_to_floor: { sequential_median: number; concurrent_median: number } | null;
  /** Create → first HTTP byte from the app (sequential runs): hoody through the router, the others straight to the container's IP. */
  first_byte_ms: Summary;
}

export interface ProvisionResult {
  scenario: "provision";
  options: ProvisionOptions;
  contenders: string[];
  skipped: Record<string, string>;
  /** Creates the web server runs at once (the rest queue): HOODY_CREATE_CONCURRENCY. */
  hoody_create_concurrency: number;
  templates: Record<string, { contenders: Record<string, ContenderResult>; first_byte_via_router_ms: Summary; warm?: WarmSummary }>;
}

/** The warm-pool contender against the floor and Incus (the targets: ≤ 0.5× the floor's median, ≥ 15× faster than Incus). */
export interface WarmSummary {
  size: number;
  member_memory_bytes: number;
  claimed: number;
  creates: number;
  sequential_vs_floor: number | null;
  incus_speedup: number | null;
  first_byte_ms: number;
}

/** Create → first byte: hoody through the router (its tenant URL), the others straight to the app's IP. */
async function firstByte(stack: TestStack, made: { label?: string; ip?: string }, t0: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = made.label
      ? await stack.viaRouter(made.label).catch(() => null)
      : await fetch(`http://${made.ip}:8080/`, { signal: AbortSignal.timeout(2000), headers: { connection: "close" } }).then(
          (x) => x.text().then(() => ({ status: x.status })),
          () => null,
        );
    if (r?.status === 200) return performance.now() - t0;
    await sleep(2);
  }
  throw new Error(`no first byte from ${made.label ?? made.ip}`);
}

export async function provision(stack: TestStack, contenders: Contender[], skipped: Record<string, string>, opts: ProvisionOptions): Promise<ProvisionResult> {
  const out: ProvisionResult = {
    scenario: "provision",
    options: opts,
    contenders: contenders.map((c) => c.name),
    skipped,
    hoody_create_concurrency: Number(stack.webEnv.HOODY_CREATE_CONCURRENCY ?? process.env.HOODY_CREATE_CONCURRENCY ?? 4),
    templates: {},
  };
  for (const template of opts.templates) {
    for (const c of contenders) await c.prepare(template);
    const seq: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const conc: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const burstRate: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const fb: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    try {
      log(`provision ${template}: ${opts.sequential} sequential per contender (${contenders.map((c) => c.name).join(", ")})`);
      for (let i = 0; i < opts.sequential; i++) {
        for (const c of rotate(contenders, i)) {
          if (c.alive >= opts.keep) await c.cleanup();
          for (const x of contenders) await x.quiesce?.(template);
          const t0 = performance.now();
          const made = await c.create(template);
          seq[c.name]!.push(performance.now() - t0);
          // Waiting for every contender's app keeps one's app start-up from landing on the next one's create.
          fb[c.name]!.push(await firstByte(stack, made, t0));
        }
      }
      for (const c of contenders) await c.cleanup();
      log(`provision ${template}: ${opts.rounds} round(s) of ${opts.concurrency} concurrent per contender`);
      for (let r = 0; r < opts.rounds; r++) {
        for (const c of rotate(contenders, r)) {
          for (const x of contenders) await x.quiesce?.(template);
          const b0 = performance.now();
          const times = await Promise.all(
            Array.from({ length: opts.concurrency }, async () => {
              const t0 = performance.now();
              await c.create(template);
              return performance.now() - t0;
            }),
          );
          burstRate[c.name]!.push(opts.concurrency / ((performance.now() - b0) / 1000));
          conc[c.name]!.push(...times);
          await c.cleanup();
        }
      }
    } finally {
      for (const c of contenders) await c.cleanup().catch((e) => log(`cleanup ${c.name}: ${(e as Error).message}`));
    }
    const results: Record<string, ContenderResult> = {};
    const floorSeq = seq.floor?.length ? summarize(seq.floor).median : null;
    const floorConc = conc.floor?.length ? summarize(conc.floor).median : null;
    for (const c of contenders) {
      const s = summarize(seq[c.name]!);
      const k = summarize(conc[c.name]!);
      results[c.name] = {
        sequential_ms: s,
        concurrent_ms: k,
        concurrent_per_s: round(burstRate[c.name]!.reduce((a, b) => a + b, 0) / burstRate[c.name]!.length),
        ratio_to_floor: floorSeq && floorConc ? { sequential_median: round(s.median / floorSeq, 2), concurrent_median: round(k.median / floorConc, 2) } : null,
        first_byte_ms: summarize(fb[c.name]!),
      };
    }
    const warmC = contenders.find((c) => c.name === "hoody-warm") as (Contender & { pools: Record<string, Omit<WarmSummary, "sequential_vs_floor" | "incus_speedup" | "first_byte_ms">> }) | undefined;
    const w = results["hoody-warm"];
    const warm: WarmSummary | undefined =
      warmC && w && warmC.pools[template]
        ? {
            ...warmC.pools[template]!,
            sequential_vs_floor: floorSeq ? round(w.sequential_ms.median / floorSeq, 2) : null,
            incus_speedup: results.incus ? round(results.incus.sequential_ms.median / w.sequential_ms.median, 1) : null,
            first_byte_ms: w.first_byte_ms.median,
          }
        : undefined;
    out.templates[template] = { contenders: results, first_byte_via_router_ms: summarize(fb.hoody ?? [0]), ...(warm && { warm }) };
    log(`provision ${template}: ${JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, [v.sequential_ms.median, v.concurrent_ms.median]])))}`);
  }
  return out;
}

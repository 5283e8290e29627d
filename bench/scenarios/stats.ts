// Stats cost: how long the host daemon takes to collect every tenant's stats (delta disk from the
// qgroup in sysfs, memory and CPU from cgroup files, KSM from /proc/PID/ksm_stat) at growing tenant
// counts. Reported in-daemon (collectedMs) and as the client's round trip over the socket (JSON of
// every tenant included). Must grow linearly: a least-squares fit and its R² are reported.
import type { TestStack } from "../../testkit/stack-harness.js";
import { linearFit, log, memoryNow, percentile, round, MiB } from "../lib/util.js";

export interface StatsPoint {
  tenants: number;
  running: number;
  collect_ms: number;
  roundtrip_ms: number;
}

export interface StatsResult {
  scenario: "stats";
  template_for_fill: string;
  points: StatsPoint[];
  fit_collect: { ms_per_1000_tenants: number; intercept_ms: number; r2: number };
  fit_roundtrip: { ms_per_1000_tenants: number; intercept_ms: number; r2: number };
  stopped_early: string | null;
}

/** Median of `samples` full stats collections. */
export async function statsProbe(stack: TestStack, samples = 15): Promise<StatsPoint> {
  const collect: number[] = [];
  const roundtrip: number[] = [];
  let tenants = 0;
  let running = 0;
  await stack.host.client.call("host.stats", {}); // warm
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const s = await stack.host.client.call("host.stats", {});
    roundtrip.push(performance.now() - t0);
    collect.push(s.host.collectedMs);
    tenants = s.tenants.length;
    running = s.host.tenants.running;
  }
  return { tenants, running, collect_ms: round(percentile(collect, 50), 2), roundtrip_ms: round(percentile(roundtrip, 50), 2) };
}

export async function statsCost(stack: TestStack, opts: { checkpoints: number[]; template: string; minAvailableBytes: number; earlier?: StatsPoint[] }): Promise<StatsResult> {
  const points: StatsPoint[] = [...(opts.earlier ?? [])];
  await stack.host.client.buildTemplate(opts.template);
  let count = (await stack.host.client.call("tenants.list", {})).length;
  let stoppedEarly: string | null = null;
  for (const cp of opts.checkpoints) {
    if (points.some((p) => p.tenants === cp)) continue;
    if (count > cp) continue;
    log(`stats: filling to ${cp} tenants with ${opts.template}`);
    while (count < cp) {
      // Running tenants make the collection do its real work (cgroup and ksm_stat reads per process);
      // when memory runs short the rest are created stopped, and that is reported.
      const start = memoryNow().availableBytes > opts.minAvailableBytes;
      if (!start && !stoppedEarly)
        stoppedEarly = `from ${count} tenants on, new tenants were created stopped: MemAvailable ${round(memoryNow().availableBytes / MiB, 0)} MiB ≤ the ${round(opts.minAvailableBytes / MiB, 0)} MiB safety floor`;
      await stack.host.client.call("tenants.create", { template: opts.template, start });
      count++;
    }
    points.push(await statsProbe(stack));
    log(`stats: ${JSON.stringify(points.at(-1))}`);
  }
  points.sort((a, b) => a.tenants - b.tenants);
  const fc = linearFit(points.map((p) => ({ x: p.tenants, y: p.collect_ms })));
  const fr = linearFit(points.map((p) => ({ x: p.tenants, y: p.roundtrip_ms })));
  return {
    scenario: "stats",
    template_for_fill: opts.template,
    points,
    fit_collect: { ms_per_1000_tenants: round(fc.slope * 1000, 2), intercept_ms: round(fc.intercept, 2), r2: round(fc.r2, 3) },
    fit_roundtrip: { ms_per_1000_tenants: round(fr.slope * 1000, 2), intercept_ms: round(fr.intercept, 2), r2: round(fr.r2, 3) },
    stopped_early: stoppedEarly,
  };
}

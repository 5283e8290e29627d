// Create→running latency at the host-engine level (the daemon's tenants.create with start), for
// `mini` and `starter`, on a throwaway pool. Reported, never asserted: `npm run bench` (issue 8
// grows this into the full suite). Usage: tsx bench/host-create.ts [count]
import { TestHost, httpGet, waitFor } from "../test/host-harness.js";

const count = Number(process.argv[2] ?? 20);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const h = await TestHost.create({ poolSizeMiB: 8192 });
try {
  const results: Record<string, unknown> = {};
  for (const template of ["mini", "starter"]) {
    await h.client.buildTemplate(template);
    const create: number[] = [];
    const firstByte: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const t = await h.client.call("tenants.create", { template });
      create.push(performance.now() - t0);
      await waitFor(() => httpGet(`http://${t.ip}:8080/`, 1000).catch(() => null), 30_000, 5);
      firstByte.push(performance.now() - t0);
      ids.push(t.id);
    }
    const stats = await h.client.call("host.stats", { sync: true });
    const deltas = stats.tenants.filter((s) => ids.includes(s.id)).map((s) => s.deltaBytes);
    results[template] = {
      n: count,
      create_running_ms: { p50: +pct(create, 50).toFixed(1), p99: +pct(create, 99).toFixed(1) },
      create_to_first_http_byte_ms: { p50: +pct(firstByte, 50).toFixed(1), p99: +pct(firstByte, 99).toFixed(1) },
      delta_after_start_bytes: { p50: pct(deltas, 50), max: Math.max(...deltas) },
      stats_collect_ms: +stats.host.collectedMs.toFixed(2),
    };
    for (const id of ids) await h.client.call("tenants.delete", { id });
  }
  console.log(JSON.stringify(results, null, 2));
} finally {
  await h.stop();
}

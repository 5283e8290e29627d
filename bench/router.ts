// Requests/s and latency through the tenant router versus straight to the tenant's IP (autocannon,
// alternating, same tenant, same duration), and the wake latency of a stopped tenant (first byte
// through the router). Needs `npm run build:test`. Usage: tsx bench/router.ts [seconds]
import autocannon from "autocannon";
import { TestStack } from "../testkit/stack-harness.js";

const seconds = Number(process.argv[2] ?? 10);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function load(url: string, host?: string) {
  const r = await autocannon({ url, connections: 32, duration: seconds, headers: host ? { host } : {} });
  return { rps: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors + r.non2xx };
}

const s = await TestStack.create({ templates: ["mini", "starter"], poolSizeMiB: 4096 });
try {
  await s.startRouter();
  const project = (await s.api("POST", "/projects", { alias: "bench" })).body.data.id;
  const results: Record<string, unknown> = {};
  for (const template of ["mini", "starter"]) {
    const t = (await s.api("POST", `/projects/${project}/containers`, { template, name: `bench-${template}`, idle_timeout_s: 0 })).body.data;
    await s.viaRouter(t.name);
    const host = `${t.name}.localhost:${s.routerPort}`;
    const direct1 = await load(`http://${t.ip}:8080/`);
    const router1 = await load(`${s.routerUrl}/`, host);
    const direct2 = await load(`http://${t.ip}:8080/`);
    const router2 = await load(`${s.routerUrl}/`, host);
    // Wake: stop it, then time the first byte of a request through the router.
    const wakes: number[] = [];
    for (let i = 0; i < 10; i++) {
      // A stop the router may undo (a plain API stop suspends the tenant).
      await s.api("POST", `/containers/${t.id}/stop`, { wake_on_request: true });
      const t0 = performance.now();
      const r = await s.viaRouter(t.name);
      if (r.status !== 200) throw new Error(`wake ${i}: ${r.status}`);
      wakes.push(performance.now() - t0);
    }
    results[template] = {
      direct: [direct1, direct2],
      router: [router1, router2],
      router_vs_direct_rps: +((router1.rps + router2.rps) / (direct1.rps + direct2.rps)).toFixed(2),
      wake_first_byte_ms: { p50: +pct(wakes, 50).toFixed(0), p99: +pct(wakes, 99).toFixed(0) },
    };
  }
  console.log(JSON.stringify({ seconds_per_run: seconds, connections: 32, results }, null, 2));
} finally {
  await s.stop();
}

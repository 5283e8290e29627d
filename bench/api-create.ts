// POST /api/v1/projects/{id}/containers → 201 (container running) over N sequential creates from
// `mini`, through the production Next.js build and the real host daemon. Needs `npm run build:test`.
// Usage: tsx bench/api-create.ts [count]
import { TestStack } from "../test/stack-harness.js";

const count = Number(process.argv[2] ?? 50);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const s = await TestStack.create({ poolSizeMiB: 8192 });
try {
  const project = (await s.api("POST", "/projects", { alias: "bench" })).body.data.id;
  const times: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const r = await s.api("POST", `/projects/${project}/containers`, { template: "mini" });
    times.push(performance.now() - t0);
    if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${JSON.stringify(r.body)}`);
    ids.push(r.body.data.id);
  }
  const t0 = performance.now();
  await s.api("GET", `/containers?limit=100`);
  const listMs = performance.now() - t0;
  console.log(JSON.stringify({ n: count, post_containers_201_ms: { p50: +pct(times, 50).toFixed(1), p99: +pct(times, 99).toFixed(1), max: +Math.max(...times).toFixed(1) }, list_100_ms: +listMs.toFixed(1) }, null, 2));
  for (const id of ids) await s.api("DELETE", `/containers/${id}`);
} finally {
  await s.stop();
}

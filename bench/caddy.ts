// Requests/s and latency for one tenant three ways: straight to its IP, through the tenant router
// alone (plain HTTP), and through Caddy (TLS, HTTP/1.1 keep-alive) in front of the router, as
// `npm run up` runs them for a public domain. autocannon, alternating twice, same tenant.
// Needs `npm run build:test`. Usage: tsx bench/caddy.ts [seconds] [connections]
// (autocannon does not verify certificates; test/caddy.int.test.ts checks the chain.)
import autocannon from "autocannon";
import { CaddyStack } from "../testkit/caddy-harness.js";

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 32);

async function load(url: string, opts: { host?: string; servername?: string } = {}) {
  const r = await autocannon({ url, connections, duration: seconds, headers: opts.host ? { host: opts.host } : {}, ...(opts.servername && { servername: opts.servername }) });
  return { rps: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors + r.non2xx };
}

const c = await CaddyStack.create({ templates: ["mini"] });
try {
  const project = (await c.stack.api("POST", "/projects", { alias: "bench" })).body.data.id;
  const t = (await c.stack.api("POST", `/projects/${project}/containers`, { template: "mini", name: "bench", idle_timeout_s: 0 })).body.data;
  const name = `bench.${c.domain}`;
  // Warm: the router's readiness wait and Caddy's on-demand certificate happen before the clock runs.
  const warm = await c.curl(t.url);
  if (warm.status !== 200) throw new Error(`warm-up through Caddy: ${warm.status} ${warm.stderr}`);
  const runs = { direct: [] as Awaited<ReturnType<typeof load>>[], router: [] as Awaited<ReturnType<typeof load>>[], caddy_router: [] as Awaited<ReturnType<typeof load>>[] };
  for (let i = 0; i < 2; i++) {
    runs.direct.push(await load(`http://${t.ip}:8080/`));
    runs.router.push(await load(`${c.stack.routerUrl}/`, { host: name }));
    runs.caddy_router.push(await load(`https://127.0.0.1:${c.httpsPort}/`, { host: `${name}:${c.httpsPort}`, servername: name }));
  }
  const mean = (xs: { rps: number }[]) => xs.reduce((a, x) => a + x.rps, 0) / xs.length;
  console.log(
    JSON.stringify(
      {
        seconds_per_run: seconds,
        connections,
        tenant: "mini (busybox httpd)",
        runs,
        router_vs_direct_rps: +(mean(runs.router) / mean(runs.direct)).toFixed(2),
        caddy_router_vs_router_rps: +(mean(runs.caddy_router) / mean(runs.router)).toFixed(2),
        p99_ms: { direct: Math.max(...runs.direct.map((r) => r.p99_ms)), router: Math.max(...runs.router.map((r) => r.p99_ms)), caddy_router: Math.max(...runs.caddy_router.map((r) => r.p99_ms)) },
      },
      null,
      2,
    ),
  );
} finally {
  await c.stop();
}

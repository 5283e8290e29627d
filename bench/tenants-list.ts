// The dashboard's tenants table with N tenants: time of its tRPC query (containers.list, one page
// of 50 with live stats) over HTTP with an operator session. Tenants are real (stopped) LXC
// tenants on a real pool. Needs `npm run build:test`. Usage: tsx bench/tenants-list.ts [N]
import { TestStack } from "../testkit/stack-harness.js";

const n = Number(process.argv[2] ?? 1000);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const s = await TestStack.create({ poolSizeMiB: 16384, subnet16: true, uidRanges: n + 16 });
try {
  const project = (await s.api("POST", "/projects", { alias: "bench" })).body.data.id;
  const t0 = performance.now();
  let made = 0;
  const worker = async () => {
    while (made < n) {
      made++;
      const r = await s.api("POST", `/projects/${project}/containers`, { template: "mini", autostart: false });
      if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const createS = (performance.now() - t0) / 1000;
  const login = await fetch(`${s.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password: s.adminPassword }) });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
  const input = encodeURIComponent(JSON.stringify({ "0": { json: { page: 1, limit: 50, sort_by: "created_at", sort_order: "desc" } } }));
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const q0 = performance.now();
    const r = await fetch(`${s.url}/api/trpc/containers.list?batch=1&input=${input}`, { headers: { cookie } });
    const body = await r.text();
    if (!r.ok) throw new Error(body.slice(0, 300));
    times.push(performance.now() - q0);
  }
  const statsT0 = performance.now();
  const stats = await s.host.client.call("host.stats", {});
  const statsMs = performance.now() - statsT0;
  console.log(
    JSON.stringify(
      {
        tenants: n,
        create_total_s: +createS.toFixed(1),
        trpc_containers_list_ms: { p50: +pct(times, 50).toFixed(1), p99: +pct(times, 99).toFixed(1) },
        engine_stats_ms: +statsMs.toFixed(1),
        engine_collect_ms: +stats.host.collectedMs.toFixed(2),
      },
      null,
      2,
    ),
  );
} finally {
  await s.stop();
}

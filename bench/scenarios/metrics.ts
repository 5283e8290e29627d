// /metrics at scale: one scrape (the series of every tenant, host, pool and the API, rendered by
// prom-client) at N tenants. The web process does the same work: its SQLite rows (made by
// core.provisioning.create, as the API makes them) and the last stats sample, which the scrape
// reuses rather than collecting again. The engine is the in-process FakeEngine, every tenant
// running: a scrape never asks the engine (the sampler's cost is the "stats" scenario's), so what
// is timed here is the database reads and the rendering. Also timed: one sample of every tenant
// into the persisted history (2 upserts per tenant), which the web server does every 15 s.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openDb } from "../../server/db/client.js";
import { FakeEngine } from "../../server/engine/fake/engine.js";
import { Admission } from "../../server/core/admission.js";
import { Core, SYSTEM } from "../../server/core/core.js";
import { recordApiRequest, scrape } from "../../server/metrics/registry.js";
import { parseMetrics, series } from "../../testkit/metrics.js";
import { log, round, summarize, type Summary } from "../lib/util.js";

export interface MetricsResult {
  scenario: "metrics";
  engine: string;
  tenants: number;
  scrapes: number;
  scrape_ms: Summary;
  /** CPU time (user + system) of this process per scrape: less sensitive than wall time to other work on the box. */
  scrape_cpu_ms: Summary;
  body_bytes: number;
  series: number;
  tenants_with_series: number;
  history_sample_ms: Summary;
  history_rows: number;
  db_bytes: number;
}

export async function metricsScrape(opts: { tenants: number; scrapes: number }): Promise<MetricsResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-bench-metrics-"));
  const db = openDb(path.join(dir, "hoody.db"));
  try {
    const core = new Core(db, new FakeEngine(), { domain: "bench.local", routerPort: 8080, maxFirewallRules: 10 }, new Admission("creates", 4, 64));
    const project = await core.projects.create(SYSTEM, { alias: "bench" });
    log(`metrics: creating ${opts.tenants} tenant rows (fake engine)`);
    for (let i = 0; i < opts.tenants; i++) await core.provisioning.create(SYSTEM, project.id, { name: `tenant-${i}` });
    // API series as a running server has them: a few routes, statuses and codes.
    for (const [route, status, code] of [
      ["/containers/{id}", 200, null],
      ["/containers/{id}", 404, "CONTAINER_NOT_FOUND"],
      ["/projects/{id}/containers", 201, null],
      ["unmatched", 404, "ROUTE_NOT_FOUND"],
    ] as const)
      for (let i = 0; i < 50; i++) recordApiRequest("GET", route, status, code, 0.001 * i);
    const sampleMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await core.stats.sample();
      sampleMs.push(performance.now() - t0);
    }
    await scrape(core); // warm
    const times: number[] = [];
    const cpu: number[] = [];
    let body = "";
    for (let i = 0; i < opts.scrapes; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      body = (await scrape(core)).body;
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const m = parseMetrics(body);
    const result: MetricsResult = {
      scenario: "metrics",
      engine: "FakeEngine in-process (every tenant running) over real SQLite rows; the scrape reuses the last sample, so it never reaches the engine",
      tenants: opts.tenants,
      scrapes: opts.scrapes,
      scrape_ms: summarize(times),
      scrape_cpu_ms: summarize(cpu),
      body_bytes: Buffer.byteLength(body),
      series: [...m.values()].reduce((n, f) => n + f.metrics.length, 0),
      tenants_with_series: new Set(series(m, "hoody_tenant_memory_bytes").map((s) => s.labels?.id)).size,
      history_sample_ms: summarize(sampleMs),
      history_rows: (db.$client.prepare("SELECT count(*) AS n FROM stats_samples").get() as { n: number }).n,
      db_bytes: (await fs.stat(path.join(dir, "hoody.db"))).size,
    };
    log(
      `metrics: scrape at ${opts.tenants} tenants median ${round(result.scrape_ms.median, 1)} ms, CPU ${round(result.scrape_cpu_ms.median, 1)} ms (${result.series} series, ${round(result.body_bytes / 1024, 0)} KiB); history sample ${round(result.history_sample_ms.median, 1)} ms`,
    );
    return result;
  } finally {
    db.$client.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

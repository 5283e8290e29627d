// The web process's Prometheus metrics (prom-client): the API's own request latency and errors,
// recorded as requests are answered, and per-tenant, host and pool series filled at each scrape
// from the stats the sampler already took (core.stats.fleet), never by collecting again.
// Labels are ids, names and route templates: never a raw path, a query, or an env value.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Core } from "../core/core";

/** A scrape serves stats at most this old; the sampler refreshes them every 15 s. */
const MAX_STATS_AGE_MS = 30_000;
const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
const TENANT = ["id", "name", "project"] as const;

function build() {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: "hoody_web_" });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  return {
    registry,
    api: {
      duration: new Histogram({
        name: "hoody_api_request_duration_seconds",
        help: "REST API requests by method, route template and status",
        labelNames: ["method", "route", "status"] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      }),
      errors: counter("hoody_api_errors_total", "REST API answers of 4xx and 5xx by method, route template, status and error code", ["method", "route", "status", "code"] as const),
    },
    tenant: {
      info: gauge("hoody_tenant_info", "One series per tenant: its ids, name, project and template (value 1)", ["id", "name", "project", "project_id", "template", "engine_name"] as const),
      state: gauge("hoody_tenant_state", "The tenant's status (value 1; the state label says which)", [...TENANT, "state"] as const),
      memory: gauge("hoody_tenant_memory_bytes", "Memory in use (its cgroup)", TENANT),
      memoryLimit: gauge("hoody_tenant_memory_limit_bytes", "Memory limit (0: none known)", TENANT),
      cpu: counter("hoody_tenant_cpu_seconds_total", "CPU time used by its current run", TENANT),
      pids: gauge("hoody_tenant_pids", "Processes (tasks) in its cgroup", TENANT),
      delta: gauge("hoody_tenant_delta_disk_bytes", "Its own bytes on disk: the BTRFS delta from its template", TENANT),
      snapshots: gauge("hoody_tenant_snapshot_bytes", "Bytes held only by its snapshots", TENANT),
      ksm: gauge("hoody_tenant_ksm_saved_bytes", "Memory KSM saved by merging its pages with identical ones", TENANT),
      dedup: gauge("hoody_tenant_dedup_saved_bytes", "Disk bytes saved by block deduplication (present once dedup runs)", TENANT),
      rx: counter("hoody_tenant_network_receive_bytes_total", "Bytes received on its interface", TENANT),
      tx: counter("hoody_tenant_network_transmit_bytes_total", "Bytes sent from its interface", TENANT),
      requests: counter("hoody_tenant_requests_total", "Requests the tenant router passed to it", TENANT),
      lastRequest: gauge("hoody_tenant_last_request_timestamp_seconds", "When the router last passed it a request (unix seconds)", TENANT),
    },
    host: {
      tenants: gauge("hoody_tenants", "Tenants by status", ["status"] as const),
      memoryTotal: gauge("hoody_host_memory_total_bytes", "Host memory"),
      memoryAvailable: gauge("hoody_host_memory_available_bytes", "Host memory available (MemAvailable)"),
      ksmSaved: gauge("hoody_host_ksm_saved_bytes", "Memory KSM saved host-wide"),
      ksmSharing: gauge("hoody_host_ksm_pages_sharing", "KSM: pages sharing a merged page"),
      statsAge: gauge("hoody_stats_age_seconds", "Age of the stats this scrape served"),
      statsCollect: gauge("hoody_stats_collect_seconds", "How long the engine took to collect them"),
    },
    pool: {
      size: gauge("hoody_pool_size_bytes", "Storage pool size"),
      used: gauge("hoody_pool_used_bytes", "Storage pool bytes in use"),
      deltas: gauge("hoody_pool_tenant_delta_bytes", "Sum of every tenant's own bytes (what full copies would have cost is the template sizes on top)"),
      snapshots: gauge("hoody_pool_snapshot_bytes", "Sum of bytes held only by snapshots"),
    },
  };
}

export type HoodyMetrics = ReturnType<typeof build>;

// Next bundles the REST handler apart from server/web/main.ts, which serves the scrape: one
// registry per process, on globalThis, or the scrape would never see the API's requests.
const slot = globalThis as typeof globalThis & { __hoodyMetrics?: HoodyMetrics };

export function hoodyMetrics(): HoodyMetrics {
  slot.__hoodyMetrics ??= build();
  return slot.__hoodyMetrics;
}

/** One answered REST request: `route` is its template (/containers/{id}), "unmatched" when none matched. */
export function recordApiRequest(method: string, route: string, status: number, code: string | null, seconds: number): void {
  const m = hoodyMetrics().api;
  const labels = { method: METHODS.has(method) ? method : "OTHER", route, status: String(status) };
  m.duration.observe(labels, seconds);
  if (status >= 400) m.errors.inc({ ...labels, code: code ?? "NONE" });
}

/** Fills the tenant, host and pool series from the last stats sample and renders every series. */
export async function scrape(core: Core): Promise<{ contentType: string; body: string }> {
  const m = hoodyMetrics();
  const fleet = await core.stats.fleet(MAX_STATS_AGE_MS);
  const tm = m.tenant;
  for (const g of Object.values(tm)) g.reset();
  const byStatus = new Map<string, number>();
  for (const x of fleet.tenants) {
    const l = { id: x.id, name: x.name, project: x.project };
    byStatus.set(x.status, (byStatus.get(x.status) ?? 0) + 1);
    tm.info.set({ ...l, project_id: x.projectId, template: x.template, engine_name: x.engineName }, 1);
    tm.state.set({ ...l, state: x.status }, 1);
    tm.requests.inc(l, x.requests);
    if (x.lastRequestAt) tm.lastRequest.set(l, Date.parse(x.lastRequestAt) / 1000);
    if (x.dedupSavedBytes !== null) tm.dedup.set(l, x.dedupSavedBytes);
    const s = x.stats;
    if (!s) continue;
    tm.memory.set(l, s.memoryBytes);
    tm.memoryLimit.set(l, s.memoryLimitBytes);
    tm.cpu.inc(l, s.cpuUsageNs / 1e9);
    tm.pids.set(l, s.pids);
    tm.delta.set(l, s.deltaBytes);
    tm.snapshots.set(l, s.snapshotBytes);
    tm.ksm.set(l, Math.max(0, s.ksmProfitBytes));
    if (s.network) {
      tm.rx.inc(l, s.network.bytesReceived);
      tm.tx.inc(l, s.network.bytesSent);
    }
  }
  const { host, pool } = m;
  host.tenants.reset();
  for (const [status, n] of byStatus) host.tenants.set({ status }, n);
  const h = fleet.host;
  host.memoryTotal.set(h.memory.totalBytes);
  host.memoryAvailable.set(h.memory.availableBytes);
  host.ksmSaved.set(h.ksm.savedBytes);
  host.ksmSharing.set(h.ksm.pagesSharing);
  host.statsAge.set(Math.max(0, Date.now() - fleet.at) / 1000);
  host.statsCollect.set(h.collectedMs / 1000);
  pool.size.set(h.pool.sizeBytes);
  pool.used.set(h.pool.usedBytes);
  pool.deltas.set(fleet.tenants.reduce((sum, x) => sum + (x.stats?.deltaBytes ?? 0), 0));
  pool.snapshots.set(fleet.tenants.reduce((sum, x) => sum + (x.stats?.snapshotBytes ?? 0), 0));
  return { contentType: m.registry.contentType, body: await m.registry.metrics() };
}

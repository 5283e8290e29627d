// Stats: per-container figures in the SDK's shape, a short in-memory history for the charts, the host overview.
import { availableParallelism } from "node:os";
import { and, desc, eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { Actor, CoreContext } from "./context";
import { viaEngine } from "./errors";
import { ENGINE_STATUSES, engineStatus } from "./status";
import { statsView } from "./views";
import type { ContainerService } from "./containers";
import { type HistoryRange, StatsHistory } from "./stats-history";

export class StatsService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly containers: ContainerService,
  ) {
    this.store = new StatsHistory(ctx.db);
  }

  /** The persisted history (15 s for a day, 5 min for a month). */
  private readonly store: StatsHistory;

  /** The last few samples per tenant, keyed by engine name: the CPU percentage of `get` is measured against them. */
  private recent = new Map<string, { at: string; cpu: number }[]>();
  /** The last sample of every tenant, as the engine answered: a /metrics scrape reads it instead of collecting again. */
  private last: { at: number; stats: Awaited<ReturnType<CoreContext["engine"]["stats"]>> } | null = null;

  /** Takes one sample of every tenant's stats: kept for the CPU percentage and /metrics, and written to the history. */
  async sample(): Promise<void> {
    const stats = await this.ctx.engine.stats();
    const now = this.ctx.clock();
    const at = now.toISOString();
    this.last = { at: now.getTime(), stats };
    for (const s of stats.tenants) {
      const h = this.recent.get(s.id) ?? [];
      h.push({ at, cpu: s.cpuUsageNs });
      if (h.length > 8) h.shift();
      this.recent.set(s.id, h);
    }
    const live = new Set(stats.tenants.map((s) => s.id));
    for (const id of this.recent.keys()) if (!live.has(id)) this.recent.delete(id);
    // Stopped tenants hold still: their charts show the gap rather than rows of the same numbers.
    const byEngine = new Map(stats.tenants.filter((s) => s.running).map((s) => [s.id, s]));
    const rows = this.ctx.db.select({ id: t.containers.id, engineName: t.containers.engineName }).from(t.containers).all();
    const samples = rows.flatMap((r) => {
      const s = byEngine.get(r.engineName);
      return s ? [{ containerId: r.id, delta: s.deltaBytes, memory: s.memoryBytes, ksm: Math.max(0, s.ksmProfitBytes), cpu: s.cpuUsageNs }] : [];
    });
    this.store.record(samples, Math.floor(now.getTime() / 1000));
  }

  /** Every tenant's stats no older than `maxAgeMs` (the last sample's when it is), else collected now. */
  async current(maxAgeMs: number): Promise<{ at: number; stats: Awaited<ReturnType<CoreContext["engine"]["stats"]>> }> {
    if (this.last && this.ctx.clock().getTime() - this.last.at <= maxAgeMs) return this.last;
    const stats = await this.ctx.engine.stats();
    this.last = { at: this.ctx.clock().getTime(), stats };
    return this.last;
  }

  /**
   * Every tenant's figures for a /metrics scrape, from the last sample when it is at most
   * `maxAgeMs` old (the sampler runs every 15 s), so a scrape costs two table reads, not a collection.
   */
  async fleet(maxAgeMs: number) {
    const { at, stats } = await this.current(maxAgeMs);
    const rows = this.ctx.db
      .select({
        id: t.containers.id,
        name: t.containers.name,
        projectId: t.containers.projectId,
        engineName: t.containers.engineName,
        template: t.containers.template,
        status: t.containers.status,
        requests: t.containers.requestsTotal,
        lastRequestAt: t.containers.lastRequestAt,
      })
      .from(t.containers)
      .all();
    const projects = new Map(
      this.ctx.db
        .select({ id: t.projects.id, alias: t.projects.alias })
        .from(t.projects)
        .all()
        .map((p) => [p.id, p.alias]),
    );
    const byEngine = new Map(stats.tenants.map((s) => [s.id, s]));
    const tenants = rows.map((r) => {
      const s = byEngine.get(r.engineName);
      return {
        id: r.id,
        name: r.name,
        projectId: r.projectId,
        project: projects.get(r.projectId) ?? "",
        template: r.template,
        engineName: r.engineName,
        status: s && ENGINE_STATUSES.has(r.status) ? engineStatus(s) : r.status,
        requests: r.requests,
        lastRequestAt: r.lastRequestAt,
        stats: s ?? null,
        // Dedup saved bytes go here once block dedup exists (another branch builds it); /metrics exports it when set.
        dedupSavedBytes: null as number | null,
      };
    });
    return { at, host: stats.host, tenants };
  }

  /**
   * GET /containers/{id}/stats in the SDK's structure (cpu, memory, disk, network, processes), from
   * the engine's cgroup, qgroup and interface counters; our own figures (delta disk, KSM) ride along.
   */
  async get(actor: Actor, containerId: string) {
    const t0 = performance.now();
    const row = this.ctx.containerRow(actor, containerId);
    const engineId = row.engineName;
    const [live, all] = await Promise.all([this.ctx.engine.getTenant(engineId).catch(() => null), viaEngine(this.ctx.engine.stats({ ids: [engineId] }))]);
    const s = all.tenants[0];
    const status = this.containers.view(row, live ?? s ?? null).status;
    const now = Date.now();
    // Last start: the engine's (its oldest process), else the status log's last transition to running.
    const lastRun = this.ctx.db
      .select({ at: t.statusLogs.at })
      .from(t.statusLogs)
      .where(and(eq(t.statusLogs.containerId, row.id), eq(t.statusLogs.toStatus, "running")))
      .orderBy(desc(t.statusLogs.id))
      .get()?.at;
    const startedAt = s?.startedAt ?? lastRun ?? row.createdAt;
    const cores = (s?.cpuLimitMilli ?? availableParallelism() * 1000) / 1000;
    const usageNs = s?.cpuUsageNs ?? 0;
    // Percent of the tenant's CPU allowance since the last sample (every 15 s), else averaged over its run.
    const prev = [...(this.recent.get(row.engineName) ?? [])].reverse().find((h) => now - Date.parse(h.at) >= 500 && h.cpu <= usageNs);
    const [spanNs, usedNs] = prev ? [(now - Date.parse(prev.at)) * 1e6, usageNs - prev.cpu] : [(now - Date.parse(startedAt)) * 1e6, usageNs];
    const cpuPercent = s?.running && spanNs > 0 ? Math.min(100, Math.round((usedNs / (spanNs * cores)) * 10000) / 100) : 0;
    const memTotal = s?.memoryLimitBytes || all.host.memory.totalBytes;
    const n = s?.network;
    const project = this.ctx.db.select({ alias: t.projects.alias }).from(t.projects).where(eq(t.projects.id, row.projectId)).get();
    return {
      id: row.id,
      project_id: row.projectId,
      project_name: project?.alias ?? null,
      server_name: live?.member ?? null,
      status,
      status_code: STATUS_CODES[status] ?? 112,
      processes: s?.pids ?? 0,
      started_at: startedAt,
      cpu: { usage: usageNs, allocated_time: Math.round(cores * 1e9), usage_percent: cpuPercent },
      memory: {
        usage: s?.memoryBytes ?? 0,
        total: memTotal,
        usage_percent: memTotal ? Math.round(((s?.memoryBytes ?? 0) / memTotal) * 10000) / 100 : 0,
        swap_usage: s?.swapBytes ?? 0,
        usage_peak: s?.memoryPeakBytes ?? s?.memoryBytes ?? 0,
      },
      // The root disk's usage is the tenant's own bytes (its delta from the template); its total is its cap, else the pool's free room plus them.
      disk: { root: { usage: s?.deltaBytes ?? 0, total: s?.diskLimitBytes ?? Math.max(0, all.host.pool.sizeBytes - all.host.pool.usedBytes) + (s?.deltaBytes ?? 0) } },
      network: n
        ? [
            {
              interface: n.interface,
              addresses: n.address ? [{ address: n.address, family: "inet", netmask: "32", scope: "global" }] : [],
              counters: {
                bytes_received: n.bytesReceived,
                bytes_sent: n.bytesSent,
                packets_received: n.packetsReceived,
                packets_sent: n.packetsSent,
                errors_received: n.errorsReceived,
                errors_sent: n.errorsSent,
                packets_dropped_inbound: n.droppedInbound,
                packets_dropped_outbound: n.droppedOutbound,
              },
              host_interface: n.hostInterface,
              state: s?.running ? "up" : "down",
              type: "broadcast",
            },
          ]
        : [],
      ...statsView(s),
      processing_time: `${(performance.now() - t0).toFixed(1)}ms`,
    };
  }

  /** The charts' history of a tenant over a range (1h, 1d: from 15 s rows; 30d: from 5 min rows). */
  history(actor: Actor, containerId: string, range: HistoryRange = "1h") {
    return this.store.points(this.ctx.containerRow(actor, containerId).id, range, Math.floor(this.ctx.clock().getTime() / 1000));
  }

  /** Host-wide numbers for the overview: pool, deltas vs full copies, KSM, memory, counts, largest deltas. */
  async overview() {
    const [info, stats, templates] = await Promise.all([this.ctx.engine.info(), this.ctx.engine.stats(), this.ctx.engine.listTemplates()]);
    const rows = this.ctx.db.select({ id: t.containers.id, engineName: t.containers.engineName, name: t.containers.name, template: t.containers.template }).from(t.containers).all();
    const byEngine = new Map(stats.tenants.map((s) => [s.id, s]));
    const tplBytes = new Map(templates.map((x) => [x.name, x.bytes]));
    const totalDelta = rows.reduce((sum, r) => sum + (byEngine.get(r.engineName)?.deltaBytes ?? 0), 0);
    const fullCopies = rows.reduce((sum, r) => sum + (tplBytes.get(r.template) ?? 0) + (byEngine.get(r.engineName)?.deltaBytes ?? 0), 0);
    const largest = rows
      .map((r) => ({ id: r.id, name: r.name, delta_bytes: byEngine.get(r.engineName)?.deltaBytes ?? 0 }))
      .sort((a, b) => b.delta_bytes - a.delta_bytes)
      .slice(0, 10);
    return {
      info,
      host: stats.host,
      capabilities: this.ctx.engine.capabilities(),
      // running counts paused ones too (they hold processes and memory); paused says how many of them are.
      tenants: { total: rows.length, running: rows.filter((r) => byEngine.get(r.engineName)?.running).length, paused: rows.filter((r) => byEngine.get(r.engineName)?.paused).length },
      disk: { tenant_deltas_bytes: totalDelta, full_copies_bytes: fullCopies, snapshots_bytes: stats.tenants.reduce((s, x) => s + x.snapshotBytes, 0) },
      ksm_saved_bytes: stats.tenants.reduce((s, x) => s + Math.max(0, x.ksmProfitBytes), 0),
      largest_deltas: largest,
    };
  }
}

/** Incus's status codes, which Hoody's stats answer carries: Running 103, Stopped 102, Frozen 110, Starting 106, Stopping 107, Error 112. */
const STATUS_CODES: Record<string, number> = { running: 103, stopped: 102, paused: 110, creating: 106, deleting: 107, failed: 112 };

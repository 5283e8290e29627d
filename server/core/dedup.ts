// Dedup: on demand (admin) and on a schedule, run by the engine (the host daemon runs duperemove,
// server/host/dedup.ts); here the runs and the accounting in the API's shape, by container id.
import * as t from "../db/schema";
import type { DedupRun, DedupStatus } from "../shared/protocol";
import { isEngineError } from "../shared/errors";
import { type Actor, type CoreContext, SYSTEM } from "./context";
import { viaEngine } from "./errors";

export class DedupService {
  constructor(private readonly ctx: CoreContext) {}

  /** Starts a run now (or answers the one in flight, started: false). */
  async run(actor: Actor, body: { deadline_s?: number } = {}) {
    this.ctx.requireAdmin(actor);
    return this.ctx.audited(
      actor,
      "dedup.run",
      "pool",
      async () => {
        const r = await viaEngine(this.ctx.engine.dedup.start({ deadlineS: body.deadline_s, trigger: "manual" }));
        return { started: r.started, run: runView(r.run) };
      },
      (r) => ({ run: r.run.id, started: r.started }),
    );
  }

  /**
   * The schedule's tick: starts a run unless one runs or a delete holds the pool (then the next tick
   * tries again). A run it starts is audited as the system's.
   */
  async scheduled(deadlineS?: number): Promise<boolean> {
    try {
      const r = await this.ctx.engine.dedup.start({ deadlineS, trigger: "schedule" });
      if (r.started) this.ctx.audit(SYSTEM, "dedup.run", "pool", "ok", { run: r.run.id, trigger: "schedule" });
      return r.started;
    } catch (e) {
      if (isEngineError(e) && e.code === "INVALID_STATE") return false;
      throw e;
    }
  }

  async status(actor: Actor) {
    this.ctx.requireAdmin(actor);
    const s = await viaEngine(this.ctx.engine.dedup.status());
    return statusView(s, this.ctx.db.select({ id: t.containers.id, name: t.containers.name, engineName: t.containers.engineName }).from(t.containers).all());
  }
}

function runView(r: DedupRun) {
  return {
    id: r.id,
    trigger: r.trigger,
    state: r.state,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    deadline_s: r.deadlineS,
    pool_used_before_bytes: r.poolUsedBeforeBytes,
    pool_used_after_bytes: r.poolUsedAfterBytes,
    saved_bytes: r.savedBytes,
    message: r.message,
  };
}

function statusView(s: DedupStatus, rows: { id: string; name: string; engineName: string }[]) {
  const byEngine = new Map(rows.map((r) => [r.engineName, r]));
  const a = s.accounting;
  return {
    available: s.available,
    reason: s.reason,
    running: s.running ? runView(s.running) : null,
    runs: s.runs.map(runView),
    total_saved_bytes: s.totalSavedBytes,
    accounting: a && {
      measured_at: a.measuredAt,
      referenced_bytes: a.referencedBytes,
      pool_data_bytes: a.poolDataBytes,
      // What sharing of any kind (template snapshots, the tenants' own snapshots, dedup) keeps off the pool.
      shared_saved_bytes: Math.max(0, a.referencedBytes - a.poolDataBytes),
      orphan_qgroup_bytes: a.orphanQgroupBytes,
      containers: a.tenants.flatMap((x) => {
        const row = byEngine.get(x.id);
        return row ? [{ container_id: row.id, name: row.name, qgroup_bytes: x.qgroupBytes, referenced_bytes: x.referencedBytes, exclusive_bytes: x.exclusiveBytes, shared_bytes: x.sharedBytes }] : [];
      }),
    },
  };
}

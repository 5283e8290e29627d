// What the tenant router asks of core: host name to target, wake/stop, idle timeouts, request counts, the engine's tenant list.
import { eq, inArray, sql } from "drizzle-orm";
import * as t from "../db/schema";
import type { TenantInfo } from "../shared/protocol";
import { type CoreContext, SYSTEM } from "./context";
import { CoreError, notFound } from "./errors";
import { applyPendingSshKey } from "./ssh-key";
import { ENGINE_STATUSES, engineStatus, type ContainerStatus } from "./status";
import type { RouteTarget } from "./views";

export class RoutingService {
  constructor(
    private readonly ctx: CoreContext,
  ) {}

  /** Used by the tenant router: wake/stop without an operator, logged as the system's. A suspended tenant is never woken. */
  async setRunning(containerId: string, running: boolean, cause: string): Promise<void> {
    const row = this.ctx.db.select({ suspended: t.containers.suspended, engineName: t.containers.engineName }).from(t.containers).where(eq(t.containers.id, containerId)).get();
    if (!row) throw notFound("CONTAINER", containerId);
    if (running && row.suspended) {
      throw new CoreError(409, "TENANT_SUSPENDED", `${containerId} is suspended: only a start lifts that`);
    }
    const before = await this.ctx.engine.getTenant(row.engineName);
    // Pausing is deliberate, like a suspension: requests do not resume a paused tenant, and idleness
    // does not stop it (its idle clock does not run while it is paused).
    if (before.state === "paused") {
      if (running) throw new CoreError(409, "TENANT_PAUSED", `${containerId} is paused: only a resume lifts that`);
      return;
    }
    if ((before.state === "running") === running) return;
    const t0 = performance.now();
    if (running) await this.ctx.engine.startTenant(row.engineName);
    else await this.ctx.engine.stopTenant(row.engineName);
    const status = running ? "running" : "stopped";
    this.ctx.db.update(t.containers).set({ status, updatedAt: this.ctx.now() }).where(eq(t.containers.id, containerId)).run();
    this.ctx.logStatus(containerId, before.state, status, SYSTEM, Math.round(performance.now() - t0), { cause });
    if (running) await applyPendingSshKey(this.ctx, containerId);
  }


  /** The router's lookup by DNS label; null when no container has it. */
  async routeTarget(label: string): Promise<RouteTarget | null> {
    const row = this.ctx.db.select().from(t.containers).where(eq(t.containers.label, label)).get();
    if (!row) return null;
    const live = await this.ctx.engine.getTenant(row.engineName).catch(() => null);
    const templates = await this.ctx.templatesCached();
    const tpl = templates.find((x) => x.name === row.template);
    // One row's timeout, not the whole table's: this runs on the router's lookups.
    const idle = effectiveIdle(row, templates);
    let status = row.status as ContainerStatus;
    if (live && ENGINE_STATUSES.has(status)) status = engineStatus(live);
    return { id: row.id, status, ip: row.ip, appPort: live?.appPort ?? tpl?.settings.appPort ?? 8080, idleTimeoutS: idle, suspended: row.suspended };
  }


  /**
   * Effective idle timeouts of every container (seconds; null = never), from the database alone,
   * keyed by engine name (the router matches them to the engine's tenant list) with the public id.
   */
  /** Of the given engine names only: the sweep reads the rows of the tenants that run, not every row. */
  private async idleTimeouts(engineNames: string[]): Promise<Map<string, { id: string; timeoutS: number | null }>> {
    const templates = await this.ctx.templatesCached();
    const rows: { id: string; engineName: string; template: string; idleTimeoutS: number | null }[] = [];
    for (let i = 0; i < engineNames.length; i += 500) {
      const chunk = engineNames.slice(i, i + 500);
      rows.push(...this.ctx.db.select({ id: t.containers.id, engineName: t.containers.engineName, template: t.containers.template, idleTimeoutS: t.containers.idleTimeoutS }).from(t.containers).where(inArray(t.containers.engineName, chunk)).all());
    }
    return new Map(rows.map((r) => [r.engineName, { id: r.id, timeoutS: effectiveIdle(r, templates) }]));
  }


  /**
   * The router's idle sweep: each container the engine has, by public id, with its engine state and
   * effective idle timeout (none when the engine does not answer: nothing is stopped then).
   */
  async idleStates(): Promise<{ id: string; state: TenantInfo["state"]; timeoutS: number | null }[]> {
    // Only tenants with processes: a stopped one has nothing to stop (at 10,000 tenants with 1,000
    // running, the full list was ten times the work and the JSON on every sweep).
    const tenants = await this.ctx.engine.listTenants({ running: true }).catch(() => []);
    const timeouts = await this.idleTimeouts(tenants.map((x) => x.id));
    // The engine lists tenants by engine name; the router keeps everything by public id.
    return tenants.flatMap((x) => {
      const row = timeouts.get(x.id);
      return row ? [{ id: row.id, state: x.state, timeoutS: row.timeoutS }] : [];
    });
  }

  labelOf(containerId: string): string | null {
    return this.ctx.db.select({ label: t.containers.label }).from(t.containers).where(eq(t.containers.id, containerId)).get()?.label ?? null;
  }


  /** Adds the router's request counts (flushed in batches, not per request). */
  recordRequests(counts: Map<string, { n: number; lastAt: string }>): void {
    this.ctx.db.transaction((tx) => {
      for (const [cid, c] of counts) {
        tx.update(t.containers)
          .set({ requestsTotal: sql`${t.containers.requestsTotal} + ${c.n}`, lastRequestAt: c.lastAt })
          .where(eq(t.containers.id, cid))
          .run();
      }
    });
  }
}

/** A container's own idle timeout, else its template's; 0 means never (null). */
function effectiveIdle(row: { template: string; idleTimeoutS: number | null }, templates: { name: string; settings: { idleTimeoutS: number | null } }[]): number | null {
  if (row.idleTimeoutS === 0) return null;
  return row.idleTimeoutS ?? templates.find((x) => x.name === row.template)?.settings.idleTimeoutS ?? null;
}

// What the tenant router asks of core: host name to target, wake/stop, idle timeouts, request counts, the engine's tenant list.
import { asc, eq, inArray, sql } from "drizzle-orm";
import * as t from "../db/schema";
import { hostReaches, isHostname, parseTenantHost } from "../shared/hostnames";
import type { FirewallRule, TenantInfo } from "../shared/protocol";
import { type CoreContext, SYSTEM } from "./context";
import type { DomainService } from "./domains";
import { CoreError, notFound } from "./errors";
import { applyPendingSshKey } from "./ssh-key";
import { ENGINE_STATUSES, engineStatus, type ContainerStatus } from "./status";
import type { RouteTarget } from "./views";

export class RoutingService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly domains: DomainService,
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

  /**
   * The router's lookup by host name: `<label>.<domain>`, a per-port `<label>-http-<port>.<domain>`,
   * or a custom domain; null when none names a container.
   */
  async routeHost(host: string, domain: string = this.ctx.settings.domain): Promise<RouteTarget | null> {
    const under = parseTenantHost(host, domain);
    if (under) return this.routeTarget(under.label, under.port ?? undefined);
    if (host === domain) return null;
    const owner = this.domains.ownerOf(host);
    return owner ? this.routeTarget({ id: owner }) : null;
  }

  /**
   * Caddy's on-demand TLS `ask`: a certificate only for names that reach something here: the
   * dashboard's host, live tenants (not being deleted), their per-port names whose port the
   * firewall lets the host reach, and attached custom domains. Anything else could make the box
   * ask a CA for arbitrary names.
   */
  async tlsAllowed(host: string): Promise<boolean> {
    if (!isHostname(host)) return false;
    if (this.ctx.settings.dashboardHost && host === this.ctx.settings.dashboardHost) return true;
    const target = await this.routeHost(host);
    return !!target && target.status !== "deleting" && target.portOpen;
  }

  /** The router's lookup by DNS label (or id, for custom domains), optionally for another port of the tenant; null when no container has it. */
  async routeTarget(key: string | { id: string }, port?: number): Promise<RouteTarget | null> {
    const where = typeof key === "string" ? eq(t.containers.label, key) : eq(t.containers.id, key.id);
    const row = this.ctx.db.select().from(t.containers).where(where).get();
    if (!row) return null;
    const live = await this.ctx.engine.getTenant(row.engineName).catch(() => null);
    const templates = await this.ctx.templatesCached();
    const tpl = templates.find((x) => x.name === row.template);
    // One row's timeout, not the whole table's: this runs on the router's lookups.
    const idle = effectiveIdle(row, templates);
    let status = row.status as ContainerStatus;
    if (live && ENGINE_STATUSES.has(status)) status = engineStatus(live);
    const appPort = live?.appPort ?? tpl?.settings.appPort ?? 8080;
    // A per-port URL opens only what the tenant's firewall already lets the host reach.
    const portOpen = port === undefined || port === appPort || hostReaches(this.firewallRules(row.id), port);
    return { id: row.id, status, ip: row.ip, appPort, port: port ?? appPort, portOpen, idleTimeoutS: idle, suspended: row.suspended };
  }

  private firewallRules(containerId: string): FirewallRule[] {
    return this.ctx.db
      .select({ rule: t.firewallRules.rule })
      .from(t.firewallRules)
      .where(eq(t.firewallRules.containerId, containerId))
      .orderBy(asc(t.firewallRules.position))
      .all()
      .map((r) => r.rule as FirewallRule);
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
      rows.push(
        ...this.ctx.db
          .select({ id: t.containers.id, engineName: t.containers.engineName, template: t.containers.template, idleTimeoutS: t.containers.idleTimeoutS })
          .from(t.containers)
          .where(inArray(t.containers.engineName, chunk))
          .all(),
      );
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

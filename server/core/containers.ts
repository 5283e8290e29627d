// Containers, reads: one or a page of them in the API's shape, their status log, env and engine log.
import { and, asc, desc, eq, like, sql, type SQL } from "drizzle-orm";
import * as t from "../db/schema";
import type { TenantStats } from "../shared/protocol";
import { type Actor, type CoreContext, count } from "./context";
import { viaEngine } from "./errors";
import type { ListQuery, StatusLogQuery } from "./schemas";
import { ENGINE_STATUSES, engineStatus, type ContainerStatus } from "./status";
import { type ContainerView, pagination, statsView } from "./views";

export class ContainerService {
  constructor(private readonly ctx: CoreContext) {}

  /** Throws CONTAINER_NOT_FOUND unless the actor may see this container (checked before bodies are); its current id. */
  assertVisible(actor: Actor, containerId: string): string {
    return this.ctx.containerRow(actor, containerId).id;
  }

  /** `live` is the engine's running/stopped fact (a TenantInfo or stats row); stats are attached when given. */
  view(row: typeof t.containers.$inferSelect, live?: { state?: string; running?: boolean; paused?: boolean; member?: string } | null, stats?: TenantStats): ContainerView {
    const snapshotCount = count(this.ctx.db, t.snapshots, eq(t.snapshots.containerId, row.id));
    let status = row.status as ContainerStatus;
    // Running/paused/stopped are facts of the engine; lifecycle states (creating, deleting, failed) are ours.
    if (live && ENGINE_STATUSES.has(status)) status = engineStatus(live);
    const server = row.serverId ? this.ctx.db.select({ name: t.servers.name }).from(t.servers).where(eq(t.servers.id, row.serverId)).get() : undefined;
    const lastUsed = this.ctx.db
      .select({ name: t.snapshots.name })
      .from(t.snapshots)
      .where(and(eq(t.snapshots.containerId, row.id), sql`${t.snapshots.lastUsedAt} IS NOT NULL`))
      .orderBy(desc(t.snapshots.lastUsedAt))
      .get();
    return {
      id: row.id,
      engine_name: row.engineName,
      name: row.name,
      project_id: row.projectId,
      project_alias: this.ctx.db.select({ alias: t.projects.alias }).from(t.projects).where(eq(t.projects.id, row.projectId)).get()?.alias ?? null,
      server_id: row.serverId,
      server_name: server?.name ?? null,
      template: row.template,
      container_image: row.template,
      color: row.color ?? "#6B7280",
      autostart: row.autostart,
      ai: false,
      hoody_kit: false,
      dev_kit: false,
      kvm: false,
      prespawn: false,
      is_default: false,
      ssh_public_key: row.sshPublicKey,
      ramdisk_scope: "container",
      realm_ids: [],
      last_used_snapshot: lastUsed?.name ?? null,
      status,
      url: this.ctx.url(row.label),
      ip: row.ip,
      environment_vars: this.ctx.env(row.id),
      source_container_id: row.sourceContainerId,
      snapshot_count: snapshotCount,
      comment: row.comment,
      ramdisk: row.ramdisk,
      idle_timeout_s: row.idleTimeoutS,
      delete_at: row.deleteAt,
      suspended: row.suspended,
      requests_total: row.requestsTotal,
      last_request_at: row.lastRequestAt,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
      ...(stats !== undefined ? { stats: statsView(stats) } : {}),
      ...(live?.member ? { member: live.member } : {}),
    };
  }

  async get(actor: Actor, containerId: string): Promise<ContainerView> {
    const row = this.ctx.containerRow(actor, containerId);
    const [live, stats] = await Promise.all([
      this.ctx.engine.getTenant(row.engineName).catch(() => null),
      this.ctx.engine
        .stats({ ids: [row.engineName] })
        .then((s) => s.tenants[0])
        .catch(() => undefined),
    ]);
    return this.view(row, live, stats);
  }

  async list(actor: Actor, q: ListQuery & { projectId?: string }) {
    const conds: SQL[] = [];
    const scope = q.projectId ? this.ctx.projectRow(actor, q.projectId).id : actor.projectId;
    if (scope) conds.push(eq(t.containers.projectId, scope));
    if (q.template) conds.push(eq(t.containers.template, q.template));
    if (q.search) conds.push(like(t.containers.name, `%${q.search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`));
    const sortCol = { id: t.containers.id, name: t.containers.name, status: t.containers.status, created_at: t.containers.createdAt, updated_at: t.containers.updatedAt }[q.sort_by];
    const order = q.sort_order === "asc" ? asc(sortCol) : desc(sortCol);
    const engineFilter = q.status !== undefined && ENGINE_STATUSES.has(q.status);
    if (q.status && !engineFilter) conds.push(eq(t.containers.status, q.status));
    const where = conds.length ? and(...conds) : undefined;
    // Keyed by engine name: the engine knows its tenants by that, not by the public id.
    const statsOf = (ids?: string[]) =>
      this.ctx.engine.stats(ids ? { ids } : {}).then(
        (r) => new Map(r.tenants.map((x) => [x.id, x])),
        () => new Map<string, TenantStats>(),
      );
    let views: ContainerView[];
    let total: number;
    if (engineFilter) {
      // Running, paused or stopped is the engine's fact: every row's state is needed to filter on it.
      const live = await statsOf();
      const matching = this.ctx.db
        .select()
        .from(t.containers)
        .where(where)
        .orderBy(order)
        .all()
        .map((r) => this.view(r, live.get(r.engineName) ?? null, live.get(r.engineName)))
        .filter((v) => v.status === q.status);
      total = matching.length;
      views = matching.slice((q.page - 1) * q.limit, q.page * q.limit);
    } else {
      // Only the page's rows are asked of the engine: cost grows with the page, not the fleet.
      total = count(this.ctx.db, t.containers, where);
      const rows = this.ctx.db
        .select()
        .from(t.containers)
        .where(where)
        .orderBy(order)
        .limit(q.limit)
        .offset((q.page - 1) * q.limit)
        .all();
      const live = await statsOf(rows.map((r) => r.engineName));
      views = rows.map((r) => this.view(r, live.get(r.engineName) ?? null, live.get(r.engineName)));
    }
    return { containers: views, pagination: pagination(total, q.page, q.limit) };
  }

  /** State changes with time and cause, paged and sorted as the SDK asks (default: newest first). */
  statusLogs(actor: Actor, given: string, q: StatusLogQuery = { page: 1, limit: 20, sort_by: "transition_time", sort_order: "desc" }) {
    const containerId = this.ctx.containerRow(actor, given).id;
    const where = eq(t.statusLogs.containerId, containerId);
    const total = count(this.ctx.db, t.statusLogs, where);
    // transition_time and created_at are the same instant here (a row is written when the change happens).
    const col = { transition_time: t.statusLogs.at, created_at: t.statusLogs.at, to_status: t.statusLogs.toStatus, from_status: t.statusLogs.fromStatus }[q.sort_by];
    const dir = q.sort_order === "asc" ? asc : desc;
    const logs = this.ctx.db
      .select()
      .from(t.statusLogs)
      .where(where)
      .orderBy(dir(col), dir(t.statusLogs.id))
      .limit(q.limit)
      .offset((q.page - 1) * q.limit)
      .all()
      .map((r) => ({
        id: String(r.id),
        container_id: r.containerId,
        from_status: r.fromStatus,
        to_status: r.toStatus,
        transition_time: r.at,
        duration_ms: r.durationMs,
        triggered_by: r.triggeredBy,
        metadata: r.metadata,
      }));
    return { logs, pagination: pagination(total, q.page, q.limit) };
  }

  async logs(actor: Actor, containerId: string): Promise<{ log: string }> {
    const row = this.ctx.containerRow(actor, containerId);
    return { log: await viaEngine(this.ctx.engine.logs(row.engineName, 64 * 1024)) };
  }

  env(actor: Actor, containerId: string): Record<string, string> {
    return this.ctx.env(this.ctx.containerRow(actor, containerId).id);
  }
}

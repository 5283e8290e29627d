// The one service layer. REST (server/rest) and tRPC (server/api) both call it; nothing else
// writes the database or drives the engine. The database is the desired state, the engine the
// actual one: every mutation goes engine-first with a compensating step if the database write
// fails, and the reconciler repairs what a crash in between left.
import { createHash, randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import type { z } from "zod";
import { and, asc, desc, eq, like, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import * as t from "../db/schema";
import type { Engine, EngineServer } from "../engine/types";
import type { FirewallRule, Limits, TenantInfo, TenantStats } from "../shared/protocol";
import { ENV_KEY_RE, ENV_MAX_TOTAL_BYTES, envBytes, FirewallRuleSchema } from "../shared/protocol";
import { reservedEnvKeys } from "../shared/env";
import { issuePointers, issuesText } from "../shared/issues";
import { dnsLabel } from "../shared/names";
import { admissionFromEnv, type Admission } from "./admission";
import { AuditTally } from "./audit-tally";
import { CoreError, fromEngine, notFound } from "./errors";
import { Idempotency } from "./idempotency";
import { faultPoint } from "./fault";
import { aliasTarget, newPublicId, type IdKind } from "./ids";
import type { CeilingsInput, CopyContainerBody, CreateContainerBody, LimitsInput, ListQuery, ProjectListQuery, StatusLogQuery } from "./schemas";
import { MAX_ENV_KEYS } from "./schemas";
import { ScriptStore } from "./scripts";
import { allowedOperations, ENGINE_STATUSES, engineStatus, type ContainerOperation, type ContainerStatus } from "./status";

export interface Actor {
  /** "token:<id>", "operator", "system", "script:<name>". */
  id: string;
  /** null: every project (admin). */
  projectId: string | null;
}
export const SYSTEM: Actor = { id: "system", projectId: null };

export interface CoreSettings {
  domain: string;
  routerPort: number;
  maxFirewallRules: number;
}

export type { ContainerOperation, ContainerStatus };

export interface ContainerView {
  id: string;
  /** The engine's name of the tenant (its LXC container / Incus instance); not an API id. */
  engine_name: string;
  name: string;
  project_id: string;
  project_alias: string | null;
  /** Where it runs (GET /servers); null only for an old row the reconciler has not placed yet. */
  server_id: string | null;
  server_name: string | null;
  template: string;
  /** Hoody's name of the template. */
  container_image: string;
  color: string;
  autostart: boolean;
  /** Hoody features this server does not offer: always false here (a true on create is refused). */
  ai: false;
  hoody_kit: false;
  dev_kit: false;
  kvm: false;
  prespawn: false;
  is_default: false;
  /** The key Hoody manages as the tenant's /root/.ssh/authorized_keys (null: none). */
  ssh_public_key: string | null;
  ramdisk_scope: "container";
  realm_ids: string[];
  last_used_snapshot: string | null;
  status: ContainerStatus;
  url: string;
  ip: string | null;
  environment_vars: Record<string, string>;
  source_container_id: string | null;
  snapshot_count: number;
  comment: string | null;
  ramdisk: boolean;
  /** null: the template's idle timeout; 0: never stopped for idleness. */
  idle_timeout_s: number | null;
  /** Scheduled erasure (grace period), if any. */
  delete_at: string | null;
  /** Stopped by an operator, the API or a script: requests to its URL get 503, they do not wake it. */
  suspended: boolean;
  requests_total: number;
  last_request_at: string | null;
  created_at: string;
  updated_at: string;
  stats?: ContainerStatsView;
  /** Incus engine: the cluster member the container runs on. */
  member?: string;
}

/** What the tenant router needs to route a host name. */
export interface RouteTarget {
  id: string;
  status: ContainerStatus;
  ip: string | null;
  appPort: number;
  /** Effective idle timeout in seconds; null = never stop for idleness. */
  idleTimeoutS: number | null;
  /** Not to be woken by requests (stopped by an operator, the API or a script). */
  suspended: boolean;
}

export interface ContainerStatsView {
  delta_disk_bytes: number;
  snapshots_bytes: number;
  ksm_saved_bytes: number;
  ksm_merging_pages: number;
  memory_bytes: number;
  cpu_usage_ns: number;
  pids: number;
}

export interface ProjectView {
  id: string;
  /** The one operator of this box (a stable 24-hex id): Hoody's projects belong to a user. */
  user_id: string;
  alias: string;
  color: string;
  is_default: false;
  realm_ids: string[];
  max_containers: number | null;
  /** Operator-set ceilings for what the project's tokens may ask for; absent keys: the template's defaults. */
  ceilings: Record<string, number> | null;
  container_count: number;
  created_at: string;
  updated_at: string;
}

/** Incus's status codes, which Hoody's stats answer carries: Running 103, Stopped 102, Frozen 110, Starting 106, Stopping 107, Error 112. */
const STATUS_CODES: Record<string, number> = { running: 103, stopped: 102, paused: 110, creating: 106, deleting: 107, failed: 112 };

/** Ids of things the SDK does not address by a 24-hex id (tokens `k…`, receipts `r…`). */
const id = (prefix: string) => `${prefix}${randomBytes(8).toString("hex").slice(0, 10)}`;
/** "#abc" / "AABBCC" → "#AABBCC" (Hoody's normal form). */
export function normalizeColor(c: string): string {
  let h = c.replace(/^#/, "").toUpperCase();
  if (h.length === 3) h = [...h].map((x) => x + x).join("");
  return `#${h}`;
}
const randomColor = () => `#${randomBytes(3).toString("hex").toUpperCase()}`;

/** Why each Hoody field this server cannot honour is refused (FEATURE_NOT_OFFERED names the field). */
const NOT_OFFERED: Record<string, string> = {
  ai: "Hoody's AI features are not offered by this server",
  hoody_kit: "Hoody Kit is not installed by this server (build a template with what you need)",
  dev_kit: "the dev kit is not installed by this server (build a template with what you need)",
  kvm: "/dev/kvm passthrough is not offered by this server",
  dev_kvm: "/dev/kvm passthrough is not offered by this server",
  cache: "cached images are not used here: every container is a copy-on-write clone of its template",
  cache_image: "cached images are not used here: every container is a copy-on-write clone of its template",
  prespawn: "prespawn containers are not offered by this server",
  realm_ids: "realms are not offered by this server",
  realm_id: "realms are not offered by this server",
  ramdisk: "every container here has its own /ramdisk; ramdisk: false cannot be honoured",
  ramdisk_scope: "a ramdisk shared by a project's containers is not offered; each has its own",
};

/** Refuses (422 FEATURE_NOT_OFFERED) a Hoody field set to a value this server cannot honour; false/absent/empty pass. */
export function refuseNotOffered(body: Record<string, unknown>): void {
  const bad = Object.keys(NOT_OFFERED).filter((f) => {
    const v = body[f];
    if (f === "realm_ids") return Array.isArray(v) && v.length > 0;
    if (f === "realm_id") return typeof v === "string" && v !== "";
    if (f === "ramdisk") return v === false;
    if (f === "ramdisk_scope") return v !== undefined && v !== "container";
    return v === true;
  });
  if (bad.length) {
    throw new CoreError(422, "FEATURE_NOT_OFFERED", bad.map((f) => `${f}: ${NOT_OFFERED[f]}`).join("; "), bad.map((f) => ({ instancePath: `/${f}`, field: f, message: NOT_OFFERED[f] })));
  }
}

export interface ServerView {
  /** One id serves as the rental's, the server's and the server_id create takes (Hoody has three; here they are one place). */
  id: string;
  server_id: string;
  name: string;
  status: "active" | "offline";
  engine: "host" | "incus";
  /** Incus: the cluster member; null on the host engine and a lone incusd. */
  member: string | null;
  containers: number;
  is_free_tier: false;
  pool_id: null;
  created_at: string;
  server: {
    id: string;
    name: string;
    is_vm: false;
    specs: {
      cpu: { model: string | null; cores: null; threads: number | null } | null;
      ram: { capacity_gb: number } | null;
      disks: { total_gb: number } | null;
    };
  };
}
const nowIso = () => new Date().toISOString();
export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** At most MAX_ENV_KEYS keys and ENV_MAX_TOTAL_BYTES in all: more could never start (see protocol.ts). */
function checkEnvTotals(env: Record<string, string>): void {
  if (Object.keys(env).length > MAX_ENV_KEYS) throw new CoreError(422, "TOO_MANY_ENV_VARS", `at most ${MAX_ENV_KEYS} env vars`);
  const size = envBytes(env);
  if (size > ENV_MAX_TOTAL_BYTES) throw new CoreError(422, "ENV_TOO_LARGE", `the environment would hold ${size} bytes; at most ${ENV_MAX_TOTAL_BYTES} in all`);
}

export function statsView(s: TenantStats | undefined): ContainerStatsView {
  return {
    delta_disk_bytes: s?.deltaBytes ?? 0,
    snapshots_bytes: s?.snapshotBytes ?? 0,
    ksm_saved_bytes: Math.max(0, s?.ksmProfitBytes ?? 0),
    ksm_merging_pages: s?.ksmMergingPages ?? 0,
    memory_bytes: s?.memoryBytes ?? 0,
    cpu_usage_ns: s?.cpuUsageNs ?? 0,
    pids: s?.pids ?? 0,
  };
}

type LimitsBody = z.infer<typeof LimitsInput>;
type Ceilings = z.infer<typeof CeilingsInput>;

/** The API's snake_case limits as the engine's; only the keys given, so template defaults stay. */
function engineLimits(l: LimitsBody): Partial<Limits> {
  const out: Partial<Limits> = { memoryMiB: l.memory_mib, cpuMilli: l.cpu_milli, pids: l.pids, diskMiB: l.disk_mib };
  for (const k of Object.keys(out) as (keyof Limits)[]) if (out[k] === undefined) delete out[k];
  return out;
}

export class Core {
  readonly scripts: ScriptStore;
  /** Bounds creates in flight against the engine (N running + M queued, the rest 429). */
  readonly creates: Admission;
  /** Idempotency-Keys: the REST layer runs requests through it, a create claims its key with its row. */
  readonly idempotency: Idempotency;
  /** Creates between their engine call and their row: the reconciler must not take them for orphans. */
  private inflightOps = new Set<string>();
  /** Per project, creates not yet in the table: counted against max_containers so a burst cannot exceed it. */
  private inflightByProject = new Map<string, number>();
  constructor(
    readonly db: Db,
    readonly engine: Engine,
    readonly settings: CoreSettings,
    admission?: Admission,
  ) {
    this.scripts = new ScriptStore(db);
    this.idempotency = new Idempotency(db);
    this.creates = admission ?? admissionFromEnv();
  }

  // ------------------------------------------------------------------ audit & status logs

  audit(actor: Actor, action: string, target: string | null, result: string, detail: Record<string, unknown> | null = null): void {
    this.db.insert(t.auditLog).values({ actor: actor.id, action, target, result, detail }).run();
  }

  /** Anonymous refusals, counted: one audit row per action and 15-minute window ("refused", counts by code in detail). */
  readonly refusals = new AuditTally((action, windowStart, counts) => this.addRefusalCounts(action, windowStart, counts));

  private addRefusalCounts(action: string, windowStart: Date, counts: Record<string, number>): void {
    const target = `window:${windowStart.toISOString()}`;
    this.db.transaction((tx) => {
      const row = tx.select().from(t.auditLog).where(and(eq(t.auditLog.action, action), eq(t.auditLog.target, target), eq(t.auditLog.result, "refused"))).get();
      const had = ((row?.detail as { counts?: Record<string, number> } | null)?.counts ?? {}) as Record<string, number>;
      const merged = { ...had };
      for (const [code, n] of Object.entries(counts)) merged[code] = (merged[code] ?? 0) + n;
      const detail = { window_start: windowStart.toISOString(), window_s: this.refusals.windowMs / 1000, counts: merged, total: Object.values(merged).reduce((a, b) => a + b, 0) };
      if (row) tx.update(t.auditLog).set({ detail, at: new Date().toISOString() }).where(eq(t.auditLog.id, row.id)).run();
      else tx.insert(t.auditLog).values({ actor: "anonymous", action, target, result: "refused", detail }).run();
    });
  }

  /**
   * Runs a mutation and records it in the audit log with its outcome, success or failure. `target`
   * may name what the mutation made (a new container): then a failure, which made nothing, is
   * recorded against `failedTarget`.
   */
  private async audited<T>(
    actor: Actor,
    action: string,
    target: string | null | ((r: T) => string),
    fn: () => Promise<T>,
    detail?: (r: T) => Record<string, unknown> | null,
    failedTarget: string | null = typeof target === "function" ? null : target,
  ): Promise<T> {
    try {
      const r = await fn();
      this.audit(actor, action, typeof target === "function" ? target(r) : target, "ok", detail ? detail(r) : null);
      return r;
    } catch (e) {
      const err = fromEngine(e);
      this.audit(actor, action, failedTarget, `error:${err.code}`, null);
      throw err;
    }
  }

  private logStatus(containerId: string, from: string | null, to: string, by: Actor, durationMs?: number, metadata?: Record<string, unknown>): void {
    this.db.insert(t.statusLogs).values({ containerId, fromStatus: from, toStatus: to, triggeredBy: by.id, durationMs: durationMs ?? null, metadata: metadata ?? null }).run();
  }

  // ------------------------------------------------------------------ projects

  /** The id a request named, or the current id of an old (pre-0006) one; null when neither exists. */
  private canonicalId(kind: IdKind, given: string): string | null {
    const table = kind === "project" ? t.projects : t.containers;
    if (this.db.select({ id: table.id }).from(table).where(eq(table.id, given)).get()) return given;
    return aliasTarget(this.db, kind, given);
  }

  /** Looks a project up by its id or an old alias of it (scope is checked on the row found). */
  private projectRow(actor: Actor, projectId: string) {
    const pid = this.canonicalId("project", projectId);
    const row = pid === null ? undefined : this.db.select().from(t.projects).where(eq(t.projects.id, pid)).get();
    if (!row || (actor.projectId && actor.projectId !== row.id)) throw notFound("PROJECT", projectId);
    return row;
  }

  private projectView(row: typeof t.projects.$inferSelect): ProjectView {
    const count = this.db.select({ n: sql<number>`count(*)` }).from(t.containers).where(eq(t.containers.projectId, row.id)).get()?.n ?? 0;
    return {
      id: row.id,
      user_id: this.operatorId(),
      alias: row.alias,
      color: row.color ?? "#6B7280",
      is_default: false,
      realm_ids: [],
      max_containers: row.maxContainers,
      ceilings: row.ceilings ?? null,
      container_count: count,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    };
  }

  private operatorIdCache: string | null = null;
  /** The stable 24-hex id of this box's one operator (made once, kept in settings): Hoody's user_id of every project. */
  operatorId(): string {
    if (this.operatorIdCache) return this.operatorIdCache;
    this.db.insert(t.settings).values({ key: "operator_user_id", value: newPublicId() }).onConflictDoNothing().run();
    this.operatorIdCache = this.db.select().from(t.settings).where(eq(t.settings.key, "operator_user_id")).get()!.value;
    return this.operatorIdCache;
  }

  listProjects(actor: Actor, q: { page: number; limit: number } & Partial<Pick<ProjectListQuery, "sort_by" | "sort_order" | "realm_id">>) {
    refuseNotOffered({ realm_id: q.realm_id });
    const where = actor.projectId ? eq(t.projects.id, actor.projectId) : undefined;
    const total = this.db.select({ n: sql<number>`count(*)` }).from(t.projects).where(where).get()?.n ?? 0;
    const col = { id: t.projects.id, alias: t.projects.alias, created_at: t.projects.createdAt, updated_at: t.projects.updatedAt }[q.sort_by ?? "created_at"];
    // The id breaks ties (rows made in the same millisecond), so pages never overlap.
    const order = q.sort_order === "desc" ? [desc(col), desc(t.projects.id)] : [asc(col), asc(t.projects.id)];
    const rows = this.db.select().from(t.projects).where(where).orderBy(...order).limit(q.limit).offset((q.page - 1) * q.limit).all();
    return { projects: rows.map((r) => this.projectView(r)), pagination: pagination(total, q.page, q.limit) };
  }

  getProject(actor: Actor, projectId: string): ProjectView {
    return this.projectView(this.projectRow(actor, projectId));
  }

  requireAdmin(actor: Actor): void {
    if (actor.projectId) throw new CoreError(403, "RESOURCE_ACCESS_DENIED", "this needs an admin token");
  }

  async createProject(actor: Actor, body: { alias: string; color?: string; max_containers?: number | null; ceilings?: Ceilings | null; realm_ids?: string[] }): Promise<ProjectView> {
    this.requireAdmin(actor);
    refuseNotOffered(body);
    return this.audited(actor, "project.create", null, async () => {
      const pid = newPublicId();
      this.db.insert(t.projects).values({ id: pid, alias: body.alias, color: body.color ? normalizeColor(body.color) : randomColor(), maxContainers: body.max_containers ?? null, ceilings: body.ceilings ?? null }).run();
      return this.getProject(actor, pid);
    }, (p) => ({ project_id: p.id }));
  }

  async updateProject(actor: Actor, given: string, body: { alias?: string; color?: string; max_containers?: number | null; ceilings?: Ceilings | null; realm_ids?: string[] }): Promise<ProjectView> {
    const projectId = this.projectRow(actor, given).id;
    refuseNotOffered(body);
    return this.audited(actor, "project.update", `project:${projectId}`, async () => {
      // What a project may use is the operator's to set: its own token cannot lift it.
      if (actor.projectId && (body.max_containers !== undefined || body.ceilings !== undefined)) {
        throw new CoreError(403, "RESOURCE_ACCESS_DENIED", "max_containers and ceilings are set by the operator (an admin token)");
      }
      this.db
        .update(t.projects)
        .set({
          ...(body.alias !== undefined && { alias: body.alias }),
          ...(body.color !== undefined && { color: normalizeColor(body.color) }),
          ...(body.max_containers !== undefined && { maxContainers: body.max_containers }),
          ...(body.ceilings !== undefined && { ceilings: body.ceilings }),
          updatedAt: nowIso(),
        })
        .where(eq(t.projects.id, projectId))
        .run();
      return this.getProject(actor, projectId);
    });
  }

  /**
   * Erases every container of the project (each through deleteContainer, so each gets its GDPR
   * receipt), then the project and its tokens. The first erasure that fails stops it: the project
   * stays with what remains, and the error lists what was erased (with receipts) and what was not.
   */
  async deleteProject(actor: Actor, given: string, opts: { includeDeletedItems?: boolean } = {}) {
    this.requireAdmin(actor);
    const projectId = this.projectRow(actor, given).id;
    return this.audited(actor, "project.delete", `project:${projectId}`, async () => {
      const erased: { id: string; name: string; receipt_id: string }[] = [];
      // A create that lands while we erase is erased too; a project that keeps refilling is left (409).
      for (let round = 0; round < 3; round++) {
        const rows = this.db.select({ id: t.containers.id, name: t.containers.name }).from(t.containers).where(eq(t.containers.projectId, projectId)).orderBy(asc(t.containers.createdAt)).all();
        if (!rows.length) break;
        for (const r of rows) {
          try {
            const receipt = await this.deleteContainer(actor, r.id);
            erased.push({ id: r.id, name: r.name, receipt_id: receipt.receipt_id });
          } catch (e) {
            const err = fromEngine(e);
            if (err.code === "CONTAINER_NOT_FOUND") continue; // erased meanwhile by another request: its receipt is that request's
            const remaining = this.db.select({ n: sql<number>`count(*)` }).from(t.containers).where(eq(t.containers.projectId, projectId)).get()?.n ?? 0;
            throw new CoreError(
              err.status,
              "PROJECT_DELETE_INCOMPLETE",
              `erasing container ${r.id} failed (${err.code}: ${err.message}); ${erased.length} container(s) were erased, ${remaining} remain; the project was kept`,
              { failed: { id: r.id, name: r.name, code: err.code, message: err.message }, erased, remaining },
            );
          }
        }
      }
      const tokens = this.db.transaction((tx) => {
        const left = tx.select({ n: sql<number>`count(*)` }).from(t.containers).where(eq(t.containers.projectId, projectId)).get()?.n ?? 0;
        if (left > 0) throw new CoreError(409, "PROJECT_NOT_EMPTY", `containers keep being created in project ${projectId} (${left} now); ${erased.length} were erased`, { erased, remaining: left });
        const n = tx.select({ n: sql<number>`count(*)` }).from(t.apiTokens).where(eq(t.apiTokens.projectId, projectId)).get()?.n ?? 0;
        tx.delete(t.projects).where(eq(t.projects.id, projectId)).run();
        tx.delete(t.idAliases).where(and(eq(t.idAliases.kind, "project"), eq(t.idAliases.newId, projectId))).run();
        return n;
      });
      return {
        id: projectId,
        deleted: { containers: erased.length, permissions: 0, aliases: 0, tokens },
        ...(opts.includeDeletedItems && { deleted_items: { containers: erased.map(({ id: cid, name }) => ({ id: cid, name })) } }),
        receipts: erased.map((e) => e.receipt_id),
      };
    }, (r) => ({ containers: r.deleted.containers, receipts: r.receipts }));
  }

  // ------------------------------------------------------------------ servers

  /** The engine's key of the place a tenant runs on (see EngineServer.key). */
  private serverKey(member: string | undefined): string {
    if (this.engine.kind === "host") return "host";
    return member ? `incus:${member}` : "incus";
  }

  /** Asks the engine where tenants can run and gives each place its stable row (made once, name kept current). */
  private async syncServers(): Promise<{ row: typeof t.servers.$inferSelect; place: EngineServer }[]> {
    const places = await this.engine.servers().catch((e) => Promise.reject(fromEngine(e)));
    return places.map((place) => {
      this.db.insert(t.servers).values({ id: newPublicId(), key: place.key, name: place.name }).onConflictDoNothing().run();
      let row = this.db.select().from(t.servers).where(eq(t.servers.key, place.key)).get()!;
      if (row.name !== place.name) {
        this.db.update(t.servers).set({ name: place.name, updatedAt: nowIso() }).where(eq(t.servers.id, row.id)).run();
        row = { ...row, name: place.name };
      }
      return { row, place };
    });
  }

  /** `containers` counts what the actor can see: a project token's own, not other projects' tenants. */
  private serverView(actor: Actor, row: typeof t.servers.$inferSelect, place: EngineServer): ServerView {
    const mine = actor.projectId ? and(eq(t.containers.serverId, row.id), eq(t.containers.projectId, actor.projectId)) : eq(t.containers.serverId, row.id);
    const n = this.db.select({ n: sql<number>`count(*)` }).from(t.containers).where(mine).get()?.n ?? 0;
    const gb = (b: number | null) => (b === null ? null : Math.round((b / 1024 ** 3) * 10) / 10);
    const ram = gb(place.specs.memoryBytes);
    const disk = gb(place.specs.diskBytes);
    return {
      id: row.id,
      server_id: row.id,
      name: row.name,
      status: place.online ? "active" : "offline",
      engine: this.engine.kind,
      member: place.member,
      containers: n,
      is_free_tier: false,
      pool_id: null,
      created_at: row.createdAt,
      server: {
        id: row.id,
        name: row.name,
        is_vm: false,
        specs: {
          cpu: place.specs.cpuThreads === null && place.specs.cpuModel === null ? null : { model: place.specs.cpuModel, cores: null, threads: place.specs.cpuThreads },
          ram: ram === null ? null : { capacity_gb: ram },
          disks: disk === null ? null : { total_gb: disk },
        },
      },
    };
  }

  /** Where tenants can run: this box (host engine) or each Incus cluster member. Any token may read it (create needs the id). */
  async listServers(actor: Actor): Promise<ServerView[]> {
    return (await this.syncServers()).map(({ row, place }) => this.serverView(actor, row, place));
  }

  async getServer(actor: Actor, serverId: string): Promise<ServerView> {
    const s = (await this.listServers(actor)).find((x) => x.id === serverId);
    if (!s) throw new CoreError(404, "SERVER_NOT_FOUND", `server ${serverId} not found (GET /servers lists where containers can run)`);
    return s;
  }

  /** The place a create or copy asked for, checked: unknown (or gone from the cluster) → 404, offline → 409. */
  private async placeFor(serverId: string | undefined): Promise<EngineServer | null> {
    if (!serverId) return null;
    const hit = (await this.syncServers()).find((x) => x.row.id === serverId);
    if (!hit) throw new CoreError(404, "SERVER_NOT_FOUND", `server ${serverId} not found (GET /servers lists where containers can run)`);
    if (!hit.place.online) throw new CoreError(409, "SERVER_OFFLINE", `server ${hit.row.name} is offline`);
    return hit.place;
  }

  /** The servers row id of a place by its key, syncing once if the place has not been seen yet; null if the engine does not answer. */
  private async serverIdOf(member: string | undefined): Promise<string | null> {
    const key = this.serverKey(member);
    const get = () => this.db.select({ id: t.servers.id }).from(t.servers).where(eq(t.servers.key, key)).get()?.id ?? null;
    return get() ?? (await this.syncServers().then(get, () => null));
  }

  // ------------------------------------------------------------------ containers: reads

  /** By its id or an old alias of it: every caller then uses row.id (the database) and row.engineName (the engine). */
  private containerRow(actor: Actor, containerId: string) {
    const cid = this.canonicalId("container", containerId);
    const row = cid === null ? undefined : this.db.select().from(t.containers).where(eq(t.containers.id, cid)).get();
    // Another project's container is indistinguishable from a missing one.
    if (!row || (actor.projectId && row.projectId !== actor.projectId)) throw notFound("CONTAINER", containerId);
    return row;
  }

  /** Throws CONTAINER_NOT_FOUND unless the actor may see this container (checked before bodies are); its current id. */
  assertContainerVisible(actor: Actor, containerId: string): string {
    return this.containerRow(actor, containerId).id;
  }

  url(label: string): string {
    const port = this.settings.routerPort === 80 ? "" : `:${this.settings.routerPort}`;
    return `http://${label}.${this.settings.domain}${port}/`;
  }

  private env(containerId: string): Record<string, string> {
    const rows = this.db.select().from(t.envVars).where(eq(t.envVars.containerId, containerId)).orderBy(asc(t.envVars.key)).all();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** `live` is the engine's running/stopped fact (a TenantInfo or stats row); stats are attached when given. */
  private view(row: typeof t.containers.$inferSelect, live?: { state?: string; running?: boolean; paused?: boolean; member?: string } | null, stats?: TenantStats): ContainerView {
    const snapshotCount = this.db.select({ n: sql<number>`count(*)` }).from(t.snapshots).where(eq(t.snapshots.containerId, row.id)).get()?.n ?? 0;
    let status = row.status as ContainerStatus;
    // Running/paused/stopped are facts of the engine; lifecycle states (creating, deleting, failed) are ours.
    if (live && ENGINE_STATUSES.has(status)) status = engineStatus(live);
    const server = row.serverId ? this.db.select({ name: t.servers.name }).from(t.servers).where(eq(t.servers.id, row.serverId)).get() : undefined;
    const lastUsed = this.db
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
      project_alias: this.db.select({ alias: t.projects.alias }).from(t.projects).where(eq(t.projects.id, row.projectId)).get()?.alias ?? null,
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
      url: this.url(row.label),
      ip: row.ip,
      environment_vars: this.env(row.id),
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

  async getContainer(actor: Actor, containerId: string): Promise<ContainerView> {
    const row = this.containerRow(actor, containerId);
    const [live, stats] = await Promise.all([
      this.engine.getTenant(row.engineName).catch(() => null),
      this.engine.stats({ ids: [row.engineName] }).then((s) => s.tenants[0]).catch(() => undefined),
    ]);
    return this.view(row, live, stats);
  }

  async listContainers(actor: Actor, q: ListQuery & { projectId?: string }) {
    const conds: SQL[] = [];
    const scope = q.projectId ? this.projectRow(actor, q.projectId).id : actor.projectId;
    if (scope) conds.push(eq(t.containers.projectId, scope));
    if (q.template) conds.push(eq(t.containers.template, q.template));
    if (q.search) conds.push(like(t.containers.name, `%${q.search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`));
    const sortCol = { id: t.containers.id, name: t.containers.name, status: t.containers.status, created_at: t.containers.createdAt, updated_at: t.containers.updatedAt }[q.sort_by];
    const order = q.sort_order === "asc" ? asc(sortCol) : desc(sortCol);
    const engineFilter = q.status !== undefined && ENGINE_STATUSES.has(q.status);
    if (q.status && !engineFilter) conds.push(eq(t.containers.status, q.status));
    const where = conds.length ? and(...conds) : undefined;
    // Keyed by engine name: the engine knows its tenants by that, not by the public id.
    const statsOf = (ids?: string[]) => this.engine.stats(ids ? { ids } : {}).then((r) => new Map(r.tenants.map((x) => [x.id, x])), () => new Map<string, TenantStats>());
    let views: ContainerView[];
    let total: number;
    if (engineFilter) {
      // Running, paused or stopped is the engine's fact: every row's state is needed to filter on it.
      const live = await statsOf();
      const matching = this.db.select().from(t.containers).where(where).orderBy(order).all().map((r) => this.view(r, live.get(r.engineName) ?? null, live.get(r.engineName))).filter((v) => v.status === q.status);
      total = matching.length;
      views = matching.slice((q.page - 1) * q.limit, q.page * q.limit);
    } else {
      // Only the page's rows are asked of the engine: cost grows with the page, not the fleet.
      total = this.db.select({ n: sql<number>`count(*)` }).from(t.containers).where(where).get()?.n ?? 0;
      const rows = this.db.select().from(t.containers).where(where).orderBy(order).limit(q.limit).offset((q.page - 1) * q.limit).all();
      const live = await statsOf(rows.map((r) => r.engineName));
      views = rows.map((r) => this.view(r, live.get(r.engineName) ?? null, live.get(r.engineName)));
    }
    return { containers: views, pagination: pagination(total, q.page, q.limit) };
  }

  /** State changes with time and cause, paged and sorted as the SDK asks (default: newest first). */
  statusLogs(actor: Actor, given: string, q: StatusLogQuery = { page: 1, limit: 20, sort_by: "transition_time", sort_order: "desc" }) {
    const containerId = this.containerRow(actor, given).id;
    const where = eq(t.statusLogs.containerId, containerId);
    const total = this.db.select({ n: sql<number>`count(*)` }).from(t.statusLogs).where(where).get()?.n ?? 0;
    // transition_time and created_at are the same instant here (a row is written when the change happens).
    const col = { transition_time: t.statusLogs.at, created_at: t.statusLogs.at, to_status: t.statusLogs.toStatus, from_status: t.statusLogs.fromStatus }[q.sort_by];
    const dir = q.sort_order === "asc" ? asc : desc;
    const logs = this.db
      .select()
      .from(t.statusLogs)
      .where(where)
      .orderBy(dir(col), dir(t.statusLogs.id))
      .limit(q.limit)
      .offset((q.page - 1) * q.limit)
      .all()
      .map((r) => ({ id: String(r.id), container_id: r.containerId, from_status: r.fromStatus, to_status: r.toStatus, transition_time: r.at, duration_ms: r.durationMs, triggered_by: r.triggeredBy, metadata: r.metadata }));
    return { logs, pagination: pagination(total, q.page, q.limit) };
  }

  // ------------------------------------------------------------------ containers: create / copy

  private checkEnv(env: Record<string, unknown>): void {
    const keys = Object.keys(env);
    const bad = keys.filter((k) => !ENV_KEY_RE.test(k));
    if (bad.length) throw new CoreError(422, "INVALID_ENV_KEY", `invalid env key(s): ${bad.map((k) => JSON.stringify(k.slice(0, 64))).join(", ")}`, { keys: bad.map((k) => k.slice(0, 64)) });
    const reserved = reservedEnvKeys(keys);
    if (reserved.length) throw new CoreError(422, "RESERVED_ENV_PREFIX", `the HOODY_ prefix is reserved: ${reserved.join(", ")}`);
  }

  /**
   * A project token asks for no more than the operator allows: the project's ceiling for each limit,
   * or, where none is set, the template's default. Admins (the operator) are not capped.
   */
  private async checkCeilings(actor: Actor, projectId: string, template: string, asked: { limits?: LimitsBody; ramdisk_mib?: number }): Promise<void> {
    if (!actor.projectId) return;
    const wanted: Record<string, number | undefined> = { ...asked.limits, ramdisk_mib: asked.ramdisk_mib };
    if (Object.values(wanted).every((v) => v === undefined)) return;
    const ceilings = this.projectRow(actor, projectId).ceilings ?? {};
    const tpl = (await this.templatesCached().catch((e) => Promise.reject(fromEngine(e)))).find((x) => x.name === template)?.settings;
    const defaults: Record<string, number | undefined> = {
      memory_mib: tpl?.limits.memoryMiB,
      cpu_milli: tpl?.limits.cpuMilli,
      pids: tpl?.limits.pids,
      disk_mib: tpl?.limits.diskMiB,
      ramdisk_mib: tpl?.ramdiskMiB,
    };
    const over: string[] = [];
    for (const [key, value] of Object.entries(wanted)) {
      const cap = ceilings[key] ?? defaults[key];
      if (value !== undefined && (cap === undefined || value > cap)) over.push(`${key} ${value} (at most ${cap ?? "the template's default"})`);
    }
    if (over.length) {
      throw new CoreError(403, "LIMIT_ABOVE_CEILING", `above what the operator allows this project: ${over.join(", ")}`, over.map((o) => ({ instancePath: `/limits/${o.split(" ")[0]}`, message: o })));
    }
  }

  private pickName(name: string | undefined): { name: string; label: string } {
    if (name && name !== "rand") {
      const label = dnsLabel(name);
      const clash = this.db.select({ id: t.containers.id }).from(t.containers).where(eq(t.containers.label, label)).get();
      if (clash) throw new CoreError(409, "CONTAINER_NAME_TAKEN", `a container named like ${name} exists (its URL label ${label} is taken)`);
      return { name, label };
    }
    for (;;) {
      const n = `tenant-${randomBytes(4).toString("hex")}`;
      if (!this.db.select({ id: t.containers.id }).from(t.containers).where(eq(t.containers.label, n)).get()) return { name: n, label: n };
    }
  }

  private checkQuota(projectId: string): void {
    const p = this.db.select().from(t.projects).where(eq(t.projects.id, projectId)).get();
    if (!p || p.maxContainers === null) return;
    const rows = this.db.select({ n: sql<number>`count(*)` }).from(t.containers).where(eq(t.containers.projectId, projectId)).get()?.n ?? 0;
    const n = rows + (this.inflightByProject.get(projectId) ?? 0);
    if (n >= p.maxContainers) throw new CoreError(409, "PROJECT_CONTAINER_LIMIT", `project ${projectId} allows at most ${p.maxContainers} containers`);
  }

  private insertContainer(row: typeof t.containers.$inferInsert, env: Record<string, string>, rules: FirewallRule[]): void {
    this.db.transaction((tx) => {
      tx.insert(t.containers).values(row).run();
      this.idempotency.claim(tx, row.id);
      const envRows = Object.entries(env).map(([key, value]) => ({ containerId: row.id, key, value }));
      if (envRows.length) tx.insert(t.envVars).values(envRows).run();
      const ruleRows = rules.map((rule, position) => ({ containerId: row.id, position, rule }));
      if (ruleRows.length) tx.insert(t.firewallRules).values(ruleRows).run();
    });
  }

  /** Engine first, then the rows; if the rows cannot be written the tenant is removed again. */
  private async provision(
    actor: Actor,
    givenProjectId: string,
    body: { name?: string; environment_vars?: Record<string, string>; start: boolean; autostart: boolean; comment?: string | null; color?: string; ssh_public_key?: string | null; ramdisk_mib?: number; idle_timeout_s?: number | null; limits?: LimitsBody },
    /** sourceTenant: the source's engine name; sourceContainerId: its public id. */
    source: { template: string; sourceTenant?: string; sourceSnapshot?: string; firewall?: FirewallRule[]; sourceContainerId?: string; place?: EngineServer | null; sshKey?: { desired: string | null; onDisk: string | null | undefined } },
  ): Promise<ContainerView> {
    const projectId = this.projectRow(actor, givenProjectId).id;
    this.checkEnv(body.environment_vars ?? {});
    checkEnvTotals(body.environment_vars ?? {});
    await this.checkCeilings(actor, projectId, source.template, body);
    this.checkQuota(projectId);
    return this.creates.run(async () => {
      // Checked again once admitted: rows and in-flight creates are counted at the moment the slot is taken.
      this.checkQuota(projectId);
      this.inflightByProject.set(projectId, (this.inflightByProject.get(projectId) ?? 0) + 1);
      const op = randomBytes(8).toString("hex");
      this.inflightOps.add(op);
      try {
        return await this.provisionAdmitted(actor, projectId, body, source, op);
      } finally {
        this.inflightOps.delete(op);
        const n = (this.inflightByProject.get(projectId) ?? 1) - 1;
        if (n > 0) this.inflightByProject.set(projectId, n);
        else this.inflightByProject.delete(projectId);
      }
    });
  }

  private async provisionAdmitted(
    actor: Actor,
    projectId: string,
    body: Parameters<Core["provision"]>[2],
    source: Parameters<Core["provision"]>[3],
    op: string,
  ): Promise<ContainerView> {
    const { name, label } = this.pickName(body.name);
    const t0 = performance.now();
    let tenant: TenantInfo;
    try {
      tenant = await this.engine.createTenant({
        template: source.template,
        name,
        env: body.environment_vars ?? {},
        limits: body.limits ? engineLimits(body.limits) : {},
        ramdiskMiB: body.ramdisk_mib,
        start: body.start,
        autostart: body.autostart,
        // Only Incus places by member; the host engine has one place.
        ...(this.engine.kind === "incus" && source.place?.member ? { member: source.place.member } : {}),
        sourceTenant: source.sourceTenant,
        sourceSnapshot: source.sourceSnapshot,
        firewall: source.firewall,
        labels: { "hoody.owner": "core", "hoody.project": projectId, "hoody.op": op },
      });
    } catch (e) {
      const err = fromEngine(e);
      if (err.code === "ENGINE_UNAVAILABLE") this.healSoon();
      throw err;
    }
    const cid = newPublicId();
    const sshKey = body.ssh_public_key !== undefined ? body.ssh_public_key || null : (source.sshKey?.desired ?? null);
    const running = tenant.state === "running";
    // undefined: the copied files hold a key not known here, so it is written whatever it is.
    const onDiskKnown = source.sshKey?.onDisk !== undefined || !source.sshKey;
    let sshOnDisk = source.sshKey?.onDisk ?? null;
    try {
      // Written while only the engine holds the tenant: a failure removes it like any failed create.
      if (running && (!onDiskKnown || sshKey !== sshOnDisk)) {
        await this.writeSshKey(tenant.id, sshKey);
        sshOnDisk = sshKey;
      }
    } catch (e) {
      await this.engine.deleteTenant(tenant.id).catch(() => undefined);
      throw e;
    }
    const serverId = await this.serverIdOf(tenant.member);
    try {
      this.insertContainer(
        {
          id: cid,
          engineName: tenant.id,
          projectId,
          name,
          label,
          template: tenant.template,
          status: tenant.state === "running" ? "running" : "stopped",
          ip: tenant.ip,
          sourceContainerId: source.sourceContainerId ?? null,
          comment: body.comment ?? null,
          ramdisk: true,
          color: body.color ? normalizeColor(body.color) : randomColor(),
          autostart: body.autostart,
          serverId,
          sshPublicKey: sshKey,
          sshKeyApplied: sshOnDisk,
          idleTimeoutS: body.idle_timeout_s ?? null,
        },
        tenant.env,
        tenant.firewall,
      );
    } catch (e) {
      await this.engine.deleteTenant(tenant.id).catch(() => undefined);
      if (String(e).includes("UNIQUE constraint failed: containers.label")) throw new CoreError(409, "CONTAINER_NAME_TAKEN", `a container named like ${name} exists`);
      throw e;
    }
    // The row (and the request's Idempotency-Key claim) is committed, the answer not yet stored.
    faultPoint("after-container-row");
    this.logStatus(cid, null, tenant.state === "running" ? "running" : "stopped", actor, Math.round(performance.now() - t0), { template: tenant.template, ...(source.sourceContainerId && { source_container_id: source.sourceContainerId }) });
    return this.view(this.containerRow(SYSTEM, cid), tenant);
  }

  /** Takes Hoody's create body (container_image, server_id, …) and our older one (template). */
  async createContainer(actor: Actor, projectId: string, body: z.input<typeof CreateContainerBody>): Promise<ContainerView> {
    if (body.container_image && body.template && body.container_image !== body.template) {
      throw new CoreError(422, "VALIDATION_ERROR", `container_image (${body.container_image}) and template (${body.template}) name different templates; send one`, [{ instancePath: "/container_image", message: "differs from template" }]);
    }
    refuseNotOffered(body);
    const template = body.container_image ?? body.template ?? "mini";
    const autostart = body.autostart ?? true;
    // Recorded against the new container, so its page and the target filter list its creation.
    return this.audited(
      actor,
      "container.create",
      (c) => `container:${c.id}`,
      async () => {
        this.projectRow(actor, projectId);
        const place = await this.placeFor(body.server_id);
        return this.provision(actor, projectId, { ...body, autostart, start: body.start ?? autostart }, { template, place });
      },
      (c) => ({ container_id: c.id, project_id: c.project_id, template: c.template, env_keys: Object.keys(body.environment_vars ?? {}) }),
      `project:${projectId}`,
    );
  }

  /** Copies a template (by name) or a visible container (its latest state or a named snapshot). */
  async copyContainer(
    actor: Actor,
    sourceId: string,
    input: z.input<typeof CopyContainerBody>,
  ): Promise<ContainerView> {
    refuseNotOffered(input);
    const autostart = input.autostart ?? true;
    const body = { ...input, copy_firewall_rules: input.copy_firewall_rules ?? false, autostart, start: input.start ?? autostart };
    // Recorded against the copy (its creation); the source is named in the detail.
    return this.audited(actor, "container.copy", (c) => `container:${c.id}`, async () => {
      const place = await this.placeFor(body.target_server_id);
      const srcId = this.canonicalId("container", sourceId);
      const src = srcId === null ? undefined : this.db.select().from(t.containers).where(eq(t.containers.id, srcId)).get();
      if (src && (!actor.projectId || src.projectId === actor.projectId)) {
        const snapName = body.source_snapshot ? this.snapshotRow(src.id, body.source_snapshot).name : undefined;
        const tplRules = body.copy_firewall_rules ? undefined : (await this.engine.listTemplates()).find((x) => x.name === src.template)?.settings.firewall;
        return this.provision(actor, body.target_project_id, body, {
          template: src.template,
          sourceTenant: src.engineName,
          sourceSnapshot: snapName,
          firewall: tplRules,
          sourceContainerId: src.id,
          place,
          // Its files are copied, authorized_keys included: the copy keeps the source's key unless given one.
          // A snapshot holds the key of its time, which may differ from the row's now: not known.
          sshKey: { desired: src.sshPublicKey, onDisk: snapName ? undefined : src.sshKeyApplied },
        });
      }
      const tpl = (await this.engine.listTemplates().catch((e) => Promise.reject(fromEngine(e)))).find((x) => x.name === sourceId);
      if (!tpl) throw notFound("CONTAINER", sourceId);
      if (body.source_snapshot) throw new CoreError(422, "VALIDATION_ERROR", "templates have no snapshots");
      return this.provision(actor, body.target_project_id, body, { template: tpl.name, place });
    }, (c) => ({ container_id: c.id, source: sourceId }), `container:${sourceId}`);
  }

  // ------------------------------------------------------------------ containers: changes

  /**
   * Makes the tenant's /root/.ssh/authorized_keys hold exactly `key` (null: removes it). Run inside
   * the tenant as its own root, so a link the tenant planted can only point into its own namespace.
   */
  private async writeSshKey(engineName: string, key: string | null): Promise<void> {
    const script = 'set -e; umask 077; if [ -n "$1" ]; then mkdir -p /root/.ssh; printf "%s\\n" "$1" > /root/.ssh/.authorized_keys.hoody; mv -f /root/.ssh/.authorized_keys.hoody /root/.ssh/authorized_keys; else rm -f /root/.ssh/authorized_keys; fi';
    const r = await this.engine.exec(engineName, ["/bin/sh", "-c", script, "sh", key ?? ""], 10_000).catch((e) => Promise.reject(fromEngine(e)));
    if (r.exitCode !== 0) throw new CoreError(500, "SSH_KEY_NOT_APPLIED", `writing /root/.ssh/authorized_keys failed (exit ${r.exitCode}): ${r.stderr.slice(0, 500)}`);
  }

  /** A key set while the tenant was stopped reaches it when it runs (start, restart, resume, router wake). Best effort: the start stands. */
  private async applyPendingSshKey(containerId: string): Promise<void> {
    const row = this.db.select().from(t.containers).where(eq(t.containers.id, containerId)).get();
    if (!row || row.sshPublicKey === row.sshKeyApplied) return;
    try {
      await this.writeSshKey(row.engineName, row.sshPublicKey);
      this.db.update(t.containers).set({ sshKeyApplied: row.sshPublicKey }).where(eq(t.containers.id, containerId)).run();
    } catch (e) {
      this.audit(SYSTEM, "container.ssh_key", `container:${containerId}`, `error:${(e as CoreError).code ?? "INTERNAL"}`);
    }
  }

  async updateContainer(
    actor: Actor,
    given: string,
    body: {
      environment_vars?: Record<string, string | null>;
      name?: string;
      comment?: string | null;
      color?: string;
      autostart?: boolean;
      ai?: boolean;
      ssh_public_key?: string | null;
      ramdisk?: boolean;
      ramdisk_scope?: "container" | "project";
      realm_ids?: string[];
      ramdisk_mib?: number;
      idle_timeout_s?: number | null;
      delete_after_s?: number | null;
      suspended?: boolean;
      limits?: LimitsBody;
      restart: boolean;
    },
  ): Promise<{ container: ContainerView; restarted: boolean }> {
    const row = this.containerRow(actor, given);
    const containerId = row.id;
    refuseNotOffered(body);
    return this.audited(actor, "container.update", `container:${containerId}`, async () => {
      if (body.environment_vars) this.checkEnv(body.environment_vars);
      const current = this.env(containerId);
      const merged = { ...current };
      for (const [k, v] of Object.entries(body.environment_vars ?? {})) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      checkEnvTotals(merged);
      await this.checkCeilings(actor, row.projectId, row.template, body);
      let label = row.label;
      if (body.name && body.name !== row.name) label = this.pickName(body.name).label;
      const limits = body.limits && engineLimits(body.limits);
      const needsEngine = body.environment_vars || limits || body.ramdisk_mib !== undefined;
      // autostart is the engine's to act on at boot: it changes alone without a restart.
      const autostart = body.autostart !== undefined && body.autostart !== row.autostart ? body.autostart : undefined;
      // The key first: if it cannot be written nothing else changes; if a later step fails, the old one is written back.
      const sshKey = body.ssh_public_key === undefined ? undefined : body.ssh_public_key || null;
      let sshApplied = row.sshKeyApplied;
      if (sshKey !== undefined && sshKey !== row.sshKeyApplied) {
        const live = await this.engine.getTenant(row.engineName).catch((e) => Promise.reject(fromEngine(e)));
        if (live.state === "running") {
          await this.writeSshKey(row.engineName, sshKey);
          sshApplied = sshKey;
        }
      }
      try {
        return await this.applyUpdate(actor, row, body, { merged, label, limits, needsEngine, autostart, sshKey, sshApplied });
      } catch (e) {
        if (sshApplied !== row.sshKeyApplied) await this.writeSshKey(row.engineName, row.sshKeyApplied).catch(() => undefined);
        throw e;
      }
    }, (r) => ({ env_keys: Object.keys(body.environment_vars ?? {}), restarted: r.restarted }));
  }

  private async applyUpdate(
    actor: Actor,
    row: typeof t.containers.$inferSelect,
    body: Parameters<Core["updateContainer"]>[2],
    p: { merged: Record<string, string>; label: string; limits: ReturnType<typeof engineLimits> | undefined; needsEngine: unknown; autostart: boolean | undefined; sshKey: string | null | undefined; sshApplied: string | null },
  ): Promise<{ container: ContainerView; restarted: boolean }> {
    const { merged, label, limits, needsEngine, autostart } = p;
    const containerId = row.id;
    let restarted = false;
    if (needsEngine || autostart !== undefined) {
      const r = await this.engine
        .updateTenant(row.engineName, { env: body.environment_vars, limits, ramdiskMiB: body.ramdisk_mib, autostart, restart: needsEngine ? body.restart : false })
        .catch((e) => Promise.reject(fromEngine(e)));
      restarted = r.restarted;
    }
    let stoppedBySuspend = false;
    if (body.suspended) {
      const live = await this.engine.getTenant(row.engineName).catch((e) => Promise.reject(fromEngine(e)));
      if (live.state === "running") {
        await this.engine.stopTenant(row.engineName).catch((e) => Promise.reject(fromEngine(e)));
        stoppedBySuspend = true;
      }
    }
    this.db.transaction((tx) => {
      if (body.environment_vars) {
        tx.delete(t.envVars).where(eq(t.envVars.containerId, containerId)).run();
        const rows = Object.entries(merged).map(([key, value]) => ({ containerId, key, value }));
        if (rows.length) tx.insert(t.envVars).values(rows).run();
      }
      tx.update(t.containers)
        .set({
          ...(body.name && { name: body.name, label }),
          ...(body.comment !== undefined && { comment: body.comment }),
          ...(body.color !== undefined && { color: normalizeColor(body.color) }),
          ...(autostart !== undefined && { autostart }),
          ...(p.sshKey !== undefined && { sshPublicKey: p.sshKey, sshKeyApplied: p.sshApplied }),
          ...(body.idle_timeout_s !== undefined && { idleTimeoutS: body.idle_timeout_s }),
          ...(body.delete_after_s !== undefined && { deleteAt: body.delete_after_s === null ? null : new Date(Date.now() + body.delete_after_s * 1000).toISOString() }),
          ...(body.suspended !== undefined && { suspended: body.suspended }),
          ...(stoppedBySuspend && { status: "stopped" }),
          updatedAt: nowIso(),
        })
        .where(eq(t.containers.id, containerId))
        .run();
    });
    if (restarted) this.logStatus(containerId, "running", "running", actor, undefined, { cause: "env change restart" });
    if (stoppedBySuspend) this.logStatus(containerId, "running", "stopped", actor, undefined, { cause: "suspended", suspended: true });
    // A restart (env change) runs the same filesystem: the key written above is still there.
    return { container: await this.getContainer(actor, containerId), restarted };
  }

  /**
   * start, stop, force-stop, restart, pause, resume. A stop suspends the tenant (the router will not
   * wake it: a billing stop must hold) unless `wakeOnRequest`; a start or restart lifts the
   * suspension; pause and resume leave it as it is. Allowed as Hoody documents: running → stop,
   * force-stop, restart, pause; stopped → start, restart; paused → resume, stop, force-stop (a
   * stop thaws it first). The answer has the SDK's ApiContainersManageResponse shape.
   */
  async operation(actor: Actor, given: string, op: ContainerOperation, opts: { wakeOnRequest?: boolean } = {}) {
    const { id: containerId, engineName } = this.containerRow(actor, given);
    return this.audited(actor, `container.${op}`, `container:${containerId}`, async () => {
      const before = await this.engine.getTenant(engineName).catch((e) => Promise.reject(fromEngine(e)));
      const allowed = allowedOperations(before.state);
      if (!allowed.includes(op)) {
        throw new CoreError(409, "INVALID_STATE_TRANSITION", `cannot ${op} a ${before.state} container (a ${before.state} one allows: ${allowed.join(", ") || "nothing"})`, { status: before.state, allowed });
      }
      const t0 = performance.now();
      const run = {
        start: () => this.engine.startTenant(engineName),
        stop: () => this.engine.stopTenant(engineName),
        "force-stop": () => this.engine.stopTenant(engineName, { force: true }),
        restart: () => this.engine.restartTenant(engineName),
        pause: () => this.engine.pauseTenant(engineName),
        resume: () => this.engine.resumeTenant(engineName),
      }[op];
      const after = await run().catch((e) => Promise.reject(fromEngine(e)));
      const status = engineStatus(after);
      const suspends = op !== "pause" && op !== "resume";
      const suspended = status === "stopped" && !opts.wakeOnRequest;
      this.db.update(t.containers).set({ status, ...(suspends && { suspended }), updatedAt: nowIso() }).where(eq(t.containers.id, containerId)).run();
      this.logStatus(containerId, before.state, status, actor, Math.round(performance.now() - t0), { operation: op, ...(suspends && suspended && { suspended }) });
      if (status === "running") await this.applyPendingSshKey(containerId);
      const row = this.containerRow(actor, containerId);
      return { operation: op, container_id: containerId, project_id: row.projectId, status, message: `${op} completed`, error: false };
    });
  }

  /** Used by the tenant router: wake/stop without an operator, logged as the system's. A suspended tenant is never woken. */
  async setRunning(containerId: string, running: boolean, cause: string): Promise<void> {
    const row = this.db.select({ suspended: t.containers.suspended, engineName: t.containers.engineName }).from(t.containers).where(eq(t.containers.id, containerId)).get();
    if (!row) throw notFound("CONTAINER", containerId);
    if (running && row.suspended) {
      throw new CoreError(409, "TENANT_SUSPENDED", `${containerId} is suspended: only a start lifts that`);
    }
    const before = await this.engine.getTenant(row.engineName);
    // Pausing is deliberate, like a suspension: requests do not resume a paused tenant, and idleness
    // does not stop it (its idle clock does not run while it is paused).
    if (before.state === "paused") {
      if (running) throw new CoreError(409, "TENANT_PAUSED", `${containerId} is paused: only a resume lifts that`);
      return;
    }
    if ((before.state === "running") === running) return;
    const t0 = performance.now();
    if (running) await this.engine.startTenant(row.engineName);
    else await this.engine.stopTenant(row.engineName);
    const status = running ? "running" : "stopped";
    this.db.update(t.containers).set({ status, updatedAt: nowIso() }).where(eq(t.containers.id, containerId)).run();
    this.logStatus(containerId, before.state, status, SYSTEM, Math.round(performance.now() - t0), { cause });
    if (running) await this.applyPendingSshKey(containerId);
  }

  async logs(actor: Actor, containerId: string): Promise<{ log: string }> {
    const row = this.containerRow(actor, containerId);
    return { log: await this.engine.logs(row.engineName, 64 * 1024).catch((e) => Promise.reject(fromEngine(e))) };
  }

  // ------------------------------------------------------------------ stats history (dashboard charts)

  /** Keyed by engine name (what the engine's stats name). */
  private history = new Map<string, { at: string; delta: number; memory: number; ksm: number; cpu: number }[]>();

  /** Takes one sample of every tenant's stats (kept in memory, last 120 per tenant). */
  async sampleStats(): Promise<void> {
    const { tenants } = await this.engine.stats();
    const at = nowIso();
    for (const s of tenants) {
      const h = this.history.get(s.id) ?? [];
      h.push({ at, delta: s.deltaBytes, memory: s.memoryBytes, ksm: Math.max(0, s.ksmProfitBytes), cpu: s.cpuUsageNs });
      if (h.length > 120) h.shift();
      this.history.set(s.id, h);
    }
    for (const id of this.history.keys()) if (!tenants.some((s) => s.id === id)) this.history.delete(id);
  }

  /**
   * GET /containers/{id}/stats in the SDK's structure (cpu, memory, disk, network, processes), from
   * the engine's cgroup, qgroup and interface counters; our own figures (delta disk, KSM) ride along.
   */
  async containerStats(actor: Actor, containerId: string) {
    const t0 = performance.now();
    const row = this.containerRow(actor, containerId);
    const engineId = row.engineName;
    const [live, all] = await Promise.all([
      this.engine.getTenant(engineId).catch(() => null),
      this.engine.stats({ ids: [engineId] }).catch((e) => Promise.reject(fromEngine(e))),
    ]);
    const s = all.tenants[0];
    const status = this.view(row, live ?? s ?? null).status;
    const now = Date.now();
    // Last start: the engine's (its oldest process), else the status log's last transition to running.
    const lastRun = this.db
      .select({ at: t.statusLogs.at })
      .from(t.statusLogs)
      .where(and(eq(t.statusLogs.containerId, row.id), eq(t.statusLogs.toStatus, "running")))
      .orderBy(desc(t.statusLogs.id))
      .get()?.at;
    const startedAt = s?.startedAt ?? lastRun ?? row.createdAt;
    const cores = (s?.cpuLimitMilli ?? availableParallelism() * 1000) / 1000;
    const usageNs = s?.cpuUsageNs ?? 0;
    // Percent of the tenant's CPU allowance since the last sample (every 15 s), else averaged over its run.
    const prev = [...(this.history.get(row.engineName) ?? [])].reverse().find((h) => now - Date.parse(h.at) >= 500 && h.cpu <= usageNs);
    const [spanNs, usedNs] = prev ? [(now - Date.parse(prev.at)) * 1e6, usageNs - prev.cpu] : [(now - Date.parse(startedAt)) * 1e6, usageNs];
    const cpuPercent = s?.running && spanNs > 0 ? Math.min(100, Math.round((usedNs / (spanNs * cores)) * 10000) / 100) : 0;
    const memTotal = s?.memoryLimitBytes || all.host.memory.totalBytes;
    const n = s?.network;
    const project = this.db.select({ alias: t.projects.alias }).from(t.projects).where(eq(t.projects.id, row.projectId)).get();
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

  statsHistory(actor: Actor, containerId: string) {
    return this.history.get(this.containerRow(actor, containerId).engineName) ?? [];
  }

  /** Host-wide numbers for the overview: pool, deltas vs full copies, KSM, memory, counts, largest deltas. */
  async overview() {
    const [info, stats, templates] = await Promise.all([this.engine.info(), this.engine.stats(), this.engine.listTemplates()]);
    const rows = this.db.select({ id: t.containers.id, engineName: t.containers.engineName, name: t.containers.name, template: t.containers.template }).from(t.containers).all();
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
      capabilities: this.engine.capabilities(),
      // running counts paused ones too (they hold processes and memory); paused says how many of them are.
      tenants: { total: rows.length, running: rows.filter((r) => byEngine.get(r.engineName)?.running).length, paused: rows.filter((r) => byEngine.get(r.engineName)?.paused).length },
      disk: { tenant_deltas_bytes: totalDelta, full_copies_bytes: fullCopies, snapshots_bytes: stats.tenants.reduce((s, x) => s + x.snapshotBytes, 0) },
      ksm_saved_bytes: stats.tenants.reduce((s, x) => s + Math.max(0, x.ksmProfitBytes), 0),
      largest_deltas: largest,
    };
  }

  /** The router's lookup by DNS label; null when no container has it. */
  async routeTarget(label: string): Promise<RouteTarget | null> {
    const row = this.db.select().from(t.containers).where(eq(t.containers.label, label)).get();
    if (!row) return null;
    const live = await this.engine.getTenant(row.engineName).catch(() => null);
    const templates = await this.templatesCached();
    const tpl = templates.find((x) => x.name === row.template);
    // One row's timeout, not the whole table's: this runs on the router's lookups.
    const idle = effectiveIdle(row, templates);
    let status = row.status as ContainerStatus;
    if (live && ENGINE_STATUSES.has(status)) status = engineStatus(live);
    return { id: row.id, status, ip: row.ip, appPort: live?.appPort ?? tpl?.settings.appPort ?? 8080, idleTimeoutS: idle, suspended: row.suspended };
  }

  private templateCache: { at: number; list: Awaited<ReturnType<Engine["listTemplates"]>> } | null = null;
  private async templatesCached() {
    if (!this.templateCache || Date.now() - this.templateCache.at > 5000) this.templateCache = { at: Date.now(), list: await this.engine.listTemplates() };
    return this.templateCache.list;
  }

  /**
   * Effective idle timeouts of every container (seconds; null = never), from the database alone,
   * keyed by engine name (the router matches them to the engine's tenant list) with the public id.
   */
  async idleTimeouts(): Promise<Map<string, { id: string; timeoutS: number | null }>> {
    const templates = await this.templatesCached();
    const rows = this.db.select({ id: t.containers.id, engineName: t.containers.engineName, template: t.containers.template, idleTimeoutS: t.containers.idleTimeoutS }).from(t.containers).all();
    return new Map(rows.map((r) => [r.engineName, { id: r.id, timeoutS: effectiveIdle(r, templates) }]));
  }

  labelOf(containerId: string): string | null {
    return this.db.select({ label: t.containers.label }).from(t.containers).where(eq(t.containers.id, containerId)).get()?.label ?? null;
  }

  /** Adds the router's request counts (flushed in batches, not per request). */
  recordRequests(counts: Map<string, { n: number; lastAt: string }>): void {
    this.db.transaction((tx) => {
      for (const [cid, c] of counts) {
        tx.update(t.containers)
          .set({ requestsTotal: sql`${t.containers.requestsTotal} + ${c.n}`, lastRequestAt: c.lastAt })
          .where(eq(t.containers.id, cid))
          .run();
      }
    });
  }

  async exec(actor: Actor, given: string, body: { command: string[]; timeout: number }) {
    const { id: containerId, engineName } = this.containerRow(actor, given);
    return this.audited(actor, "container.exec", `container:${containerId}`, async () => {
      const r = await this.engine.exec(engineName, body.command, body.timeout * 1000).catch((e) => Promise.reject(fromEngine(e)));
      const cap = 256 * 1024;
      return { exit_code: r.exitCode, stdout: r.stdout.slice(0, cap), stderr: r.stderr.slice(0, cap), timed_out: r.timedOut, truncated: r.stdout.length > cap || r.stderr.length > cap };
    }, (r) => ({ argv0: body.command[0]?.slice(0, 100), exit_code: r.exit_code }));
  }

  // ------------------------------------------------------------------ GDPR erasure

  /**
   * Erases the tenant and every byte of its data: the engine removes its processes, filesystem,
   * snapshots, config, logs and leases; here every row that holds its data goes (env vars,
   * snapshots, firewall rules, status logs, audit entries about it, idempotent replays of its
   * answers), the WAL is checkpointed so deleted pages do not linger, and only a receipt stays.
   */
  async deleteContainer(actor: Actor, given: string) {
    const row = this.containerRow(actor, given);
    const containerId = row.id;
    this.db.update(t.containers).set({ status: "deleting", updatedAt: nowIso() }).where(eq(t.containers.id, containerId)).run();
    let engineReport: { existed: boolean; erased: string[] };
    try {
      engineReport = await this.engine.deleteTenant(row.engineName);
    } catch (e) {
      // The erasure was asked for: the row stays "deleting" (not "failed"), so a retry or the
      // reconciler finishes it even if the engine meanwhile completed its part (e.g. it crashed mid-delete).
      const err = fromEngine(e);
      if (err.code === "ENGINE_UNAVAILABLE") this.healSoon();
      this.audit(actor, "container.delete", `container:${containerId}`, `error:${err.code}`);
      throw err;
    }
    const counts = {
      env_vars: this.db.select({ n: sql<number>`count(*)` }).from(t.envVars).where(eq(t.envVars.containerId, containerId)).get()?.n ?? 0,
      snapshots: this.db.select({ n: sql<number>`count(*)` }).from(t.snapshots).where(eq(t.snapshots.containerId, containerId)).get()?.n ?? 0,
      firewall_rules: this.db.select({ n: sql<number>`count(*)` }).from(t.firewallRules).where(eq(t.firewallRules.containerId, containerId)).get()?.n ?? 0,
      status_logs: this.db.select({ n: sql<number>`count(*)` }).from(t.statusLogs).where(eq(t.statusLogs.containerId, containerId)).get()?.n ?? 0,
      // Its id from before 0006_public_ids, if it had one: an identifier of it like the others.
      id_aliases: this.db.select({ n: sql<number>`count(*)` }).from(t.idAliases).where(and(eq(t.idAliases.kind, "container"), eq(t.idAliases.newId, containerId))).get()?.n ?? 0,
    };
    const receipt = {
      id: id("r"),
      containerId,
      projectId: row.projectId,
      requestedBy: actor.id,
      erased: {
        host: engineReport.erased,
        database: [
          `container row`,
          `${counts.env_vars} env var(s)`,
          `${counts.snapshots} snapshot record(s)`,
          `${counts.firewall_rules} firewall rule(s)`,
          `${counts.status_logs} status log entr(ies)`,
          `${counts.id_aliases} old id alias(es)`,
          "audit entries and idempotent replays about it",
        ],
      },
    };
    this.db.transaction((tx) => {
      tx.delete(t.envVars).where(eq(t.envVars.containerId, containerId)).run();
      tx.delete(t.snapshots).where(eq(t.snapshots.containerId, containerId)).run();
      tx.delete(t.firewallRules).where(eq(t.firewallRules.containerId, containerId)).run();
      tx.delete(t.statusLogs).where(eq(t.statusLogs.containerId, containerId)).run();
      tx.delete(t.idempotencyKeys).where(eq(t.idempotencyKeys.resourceId, containerId)).run();
      tx.delete(t.auditLog).where(eq(t.auditLog.target, `container:${containerId}`)).run();
      tx.delete(t.auditLog).where(sql`json_extract(${t.auditLog.detail}, '$.container_id') = ${containerId}`).run();
      tx.delete(t.idAliases).where(and(eq(t.idAliases.kind, "container"), eq(t.idAliases.newId, containerId))).run();
      tx.delete(t.containers).where(eq(t.containers.id, containerId)).run();
      tx.insert(t.erasureReceipts).values(receipt).run();
    });
    this.db.$client.pragma("wal_checkpoint(TRUNCATE)");
    this.audit(actor, "container.erase", `receipt:${receipt.id}`, "ok");
    return this.receiptView(receipt.id);
  }

  receiptView(receiptId: string) {
    const r = this.db.select().from(t.erasureReceipts).where(eq(t.erasureReceipts.id, receiptId)).get();
    if (!r) throw new CoreError(404, "RECEIPT_NOT_FOUND", `receipt ${receiptId} not found`);
    return { receipt_id: r.id, container_id: r.containerId, project_id: r.projectId, erased_at: r.erasedAt, requested_by: r.requestedBy, erased: r.erased };
  }

  listReceipts(actor: Actor) {
    const rows = this.db
      .select()
      .from(t.erasureReceipts)
      .where(actor.projectId ? eq(t.erasureReceipts.projectId, actor.projectId) : undefined)
      .orderBy(desc(t.erasureReceipts.erasedAt))
      .limit(500)
      .all();
    return rows.map((r) => this.receiptView(r.id));
  }

  /** Erases containers whose grace period is over (called periodically). */
  async eraseDue(): Promise<string[]> {
    const due = this.db.select({ id: t.containers.id }).from(t.containers).where(sql`${t.containers.deleteAt} IS NOT NULL AND ${t.containers.deleteAt} <= ${nowIso()}`).all();
    const erased: string[] = [];
    for (const { id: cid } of due) {
      try {
        await this.deleteContainer({ id: "system:grace-period", projectId: null }, cid);
        erased.push(cid);
      } catch (e) {
        console.error(`[core] scheduled erasure of ${cid} failed: ${(e as Error).message}`);
      }
    }
    return erased;
  }

  // ------------------------------------------------------------------ env

  getEnv(actor: Actor, containerId: string): Record<string, string> {
    return this.env(this.containerRow(actor, containerId).id);
  }

  // ------------------------------------------------------------------ snapshots

  private snapshotRow(containerId: string, nameOrAlias: string) {
    const row =
      this.db.select().from(t.snapshots).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, nameOrAlias))).get() ??
      this.db.select().from(t.snapshots).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.alias, nameOrAlias))).get();
    if (!row) throw notFound("SNAPSHOT", nameOrAlias);
    return row;
  }

  private snapshotView(r: typeof t.snapshots.$inferSelect, bytes?: number) {
    return { name: r.name, alias: r.alias, created_at: r.createdAt, last_used_at: r.lastUsedAt, expires_at: r.expiresAt, stateful: false, size: bytes ?? null };
  }

  /** Removes expired snapshots (of one container, or all). Called on every snapshot read and periodically. */
  async expireSnapshots(containerId?: string): Promise<number> {
    const now = nowIso();
    const expired = this.db
      .select()
      .from(t.snapshots)
      .where(and(sql`${t.snapshots.expiresAt} IS NOT NULL AND ${t.snapshots.expiresAt} <= ${now}`, containerId ? eq(t.snapshots.containerId, containerId) : undefined))
      .all();
    for (const s of expired) {
      const engineName = this.db.select({ n: t.containers.engineName }).from(t.containers).where(eq(t.containers.id, s.containerId)).get()?.n;
      if (engineName) await this.engine.deleteSnapshot(engineName, s.name).catch(() => undefined);
      this.db.delete(t.snapshots).where(and(eq(t.snapshots.containerId, s.containerId), eq(t.snapshots.name, s.name))).run();
      this.audit(SYSTEM, "snapshot.expire", `container:${s.containerId}`, "ok", { snapshot: s.name });
    }
    return expired.length;
  }

  /** The SDK's listSnapshots answer: the container, its count (there is no per-container maximum here) and its snapshots, oldest first. */
  async listSnapshots(actor: Actor, given: string) {
    const row = this.containerRow(actor, given);
    const containerId = row.id;
    await this.expireSnapshots(containerId);
    const sizes = new Map((await this.engine.getTenant(row.engineName).catch(() => null))?.snapshots.map((s) => [s.name, s.bytes]) ?? []);
    const snapshots = this.db
      .select()
      .from(t.snapshots)
      .where(eq(t.snapshots.containerId, containerId))
      .orderBy(asc(t.snapshots.createdAt))
      .all()
      .map((r) => this.snapshotView(r, sizes.get(r.name)));
    return { container_id: row.id, project_id: row.projectId, snapshot_count: snapshots.length, max_snapshots: null, snapshots };
  }

  async createSnapshot(actor: Actor, given: string, body: { alias?: string; expiry?: number }) {
    const owner = this.containerRow(actor, given);
    const { id: containerId, engineName } = owner;
    return this.audited(actor, "snapshot.create", `container:${containerId}`, async () => {
      await this.expireSnapshots(containerId);
      const stamp = nowIso().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
      let name = `snap-${stamp}`;
      for (let i = 2; this.db.select().from(t.snapshots).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, name))).get(); i++) name = `snap-${stamp}-${i}`;
      const info = await this.engine.createSnapshot(engineName, name).catch((e) => Promise.reject(fromEngine(e)));
      const replaced = body.alias
        ? this.db.select().from(t.snapshots).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.alias, body.alias))).all()
        : [];
      const expiresAt = body.expiry ? new Date(Date.now() + body.expiry * 86_400_000).toISOString() : null;
      this.db.insert(t.snapshots).values({ containerId, name, alias: body.alias ?? null, expiresAt }).run();
      // An alias names one snapshot: the older one it named goes.
      for (const old of replaced) {
        await this.engine.deleteSnapshot(engineName, old.name).catch(() => undefined);
        this.db.delete(t.snapshots).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, old.name))).run();
      }
      const row = this.snapshotRow(containerId, name);
      return { container_id: owner.id, project_id: owner.projectId, snapshot: this.snapshotView(row, info.bytes), replaced: replaced.map((r) => r.name) };
    }, (s) => ({ snapshot: s.snapshot.name }));
  }

  async restoreSnapshot(actor: Actor, given: string, nameOrAlias: string) {
    const { id: containerId, engineName } = this.containerRow(actor, given);
    const snap = this.snapshotRow(containerId, nameOrAlias);
    return this.audited(actor, "snapshot.restore", `container:${containerId}`, async () => {
      const after = await this.engine.restoreSnapshot(engineName, snap.name).catch((e) => Promise.reject(fromEngine(e)));
      this.db.update(t.snapshots).set({ lastUsedAt: nowIso() }).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, snap.name))).run();
      const state = engineStatus(after);
      this.logStatus(containerId, state, state, actor, undefined, { cause: `restore ${snap.name}` });
      const size = after.snapshots.find((x) => x.name === snap.name)?.bytes;
      return { success: true, message: `restored ${snap.name}`, snapshot: this.snapshotView(this.snapshotRow(containerId, snap.name), size), container: await this.getContainer(actor, containerId) };
    }, () => ({ snapshot: snap.name }));
  }

  /** An alias names one snapshot: given to another, it moves; null removes it. */
  async setSnapshotAlias(actor: Actor, given: string, nameOrAlias: string, alias: string | null) {
    const row = this.containerRow(actor, given);
    const containerId = row.id;
    const snap = this.snapshotRow(containerId, nameOrAlias);
    this.db.transaction((tx) => {
      if (alias !== null) tx.update(t.snapshots).set({ alias: null }).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.alias, alias))).run();
      tx.update(t.snapshots).set({ alias }).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, snap.name))).run();
    });
    this.audit(actor, "snapshot.alias", `container:${containerId}`, "ok", { snapshot: snap.name });
    return { container_id: row.id, project_id: row.projectId, snapshot: this.snapshotView(this.snapshotRow(containerId, snap.name)) };
  }

  async deleteSnapshot(actor: Actor, given: string, nameOrAlias: string) {
    const row = this.containerRow(actor, given);
    const { id: containerId, engineName } = row;
    const snap = this.snapshotRow(containerId, nameOrAlias);
    return this.audited(actor, "snapshot.delete", `container:${containerId}`, async () => {
      await this.engine.deleteSnapshot(engineName, snap.name).catch((e) => Promise.reject(fromEngine(e)));
      this.db.delete(t.snapshots).where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, snap.name))).run();
      return { container_id: row.id, project_id: row.projectId, snapshot_name: snap.name, name: snap.name, deleted: true };
    }, () => ({ snapshot: snap.name }));
  }

  // ------------------------------------------------------------------ firewall

  private rules(containerId: string): FirewallRule[] {
    return this.db
      .select()
      .from(t.firewallRules)
      .where(eq(t.firewallRules.containerId, containerId))
      .orderBy(asc(t.firewallRules.position))
      .all()
      .map((r) => r.rule as FirewallRule);
  }

  firewallView(containerId: string) {
    const all = this.rules(containerId);
    const dir = (d: "ingress" | "egress") => all.filter((r) => r.direction === d).map((r, index) => ({ index, ...r }));
    return { ingress: dir("ingress"), egress: dir("egress"), rule_count: all.length, max_rules: this.settings.maxFirewallRules };
  }

  getFirewall(actor: Actor, containerId: string) {
    return this.firewallView(this.containerRow(actor, containerId).id);
  }

  private async replaceRules(actor: Actor, row: { id: string; engineName: string }, action: string, next: FirewallRule[]) {
    if (next.length > this.settings.maxFirewallRules) throw new CoreError(422, "TOO_MANY_RULES", `at most ${this.settings.maxFirewallRules} rules`);
    const containerId = row.id;
    return this.audited(actor, action, `container:${containerId}`, async () => {
      await this.engine.setFirewall(row.engineName, next).catch((e) => Promise.reject(fromEngine(e)));
      this.db.transaction((tx) => {
        tx.delete(t.firewallRules).where(eq(t.firewallRules.containerId, containerId)).run();
        if (next.length) tx.insert(t.firewallRules).values(next.map((rule, position) => ({ containerId, position, rule }))).run();
      });
      return this.firewallView(containerId);
    });
  }

  /** A rule from the API: the schema's checks, and the address that a direction can match on. */
  private parseRule(direction: "ingress" | "egress", body: Record<string, unknown>): FirewallRule {
    const invalid = (message: string, issues: { instancePath: string; message: string }[]) => new CoreError(422, "INVALID_FIREWALL_RULE", message, issues);
    // An ingress rule filters traffic to this container, an egress rule traffic from it: the other
    // address is the container's own and cannot be matched on (refused, never silently ignored).
    const other = direction === "ingress" ? "destination" : "source";
    if (body[other] !== undefined) throw invalid(`${other}: ${direction} rules match on ${direction === "ingress" ? "source" : "destination"}; the ${other} is this container`, [{ instancePath: `/${other}`, message: `not used by ${direction} rules` }]);
    const r = FirewallRuleSchema.safeParse({ ...body, direction });
    if (!r.success) throw invalid(issuesText(r.error.issues), issuePointers(r.error.issues));
    return r.data;
  }

  /** Position of the n-th rule of a direction in the combined ordered list. */
  private globalIndex(all: FirewallRule[], direction: string, index: number): number {
    const positions = all.map((r, i) => (r.direction === direction ? i : -1)).filter((i) => i >= 0);
    const p = positions[index];
    if (p === undefined) throw notFound("RULE", `${direction}[${index}]`);
    return p;
  }

  /** The rules of a direction matching every given field (the SDK's way to name a rule), with their index in the direction. */
  private matching(all: FirewallRule[], direction: string, filter: Record<string, unknown>): { rule: FirewallRule; index: number; at: number }[] {
    const keys = Object.keys(filter).filter((k) => filter[k] !== undefined);
    const out: { rule: FirewallRule; index: number; at: number }[] = [];
    let index = 0;
    all.forEach((rule, at) => {
      if (rule.direction !== direction) return;
      if (keys.every((k) => (rule as Record<string, unknown>)[k] === filter[k])) out.push({ rule, index, at });
      index++;
    });
    return out;
  }

  /**
   * Appends a rule. A rule that repeats one of the direction (all fields but description and
   * state) changes nothing and answers that rule with `duplicate_of`, as Hoody's API does.
   */
  async addRule(actor: Actor, given: string, direction: "ingress" | "egress", body: Record<string, unknown>) {
    const row = this.containerRow(actor, given);
    const containerId = row.id;
    const rule = this.parseRule(direction, body);
    const all = this.rules(containerId);
    const key = (r: FirewallRule) => JSON.stringify(Object.entries({ ...r, description: undefined, state: undefined }).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
    const dup = this.matching(all, direction, {}).find((m) => key(m.rule) === key(rule));
    if (dup) {
      this.audit(actor, "firewall.add", `container:${containerId}`, "duplicate", { direction, index: dup.index });
      return { ...dup.rule, duplicate: true as const, duplicate_of: { direction, index: dup.index } };
    }
    return this.replaceRules(actor, row, "firewall.add", [...all, rule]);
  }

  /**
   * PATCH /firewall/{direction}. With `index`: that rule gets the given fields (ours). Without: the
   * first rule matching the given fields gets `state` (the SDK's toggle).
   */
  async toggleRule(actor: Actor, given: string, direction: "ingress" | "egress", body: Record<string, unknown> & { index?: number; state?: "enabled" | "disabled" }) {
    const row = this.containerRow(actor, given);
    const containerId = row.id;
    const all = this.rules(containerId);
    const { index, state, ...fields } = body;
    let at: number;
    let next: FirewallRule;
    if (index !== undefined) {
      at = this.globalIndex(all, direction, index);
      next = this.parseRule(direction, { ...all[at], ...fields, ...(state && { state }), direction: undefined });
    } else {
      if (!state) throw new CoreError(422, "VALIDATION_ERROR", "state: required (the rule's new state)", [{ instancePath: "/state", message: "required" }]);
      const filter = this.ruleFilter(direction, fields);
      const m = this.matching(all, direction, filter)[0];
      if (!m) throw new CoreError(404, "RULE_NOT_FOUND", `no ${direction} rule matches ${JSON.stringify(filter)}`);
      at = m.at;
      next = { ...m.rule, state };
    }
    const rules = [...all];
    rules[at] = next;
    const view = await this.replaceRules(actor, row, "firewall.update", rules);
    const dirIndex = this.matching(rules, direction, {}).find((m) => m.at === at)!.index;
    return { direction, new_state: next.state, updated: next, index: dirIndex, ...view };
  }

  /** The identifying fields of a toggle or remove; at least one is needed (or `all` / `index`). */
  private ruleFilter(direction: "ingress" | "egress", fields: Record<string, unknown>): Record<string, unknown> {
    const filter = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    if (!Object.keys(filter).length) throw new CoreError(422, "RULE_FILTER_REQUIRED", `name the ${direction} rule by index or by its fields (action, protocol, destination_port, …)`);
    return filter;
  }

  /** DELETE /firewall/{direction}: the rule at `index` (ours), or the first rule matching the fields, or every match with `all` (no fields: every rule of the direction). */
  async removeRules(actor: Actor, containerGiven: string, direction: "ingress" | "egress", body: Record<string, unknown> & { index?: number; all?: boolean }) {
    const row = this.containerRow(actor, containerGiven);
    const containerId = row.id;
    const all = this.rules(containerId);
    const { index, all: every, ...fields } = body;
    const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    let removed: { rule: FirewallRule; at: number }[];
    if (index !== undefined) {
      if (Object.keys(given).length || every) throw new CoreError(422, "VALIDATION_ERROR", "name a rule by index or by its fields, not both");
      const at = this.globalIndex(all, direction, index);
      removed = [{ rule: all[at]!, at }];
    } else {
      const filter = every ? given : this.ruleFilter(direction, given);
      const matches = this.matching(all, direction, filter);
      removed = every ? matches : matches.slice(0, 1);
      if (!every && !removed.length) throw new CoreError(404, "RULE_NOT_FOUND", `no ${direction} rule matches ${JSON.stringify(filter)}`);
    }
    const gone = new Set(removed.map((r) => r.at));
    const view = gone.size ? await this.replaceRules(actor, row, "firewall.delete", all.filter((_, i) => !gone.has(i))) : this.firewallView(containerId);
    return { direction, removed_count: removed.length, removed: removed.map((r) => r.rule), ...view };
  }

  /** The dashboard's form of a change: the rule at index gets the given fields. */
  patchRule(actor: Actor, containerId: string, direction: "ingress" | "egress", index: number, body: Record<string, unknown>) {
    return this.toggleRule(actor, containerId, direction, { ...body, index });
  }

  deleteRule(actor: Actor, containerId: string, direction: "ingress" | "egress", index: number) {
    return this.removeRules(actor, containerId, direction, { index });
  }

  async resetFirewall(actor: Actor, containerId: string) {
    const row = this.containerRow(actor, containerId);
    const tpl = (await this.engine.listTemplates()).find((x) => x.name === row.template);
    const view = await this.replaceRules(actor, row, "firewall.reset", tpl?.settings.firewall ?? []);
    return { rules: { ingress: view.ingress, egress: view.egress }, ...view };
  }

  // ------------------------------------------------------------------ templates

  async listTemplates() {
    const list = await this.engine.listTemplates().catch((e) => Promise.reject(fromEngine(e)));
    return list.map((x) => ({ name: x.name, recipe: x.recipe, created_at: x.createdAt, size_bytes: x.bytes, tenants: x.tenants, app_port: x.settings.appPort, shared_paths: x.settings.sharedPaths, ksm: x.settings.ksm, idle_timeout_s: x.settings.idleTimeoutS }));
  }

  async buildTemplate(actor: Actor, body: { recipe: string; name?: string }, onProgress?: (p: number, m: string) => void) {
    this.requireAdmin(actor);
    return this.audited(actor, "template.build", `template:${body.name ?? body.recipe}`, async () => {
      await this.engine.buildTemplate(body.recipe, { name: body.name, onProgress });
      return (await this.listTemplates()).find((x) => x.name === (body.name ?? body.recipe))!;
    });
  }

  async promote(actor: Actor, body: { container_id: string; name: string }) {
    this.requireAdmin(actor);
    const row = this.containerRow(actor, body.container_id);
    return this.audited(actor, "template.promote", `template:${body.name}`, async () => {
      await this.engine.promote(row.engineName, body.name).catch((e) => Promise.reject(fromEngine(e)));
      return (await this.listTemplates()).find((x) => x.name === body.name)!;
    });
  }

  // ------------------------------------------------------------------ tokens & auth

  /** Creates an API token; the secret is returned once and only its hash is kept. */
  createToken(actor: Actor, body: { name: string; project_id: string | null }) {
    this.requireAdmin(actor);
    // An old project id names the project it became: the token row holds the current id.
    const projectId = body.project_id ? this.projectRow(actor, body.project_id).id : null;
    const secret = `hdy_${randomBytes(24).toString("base64url")}`;
    const tid = id("k");
    this.db.insert(t.apiTokens).values({ id: tid, name: body.name, hash: sha256(secret), prefix: secret.slice(0, 8), projectId }).run();
    this.audit(actor, "token.create", `token:${tid}`, "ok", { project_id: projectId });
    return { id: tid, name: body.name, project_id: projectId, token: secret, prefix: secret.slice(0, 8) };
  }

  /** Makes sure a token secret exists as an admin token (the one `npm run up` writes). */
  ensureAdminToken(secret: string, name = "admin (npm run up)") {
    const hash = sha256(secret);
    if (this.db.select().from(t.apiTokens).where(eq(t.apiTokens.hash, hash)).get()) return;
    this.db.insert(t.apiTokens).values({ id: id("k"), name, hash, prefix: secret.slice(0, 8), projectId: null }).run();
  }

  listTokens(actor: Actor) {
    this.requireAdmin(actor);
    return this.db
      .select()
      .from(t.apiTokens)
      .orderBy(asc(t.apiTokens.createdAt))
      .all()
      .map((r) => ({ id: r.id, name: r.name, prefix: r.prefix, project_id: r.projectId, created_at: r.createdAt, last_used_at: r.lastUsedAt, revoked_at: r.revokedAt }));
  }

  revokeToken(actor: Actor, tokenId: string) {
    this.requireAdmin(actor);
    const row = this.db.select().from(t.apiTokens).where(eq(t.apiTokens.id, tokenId)).get();
    if (!row) throw notFound("TOKEN", tokenId);
    this.db.update(t.apiTokens).set({ revokedAt: row.revokedAt ?? nowIso() }).where(eq(t.apiTokens.id, tokenId)).run();
    this.audit(actor, "token.revoke", `token:${tokenId}`, "ok");
    return { id: tokenId, revoked: true };
  }

  /** Resolves a bearer secret to an actor; throws 401 with Hoody's codes. */
  authenticate(authorization: string | null): Actor {
    if (!authorization) throw new CoreError(401, "MISSING_TOKEN", "send Authorization: Bearer <token>");
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m?.[1]) throw new CoreError(401, "INVALID_TOKEN", "the Authorization header must be 'Bearer <token>'");
    const row = this.db.select().from(t.apiTokens).where(eq(t.apiTokens.hash, sha256(m[1]))).get();
    if (!row) throw new CoreError(401, "INVALID_TOKEN", "unknown token");
    if (row.revokedAt) throw new CoreError(401, "TOKEN_REVOKED", "this token was revoked");
    this.db.update(t.apiTokens).set({ lastUsedAt: nowIso() }).where(eq(t.apiTokens.id, row.id)).run();
    return { id: `token:${row.id}`, projectId: row.projectId };
  }

  // ------------------------------------------------------------------ audit log

  listAudit(actor: Actor, q: { page: number; limit: number; action?: string; target?: string; actor?: string }) {
    this.requireAdmin(actor);
    const conds: SQL[] = [];
    if (q.action) conds.push(like(t.auditLog.action, `${q.action}%`));
    if (q.target) {
      // Entries were rewritten to the new ids (0006_public_ids): an old id in the filter means its row's.
      const m = /^(project|container):(.+)$/.exec(q.target);
      const current = m ? aliasTarget(this.db, m[1] as IdKind, m[2]!) : null;
      conds.push(eq(t.auditLog.target, current ? `${m![1]}:${current}` : q.target));
    }
    if (q.actor) conds.push(eq(t.auditLog.actor, q.actor));
    const where = conds.length ? and(...conds) : undefined;
    const total = this.db.select({ n: sql<number>`count(*)` }).from(t.auditLog).where(where).get()?.n ?? 0;
    const entries = this.db.select().from(t.auditLog).where(where).orderBy(desc(t.auditLog.id)).limit(q.limit).offset((q.page - 1) * q.limit).all();
    return { entries, pagination: pagination(total, q.page, q.limit) };
  }

  // ------------------------------------------------------------------ reconciler

  private healing: Promise<void> | null = null;
  private healAgain = false;

  /**
   * After an engine call whose outcome is unknown (the daemon died or restarted mid-call) a tenant
   * may exist without its row, or an erasure may be half done. Reconcile as soon as the daemon
   * answers again (every 2 s, for up to 10 min) instead of waiting for the next web start.
   */
  private healSoon(): void {
    this.healAgain = true;
    if (this.healing) return;
    this.healing = (async () => {
      for (let attempt = 0; attempt < 300 && this.healAgain; attempt++) {
        await new Promise((r) => setTimeout(r, attempt ? 2000 : 500).unref());
        this.healAgain = false;
        try {
          const report = await this.reconcile();
          console.log(`[core] reconciled after an engine outage: ${JSON.stringify(report)}`);
        } catch {
          this.healAgain = true; // still down
        }
      }
    })().finally(() => {
      this.healing = null;
    });
  }

  /**
   * Compares the database (desired) with the engine (actual) and repairs what it can attribute:
   * tenants the core created (label hoody.owner=core) but never recorded (a crash between the two
   * steps) are removed; rows whose tenant vanished are marked failed; env drift is pushed to the
   * engine; templates are mirrored. Tenants it cannot attribute are reported, never touched.
   */
  async reconcile(): Promise<{ removedOrphans: string[]; markedFailed: string[]; finished: string[]; envPushed: string[]; unattributed: string[]; errors: string[] }> {
    const report = { removedOrphans: [] as string[], markedFailed: [] as string[], finished: [] as string[], envPushed: [] as string[], unattributed: [] as string[], errors: [] as string[] };
    // The engine names its tenants by engine name; rows are matched on that, reported by public id.
    const tenants = await this.engine.listTenants();
    const byEngine = new Map(tenants.map((x) => [x.id, x]));
    // Rows made before servers existed (or tenants Incus moved) get the place they run on.
    const places = new Map((await this.syncServers().catch(() => [])).map((x) => [x.place.key, x.row.id]));
    const rows = this.db.select().from(t.containers).all();
    const rowNames = new Set(rows.map((r) => r.engineName));
    for (const tenant of tenants) {
      if (rowNames.has(tenant.id)) continue;
      // A create of this process between its engine call and its row is not an orphan.
      if (this.inflightOps.has(tenant.labels["hoody.op"] ?? "")) continue;
      if (tenant.labels["hoody.owner"] === "core") {
        await this.engine.deleteTenant(tenant.id).then(
          () => report.removedOrphans.push(tenant.id),
          (e) => report.errors.push(`${tenant.id}: ${(e as Error).message}`),
        );
      } else report.unattributed.push(tenant.id);
    }
    for (const row of rows) {
      const tenant = byEngine.get(row.engineName);
      if (row.status === "deleting") {
        // An erasure interrupted (crash, engine down): finish it, whether or not the engine still has the tenant.
        // One row's failure (or a concurrent DELETE that got there first) must not stop the rest.
        await this.deleteContainer(SYSTEM, row.id).then(
          () => report.finished.push(row.id),
          (e) => report.errors.push(`${row.id}: ${(e as Error).message}`),
        );
        continue;
      }
      if (!tenant) {
        if (row.status !== "failed") {
          this.db.update(t.containers).set({ status: "failed", updatedAt: nowIso() }).where(eq(t.containers.id, row.id)).run();
          report.markedFailed.push(row.id);
        }
        continue;
      }
      const placeId = places.get(this.serverKey(tenant.member));
      if (placeId && row.serverId !== placeId) this.db.update(t.containers).set({ serverId: placeId }).where(eq(t.containers.id, row.id)).run();
      if (row.status === "creating" || row.status === "failed") {
        this.db.update(t.containers).set({ status: engineStatus(tenant) }).where(eq(t.containers.id, row.id)).run();
        report.finished.push(row.id);
      }
      const want = this.env(row.id);
      if (JSON.stringify(sortKeys(want)) !== JSON.stringify(sortKeys(tenant.env))) {
        const patch: Record<string, string | null> = { ...want };
        for (const k of Object.keys(tenant.env)) if (!(k in want)) patch[k] = null;
        await this.engine.updateTenant(row.engineName, { env: patch, restart: false });
        report.envPushed.push(row.id);
      }
    }
    // Mirror the engine's templates (the engine is their source of truth; the table serves queries and the UI).
    const templates = await this.engine.listTemplates();
    this.db.transaction((tx) => {
      // biome-ignore lint/suspicious/noDrizzleDeleteWithoutWhere: the mirror is rewritten whole, in this one transaction.
      tx.delete(t.templates).run();
      for (const tpl of templates) tx.insert(t.templates).values({ name: tpl.name, recipe: tpl.recipe, settings: tpl.settings, createdAt: tpl.createdAt }).run();
    });
    if (Object.values(report).some((v) => v.length)) this.audit(SYSTEM, "reconcile", null, "ok", report);
    return report;
  }
}

/** A container's own idle timeout, else its template's; 0 means never (null). */
function effectiveIdle(row: { template: string; idleTimeoutS: number | null }, templates: { name: string; settings: { idleTimeoutS: number | null } }[]): number | null {
  if (row.idleTimeoutS === 0) return null;
  return row.idleTimeoutS ?? templates.find((x) => x.name === row.template)?.settings.idleTimeoutS ?? null;
}

function sortKeys(o: Record<string, string>) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

export function pagination(total: number, page: number, limit: number) {
  return { total, page, limit, totalPages: Math.max(1, Math.ceil(total / limit)) };
}


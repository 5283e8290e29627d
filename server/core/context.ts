// What every service of server/core shares: the database, the engine, the settings, the clock,
// Idempotency-Keys, create admission, the audit helper, and the row lookups every domain uses.
import { asc, eq, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import * as t from "../db/schema";
import type { Engine } from "../engine/types";
import type { Admission } from "./admission";
import { CoreError, fromEngine, notFound } from "./errors";
import { Idempotency } from "./idempotency";
import { aliasTarget, type IdKind } from "./ids";

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
  /** Warm-pool members per recipe-built template when none is set (HOODY_WARM_POOL_DEFAULT); 0 when absent. */
  warmPoolDefault?: number;
  /** Tenant URLs: https on Caddy's port when it is in front; unset: http on the router's port. */
  publicUrl?: { scheme: "http" | "https"; port: number };
  /** The dashboard's host behind Caddy (Caddy's `ask` says yes to it); unset: none. */
  dashboardHost?: string;
  /** Resolves a custom domain's addresses (injectable for tests); unset: the system resolver. */
  resolveHost?: (name: string) => Promise<string[]>;
  /** The addresses a custom domain must resolve to ("this box"); unset: this machine's non-loopback addresses. */
  boxAddresses?: () => string[];
}

/** Rows of a table (matching `where`): the one count query every service uses. */
export function count(db: Pick<Db, "select">, table: SQLiteTable, where?: SQL): number {
  return db.select({ n: sql<number>`count(*)` }).from(table).where(where).get()?.n ?? 0;
}

export class CoreContext {
  /** Idempotency-Keys: the REST layer runs requests through it, a create claims its key with its row. */
  readonly idempotency: Idempotency;
  /** Set by the reconciler: reconcile as soon as the engine answers again (see Reconciler.healSoon). */
  healSoon: () => void = () => undefined;

  constructor(
    readonly db: Db,
    readonly engine: Engine,
    readonly settings: CoreSettings,
    /** Bounds creates in flight against the engine (N running + M queued, the rest 429). */
    readonly creates: Admission,
    /** The clock of timestamps written (updated_at, delete_at, expiry). */
    readonly clock: () => Date = () => new Date(),
  ) {
    this.idempotency = new Idempotency(db);
  }

  now(): string {
    return this.clock().toISOString();
  }

  /** Creates between their engine call and their row: the reconciler must not take them for orphans. */
  readonly inflightOps = new Set<string>();

  /** Per project, creates not yet in the table: counted against max_containers so a burst cannot exceed it. */
  readonly inflightByProject = new Map<string, number>();

  audit(actor: Actor, action: string, target: string | null, result: string, detail: Record<string, unknown> | null = null): void {
    this.db.insert(t.auditLog).values({ actor: actor.id, action, target, result, detail }).run();
  }

  /**
   * Runs a mutation and records it in the audit log with its outcome, success or failure. `target`
   * may name what the mutation made (a new container): then a failure, which made nothing, is
   * recorded against `failedTarget`.
   */
  async audited<T>(
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

  logStatus(containerId: string, from: string | null, to: string, by: Actor, durationMs?: number, metadata?: Record<string, unknown>): void {
    this.db
      .insert(t.statusLogs)
      .values({ containerId, fromStatus: from, toStatus: to, triggeredBy: by.id, durationMs: durationMs ?? null, metadata: metadata ?? null })
      .run();
  }

  /** The id a request named, or the current id of an old (pre-0006) one; null when neither exists. */
  canonicalId(kind: IdKind, given: string): string | null {
    const table = kind === "project" ? t.projects : t.containers;
    if (this.db.select({ id: table.id }).from(table).where(eq(table.id, given)).get()) return given;
    return aliasTarget(this.db, kind, given);
  }

  /** Looks a project up by its id or an old alias of it (scope is checked on the row found). */
  projectRow(actor: Actor, projectId: string) {
    const pid = this.canonicalId("project", projectId);
    const row = pid === null ? undefined : this.db.select().from(t.projects).where(eq(t.projects.id, pid)).get();
    if (!row || (actor.projectId && actor.projectId !== row.id)) throw notFound("PROJECT", projectId);
    return row;
  }

  /** By its id or an old alias of it: every caller then uses row.id (the database) and row.engineName (the engine). */
  containerRow(actor: Actor, containerId: string) {
    const cid = this.canonicalId("container", containerId);
    const row = cid === null ? undefined : this.db.select().from(t.containers).where(eq(t.containers.id, cid)).get();
    // Another project's container is indistinguishable from a missing one.
    if (!row || (actor.projectId && row.projectId !== actor.projectId)) throw notFound("CONTAINER", containerId);
    return row;
  }

  env(containerId: string): Record<string, string> {
    const rows = this.db.select().from(t.envVars).where(eq(t.envVars.containerId, containerId)).orderBy(asc(t.envVars.key)).all();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  private templateCache: { at: number; list: Awaited<ReturnType<Engine["listTemplates"]>> } | null = null;

  async templatesCached() {
    if (!this.templateCache || Date.now() - this.templateCache.at > 5000) this.templateCache = { at: Date.now(), list: await this.engine.listTemplates() };
    return this.templateCache.list;
  }

  url(label: string): string {
    return this.urlOf(`${label}.${this.settings.domain}`);
  }

  /** A public URL of a host name: the scheme and port tenants are reached at (default ports left out). */
  urlOf(host: string): string {
    const { scheme, port } = this.settings.publicUrl ?? { scheme: "http", port: this.settings.routerPort };
    const shown = port === (scheme === "https" ? 443 : 80) ? "" : `:${port}`;
    return `${scheme}://${host}${shown}/`;
  }

  requireAdmin(actor: Actor): void {
    if (actor.projectId) throw new CoreError(403, "RESOURCE_ACCESS_DENIED", "this needs an admin token");
  }
}

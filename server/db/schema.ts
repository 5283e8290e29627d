// Desired state of the control plane. The host daemon holds the actual state; server/core keeps
// the two in step. Every row that holds a tenant's data is keyed by its container id so a GDPR
// erasure can find and remove all of it.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  alias: text("alias").notNull(),
  maxContainers: integer("max_containers"),
  /**
   * Operator-set ceilings for limits a project token may ask for (memory_mib, cpu_milli, pids,
   * disk_mib, ramdisk_mib); a key not set here is capped at the template's default.
   */
  ceilings: text("ceilings", { mode: "json" }).$type<Record<string, number>>(),
  /** "#RRGGBB" (uppercase), for dashboards; Hoody's clients set and show it. */
  color: text("color"),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
});

export const templates = sqliteTable("templates", {
  name: text("name").primaryKey(),
  recipe: text("recipe"),
  settings: text("settings", { mode: "json" }).notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/**
 * Warm-pool size per template, set by the operator. No row: the default (HOODY_WARM_POOL_DEFAULT for
 * templates built from a recipe, 0 for promoted ones). Not part of `templates`, which the reconciler
 * rewrites from the engine.
 */
export const templatePools = sqliteTable("template_pools", {
  template: text("template").primaryKey(),
  size: integer("size").notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});

export const containers = sqliteTable(
  "containers",
  {
    /** The public id (24 hex, server/core/ids.ts). */
    id: text("id").primaryKey(),
    /**
     * The engine's own name of the tenant (its TenantInfo.id: host daemon and Incus pick `c` + 10
     * hex, short enough for veth and cgroup names). server/core passes only this to the engine.
     */
    engineName: text("engine_name").notNull(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    name: text("name").notNull(),
    /** The DNS label of its URL; unique across the host. */
    label: text("label").notNull(),
    template: text("template").notNull(),
    status: text("status").notNull(),
    ip: text("ip"),
    sourceContainerId: text("source_container_id"),
    comment: text("comment"),
    ramdisk: integer("ramdisk", { mode: "boolean" }).notNull().default(true),
    /** Seconds without requests before the router stops it; null = the template's, 0 = never. */
    idleTimeoutS: integer("idle_timeout_s"),
    /** Requests through the tenant router (flushed from the router every few seconds). */
    requestsTotal: integer("requests_total").notNull().default(0),
    lastRequestAt: text("last_request_at"),
    /** When set, the container is erased (GDPR delete, by the system) at this time: a grace period. */
    deleteAt: text("delete_at"),
    /** Stopped by an operator, the API or a script (billing): the router does not wake it. */
    suspended: integer("suspended", { mode: "boolean" }).notNull().default(false),
    /** "#RRGGBB" (uppercase), for dashboards. */
    color: text("color"),
    /** Started again when the host boots (if it was running when the host went down); false: stays stopped. */
    autostart: integer("autostart", { mode: "boolean" }).notNull().default(true),
    /** Where it runs (servers.id); null only for rows older than the servers table until the reconciler fills it. */
    serverId: text("server_id"),
    /** Hoody's ssh_public_key: the content of the tenant's /root/.ssh/authorized_keys, which Hoody manages. */
    sshPublicKey: text("ssh_public_key"),
    /** The key last written into the tenant (null: none written); differs from sshPublicKey while a change waits for the tenant to run. */
    sshKeyApplied: text("ssh_key_applied"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  // The tenants table pages by its sort (created_at by default, name, updated_at), overall or in a
  // project: without an index per sort SQLite sorts every row for each page (10,000 on a full box).
  (t) => [
    uniqueIndex("containers_label").on(t.label),
    uniqueIndex("containers_engine_name").on(t.engineName),
    index("containers_project").on(t.projectId, t.createdAt),
    index("containers_created").on(t.createdAt),
    index("containers_name").on(t.name),
    index("containers_updated").on(t.updatedAt),
  ],
);

/**
 * Ids from before the public ids became 24 hex (drizzle/0006_public_ids.sql): an old project or
 * container id still finds its row for one release. A GDPR erasure removes its container's alias.
 */
export const idAliases = sqliteTable(
  "id_aliases",
  {
    oldId: text("old_id").primaryKey(),
    kind: text("kind", { enum: ["project", "container"] }).notNull(),
    newId: text("new_id").notNull(),
  },
  (t) => [index("id_aliases_new").on(t.newId)],
);

/**
 * Where tenants can run: this box (host engine) or one row per Incus cluster member, each with a
 * stable 24-hex id (Hoody's server_id) made the first time the place is seen, so it survives restarts.
 */
export const servers = sqliteTable("servers", {
  id: text("id").primaryKey(),
  /** "host" (this box), "incus" (a lone incusd) or "incus:<member name>". */
  key: text("key").notNull().unique(),
  name: text("name").notNull(),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
});

export const envVars = sqliteTable(
  "env_vars",
  {
    containerId: text("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.containerId, t.key] })],
);

export const snapshots = sqliteTable(
  "snapshots",
  {
    containerId: text("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    alias: text("alias"),
    createdAt: text("created_at").notNull().default(now),
    lastUsedAt: text("last_used_at"),
    expiresAt: text("expires_at"),
  },
  (t) => [primaryKey({ columns: [t.containerId, t.name] })],
);

export const firewallRules = sqliteTable(
  "firewall_rules",
  {
    containerId: text("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    rule: text("rule", { mode: "json" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.containerId, t.position] })],
);

/** Customer domains pointed at a tenant: one tenant per name (the hostname is the key), routed by the router, certified by Caddy on demand. */
export const customDomains = sqliteTable(
  "custom_domains",
  {
    hostname: text("hostname").primaryKey(),
    containerId: text("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    /** The addresses it resolved to when it was checked (all of them this box's). */
    addresses: text("addresses", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("custom_domains_container").on(t.containerId)],
);

export const statusLogs = sqliteTable(
  "status_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    containerId: text("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    fromStatus: text("from_status"),
    toStatus: text("to_status").notNull(),
    at: text("at").notNull().default(now),
    durationMs: integer("duration_ms"),
    triggeredBy: text("triggered_by").notNull(),
    metadata: text("metadata", { mode: "json" }),
  },
  (t) => [index("status_logs_container").on(t.containerId)],
);

export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** sha256 of the secret; the secret itself is shown once and never stored. */
  hash: text("hash").notNull().unique(),
  /** First characters, to recognise a token in lists. */
  prefix: text("prefix").notNull(),
  /** null = admin (all projects). */
  projectId: text("project_id").references(() => projects.id, { onDelete: "cascade" }),
  createdAt: text("created_at").notNull().default(now),
  lastUsedAt: text("last_used_at"),
  revokedAt: text("revoked_at"),
});

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull().default(now),
    /** "token:<id>", "operator", "system", "script:<name>". */
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    /** e.g. "container:c123", "project:p1". Never values of env vars or secrets. */
    target: text("target"),
    result: text("result").notNull(),
    detail: text("detail", { mode: "json" }),
  },
  (t) => [index("audit_target").on(t.target), index("audit_at").on(t.at)],
);

export const erasureReceipts = sqliteTable("erasure_receipts", {
  id: text("id").primaryKey(),
  containerId: text("container_id").notNull(),
  projectId: text("project_id").notNull(),
  erasedAt: text("erased_at").notNull().default(now),
  requestedBy: text("requested_by").notNull(),
  erased: text("erased", { mode: "json" }).notNull(),
});

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    key: text("key").notNull(),
    actor: text("actor").notNull(),
    requestHash: text("request_hash").notNull(),
    status: integer("status").notNull(),
    response: text("response").notNull(),
    /** The container the answer is about, so its erasure also erases replays that hold its data. */
    resourceId: text("resource_id"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.actor, t.key] })],
);

export const sessions = sqliteTable("sessions", {
  /** sha256 of the cookie value. */
  id: text("id").primaryKey(),
  createdAt: text("created_at").notNull().default(now),
  expiresAt: text("expires_at").notNull(),
});

export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** Exec scripts' settings and secrets (values set by the operator, never in the script file). */
export const scriptValues = sqliteTable(
  "script_values",
  {
    script: text("script").notNull(),
    kind: text("kind", { enum: ["secret", "setting"] }).notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.script, t.kind, t.key] })],
);

/** One row per script run: what ran, how it ended, how long it took. */
export const scriptRuns = sqliteTable(
  "script_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    script: text("script").notNull(),
    at: text("at").notNull().default(now),
    status: integer("status").notNull(),
    durationMs: integer("duration_ms").notNull(),
    runKey: text("run_key"),
    output: text("output").notNull().default(""),
  },
  (t) => [index("script_runs_script").on(t.script, t.id)],
);

/** run-once results, so a redelivered event (Stripe delivers at least once) does its work once. */
export const scriptOnce = sqliteTable(
  "script_once",
  {
    script: text("script").notNull(),
    key: text("key").notNull(),
    result: text("result").notNull(),
    at: text("at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.script, t.key] })],
);

/**
 * Backup schedules: one per container or per project (a project's covers each of its containers
 * that has none of its own). Every `everyHours` a backup is written and only the `keep` newest of
 * that container are kept. Erasing the container or project removes its schedule.
 */
export const backupSchedules = sqliteTable("backup_schedules", {
  /** "container:<id>" or "project:<id>". */
  target: text("target").primaryKey(),
  containerId: text("container_id").references(() => containers.id, { onDelete: "cascade" }),
  projectId: text("project_id").references(() => projects.id, { onDelete: "cascade" }),
  everyHours: integer("every_hours").notNull(),
  keep: integer("keep").notNull(),
  /** Last run per container: {containerId: ISO time}. */
  lastRuns: text("last_runs", { mode: "json" }).$type<Record<string, string>>().notNull().default(sql`'{}'`),
  createdAt: text("created_at").notNull().default(now),
});

/**
 * Stats history for the tenant page's charts, so they survive restarts: one row per tenant per
 * bucket, `res` seconds wide (15 s rows kept a day, 300 s rows a month; server/core/stats-history.ts).
 * A 5-minute row averages the samples that fell in it (`n` of them); delta and CPU are the last
 * values (a size and a counter). Keyed by container id: the erasure removes them with the tenant.
 */
export const statsSamples = sqliteTable(
  "stats_samples",
  {
    containerId: text("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    res: integer("res").notNull(),
    /** The bucket's start, unix seconds. */
    at: integer("at").notNull(),
    n: integer("n").notNull().default(1),
    deltaBytes: integer("delta_bytes").notNull(),
    memoryBytes: integer("memory_bytes").notNull(),
    ksmBytes: integer("ksm_bytes").notNull(),
    cpuNs: integer("cpu_ns").notNull(),
  },
  (t) => [primaryKey({ columns: [t.containerId, t.res, t.at] }), index("stats_samples_age").on(t.res, t.at)],
);

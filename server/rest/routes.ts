// The REST API's route table: one entry per route with its zod schemas. The dispatcher
// (handler.ts) validates with them and the OpenAPI document (openapi.ts) is generated from them,
// so the two cannot drift. Handlers only translate HTTP into server/core calls.
import { z } from "zod";
import type { Actor, ContainerOperation, Core } from "../core/core";
import {
  AddDomainBody,
  BuildTemplateBody,
  DedupBody,
  CopyContainerBody,
  CreateContainerBody,
  CreateProjectBody,
  ChangeContentQuery,
  ChangesQuery,
  CreateSnapshotBody,
  CreateTokenBody,
  EnvKey,
  EnvRestartQuery,
  ExecBody,
  FirewallDeleteBody,
  FirewallPatchBody,
  FirewallRuleBody,
  ListQuery,
  ProjectDeleteQuery,
  ProjectListQuery,
  PromoteBody,
  PutEnvBody,
  PutEnvKeyBody,
  ScheduleBody,
  StatusLogQuery,
  StopBody,
  UpdateContainerBody,
  UpdateProjectBody,
  WarmPoolSizeBody,
} from "../core/schemas";
import { HistoryRange } from "../core/stats-history";
import { listScripts } from "../exec/files";
import { boundedBody } from "../core/body";
import { downloadResponse } from "./download";
import { CoreError, fromEngine } from "../core/errors";
import { webConfig } from "../config";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What the dispatcher (handler.ts) hands a route: params, body and query already validated. */
export interface RouteContext {
  core: Core;
  actor: Actor;
  /** The request itself, for stream-body routes. A handler may answer with a Response of its own (a download). */
  request: Request;
  params: Record<string, string>;
  body: unknown;
  query: unknown;
}

/** The names of a path's `{param}`s: "/containers/{id}/env/{key}" → "id" | "key". */
type PathParamNames<P extends string> = P extends `${string}{${infer K}}${infer Rest}` ? K | PathParamNames<Rest> : never;
/** What a schema's parse gives the handler; no schema: nothing. */
type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A RouteContext typed by one route's path and schemas. */
export interface TypedRouteContext<P extends string, B, Q> {
  core: Core;
  actor: Actor;
  request: Request;
  params: { [K in PathParamNames<P>]: string };
  body: B;
  query: Q;
}

export interface Route {
  method: Method;
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodType;
  status?: number;
  message: string;
  /**
   * Answers holding secrets or command output are not kept for Idempotency-Key replays: a retry
   * with the key is refused (409) instead of replayed.
   */
  noReplay?: boolean;
  /** The body is not JSON but a byte stream the handler reads itself (from `request`, bounded). */
  streamBody?: boolean;
  /** The handler answers with its own Response (a file download), not an envelope. */
  download?: boolean;
  /** The code of a body the schema refuses (default VALIDATION_ERROR). */
  invalidBodyCode?: string;
  handler: (ctx: RouteContext) => unknown;
}

type RouteSpec<P extends string, B extends z.ZodType | undefined, Q extends z.ZodType | undefined> = Omit<Route, "path" | "body" | "query" | "handler"> & {
  path: P;
  body?: B;
  query?: Q;
  handler: (ctx: TypedRouteContext<P, Parsed<B>, Parsed<Q>>) => unknown;
};

/**
 * One route of the table. Its handler gets the path's params, the parsed body and the parsed query
 * typed from its path template and schemas: the dispatcher matched the path and validated the rest
 * with these same schemas before it calls the handler, so the erased Route type is sound.
 */
export function route<P extends string, B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(spec: RouteSpec<P, B, Q>): Route {
  return spec as unknown as Route;
}

const ImportQuery = z.object({
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{3,100}$/)
    .optional(),
  start: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
});
const PageQuery = z.object({ page: z.coerce.number().int().min(1).default(1), limit: z.coerce.number().int().min(1).max(100).default(20) });
const AuditQuery = PageQuery.extend({ action: z.string().max(100).optional(), target: z.string().max(200).optional(), actor: z.string().max(200).optional() });
/** null removes the alias (the SDK's way to clear it). */
const AliasBody = z
  .object({
    alias: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[\w.-]+$/)
      .nullable(),
  })
  .strict();
const Direction = (p: { direction: string }) => {
  const d = p.direction;
  if (d !== "ingress" && d !== "egress") throw Object.assign(new Error("direction"), { notFound: true });
  return d;
};

/**
 * PUT /env takes `{ environment_vars, restart }` or a bare patch. A bare patch's values are strings
 * or null, so an object under environment_vars means the wrapped form.
 */
type PutEnv = z.output<typeof PutEnvBody>;
const envWrapped = (b: PutEnv): b is Extract<PutEnv, { restart: boolean }> => typeof b.environment_vars === "object" && b.environment_vars !== null;

const OP_SUMMARY: Record<ContainerOperation, string> = {
  start: "Start a stopped container (lifts a suspension)",
  stop: "Stop a running or paused container (suspends it unless wake_on_request)",
  "force-stop": "Kill a running or paused container (suspends it unless wake_on_request)",
  restart: "Restart a container",
  pause: "Pause a running container: freeze its processes (cgroup freezer); its URL answers 503 TENANT_PAUSED until a resume",
  resume: "Resume a paused container",
};

const op = (name: ContainerOperation): Route => {
  const base = { method: "POST", path: `/containers/{id}/${name}`, summary: OP_SUMMARY[name], tag: "Containers", message: `Container ${name} completed` } as const;
  return name === "stop" || name === "force-stop"
    ? route({ ...base, body: StopBody, handler: ({ core, actor, params, body }) => core.lifecycle.operation(actor, params.id, name, { wakeOnRequest: body.wake_on_request }) })
    : route({ ...base, handler: ({ core, actor, params }) => core.lifecycle.operation(actor, params.id, name) });
};

export const routes: Route[] = [
  // ---------------------------------------------------------------- projects
  route({
    method: "GET",
    path: "/projects",
    summary: "List projects (sort_by: id, alias, created_at, updated_at; sort_order)",
    tag: "Projects",
    query: ProjectListQuery,
    message: "Projects retrieved",
    handler: ({ core, actor, query }) => core.projects.list(actor, query),
  }),
  route({
    method: "POST",
    path: "/projects",
    summary: "Create a project",
    tag: "Projects",
    body: CreateProjectBody,
    status: 201,
    message: "Project created successfully",
    handler: ({ core, actor, body }) => core.projects.create(actor, body),
  }),
  route({ method: "GET", path: "/projects/{id}", summary: "Get a project", tag: "Projects", message: "Project retrieved", handler: ({ core, actor, params }) => core.projects.get(actor, params.id) }),
  route({
    method: "PUT",
    path: "/projects/{id}",
    summary: "Update a project",
    tag: "Projects",
    body: UpdateProjectBody,
    message: "Project updated",
    handler: ({ core, actor, params, body }) => core.projects.update(actor, params.id, body),
  }),
  route({
    method: "PATCH",
    path: "/projects/{id}",
    summary: "Update a project",
    tag: "Projects",
    body: UpdateProjectBody,
    message: "Project updated",
    handler: ({ core, actor, params, body }) => core.projects.update(actor, params.id, body),
  }),
  route({
    method: "DELETE",
    path: "/projects/{id}",
    summary: "Delete a project: erases each of its containers (each with its GDPR receipt), then the project; stops at the first failed erasure",
    tag: "Projects",
    query: ProjectDeleteQuery,
    message: "Project deleted",
    handler: ({ core, actor, params, query }) => core.erasure.deleteProject(actor, params.id, { includeDeletedItems: query.include_deleted_items === "true" || query.include_deleted_items === "1" }),
  }),
  route({
    method: "GET",
    path: "/projects/{id}/containers",
    summary: "List a project's containers",
    tag: "Containers",
    query: ListQuery,
    message: "Containers retrieved",
    handler: ({ core, actor, params, query }) => core.containers.list(actor, { ...query, projectId: params.id }),
  }),
  route({
    method: "POST",
    path: "/projects/{id}/containers",
    summary: "Create a container from a template; answers when it runs",
    tag: "Containers",
    body: CreateContainerBody,
    status: 201,
    message: "Container created successfully",
    handler: ({ core, actor, params, body }) => core.provisioning.create(actor, params.id, body),
  }),

  // ---------------------------------------------------------------- servers
  // Hoody's server-rental list/get: here the places tenants can run (this box, or each Incus member), not rentals.
  route({
    method: "GET",
    path: "/servers",
    summary: "Where containers can run: this box, or each Incus cluster member (the server_id create takes)",
    tag: "Servers",
    message: "Servers retrieved",
    handler: ({ core, actor }) => core.servers.list(actor),
  }),
  route({ method: "GET", path: "/servers/{id}", summary: "One server", tag: "Servers", message: "Server retrieved", handler: ({ core, actor, params }) => core.servers.get(actor, params.id) }),

  // ---------------------------------------------------------------- containers
  route({
    method: "GET",
    path: "/containers",
    summary: "List containers",
    tag: "Containers",
    query: ListQuery,
    message: "Containers retrieved",
    handler: ({ core, actor, query }) => core.containers.list(actor, query),
  }),
  route({
    method: "GET",
    path: "/containers/{id}",
    summary: "Get a container with its stats",
    tag: "Containers",
    message: "Container retrieved",
    handler: ({ core, actor, params }) => core.containers.get(actor, params.id),
  }),
  route({
    method: "GET",
    path: "/containers/{id}/stats",
    summary: "A container's stats: cpu, memory, disk, network and processes (the SDK's structure), plus delta disk and KSM",
    tag: "Containers",
    message: "Stats retrieved",
    handler: ({ core, actor, params }) => core.stats.get(actor, params.id),
  }),
  route({
    method: "GET",
    path: "/containers/{id}/stats/history",
    summary: "A container's stats history (delta disk, memory, KSM saved, CPU ns) over range=1h|1d|30d, oldest first; kept across restarts (15 s samples for a day, 5 min for a month)",
    tag: "Containers",
    query: z.object({ range: HistoryRange.default("1h") }),
    message: "Stats history retrieved",
    handler: ({ core, actor, params, query }) => core.stats.history(actor, params.id, query.range),
  }),
  ...(["PATCH", "PUT"] as const).map((method) =>
    route({
      method,
      path: "/containers/{id}",
      summary: "Update a container (env merge: null removes a key; restarts a running one unless restart: false)",
      tag: "Containers",
      body: UpdateContainerBody,
      message: "Container updated",
      handler: async ({ core, actor, params, body }) => {
        const r = await core.lifecycle.update(actor, params.id, body);
        return { ...r.container, restarted: r.restarted };
      },
    }),
  ),
  route({
    method: "DELETE",
    path: "/containers/{id}",
    summary: "Erase a container and all its data (GDPR); answers with the erasure receipt",
    tag: "Containers",
    message: "Container erased",
    handler: ({ core, actor, params }) => core.erasure.deleteContainer(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/copy",
    summary: "Copy a container (latest state or a snapshot) or a template (by name) into a project",
    tag: "Containers",
    body: CopyContainerBody,
    status: 201,
    message: "Container copied successfully",
    // The SDK's copy answer also says which rules were copied.
    handler: async ({ core, actor, params, body }) => ({
      ...(await core.provisioning.copy(actor, params.id, body)),
      copy_firewall_rules: body.copy_firewall_rules,
      copy_network_rules: body.copy_network_rules,
    }),
  }),
  op("start"),
  op("stop"),
  op("force-stop"),
  op("restart"),
  op("pause"),
  op("resume"),
  route({
    method: "GET",
    path: "/containers/{id}/logs",
    summary: "The tail of the app's console output",
    tag: "Containers",
    message: "Logs retrieved",
    handler: ({ core, actor, params }) => core.containers.logs(actor, params.id),
  }),
  route({
    method: "GET",
    path: "/containers/{id}/status-logs",
    summary: "State changes with time and cause (paged; newest first unless sorted otherwise)",
    tag: "Containers",
    query: StatusLogQuery,
    message: "Status logs retrieved",
    handler: ({ core, actor, params, query }) => core.containers.statusLogs(actor, params.id, query),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/exec",
    summary: "Run a command inside the container",
    tag: "Containers",
    body: ExecBody,
    message: "Command executed",
    noReplay: true,
    handler: ({ core, actor, params, body }) => core.lifecycle.exec(actor, params.id, body),
  }),

  // ---------------------------------------------------------------- env
  route({
    method: "GET",
    path: "/containers/{id}/env",
    summary: "A container's env vars",
    tag: "Environment",
    message: "Environment retrieved",
    handler: ({ core, actor, params }) => ({ environment_vars: core.containers.env(actor, params.id) }),
  }),
  route({
    method: "PUT",
    path: "/containers/{id}/env",
    summary: "Merge env vars (null removes a key); new exec sessions see the change at once, the app at its next start (restart: true restarts it now)",
    tag: "Environment",
    body: PutEnvBody,
    message: "Environment updated",
    handler: async ({ core, actor, params, body }) => {
      const patch = envWrapped(body) ? body : { environment_vars: body, restart: false };
      const r = await core.lifecycle.update(actor, params.id, { environment_vars: patch.environment_vars, restart: patch.restart });
      return { environment_vars: r.container.environment_vars, restarted: r.restarted, synced: true };
    },
  }),
  route({
    method: "PUT",
    path: "/containers/{id}/env/{key}",
    summary: "Set one env var",
    tag: "Environment",
    body: PutEnvKeyBody,
    message: "Environment variable set",
    handler: async ({ core, actor, params, body }) => {
      const key = EnvKey.safeParse(params.key);
      const r = await core.lifecycle.update(actor, params.id, { environment_vars: { [key.success ? key.data : params.key]: body.value }, restart: body.restart });
      return { environment_vars: r.container.environment_vars, restarted: r.restarted, synced: true };
    },
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/env/{key}",
    summary: "Remove one env var (idempotent: 200 whether it existed or not)",
    tag: "Environment",
    query: EnvRestartQuery,
    message: "Environment variable removed",
    handler: async ({ core, actor, params, query }) => {
      const r = await core.lifecycle.update(actor, params.id, { environment_vars: { [params.key]: null }, restart: query.restart });
      return { environment_vars: r.container.environment_vars, restarted: r.restarted, synced: true };
    },
  }),

  // ---------------------------------------------------------------- backups
  route({
    method: "GET",
    path: "/containers/{id}/backups",
    summary: "List a container's backups, newest first",
    tag: "Backups",
    message: "Backups retrieved",
    handler: ({ core, actor, params }) => core.backups.list(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/backups",
    summary: "Write a sealed backup (its delta on its template, its snapshots, env, limits, firewall) to the backup directory",
    tag: "Backups",
    status: 201,
    message: "Backup created",
    handler: ({ core, actor, params }) => core.backups.create(actor, params.id),
  }),
  ...(["container", "project"] as const).flatMap((kind) => {
    const path = kind === "container" ? ("/containers/{id}/backup-schedule" as const) : ("/projects/{id}/backup-schedule" as const);
    return [
      route({
        method: "GET",
        path,
        summary: `The ${kind}'s backup schedule`,
        tag: "Backups",
        message: "Backup schedule retrieved",
        handler: ({ core, actor, params }) => core.backups.getSchedule(actor, kind, params.id),
      }),
      route({
        method: "PUT",
        path,
        summary: `Back the ${kind} up every N hours, keeping the K newest backups${kind === "project" ? " (each container without a schedule of its own)" : ""}`,
        tag: "Backups",
        body: ScheduleBody,
        message: "Backup schedule set",
        handler: ({ core, actor, params, body }) => core.backups.setSchedule(actor, kind, params.id, body),
      }),
      route({
        method: "DELETE",
        path,
        summary: `Remove the ${kind}'s backup schedule (its backups stay)`,
        tag: "Backups",
        message: "Backup schedule removed",
        handler: ({ core, actor, params }) => core.backups.deleteSchedule(actor, kind, params.id),
      }),
    ];
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/backups/{backup}",
    summary: "Delete a backup",
    tag: "Backups",
    message: "Backup deleted",
    handler: ({ core, actor, params }) => core.backups.delete(actor, params.id, params.backup),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/backups/{backup}/restore",
    summary: "Restore a backup over its container (stopped and started again if it ran; rolled back on failure)",
    tag: "Backups",
    message: "Backup restored",
    handler: ({ core, actor, params }) => core.backups.restore(actor, params.id, params.backup),
  }),
  route({
    method: "POST",
    path: "/projects/{id}/containers/import",
    summary: "A new container from a backup file (the request body, application/octet-stream; admin token)",
    tag: "Backups",
    query: ImportQuery,
    streamBody: true,
    status: 201,
    message: "Container imported",
    handler: async ({ core, actor, params, query, request }) => {
      try {
        return await core.backups.importFile(actor, params.id, boundedBody(request, webConfig().backupImportMaxMiB * 1024 * 1024), query);
      } catch (e) {
        // A refusal may come before the whole file was read: the connection is not reused for another request.
        const err = fromEngine(e);
        throw new CoreError(err.status, err.code, err.message, err.data, { ...err.headers, connection: "close" });
      }
    },
  }),
  route({
    method: "GET",
    path: "/containers/{id}/export",
    summary: "The customer's own files (not the template's) as a tar (GDPR Art. 20)",
    tag: "Backups",
    download: true,
    message: "Export",
    handler: async ({ core, actor, params }) => {
      const r = await core.backups.exportFiles(actor, params.id);
      return downloadResponse(r.stream, `${r.name}-files.tar`);
    },
  }),

  // ---------------------------------------------------------------- changes (the delta browser)
  route({
    method: "GET",
    path: "/containers/{id}/changes",
    summary: "What the container added, modified and deleted relative to its template (or since the snapshot `compare`): one directory (`path`) of that tree, with per-directory totals (audited)",
    tag: "Changes",
    query: ChangesQuery,
    message: "Changes retrieved",
    handler: ({ core, actor, params, query }) => core.changes.list(actor, params.id, query),
  }),
  route({
    method: "GET",
    path: "/containers/{id}/changes/content",
    summary: "The content of a small UTF-8 text file of the container (up to 64 KiB; never through a symlink) (audited)",
    tag: "Changes",
    query: ChangeContentQuery,
    message: "Content retrieved",
    handler: ({ core, actor, params, query }) => core.changes.content(actor, params.id, query.path),
  }),

  // ---------------------------------------------------------------- snapshots
  route({
    method: "GET",
    path: "/containers/{id}/snapshots",
    summary: "List snapshots (expired ones are removed)",
    tag: "Snapshots",
    message: "Snapshots retrieved",
    handler: ({ core, actor, params }) => core.snapshots.list(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/snapshots",
    summary: "Create a snapshot (an alias reused replaces the older one)",
    tag: "Snapshots",
    body: CreateSnapshotBody,
    status: 201,
    message: "Snapshot created",
    handler: ({ core, actor, params, body }) => core.snapshots.create(actor, params.id, body),
  }),
  ...(["PUT", "PATCH"] as const).map((method) =>
    route({
      method,
      path: "/containers/{id}/snapshots/{name}",
      summary: "Restore a snapshot (by name or alias)",
      tag: "Snapshots",
      message: "Snapshot restored",
      handler: ({ core, actor, params }) => core.snapshots.restore(actor, params.id, params.name),
    }),
  ),
  route({
    method: "DELETE",
    path: "/containers/{id}/snapshots/{name}",
    summary: "Delete a snapshot",
    tag: "Snapshots",
    message: "Snapshot deleted",
    handler: ({ core, actor, params }) => core.snapshots.delete(actor, params.id, params.name),
  }),
  route({
    method: "PUT",
    path: "/containers/{id}/snapshots/{name}/alias",
    summary: "Set a snapshot's alias",
    tag: "Snapshots",
    body: AliasBody,
    message: "Snapshot alias set",
    handler: ({ core, actor, params, body }) => core.snapshots.setAlias(actor, params.id, params.name, body.alias),
  }),

  // ---------------------------------------------------------------- firewall
  route({
    method: "GET",
    path: "/containers/{id}/firewall/rules",
    summary: "Firewall rules (first match wins)",
    tag: "Firewall",
    message: "Firewall rules retrieved",
    handler: ({ core, actor, params }) => core.firewall.get(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/firewall/reset",
    summary: "Reset to the template's rules",
    tag: "Firewall",
    message: "Firewall reset",
    handler: ({ core, actor, params }) => core.firewall.reset(actor, params.id),
  }),
  // Answers 200 (as the SDK types it): a repeat of an existing rule changes nothing and answers that rule with `duplicate_of`.
  route({
    method: "POST",
    path: "/containers/{id}/firewall/{direction}",
    summary: "Append a rule (direction: ingress or egress); a duplicate answers the rule it repeats",
    tag: "Firewall",
    body: FirewallRuleBody,
    invalidBodyCode: "INVALID_FIREWALL_RULE",
    message: "Firewall rule added",
    handler: ({ core, actor, params, body }) => core.firewall.add(actor, params.id, Direction(params), body),
  }),
  route({
    method: "PATCH",
    path: "/containers/{id}/firewall/{direction}",
    summary: "Set the state of the first rule matching the given fields (the SDK's toggle), or change the rule at index",
    tag: "Firewall",
    body: FirewallPatchBody,
    invalidBodyCode: "INVALID_FIREWALL_RULE",
    message: "Firewall rule updated",
    handler: ({ core, actor, params, body }) => core.firewall.toggle(actor, params.id, Direction(params), body),
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/firewall/{direction}",
    summary: "Remove the first rule matching the given fields, every match with all: true (no fields: every rule of the direction), or the rule at index",
    tag: "Firewall",
    body: FirewallDeleteBody,
    invalidBodyCode: "INVALID_FIREWALL_RULE",
    message: "Firewall rule removed",
    handler: ({ core, actor, params, body }) => core.firewall.remove(actor, params.id, Direction(params), body),
  }),

  // ---------------------------------------------------------------- custom domains
  route({
    method: "GET",
    path: "/containers/{id}/domains",
    summary: "Custom domains pointed at the container",
    tag: "Domains",
    message: "Domains retrieved",
    handler: ({ core, actor, params }) => core.domains.list(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/domains",
    summary: "Attach a custom domain (it must already resolve to this server; one container per name)",
    tag: "Domains",
    body: AddDomainBody,
    invalidBodyCode: "INVALID_DOMAIN",
    status: 201,
    message: "Domain attached",
    handler: ({ core, actor, params, body }) => core.domains.add(actor, params.id, body.hostname),
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/domains",
    summary: "Detach a custom domain named in the body",
    tag: "Domains",
    body: AddDomainBody,
    invalidBodyCode: "INVALID_DOMAIN",
    message: "Domain detached",
    handler: ({ core, actor, params, body }) => core.domains.remove(actor, params.id, body.hostname),
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/domains/{hostname}",
    summary: "Detach a custom domain",
    tag: "Domains",
    message: "Domain detached",
    handler: ({ core, actor, params }) => core.domains.remove(actor, params.id, params.hostname),
  }),

  // ---------------------------------------------------------------- templates, tokens, audit
  route({ method: "GET", path: "/templates", summary: "List templates", tag: "Templates", message: "Templates retrieved", handler: async ({ core }) => ({ templates: await core.templates.list() }) }),
  route({
    method: "POST",
    path: "/templates",
    summary: "Build a template from a recipe (admin)",
    tag: "Templates",
    body: BuildTemplateBody,
    status: 201,
    message: "Template built",
    handler: ({ core, actor, body }) => core.templates.build(actor, body),
  }),
  route({
    method: "GET",
    path: "/warm-pool",
    summary: "Each template's warm pool: its size (set or default), members ready and being made, their memory",
    tag: "Templates",
    message: "Warm pools retrieved",
    handler: async ({ core }) => ({ pools: await core.warmPool.list() }),
  }),
  route({
    method: "PUT",
    path: "/warm-pool/{template}",
    summary: "Set a template's warm-pool size (admin; 0 turns it off, null returns to the default)",
    tag: "Templates",
    body: WarmPoolSizeBody,
    message: "Warm pool updated",
    handler: ({ core, actor, params, body }) => core.warmPool.setSize(actor, params.template, body.size),
  }),
  route({
    method: "GET",
    path: "/capacity",
    summary: "What the box has left (admin): tenants, uid ranges, addresses, memory for running ones, pool bytes, warm pools",
    tag: "Servers",
    message: "Capacity retrieved",
    handler: ({ core, actor }) => core.capacity.get(actor),
  }),
  route({
    method: "POST",
    path: "/templates/promote",
    summary: "Promote a container to a template (admin)",
    tag: "Templates",
    body: PromoteBody,
    status: 201,
    message: "Template created",
    handler: ({ core, actor, body }) => core.templates.promote(actor, body),
  }),
  route({ method: "GET", path: "/tokens", summary: "List API tokens (admin)", tag: "Tokens", message: "Tokens retrieved", handler: ({ core, actor }) => ({ tokens: core.tokens.list(actor) }) }),
  route({
    method: "POST",
    path: "/tokens",
    summary: "Create an API token, shown once (admin)",
    tag: "Tokens",
    body: CreateTokenBody,
    status: 201,
    message: "Token created",
    noReplay: true,
    handler: ({ core, actor, body }) => core.tokens.create(actor, body),
  }),
  route({
    method: "DELETE",
    path: "/tokens/{id}",
    summary: "Revoke an API token (admin)",
    tag: "Tokens",
    message: "Token revoked",
    handler: ({ core, actor, params }) => core.tokens.revoke(actor, params.id),
  }),
  route({
    method: "GET",
    path: "/audit",
    summary: "Audit log (admin)",
    tag: "Audit",
    query: AuditQuery,
    message: "Audit log retrieved",
    handler: ({ core, actor, query }) => core.audit.list(actor, query),
  }),
  route({
    method: "POST",
    path: "/dedup",
    summary: "Start a dedup run of the pool, or answer the one in flight (admin)",
    tag: "Dedup",
    body: DedupBody,
    status: 202,
    message: "Dedup run started",
    handler: ({ core, actor, body }) => core.dedup.run(actor, body),
  }),
  route({
    method: "GET",
    path: "/dedup",
    summary: "Dedup status, last runs and bytes after sharing per container (admin)",
    tag: "Dedup",
    message: "Dedup status retrieved",
    handler: ({ core, actor }) => core.dedup.status(actor),
  }),
  route({
    method: "GET",
    path: "/erasure-receipts",
    summary: "GDPR erasure receipts",
    tag: "Audit",
    message: "Receipts retrieved",
    handler: ({ core, actor }) => ({ receipts: core.erasure.receipts(actor) }),
  }),
  route({
    method: "GET",
    path: "/scripts",
    summary: "Exec scripts: files, settings, masked secrets, recent runs (admin)",
    tag: "Scripts",
    message: "Scripts retrieved",
    handler: async ({ core, actor }) => {
      core.tokens.requireAdmin(actor);
      const names = await listScripts();
      return {
        scripts: names.map((name) => ({ name, route: `/exec/${name}`, settings: core.scripts.values(name, "setting"), secrets: core.scripts.maskedSecrets(name) })),
        runs: core.scripts.runs(undefined, 100),
      };
    },
  }),
  ...(["secrets", "settings"] as const).map((kind) =>
    route({
      method: "PUT",
      path: `/scripts/{script}/${kind}`,
      summary: `Merge a script's ${kind} (null removes a key; admin)`,
      tag: "Scripts",
      body: z.record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,100}$/),
        z
          .string()
          .max(16 * 1024)
          .nullable(),
      ),
      message: `Script ${kind} updated`,
      handler: ({ core, actor, params, body }) => {
        core.tokens.requireAdmin(actor);
        core.scripts.setValues(params.script, kind === "secrets" ? "secret" : "setting", body);
        core.audit.record(actor, `script.${kind}`, `script:${params.script}`, "ok", { keys: Object.keys(body) });
        return kind === "secrets" ? { secrets: core.scripts.maskedSecrets(params.script) } : { settings: core.scripts.values(params.script, "setting") };
      },
    }),
  ),
  route({
    method: "POST",
    path: "/reconcile",
    summary: "Reconcile the database with the engine (admin)",
    tag: "System",
    message: "Reconciled",
    handler: ({ core, actor }) => {
      core.tokens.requireAdmin(actor);
      return core.reconciler.reconcile();
    },
  }),
];

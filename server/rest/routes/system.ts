// REST routes: templates, warm pools, tokens, audit, dedup and the rest of the operator surface (see ./route.ts for what a route is).
import { z } from "zod";
import { BuildTemplateBody, DedupBody, CreateTokenBody, PromoteBody, WarmPoolSizeBody } from "../../core/schemas";
import { listScripts } from "../../exec/files";

import { route, type Route } from "./route";

const PageQuery = z.object({ page: z.coerce.number().int().min(1).default(1), limit: z.coerce.number().int().min(1).max(100).default(20) });
const AuditQuery = PageQuery.extend({ action: z.string().max(100).optional(), target: z.string().max(200).optional(), actor: z.string().max(200).optional() });

export const systemRoutes: Route[] = [
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
    handler: async ({ core, actor }) => ({ pools: await core.warmPool.listFor(actor) }),
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

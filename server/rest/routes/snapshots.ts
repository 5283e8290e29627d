// REST routes: the delta browser and snapshots (see ./route.ts for what a route is).
import { z } from "zod";
import { ChangeContentQuery, ChangesQuery, CreateSnapshotBody } from "../../core/schemas";

import { route, type Route } from "./route";

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

export const snapshotRoutes: Route[] = [
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
];

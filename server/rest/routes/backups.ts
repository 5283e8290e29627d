// REST routes: backups, restore, import and export (see ./route.ts for what a route is).
import { z } from "zod";
import { ScheduleBody } from "../../core/schemas";
import { boundedBody } from "../../core/body";
import { downloadResponse } from "../download";
import { CoreError, fromEngine } from "../../core/errors";
import { webConfig } from "../../config";

import { route, type Route } from "./route";

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

export const backupRoutes: Route[] = [
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
];

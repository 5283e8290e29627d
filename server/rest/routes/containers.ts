// REST routes: containers, their operations and env (see ./route.ts for what a route is).
import { z } from "zod";
import type { ContainerOperation } from "../../core/core";
import { CopyContainerBody, EnvKey, EnvRestartQuery, ExecBody, ListQuery, PutEnvBody, PutEnvKeyBody, StatusLogQuery, StopBody, UpdateContainerBody } from "../../core/schemas";
import { HistoryRange } from "../../core/stats-history";

import { route, type Route } from "./route";

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

export const containerRoutes: Route[] = [
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
];

// The REST dispatcher: Web Request in, Hoody envelope out. Validation, auth, idempotency and the
// error envelope live here once; each route is a line in routes.ts calling server/core.
import { STATUS_CODES } from "node:http";
import type { z } from "zod";
import type { Core } from "../core/core";
import { readBody } from "../core/body";
import { CoreError, fromEngine } from "../core/errors";
import { findProtoKey } from "../core/input-guard";
import { assertIdempotencyKey } from "../core/idempotency";
import { BODY_LIMITS } from "../core/limits";
import { ContainerId, EnvKey, ProjectId } from "../core/schemas";
import { isReservedEnvKey } from "../shared/env";
import { issuePointers, issuesText } from "../shared/issues";
import { SNAPSHOT_NAME_RE } from "../shared/protocol";
import { recordApiRequest } from "../metrics/registry";
import { openApiDocument } from "./openapi";
import { routes, type Method, type Route } from "./routes";

const PREFIX = "/api/v1";

interface Compiled {
  route: Route;
  re: RegExp;
  names: string[];
}
const compiled: Compiled[] = routes.map((route) => {
  const names: string[] = [];
  const re = new RegExp(
    `^${route.path.replace(/\{(\w+)\}/g, (_, n: string) => {
      names.push(n);
      return "([^/]+)";
    })}$`,
  );
  return { route, re, names };
});

/** Path parameters are checked before anything runs: a malformed id is simply not found. */
function checkParams(route: Route, params: Record<string, string>): void {
  for (const [k, v] of Object.entries(params)) {
    if (k === "id" && route.path.startsWith("/containers/{id}/copy")) {
      if (!/^[a-zA-Z0-9_-]{1,100}$/.test(v)) throw new CoreError(404, "CONTAINER_NOT_FOUND", "container or template not found");
    } else if (k === "id" && route.path.startsWith("/containers")) {
      if (!ContainerId.safeParse(v).success) throw new CoreError(404, "CONTAINER_NOT_FOUND", `container ${v.slice(0, 64)} not found`);
    } else if (k === "id" && route.path.startsWith("/projects")) {
      if (!ProjectId.safeParse(v).success) throw new CoreError(404, "PROJECT_NOT_FOUND", `project ${v.slice(0, 64)} not found`);
    } else if (k === "id" && route.path.startsWith("/servers")) {
      if (!/^[0-9a-f]{24}$/.test(v)) throw new CoreError(404, "SERVER_NOT_FOUND", `server ${v.slice(0, 64)} not found`);
    } else if (k === "id" && route.path.startsWith("/tokens")) {
      if (!/^k[a-z0-9]{10}$/.test(v)) throw new CoreError(404, "TOKEN_NOT_FOUND", "token not found");
    } else if (k === "name") {
      if (!SNAPSHOT_NAME_RE.test(v) && !/^[\w.-]{1,100}$/.test(v)) throw new CoreError(404, "SNAPSHOT_NOT_FOUND", "snapshot not found");
    } else if (k === "key") {
      if (!EnvKey.safeParse(v).success) throw new CoreError(422, "INVALID_ENV_KEY", "keys match ^[A-Za-z_][A-Za-z0-9_]*$");
      if (isReservedEnvKey(v)) throw new CoreError(422, "RESERVED_ENV_PREFIX", "the HOODY_ prefix is reserved");
    } else if (k === "script") {
      if (!/^[A-Za-z0-9._\-/[\]]{1,200}$/.test(v) || v.split("/").some((seg) => seg === ".." || seg === "." || seg === "")) throw new CoreError(404, "SCRIPT_NOT_FOUND", "no such script");
    } else if (k === "direction") {
      if (v !== "ingress" && v !== "egress") throw new CoreError(404, "ROUTE_NOT_FOUND", "direction is ingress or egress");
    }
  }
}

function validation(e: z.ZodError, code = "VALIDATION_ERROR"): CoreError {
  const data = issuePointers(e.issues);
  // An env key problem gets Hoody's specific code.
  const envKey = e.issues.find((i) => i.path[0] === "environment_vars" && (i.code === "invalid_key" || String(i.message).includes("keys match")));
  return new CoreError(422, envKey ? "INVALID_ENV_KEY" : code, issuesText(e.issues).slice(0, 2000), data);
}

export function envelope(status: number, message: string, data: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ statusCode: status, message, data }), { status, headers: { "content-type": "application/json", ...headers } });
}

export function errorResponse(e: unknown): Response {
  const err = fromEngine(e);
  if (err.status >= 500) console.error(`[rest] ${err.code}: ${err.message}`);
  const body = {
    statusCode: err.status,
    error: STATUS_CODES[err.status] ?? "Error",
    message: err.status >= 500 && err.code === "INTERNAL_ERROR" ? "internal error" : err.message,
    code: err.code,
    data: err.data,
  };
  return new Response(JSON.stringify(body), { status: err.status, headers: { "content-type": "application/json", ...err.headers } });
}

/** Dispatches and records the request's latency and any error under its route template (hoody_api_* on /metrics). */
export async function handleRest(core: Core, req: Request): Promise<Response> {
  const t0 = performance.now();
  const seen: Seen = { route: "unmatched", code: null };
  const res = await dispatch(core, req, seen);
  recordApiRequest(req.method.toUpperCase(), seen.route, res.status, seen.code, (performance.now() - t0) / 1000);
  return res;
}

/** What a request turned out to be, for its metrics: the route template it matched and the error code it got. */
interface Seen {
  route: string;
  code: string | null;
}

async function dispatch(core: Core, req: Request, seen: Seen): Promise<Response> {
  try {
    const url = new URL(req.url);
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) || "/" : url.pathname;
    const method = req.method.toUpperCase() as Method;
    if (path === "/openapi.json" && method === "GET") {
      seen.route = "/openapi.json";
      return Response.json(openApiDocument());
    }
    let match: { c: Compiled; params: Record<string, string> } | null = null;
    let pathKnown = false;
    for (const c of compiled) {
      const m = c.re.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (c.route.method !== method) continue;
      const params: Record<string, string> = {};
      let ok = true;
      c.names.forEach((n, i) => {
        try {
          params[n] = decodeURIComponent(m[i + 1]!);
        } catch {
          ok = false;
        }
      });
      if (!ok) throw new CoreError(404, "ROUTE_NOT_FOUND", "malformed path");
      match = { c, params };
      break;
    }
    if (!match) {
      throw pathKnown ? new CoreError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed here`) : new CoreError(404, "ROUTE_NOT_FOUND", `no route ${method} ${path.slice(0, 200)}`);
    }
    const { route } = match.c;
    seen.route = route.path;
    const actor = core.tokens.authenticate(req.headers.get("authorization"));
    checkParams(route, match.params);
    // Scope before content: another project's container is a 404 whatever the body says.
    // Its current id: an old (pre-0006) id in the path is an alias of it.
    const containerId = route.path.startsWith("/containers/{id}") && !route.path.endsWith("/copy") ? core.containers.assertVisible(actor, match.params.id!) : null;

    let query: unknown;
    if (route.query) {
      const q = route.query.safeParse(Object.fromEntries(url.searchParams));
      if (!q.success) throw validation(q.error);
      query = q.data;
    }
    const raw = route.streamBody ? "" : (await readBody(req, BODY_LIMITS.rest)).toString("utf8");
    let body: unknown;
    if (route.body) {
      const ct = req.headers.get("content-type");
      if (raw && ct && !/^application\/(.+\+)?json\b/i.test(ct)) throw new CoreError(415, "UNSUPPORTED_MEDIA_TYPE", "send application/json");
      let parsed: unknown = {};
      if (raw.trim()) {
        try {
          parsed = JSON.parse(raw);
        } catch {
          throw new CoreError(422, "INVALID_JSON", "the body is not valid JSON");
        }
      }
      const proto = findProtoKey(parsed);
      if (proto)
        throw new CoreError(
          422,
          route.path.endsWith("/env") || proto.startsWith("/environment_vars/") ? "INVALID_ENV_KEY" : (route.invalidBodyCode ?? "VALIDATION_ERROR"),
          `${proto}: "__proto__" is not an accepted key`,
          [{ instancePath: proto, message: "not an accepted key" }],
        );
      const b = route.body.safeParse(parsed);
      if (!b.success) throw validation(b.error, route.invalidBodyCode);
      body = b.data;
    }

    const status = route.status ?? 200;
    const answer = (data: unknown, resourceId: string | null) => ({ status, body: JSON.stringify({ statusCode: status, message: route.message, data: data ?? null }), resourceId });
    const run = async () => {
      const data = await route.handler({ core, actor, params: match.params, body, query, request: req });
      // The container the answer is about (its erasure erases the replay): the one a create or copy made, else the path's.
      const creates = method === "POST" && (route.path === "/projects/{id}/containers" || route.path === "/containers/{id}/copy");
      const resourceId = creates && data && typeof data === "object" && "id" in data && typeof data.id === "string" ? data.id : containerId;
      return answer(data, resourceId);
    };
    const key = req.headers.get("idempotency-key");
    // A replay is keyed by the body; a streamed body is not kept, so a retry could not be told apart from another file.
    if (route.streamBody && key !== null) {
      assertIdempotencyKey(key);
      throw new CoreError(422, "IDEMPOTENCY_KEY_NOT_ACCEPTED", "this route takes a streamed file and no Idempotency-Key");
    }
    if (method === "POST" && key !== null) {
      // A create whose answer was lost to a crash: answer with the container it made.
      const answerFor = async (id: string) => {
        const data = await core.containers.get(actor, id).catch(() => null);
        return data && answer(data, id);
      };
      const r = await core.idempotency.run(actor.id, key, `${method} ${path}\n${raw}`, run, !route.noReplay, answerFor);
      return new Response(r.body, { status: r.status, headers: { "content-type": "application/json", ...(r.replayed && { "idempotent-replayed": "true" }) } });
    }
    if (route.download) {
      // The handler's own Response (a stream), never an envelope.
      const res = await route.handler({ core, actor, params: match.params, body, query, request: req });
      if (!(res instanceof Response)) throw new CoreError(500, "INTERNAL_ERROR", "a download route answered no stream");
      return res;
    }
    const r = await run();
    return new Response(r.body, { status: r.status, headers: { "content-type": "application/json" } });
  } catch (e) {
    const err = fromEngine(e);
    seen.code = err.code;
    return errorResponse(err);
  }
}

// The REST API's route table, one module per domain: each entry with its zod schemas. The dispatcher
// (handler.ts) validates with them and the OpenAPI document (openapi.ts) is generated from them,
// so the two cannot drift. Handlers only translate HTTP into server/core calls. This module: what a
// route is, and the typed route() helper.
import type { z } from "zod";
import type { Actor, Core } from "../../core/core";

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

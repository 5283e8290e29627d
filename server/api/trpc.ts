// tRPC set up once (create-t3-app's shape): context, router/procedure builders, and an
// adminProcedure narrowed to signed-in operators. CoreErrors become TRPCErrors with their code kept.
import { initTRPC, TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import superjson from "superjson";
import type { OperatorAuth } from "../core/auth";
import type { Actor, Core } from "../core/core";
import { CoreError, fromEngine, isCoreError } from "../core/errors";
import { findProtoKey } from "../core/input-guard";
import { recordApiRequest } from "../metrics/registry";

export interface TRPCContext {
  core: Core;
  auth: OperatorAuth;
  actor: Actor | null;
  /** The session cookie, for operations that must keep it (password change). */
  sessionCookie: string | null;
}

/**
 * superjson, but an input holding a "__proto__" key is refused before superjson and zod drop the key
 * without a word (see input-guard.ts): the same 422 the REST API answers.
 */
const transformer = {
  input: {
    serialize: (value: unknown) => superjson.serialize(value),
    deserialize: (wire: unknown) => {
      const at = findProtoKey(wire);
      if (at) {
        const where = at.replace(/^\/json/, "") || "/";
        const cause = new CoreError(422, "VALIDATION_ERROR", `${where}: "__proto__" is not an accepted key`);
        throw new TRPCError({ code: "UNPROCESSABLE_CONTENT", message: cause.message, cause });
      }
      return superjson.deserialize(wire as Parameters<typeof superjson.deserialize>[0]);
    },
  },
  output: superjson,
};

const t = initTRPC.context<TRPCContext>().create({
  transformer,
  errorFormatter({ shape, error }) {
    const cause = isCoreError(error.cause) ? error.cause : null;
    return { ...shape, data: { ...shape.data, hoodyCode: cause?.code ?? null, details: cause?.data ?? null } };
  },
});

const STATUS_TO_CODE: Record<number, TRPCError["code"]> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

/** Every procedure maps service-layer errors to tRPC's codes, keeping Hoody's code in `cause`. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && !(result.error.cause instanceof TRPCError)) {
    const cause = result.error.cause;
    if (isCoreError(cause) || (cause && !(cause instanceof TRPCError) && result.error.code === "INTERNAL_SERVER_ERROR")) {
      const err = fromEngine(cause);
      throw new TRPCError({ code: STATUS_TO_CODE[err.status] ?? "INTERNAL_SERVER_ERROR", message: err.message, cause: err });
    }
  }
  return result;
});

/**
 * The dashboard's calls in the API's metrics: route `trpc:<procedure>` (a name from the router,
 * never input), the HTTP status tRPC answers with and Hoody's error code.
 */
const observe = t.middleware(async ({ path, type, next }) => {
  const t0 = performance.now();
  const result = await next();
  const code = result.ok ? null : isCoreError(result.error.cause) ? result.error.cause.code : result.error.code;
  recordApiRequest(type === "query" ? "GET" : "POST", `trpc:${path}`, result.ok ? 200 : getHTTPStatusCodeFromError(result.error), code, (performance.now() - t0) / 1000);
  return result;
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(observe).use(mapErrors);

/** Signed-in operators only. */
export const adminProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  return next({ ctx: { ...ctx, actor: ctx.actor } });
});

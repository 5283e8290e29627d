// tRPC set up once (create-t3-app's shape): context, router/procedure builders, and an
// adminProcedure narrowed to signed-in operators. CoreErrors become TRPCErrors with their code kept.
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { OperatorAuth } from "../core/auth";
import type { Actor, Core } from "../core/core";
import { fromEngine, isCoreError } from "../core/errors";

export interface TRPCContext {
  core: Core;
  auth: OperatorAuth;
  actor: Actor | null;
  /** The session cookie, for operations that must keep it (password change). */
  sessionCookie: string | null;
}

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
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

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapErrors);

/** Signed-in operators only. */
export const adminProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  return next({ ctx: { ...ctx, actor: ctx.actor } });
});

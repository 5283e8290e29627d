import { z } from "zod";
import { BuildTemplateBody, CreateTokenBody, DedupBody, PromoteBody, TemplateName, WarmPoolSizeBody } from "../../core/schemas";
import { adminProcedure, createTRPCRouter, publicProcedure } from "../trpc";

export const templatesRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ctx.core.templates.list()),
  build: adminProcedure.input(BuildTemplateBody).mutation(({ ctx, input }) => ctx.core.templates.build(ctx.actor, input)),
  promote: adminProcedure.input(PromoteBody).mutation(({ ctx, input }) => ctx.core.templates.promote(ctx.actor, input)),
  get: adminProcedure.input(z.object({ name: TemplateName })).query(async ({ ctx, input }) => (await ctx.core.templates.list()).find((t) => t.name === input.name) ?? null),
  pools: adminProcedure.query(({ ctx }) => ctx.core.warmPool.list()),
  setPool: adminProcedure.input(WarmPoolSizeBody.extend({ template: TemplateName })).mutation(({ ctx, input }) => ctx.core.warmPool.setSize(ctx.actor, input.template, input.size)),
});

export const tokensRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ctx.core.tokens.list(ctx.actor)),
  create: adminProcedure.input(CreateTokenBody).mutation(({ ctx, input }) => ctx.core.tokens.create(ctx.actor, input)),
  revoke: adminProcedure.input(z.object({ id: z.string().regex(/^k[a-z0-9]{10}$/) })).mutation(({ ctx, input }) => ctx.core.tokens.revoke(ctx.actor, input.id)),
});

export const auditRouter = createTRPCRouter({
  list: adminProcedure
    .input(
      z.object({
        page: z.number().int().min(1).default(1),
        limit: z.number().int().min(1).max(100).default(50),
        action: z.string().max(100).optional(),
        target: z.string().max(200).optional(),
        actor: z.string().max(200).optional(),
      }),
    )
    .query(({ ctx, input }) => ctx.core.audit.list(ctx.actor, input)),
  receipts: adminProcedure.query(({ ctx }) => ctx.core.erasure.receipts(ctx.actor)),
});

export const serversRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ctx.core.servers.list(ctx.actor)),
});

export const hostRouter = createTRPCRouter({
  overview: adminProcedure.query(({ ctx }) => ctx.core.stats.overview()),
  capacity: adminProcedure.query(({ ctx }) => ctx.core.capacity.get(ctx.actor)),
  reconcile: adminProcedure.mutation(({ ctx }) => ctx.core.reconciler.reconcile()),
});

export const authRouter = createTRPCRouter({
  /** Whether this request carries an operator session (the UI's guard). */
  me: publicProcedure.query(({ ctx }) => ({ signedIn: ctx.actor !== null })),
  changePassword: adminProcedure.input(z.object({ current: z.string().min(1).max(200), next: z.string().min(12).max(200) })).mutation(({ ctx, input }) => {
    ctx.auth.changePassword(input.current, input.next, ctx.sessionCookie);
    ctx.core.audit.record(ctx.actor, "operator.password", null, "ok");
    return { changed: true };
  }),
});

export const dedupRouter = createTRPCRouter({
  status: adminProcedure.query(({ ctx }) => ctx.core.dedup.status(ctx.actor)),
  run: adminProcedure.input(DedupBody).mutation(({ ctx, input }) => ctx.core.dedup.run(ctx.actor, input)),
});

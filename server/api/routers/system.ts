import { z } from "zod";
import { BuildTemplateBody, CreateTokenBody, PromoteBody, TemplateName } from "../../core/schemas";
import { adminProcedure, createTRPCRouter, publicProcedure } from "../trpc";

export const templatesRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ctx.core.listTemplates()),
  build: adminProcedure.input(BuildTemplateBody).mutation(({ ctx, input }) => ctx.core.buildTemplate(ctx.actor, input)),
  promote: adminProcedure.input(PromoteBody).mutation(({ ctx, input }) => ctx.core.promote(ctx.actor, input)),
  get: adminProcedure.input(z.object({ name: TemplateName })).query(async ({ ctx, input }) => (await ctx.core.listTemplates()).find((t) => t.name === input.name) ?? null),
});

export const tokensRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ctx.core.listTokens(ctx.actor)),
  create: adminProcedure.input(CreateTokenBody).mutation(({ ctx, input }) => ctx.core.createToken(ctx.actor, input)),
  revoke: adminProcedure.input(z.object({ id: z.string().regex(/^k[a-z0-9]{10}$/) })).mutation(({ ctx, input }) => ctx.core.revokeToken(ctx.actor, input.id)),
});

export const auditRouter = createTRPCRouter({
  list: adminProcedure
    .input(z.object({ page: z.number().int().min(1).default(1), limit: z.number().int().min(1).max(100).default(50), action: z.string().max(100).optional(), target: z.string().max(200).optional(), actor: z.string().max(200).optional() }))
    .query(({ ctx, input }) => ctx.core.listAudit(ctx.actor, input)),
  receipts: adminProcedure.query(({ ctx }) => ctx.core.listReceipts(ctx.actor)),
});

export const serversRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ctx.core.listServers(ctx.actor)),
});

export const hostRouter = createTRPCRouter({
  overview: adminProcedure.query(({ ctx }) => ctx.core.overview()),
  reconcile: adminProcedure.mutation(({ ctx }) => ctx.core.reconcile()),
});

export const authRouter = createTRPCRouter({
  /** Whether this request carries an operator session (the UI's guard). */
  me: publicProcedure.query(({ ctx }) => ({ signedIn: ctx.actor !== null })),
  changePassword: adminProcedure
    .input(z.object({ current: z.string().min(1).max(200), next: z.string().min(12).max(200) }))
    .mutation(({ ctx, input }) => {
      ctx.auth.changePassword(input.current, input.next, ctx.sessionCookie);
      ctx.core.audit(ctx.actor, "operator.password", null, "ok");
      return { changed: true };
    }),
});

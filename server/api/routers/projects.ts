import { z } from "zod";
import { CreateProjectBody, ProjectId, UpdateProjectBody } from "../../core/schemas";
import { adminProcedure, createTRPCRouter } from "../trpc";

export const projectsRouter = createTRPCRouter({
  list: adminProcedure
    .input(z.object({ page: z.number().int().min(1).default(1), limit: z.number().int().min(1).max(100).default(100) }).default({ page: 1, limit: 100 }))
    .query(({ ctx, input }) => ctx.core.projects.list(ctx.actor, input)),
  get: adminProcedure.input(z.object({ id: ProjectId })).query(({ ctx, input }) => ctx.core.projects.get(ctx.actor, input.id)),
  create: adminProcedure.input(CreateProjectBody).mutation(({ ctx, input }) => ctx.core.projects.create(ctx.actor, input)),
  update: adminProcedure.input(UpdateProjectBody.extend({ id: ProjectId })).mutation(({ ctx, input }) => {
    const { id, ...body } = input;
    return ctx.core.projects.update(ctx.actor, id, body);
  }),
  delete: adminProcedure.input(z.object({ id: ProjectId })).mutation(({ ctx, input }) => ctx.core.erasure.deleteProject(ctx.actor, input.id, { includeDeletedItems: true })),
});

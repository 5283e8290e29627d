import { z } from "zod";
import { CreateProjectBody, ProjectId, UpdateProjectBody } from "../../core/schemas";
import { adminProcedure, createTRPCRouter } from "../trpc";

export const projectsRouter = createTRPCRouter({
  list: adminProcedure
    .input(z.object({ page: z.number().int().min(1).default(1), limit: z.number().int().min(1).max(100).default(100) }).default({ page: 1, limit: 100 }))
    .query(({ ctx, input }) => ctx.core.listProjects(ctx.actor, input)),
  get: adminProcedure.input(z.object({ id: ProjectId })).query(({ ctx, input }) => ctx.core.getProject(ctx.actor, input.id)),
  create: adminProcedure.input(CreateProjectBody).mutation(({ ctx, input }) => ctx.core.createProject(ctx.actor, input)),
  update: adminProcedure.input(UpdateProjectBody.extend({ id: ProjectId })).mutation(({ ctx, input }) => {
    const { id, ...body } = input;
    return ctx.core.updateProject(ctx.actor, id, body);
  }),
  delete: adminProcedure.input(z.object({ id: ProjectId })).mutation(({ ctx, input }) => ctx.core.deleteProject(ctx.actor, input.id, { includeDeletedItems: true })),
});

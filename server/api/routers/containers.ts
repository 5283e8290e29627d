import { z } from "zod";
import {
  ContainerId,
  CopyContainerBody,
  CreateContainerBody,
  CreateSnapshotBody,
  ExecBody,
  FirewallRuleBody,
  ListQuery,
  ProjectId,
  SnapshotName,
  UpdateContainerBody,
} from "../../core/schemas";
import { adminProcedure, createTRPCRouter } from "../trpc";

const Id = z.object({ id: ContainerId });
const Direction = z.enum(["ingress", "egress"]);

export const containersRouter = createTRPCRouter({
  list: adminProcedure.input(ListQuery.extend({ projectId: ProjectId.optional() })).query(({ ctx, input }) => ctx.core.listContainers(ctx.actor, input)),
  get: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.getContainer(ctx.actor, input.id)),
  create: adminProcedure.input(CreateContainerBody.extend({ projectId: ProjectId })).mutation(({ ctx, input }) => {
    const { projectId, ...body } = input;
    return ctx.core.createContainer(ctx.actor, projectId, body);
  }),
  copy: adminProcedure.input(CopyContainerBody.extend({ sourceId: z.string().regex(/^[a-zA-Z0-9_-]{1,100}$/) })).mutation(({ ctx, input }) => {
    const { sourceId, ...body } = input;
    return ctx.core.copyContainer(ctx.actor, sourceId, body);
  }),
  update: adminProcedure.input(UpdateContainerBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => {
    const { id, ...body } = input;
    return ctx.core.updateContainer(ctx.actor, id, body);
  }),
  operation: adminProcedure
    .input(Id.extend({ op: z.enum(["start", "stop", "force-stop", "restart", "pause", "resume"]) }))
    .mutation(({ ctx, input }) => ctx.core.operation(ctx.actor, input.id, input.op)),
  delete: adminProcedure.input(Id).mutation(({ ctx, input }) => ctx.core.deleteContainer(ctx.actor, input.id)),
  exec: adminProcedure.input(ExecBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => ctx.core.exec(ctx.actor, input.id, input)),
  logs: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.logs(ctx.actor, input.id)),
  statsHistory: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.statsHistory(ctx.actor, input.id)),
  statusLogs: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.statusLogs(ctx.actor, input.id)),
  snapshots: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.listSnapshots(ctx.actor, input.id)),
  createSnapshot: adminProcedure.input(CreateSnapshotBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => {
    const { id, ...body } = input;
    return ctx.core.createSnapshot(ctx.actor, id, body);
  }),
  restoreSnapshot: adminProcedure.input(Id.extend({ name: SnapshotName })).mutation(({ ctx, input }) => ctx.core.restoreSnapshot(ctx.actor, input.id, input.name)),
  deleteSnapshot: adminProcedure.input(Id.extend({ name: SnapshotName })).mutation(({ ctx, input }) => ctx.core.deleteSnapshot(ctx.actor, input.id, input.name)),
  firewall: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.getFirewall(ctx.actor, input.id)),
  addRule: adminProcedure.input(FirewallRuleBody.extend({ id: ContainerId, direction: Direction })).mutation(({ ctx, input }) => {
    const { id, direction, ...rule } = input;
    return ctx.core.addRule(ctx.actor, id, direction, rule);
  }),
  patchRule: adminProcedure
    .input(FirewallRuleBody.partial().extend({ id: ContainerId, direction: Direction, index: z.number().int().min(0) }))
    .mutation(({ ctx, input }) => {
      const { id, direction, index, ...rule } = input;
      return ctx.core.patchRule(ctx.actor, id, direction, index, rule);
    }),
  deleteRule: adminProcedure
    .input(Id.extend({ direction: Direction, index: z.number().int().min(0) }))
    .mutation(({ ctx, input }) => ctx.core.deleteRule(ctx.actor, input.id, input.direction, input.index)),
  resetFirewall: adminProcedure.input(Id).mutation(({ ctx, input }) => ctx.core.resetFirewall(ctx.actor, input.id)),
});

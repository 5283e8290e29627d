import { z } from "zod";
import {
  AddDomainBody,
  ChangeContentQuery,
  ChangesQuery,
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
import { HistoryRange } from "../../core/stats-history";

const Id = z.object({ id: ContainerId });
const Direction = z.enum(["ingress", "egress"]);

export const containersRouter = createTRPCRouter({
  list: adminProcedure.input(ListQuery.extend({ projectId: ProjectId.optional() })).query(({ ctx, input }) => ctx.core.containers.list(ctx.actor, input)),
  get: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.containers.get(ctx.actor, input.id)),
  create: adminProcedure.input(CreateContainerBody.extend({ projectId: ProjectId })).mutation(({ ctx, input }) => {
    const { projectId, ...body } = input;
    return ctx.core.provisioning.create(ctx.actor, projectId, body);
  }),
  copy: adminProcedure.input(CopyContainerBody.extend({ sourceId: z.string().regex(/^[a-zA-Z0-9_-]{1,100}$/) })).mutation(({ ctx, input }) => {
    const { sourceId, ...body } = input;
    return ctx.core.provisioning.copy(ctx.actor, sourceId, body);
  }),
  update: adminProcedure.input(UpdateContainerBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => {
    const { id, ...body } = input;
    return ctx.core.lifecycle.update(ctx.actor, id, body);
  }),
  operation: adminProcedure
    .input(Id.extend({ op: z.enum(["start", "stop", "force-stop", "restart", "pause", "resume"]) }))
    .mutation(({ ctx, input }) => ctx.core.lifecycle.operation(ctx.actor, input.id, input.op)),
  delete: adminProcedure.input(Id).mutation(({ ctx, input }) => ctx.core.erasure.deleteContainer(ctx.actor, input.id)),
  exec: adminProcedure.input(ExecBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => ctx.core.lifecycle.exec(ctx.actor, input.id, input)),
  logs: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.containers.logs(ctx.actor, input.id)),
  statsHistory: adminProcedure.input(Id.extend({ range: HistoryRange.default("1h") })).query(({ ctx, input }) => ctx.core.stats.history(ctx.actor, input.id, input.range)),
  statusLogs: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.containers.statusLogs(ctx.actor, input.id)),
  snapshots: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.snapshots.list(ctx.actor, input.id)),
  createSnapshot: adminProcedure.input(CreateSnapshotBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => {
    const { id, ...body } = input;
    return ctx.core.snapshots.create(ctx.actor, id, body);
  }),
  restoreSnapshot: adminProcedure.input(Id.extend({ name: SnapshotName })).mutation(({ ctx, input }) => ctx.core.snapshots.restore(ctx.actor, input.id, input.name)),
  deleteSnapshot: adminProcedure.input(Id.extend({ name: SnapshotName })).mutation(({ ctx, input }) => ctx.core.snapshots.delete(ctx.actor, input.id, input.name)),
  /** The delta browser (audited: every listing and content view). */
  changes: adminProcedure.input(ChangesQuery.extend({ id: ContainerId })).query(({ ctx, input }) => {
    const { id, ...query } = input;
    return ctx.core.changes.list(ctx.actor, id, query);
  }),
  changeContent: adminProcedure.input(ChangeContentQuery.extend({ id: ContainerId })).query(({ ctx, input }) => ctx.core.changes.content(ctx.actor, input.id, input.path)),
  firewall: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.firewall.get(ctx.actor, input.id)),
  addRule: adminProcedure.input(FirewallRuleBody.extend({ id: ContainerId, direction: Direction })).mutation(({ ctx, input }) => {
    const { id, direction, ...rule } = input;
    return ctx.core.firewall.add(ctx.actor, id, direction, rule);
  }),
  patchRule: adminProcedure.input(FirewallRuleBody.partial().extend({ id: ContainerId, direction: Direction, index: z.number().int().min(0) })).mutation(({ ctx, input }) => {
    const { id, direction, index, ...rule } = input;
    return ctx.core.firewall.patch(ctx.actor, id, direction, index, rule);
  }),
  deleteRule: adminProcedure
    .input(Id.extend({ direction: Direction, index: z.number().int().min(0) }))
    .mutation(({ ctx, input }) => ctx.core.firewall.delete(ctx.actor, input.id, input.direction, input.index)),
  resetFirewall: adminProcedure.input(Id).mutation(({ ctx, input }) => ctx.core.firewall.reset(ctx.actor, input.id)),
  domains: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.domains.list(ctx.actor, input.id)),
  addDomain: adminProcedure.input(AddDomainBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => ctx.core.domains.add(ctx.actor, input.id, input.hostname)),
  removeDomain: adminProcedure.input(Id.extend({ hostname: z.string().min(1).max(253) })).mutation(({ ctx, input }) => ctx.core.domains.remove(ctx.actor, input.id, input.hostname)),
});

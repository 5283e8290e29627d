// The dashboard's backups tab: the same core calls as the REST routes (the export download and the
// import upload are plain HTTP: app/api/export/[id]/route.ts and REST's import).
import { z } from "zod";
import { ContainerId, ScheduleBody } from "../../core/schemas";
import { BACKUP_ID_RE } from "../../shared/host-api";
import { adminProcedure, createTRPCRouter } from "../trpc";

const Id = z.object({ id: ContainerId });
const Backup = Id.extend({ backup: z.string().regex(BACKUP_ID_RE) });

export const backupsRouter = createTRPCRouter({
  list: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.backups.list(ctx.actor, input.id)),
  create: adminProcedure.input(Id).mutation(({ ctx, input }) => ctx.core.backups.create(ctx.actor, input.id)),
  restore: adminProcedure.input(Backup).mutation(({ ctx, input }) => ctx.core.backups.restore(ctx.actor, input.id, input.backup)),
  delete: adminProcedure.input(Backup).mutation(({ ctx, input }) => ctx.core.backups.delete(ctx.actor, input.id, input.backup)),
  schedule: adminProcedure.input(Id).query(({ ctx, input }) => ctx.core.backups.getSchedule(ctx.actor, "container", input.id)),
  setSchedule: adminProcedure.input(ScheduleBody.extend({ id: ContainerId })).mutation(({ ctx, input }) => ctx.core.backups.setSchedule(ctx.actor, "container", input.id, input)),
  deleteSchedule: adminProcedure.input(Id).mutation(({ ctx, input }) => ctx.core.backups.deleteSchedule(ctx.actor, "container", input.id)),
});

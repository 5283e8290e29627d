import { z } from "zod";
import { listScripts } from "../../exec/files";
import { adminProcedure, createTRPCRouter } from "../trpc";

const ScriptName = z
  .string()
  .regex(/^[A-Za-z0-9._\-/[\]]{1,200}$/)
  .refine((v) => !v.split("/").some((s) => s === ".." || s === "." || s === ""));
const Values = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,100}$/),
  z
    .string()
    .max(16 * 1024)
    .nullable(),
);

export const scriptsRouter = createTRPCRouter({
  /** Script files with their settings, masked secrets and recent runs (with output). */
  list: adminProcedure.query(async ({ ctx }) => {
    const names = await listScripts();
    return {
      scripts: names.map((name) => ({ name, route: `/exec/${name}`, settings: ctx.core.scripts.values(name, "setting"), secrets: ctx.core.scripts.maskedSecrets(name) })),
      runs: ctx.core.scripts.runs(undefined, 100),
    };
  }),
  set: adminProcedure.input(z.object({ script: ScriptName, kind: z.enum(["secret", "setting"]), values: Values })).mutation(({ ctx, input }) => {
    ctx.core.scripts.setValues(input.script, input.kind, input.values);
    ctx.core.audit.record(ctx.actor, `script.${input.kind}s`, `script:${input.script}`, "ok", { keys: Object.keys(input.values) });
    return { ok: true };
  }),
});

// The tenant's /root/.ssh/authorized_keys as the row says (ssh_public_key), written inside the tenant.
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import { type CoreContext, SYSTEM } from "./context";
import { CoreError, viaEngine } from "./errors";

/**
 * Makes the tenant's /root/.ssh/authorized_keys hold exactly `key` (null: removes it). Run inside
 * the tenant as its own root, so a link the tenant planted can only point into its own namespace.
 */
export async function writeSshKey(ctx: CoreContext, engineName: string, key: string | null): Promise<void> {
  const script =
    'set -e; umask 077; if [ -n "$1" ]; then mkdir -p /root/.ssh; printf "%s\\n" "$1" > /root/.ssh/.authorized_keys.hoody; mv -f /root/.ssh/.authorized_keys.hoody /root/.ssh/authorized_keys; else rm -f /root/.ssh/authorized_keys; fi';
  const r = await viaEngine(ctx.engine.exec(engineName, ["/bin/sh", "-c", script, "sh", key ?? ""], 10_000));
  if (r.exitCode !== 0) throw new CoreError(500, "SSH_KEY_NOT_APPLIED", `writing /root/.ssh/authorized_keys failed (exit ${r.exitCode}): ${r.stderr.slice(0, 500)}`);
}

/** A key set while the tenant was stopped reaches it when it runs (start, restart, resume, router wake). Best effort: the start stands. */
export async function applyPendingSshKey(ctx: CoreContext, containerId: string): Promise<void> {
  const row = ctx.db.select().from(t.containers).where(eq(t.containers.id, containerId)).get();
  if (!row || row.sshPublicKey === row.sshKeyApplied) return;
  try {
    await writeSshKey(ctx, row.engineName, row.sshPublicKey);
    ctx.db.update(t.containers).set({ sshKeyApplied: row.sshPublicKey }).where(eq(t.containers.id, containerId)).run();
  } catch (e) {
    ctx.audit(SYSTEM, "container.ssh_key", `container:${containerId}`, `error:${(e as CoreError).code ?? "INTERNAL"}`);
  }
}

// Containers, changes: settings and env (update), start/stop/pause/… (operation), exec.
import { mergeEnvPatch } from "../shared/env";
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import { checkCeilings, checkEnv, checkEnvTotals, engineLimits, type LimitsBody, normalizeColor, pickName, refuseNotOffered } from "./checks";
import type { Actor, CoreContext } from "./context";
import { CoreError } from "./errors";
import { applyPendingSshKey, writeSshKey } from "./ssh-key";
import { allowedOperations, engineStatus, type ContainerOperation } from "./status";
import type { ContainerView } from "./views";
import type { ContainerService } from "./containers";

export class LifecycleService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly containers: ContainerService,
  ) {}

  async update(
    actor: Actor,
    given: string,
    body: {
      environment_vars?: Record<string, string | null>;
      name?: string;
      comment?: string | null;
      color?: string;
      autostart?: boolean;
      ai?: boolean;
      ssh_public_key?: string | null;
      ramdisk?: boolean;
      ramdisk_scope?: "container" | "project";
      realm_ids?: string[];
      ramdisk_mib?: number;
      idle_timeout_s?: number | null;
      delete_after_s?: number | null;
      suspended?: boolean;
      limits?: LimitsBody;
      restart: boolean;
    },
  ): Promise<{ container: ContainerView; restarted: boolean }> {
    const row = this.ctx.containerRow(actor, given);
    const containerId = row.id;
    refuseNotOffered(body);
    return this.ctx.audited(
      actor,
      "container.update",
      `container:${containerId}`,
      async () => {
        if (body.environment_vars) checkEnv(body.environment_vars);
        const current = this.ctx.env(containerId);
        const merged = mergeEnvPatch(current, body.environment_vars ?? {});
        checkEnvTotals(merged);
        await checkCeilings(this.ctx, actor, row.projectId, row.template, body);
        let label = row.label;
        if (body.name && body.name !== row.name) label = pickName(this.ctx, body.name).label;
        const limits = body.limits && engineLimits(body.limits);
        const needsEngine = body.environment_vars || limits || body.ramdisk_mib !== undefined;
        // autostart is the engine's to act on at boot: it changes alone without a restart.
        const autostart = body.autostart !== undefined && body.autostart !== row.autostart ? body.autostart : undefined;
        // The key first: if it cannot be written nothing else changes; if a later step fails, the old one is written back.
        const sshKey = body.ssh_public_key === undefined ? undefined : body.ssh_public_key || null;
        let sshApplied = row.sshKeyApplied;
        if (sshKey !== undefined && sshKey !== row.sshKeyApplied) {
          const live = await this.ctx.engine.getTenant(row.engineName);
          if (live.state === "running") {
            await writeSshKey(this.ctx, row.engineName, sshKey);
            sshApplied = sshKey;
          }
        }
        try {
          return await this.applyUpdate(actor, row, body, { merged, label, limits, needsEngine, autostart, sshKey, sshApplied });
        } catch (e) {
          if (sshApplied !== row.sshKeyApplied) await writeSshKey(this.ctx, row.engineName, row.sshKeyApplied).catch(() => undefined);
          throw e;
        }
      },
      (r) => ({ env_keys: Object.keys(body.environment_vars ?? {}), restarted: r.restarted }),
    );
  }

  /** Runs inside update's audited(), which maps engine errors to CoreErrors. */
  private async applyUpdate(
    actor: Actor,
    row: typeof t.containers.$inferSelect,
    body: Parameters<LifecycleService["update"]>[2],
    p: {
      merged: Record<string, string>;
      label: string;
      limits: ReturnType<typeof engineLimits> | undefined;
      needsEngine: unknown;
      autostart: boolean | undefined;
      sshKey: string | null | undefined;
      sshApplied: string | null;
    },
  ): Promise<{ container: ContainerView; restarted: boolean }> {
    const { merged, label, limits, needsEngine, autostart } = p;
    const containerId = row.id;
    let restarted = false;
    if (needsEngine || autostart !== undefined) {
      const r = await this.ctx.engine.updateTenant(row.engineName, { env: body.environment_vars, limits, ramdiskMiB: body.ramdisk_mib, autostart, restart: needsEngine ? body.restart : false });
      restarted = r.restarted;
    }
    let stoppedBySuspend = false;
    if (body.suspended) {
      const live = await this.ctx.engine.getTenant(row.engineName);
      if (live.state === "running") {
        await this.ctx.engine.stopTenant(row.engineName);
        stoppedBySuspend = true;
      }
    }
    this.ctx.db.transaction((tx) => {
      if (body.environment_vars) {
        tx.delete(t.envVars).where(eq(t.envVars.containerId, containerId)).run();
        const rows = Object.entries(merged).map(([key, value]) => ({ containerId, key, value }));
        if (rows.length) tx.insert(t.envVars).values(rows).run();
      }
      tx.update(t.containers)
        .set({
          ...(body.name && { name: body.name, label }),
          ...(body.comment !== undefined && { comment: body.comment }),
          ...(body.color !== undefined && { color: normalizeColor(body.color) }),
          ...(autostart !== undefined && { autostart }),
          ...(p.sshKey !== undefined && { sshPublicKey: p.sshKey, sshKeyApplied: p.sshApplied }),
          ...(body.idle_timeout_s !== undefined && { idleTimeoutS: body.idle_timeout_s }),
          ...(body.delete_after_s !== undefined && { deleteAt: body.delete_after_s === null ? null : new Date(this.ctx.clock().getTime() + body.delete_after_s * 1000).toISOString() }),
          ...(body.suspended !== undefined && { suspended: body.suspended }),
          ...(stoppedBySuspend && { status: "stopped" }),
          updatedAt: this.ctx.now(),
        })
        .where(eq(t.containers.id, containerId))
        .run();
    });
    if (restarted) this.ctx.logStatus(containerId, "running", "running", actor, undefined, { cause: "env change restart" });
    if (stoppedBySuspend) this.ctx.logStatus(containerId, "running", "stopped", actor, undefined, { cause: "suspended", suspended: true });
    // A restart (env change) runs the same filesystem: the key written above is still there.
    return { container: await this.containers.get(actor, containerId), restarted };
  }

  /**
   * start, stop, force-stop, restart, pause, resume. A stop suspends the tenant (the router will not
   * wake it: a billing stop must hold) unless `wakeOnRequest`; a start or restart lifts the
   * suspension; pause and resume leave it as it is. Allowed as Hoody documents: running → stop,
   * force-stop, restart, pause; stopped → start, restart; paused → resume, stop, force-stop (a
   * stop thaws it first). The answer has the SDK's ApiContainersManageResponse shape.
   */
  async operation(actor: Actor, given: string, op: ContainerOperation, opts: { wakeOnRequest?: boolean } = {}) {
    const { id: containerId, engineName } = this.ctx.containerRow(actor, given);
    return this.ctx.audited(actor, `container.${op}`, `container:${containerId}`, async () => {
      const before = await this.ctx.engine.getTenant(engineName);
      const allowed = allowedOperations(before.state);
      if (!allowed.includes(op)) {
        throw new CoreError(409, "INVALID_STATE_TRANSITION", `cannot ${op} a ${before.state} container (a ${before.state} one allows: ${allowed.join(", ") || "nothing"})`, {
          status: before.state,
          allowed,
        });
      }
      const t0 = performance.now();
      const run = {
        start: () => this.ctx.engine.startTenant(engineName),
        stop: () => this.ctx.engine.stopTenant(engineName),
        "force-stop": () => this.ctx.engine.stopTenant(engineName, { force: true }),
        restart: () => this.ctx.engine.restartTenant(engineName),
        pause: () => this.ctx.engine.pauseTenant(engineName),
        resume: () => this.ctx.engine.resumeTenant(engineName),
      }[op];
      const after = await run();
      const status = engineStatus(after);
      const suspends = op !== "pause" && op !== "resume";
      const suspended = status === "stopped" && !opts.wakeOnRequest;
      this.ctx.db
        .update(t.containers)
        .set({ status, ...(suspends && { suspended }), updatedAt: this.ctx.now() })
        .where(eq(t.containers.id, containerId))
        .run();
      this.ctx.logStatus(containerId, before.state, status, actor, Math.round(performance.now() - t0), { operation: op, ...(suspends && suspended && { suspended }) });
      if (status === "running") await applyPendingSshKey(this.ctx, containerId);
      const row = this.ctx.containerRow(actor, containerId);
      return { operation: op, container_id: containerId, project_id: row.projectId, status, message: `${op} completed`, error: false };
    });
  }

  async exec(actor: Actor, given: string, body: { command: string[]; timeout: number }) {
    const { id: containerId, engineName } = this.ctx.containerRow(actor, given);
    return this.ctx.audited(
      actor,
      "container.exec",
      `container:${containerId}`,
      async () => {
        const r = await this.ctx.engine.exec(engineName, body.command, body.timeout * 1000);
        const cap = 256 * 1024;
        return { exit_code: r.exitCode, stdout: r.stdout.slice(0, cap), stderr: r.stderr.slice(0, cap), timed_out: r.timedOut, truncated: r.stdout.length > cap || r.stderr.length > cap };
      },
      (r) => ({ argv0: body.command[0]?.slice(0, 100), exit_code: r.exit_code }),
    );
  }
}

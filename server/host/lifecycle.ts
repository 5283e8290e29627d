// A tenant's run state and settings: start, stop, pause, update, exec, logs.
import fs from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { issuesText } from "../shared/issues.js";
import { EngineError } from "../shared/errors.js";
import { LimitsSchema, type ExecResult, type TenantInfo } from "../shared/protocol.js";
import { ramdiskSizeMiB } from "./meta.js";
import { patchedEnv } from "../shared/engine-input.js";
import type { HostState } from "./state.js";

/** Freezes a running tenant's processes where they are (cgroup freezer); its memory, ramdisk and address stay. */
export async function pauseTenant(h: HostState, id: string): Promise<TenantInfo> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    if (!h.cgroups.running(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is not running`);
    if (h.cgroups.frozen(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is already paused`);
    await h.cgroups.setFrozen(id, true);
    return h.tenantInfo(m);
  });
}

export async function resumeTenant(h: HostState, id: string): Promise<TenantInfo> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    if (!h.cgroups.running(id) || !h.cgroups.frozen(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is not paused`);
    await h.cgroups.setFrozen(id, false);
    return h.tenantInfo(m);
  });
}

export async function startTenant(h: HostState, id: string): Promise<TenantInfo> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    await h.startLocked(m);
    if (!m.wantRunning) {
      m.wantRunning = true;
      await h.saveMeta(m);
    }
    return h.tenantInfo(m);
  });
}

export async function stopTenant(h: HostState, id: string, opts: { force?: boolean; timeoutS?: number } = {}): Promise<TenantInfo> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    await h.stopLocked(id, { force: opts.force, timeoutS: opts.timeoutS ?? h.config.stopTimeoutS });
    await h.procs.release(id);
    if (m.wantRunning) {
      m.wantRunning = false;
      await h.saveMeta(m);
    }
    return h.tenantInfo(m);
  });
}

export async function restartTenant(h: HostState, id: string): Promise<TenantInfo> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    await h.stopLocked(id, { timeoutS: h.config.stopTimeoutS });
    await h.startLocked(m);
    return h.tenantInfo(m);
  });
}

/**
 * Changes env, limits or ramdisk. The config is rewritten at once; a running tenant is restarted
 * so its app sees the change unless restart is false (then it applies at the next start).
 */
export async function updateTenant(
  h: HostState,
  id: string,
  patch: { env?: Record<string, string | null>; limits?: Partial<z.infer<typeof LimitsSchema>>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean },
): Promise<{ tenant: TenantInfo; restarted: boolean }> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    if (patch.autostart !== undefined && patch.autostart !== m.autostart) {
      // A boot-time choice: nothing changes for the running tenant, so it alone never restarts it.
      m.autostart = patch.autostart;
      await h.saveMeta(m);
      if (patch.env === undefined && patch.limits === undefined && patch.ramdiskMiB === undefined) return { tenant: h.tenantInfo(m), restarted: false };
    }
    const env = patchedEnv(m.env, patch.env);
    const limits = LimitsSchema.safeParse({ ...m.limits, ...patch.limits });
    if (!limits.success) throw new EngineError("INVALID_INPUT", issuesText(limits.error.issues));
    const prev = { env: m.env, limits: m.limits, ramdiskMiB: m.ramdiskMiB };
    m.env = env;
    m.limits = limits.data;
    if (patch.ramdiskMiB !== undefined) m.ramdiskMiB = patch.ramdiskMiB;
    try {
      await h.writeLxcConfig(m);
      if (prev.limits.diskMiB !== m.limits.diskMiB) await h.applyDiskLimit(m);
      if (ramdiskSizeMiB(prev) !== ramdiskSizeMiB(m) && h.ramdisks.mounted(id)) await h.ramdisks.ensure(id, ramdiskSizeMiB(m), m.uidBase);
      await h.saveMeta(m);
    } catch (e) {
      Object.assign(m, prev);
      await h.writeLxcConfig(m).catch(() => undefined);
      await h.applyDiskLimit(m).catch(() => undefined);
      throw e;
    }
    // A paused tenant stays paused (pausing is deliberate): the change applies at its next start.
    const running = h.cgroups.running(id) && !h.cgroups.frozen(id);
    const restart = running && patch.restart !== false;
    if (restart) {
      await h.lxc.stop(id, { timeoutS: h.config.stopTimeoutS });
      try {
        await h.startLocked(m);
      } catch (e) {
        // The change does not start: the tenant gets its previous settings back and runs again.
        const reason = (e as Error).message.split("\n")[0];
        Object.assign(m, prev);
        await h.writeLxcConfig(m);
        await h.applyDiskLimit(m);
        if (h.ramdisks.mounted(id)) await h.ramdisks.ensure(id, ramdiskSizeMiB(m), m.uidBase);
        await h.saveMeta(m);
        const back = await h.startLocked(m).then(
          () => "and it runs again",
          (e2: Error) => `but it did not start either: ${e2.message.split("\n")[0]}`,
        );
        throw new EngineError("START_FAILED", `the tenant did not start with this change (${reason}); its previous settings are back ${back}`);
      }
    }
    return { tenant: h.tenantInfo(m), restarted: restart };
  });
}

export async function exec(h: HostState, id: string, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
  const m = h.getTenant(id);
  if (!command.length) throw new EngineError("INVALID_INPUT", "command must not be empty");
  if (!h.cgroups.running(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is not running`);
  // An attached command would join the frozen cgroup and hang until a resume.
  if (h.cgroups.frozen(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is paused`);
  return h.lxc.exec(id, command, { timeoutMs, ksm: m.ksm });
}

/** The tail of the app's console output (what its init writes to stdout/stderr). */
export async function logs(h: HostState, id: string, maxBytes = 64 * 1024): Promise<string> {
  h.getTenant(id);
  const file = path.join(h.lxc.dir(id), "console.log");
  const fh = await fs.open(file, "r").catch(() => null);
  if (!fh) return "";
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString("utf8");
  } finally {
    await fh.close();
  }
}

export async function initPid(h: HostState, id: string): Promise<number | null> {
  h.getTenant(id);
  return h.lxc.initPid(id);
}

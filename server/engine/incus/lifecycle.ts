// A tenant's run state and settings on Incus: start, stop, pause, update, delete, exec, logs.
import { patchedEnv } from "../../shared/engine-input";
import { isReservedEnvKey } from "../../shared/env";
import { isEngineError } from "../../shared/errors";
import { issuesText } from "../../shared/issues";
import { LimitsSchema, type ExecResult, type Limits, type TenantInfo } from "../../shared/protocol";
import { IncusApiError } from "./client";
import type { IncusInstanceFull } from "./types";
import { type IncusContext, T, UID_RANGE, fail, isUp, mapError } from "./context";
import { aclName, attachAcl, limitsConfig, rawLxc } from "./network";
import { getTenant } from "./tenants";

export async function startTenant(cx: IncusContext, id: string): Promise<TenantInfo> {
  return cx.locks.run(id, async () => {
    const i = await cx.tenantInstance(id);
    // A paused (Frozen) tenant is up: start leaves it paused, as the host engine does.
    if (!isUp(i)) await cx.setState(id, "start");
    return getTenant(cx, id);
  });
}

/** Incus's freeze: the cgroup freezer on the instance's cgroup (status "Frozen"). */
export async function pauseTenant(cx: IncusContext, id: string): Promise<TenantInfo> {
  return cx.locks.run(id, async () => {
    const i = await cx.tenantInstance(id);
    if (i.status !== "Running") fail("INVALID_STATE", `tenant ${id} is not running${i.status === "Frozen" ? " (already paused)" : ""}`);
    await cx.setState(id, "freeze");
    return getTenant(cx, id);
  });
}

export async function resumeTenant(cx: IncusContext, id: string): Promise<TenantInfo> {
  return cx.locks.run(id, async () => {
    const i = await cx.tenantInstance(id);
    if (i.status !== "Frozen") fail("INVALID_STATE", `tenant ${id} is not paused`);
    await cx.setState(id, "unfreeze");
    return getTenant(cx, id);
  });
}

export async function stopTenant(cx: IncusContext, id: string, opts: { force?: boolean; timeoutS?: number } = {}): Promise<TenantInfo> {
  return cx.locks.run(id, async () => {
    const i = await cx.tenantInstance(id);
    await cx.thawIfFrozen(i);
    if (isUp(i)) {
      await cx.setState(id, "stop", opts).catch(async (e) => {
        // A graceful stop that timed out ends in a forced one, as the host engine's SIGKILL does.
        if (opts.force) throw e;
        await cx.setState(id, "stop", { force: true });
      });
    }
    return getTenant(cx, id);
  });
}

export async function restartTenant(cx: IncusContext, id: string): Promise<TenantInfo> {
  return cx.locks.run(id, async () => {
    const i = await cx.tenantInstance(id);
    await cx.thawIfFrozen(i);
    if (isUp(i)) await cx.stopInside(id);
    await cx.setState(id, "start");
    return getTenant(cx, id);
  });
}

export async function deleteTenant(cx: IncusContext, id: string): Promise<{ id: string; existed: boolean; erased: string[] }> {
  return cx.locks.run(id, async () => {
    let inst: IncusInstanceFull;
    try {
      inst = await cx.tenantInstance(id);
    } catch (e) {
      if (isEngineError(e) && e.code === "TENANT_NOT_FOUND") return { id, existed: false, erased: [] };
      throw e;
    }
    const erased: string[] = [];
    if (isUp(inst)) {
      await cx.thawIfFrozen(inst);
      await cx.setState(id, "stop", { force: true, timeoutS: 0 });
      erased.push("processes (force-stopped)");
    }
    for (const s of inst.snapshots ?? []) erased.push(`snapshot ${s.name.split("/").pop()} (deleted with the instance)`);
    await cx.client.delete(`/1.0/instances/${id}`).catch((e) => mapError(e, { tenant: id }));
    erased.push(`instance ${id} and its root volume on pool ${cx.config.pool}${inst.location && inst.location !== "none" ? ` (member ${inst.location})` : ""}`);
    await attachAcl(cx, id, false).catch((e) => mapError(e));
    await cx.client.delete(`/1.0/network-acls/${aclName(id)}`).catch((e) => (e instanceof IncusApiError && e.status === 404 ? undefined : mapError(e)));
    erased.push(`network ACL ${aclName(id)}`);
    const info = cx.tenantInfo(inst);
    erased.push(`address ${info.ip}${info.uidBase ? ` and uid range ${info.uidBase}-${info.uidBase + UID_RANGE - 1}` : ""} released`);
    cx.invalidate();
    return { id, existed: true, erased };
  });
}

export async function updateTenant(
  cx: IncusContext,
  id: string,
  patch: { env?: Record<string, string | null>; limits?: Partial<Limits>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean },
): Promise<{ tenant: TenantInfo; restarted: boolean }> {
  return cx.locks.run(id, async () => {
    const inst = await cx.tenantInstance(id);
    if (patch.autostart !== undefined) {
      // A boot-time key: changing it alone never restarts the tenant.
      const config = { ...inst.config };
      if (patch.autostart) delete config["boot.autostart"];
      else config["boot.autostart"] = "false";
      await putConfig(cx, id, inst, config);
      cx.invalidate();
      if (patch.env === undefined && patch.limits === undefined && patch.ramdiskMiB === undefined) return { tenant: await getTenant(cx, id), restarted: false };
      inst.config = config;
    }
    const info = cx.tenantInfo(inst);
    const env = patchedEnv(info.env, patch.env);
    const limits = LimitsSchema.safeParse({ ...info.limits, ...patch.limits });
    if (!limits.success) fail("INVALID_INPUT", issuesText(limits.error.issues));
    const config: Record<string, string> = {};
    // volatile.* keys are Incus's own (it refuses their removal): carried over as they are.
    for (const [k, v] of Object.entries(inst.config)) if (!(k.startsWith("environment.") && !isReservedEnvKey(k.slice(12)))) config[k] = v;
    for (const [k, v] of Object.entries(env)) config[`environment.${k}`] = v;
    Object.assign(config, limitsConfig(limits.data), { [T.limits]: JSON.stringify(limits.data) });
    if (patch.ramdiskMiB !== undefined) {
      const net = await cx.network();
      config[T.ramdisk] = String(patch.ramdiskMiB);
      config["raw.lxc"] = rawLxc({ initCmd: JSON.parse(inst.config[T.init] ?? "[]"), ip: info.ip, gateway: net.gateway, ramdiskMiB: patch.ramdiskMiB });
    }
    await putConfig(cx, id, inst, config);
    cx.invalidate();
    const restart = inst.status === "Running" && patch.restart !== false;
    if (restart) {
      await cx.stopInside(id);
      await cx.setState(id, "start");
    }
    return { tenant: await getTenant(cx, id), restarted: restart };
  });
}

export async function exec(cx: IncusContext, id: string, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
  if (!command.length) fail("INVALID_INPUT", "command must not be empty");
  const inst = await cx.tenantInstance(id);
  if (inst.status !== "Running") fail("INVALID_STATE", `tenant ${id} is not running`);
  const { status, body } = await cx.client.raw("POST", `/1.0/instances/${id}/exec`, {
    body: { command, "wait-for-websocket": false, interactive: false, "record-output": true, environment: {} },
  });
  const started = JSON.parse(body) as { type: string; error?: string; operation?: string };
  if (started.type === "error" || !started.operation) fail("SYSTEM_ERROR", `incus exec: ${started.error ?? `HTTP ${status}`}`);
  const opId = started.operation.split("/").pop()!;
  // Wait at most the timeout; a command that outlives it is reported as timed out (Incus cannot
  // signal a non-interactive exec; it ends on its own or with the instance).
  const waitS = Math.max(1, Math.ceil(timeoutMs / 1000));
  const op = await cx.client
    .get<{ status: string; metadata: { return?: number; output?: Record<string, string> } | null }>(`/1.0/operations/${opId}/wait`, { timeout: waitS })
    .catch((e) => (e instanceof IncusApiError && /deadline|timeout/i.test(e.message) ? null : mapError(e)));
  if (!op || op.status === "Running") return { exitCode: -1, stdout: "", stderr: "", timedOut: true };
  const out = op.metadata?.output ?? {};
  const read = async (p?: string) => {
    if (!p) return "";
    const r = await cx.client.raw("GET", p, { project: false });
    await cx.client.raw("DELETE", p, { project: false }).catch(() => undefined);
    return r.body;
  };
  const [stdout, stderr] = await Promise.all([read(out["1"]), read(out["2"])]);
  return { exitCode: op.metadata?.return ?? -1, stdout, stderr, timedOut: false };
}

export async function logs(cx: IncusContext, id: string, maxBytes = 64 * 1024): Promise<string> {
  await cx.tenantInstance(id);
  const r = await cx.client.raw("GET", `/1.0/instances/${id}/console`, { query: { type: "log" } });
  if (r.status !== 200) return "";
  return r.body.slice(-maxBytes);
}

/** Replaces an instance's config, keeping the rest of it as it is (PUT takes the whole instance). */
async function putConfig(cx: IncusContext, id: string, inst: IncusInstanceFull, config: Record<string, string>): Promise<void> {
  const { architecture, devices, profiles, ephemeral, stateful, description } = inst;
  await cx.client.put(`/1.0/instances/${id}`, { architecture, config, devices, profiles, ephemeral, stateful, description }).catch((e) => mapError(e, { tenant: id }));
}

// Snapshots of a tenant on Incus (restore keeps today's config).
import { randomInt } from "node:crypto";
import { SNAPSHOT_NAME_RE, type SnapshotInfo, type TenantInfo } from "../../shared/protocol";
import type { IncusInstanceFull, IncusSnapshot } from "./types";
import { type IncusContext, fail, isUp, mapError } from "./context";
import { getTenant } from "./tenants";

export async function createSnapshot(cx: IncusContext, id: string, name?: string): Promise<SnapshotInfo> {
  const snapName = name ?? `snap-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${randomInt(1000, 9999)}`;
  if (!SNAPSHOT_NAME_RE.test(snapName)) fail("INVALID_INPUT", `invalid snapshot name ${snapName}`);
  return cx.locks.run(id, async () => {
    const inst = await cx.tenantInstance(id);
    if ((inst.snapshots ?? []).some((s) => s.name === snapName)) fail("ALREADY_EXISTS", `snapshot ${snapName} exists`);
    await cx.client.post(`/1.0/instances/${id}/snapshots`, { name: snapName, stateful: false }).catch((e) => mapError(e, { tenant: id }));
    cx.invalidate();
    const s = await cx.client.get<IncusSnapshot>(`/1.0/instances/${id}/snapshots/${snapName}`).catch((e) => mapError(e, { tenant: id }));
    return cx.snapshotInfo(s);
  });
}

export async function restoreSnapshot(cx: IncusContext, id: string, name: string): Promise<TenantInfo> {
  if (!SNAPSHOT_NAME_RE.test(name)) fail("SNAPSHOT_NOT_FOUND", `snapshot ${name} not found`);
  return cx.locks.run(id, async () => {
    const inst = await cx.tenantInstance(id);
    if (!(inst.snapshots ?? []).some((s) => s.name === name)) fail("SNAPSHOT_NOT_FOUND", `snapshot ${name} not found`);
    const wasRunning = isUp(inst);
    await cx.thawIfFrozen(inst);
    if (wasRunning) await cx.stopInside(id);
    await cx.client.put(`/1.0/instances/${id}`, { restore: name }).catch((e) => mapError(e, { tenant: id, snapshot: name }));
    // The restore also rolled the config back to the snapshot's; keep today's (env, firewall, limits).
    const now = await cx.client.get<IncusInstanceFull>(`/1.0/instances/${id}`);
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(now.config)) if (k.startsWith("volatile.")) config[k] = v;
    for (const [k, v] of Object.entries(inst.config)) if (!k.startsWith("volatile.")) config[k] = v;
    await cx.client.put(`/1.0/instances/${id}`, {
      architecture: now.architecture,
      config,
      devices: inst.devices,
      profiles: now.profiles,
      ephemeral: now.ephemeral,
      stateful: now.stateful,
      description: now.description,
    });
    if (wasRunning) await cx.setState(id, "start");
    cx.invalidate();
    return getTenant(cx, id);
  });
}

export async function deleteSnapshot(cx: IncusContext, id: string, name: string): Promise<{ existed: boolean }> {
  return cx.locks.run(id, async () => {
    const inst = await cx.tenantInstance(id);
    if (!(inst.snapshots ?? []).some((s) => s.name === name)) return { existed: false };
    await cx.client.delete(`/1.0/instances/${id}/snapshots/${name}`).catch((e) => mapError(e, { tenant: id }));
    cx.invalidate();
    return { existed: true };
  });
}

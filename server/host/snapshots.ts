// Snapshots: read-only subvolumes of a tenant, and restore from them.
import { randomInt } from "node:crypto";
import fs from "node:fs/promises";
import { Revert } from "../shared/revert.js";
import { EngineError } from "../shared/errors.js";
import { SNAPSHOT_NAME_RE, type SnapshotInfo, type TenantInfo } from "../shared/protocol.js";
import type { HostState } from "./state.js";
import { abortChanges } from "./changes.js";

export async function createSnapshot(h: HostState, id: string, name?: string): Promise<SnapshotInfo> {
  const snapName = name ?? `snap-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${randomInt(1000, 9999)}`;
  if (!SNAPSHOT_NAME_RE.test(snapName)) throw new EngineError("INVALID_INPUT", `invalid snapshot name ${snapName}`);
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    if (m.snapshots.some((s) => s.name === snapName)) throw new EngineError("ALREADY_EXISTS", `snapshot ${snapName} exists`);
    await h.assertPoolRoom();
    return Revert.run(async (revert) => {
      await fs.mkdir(h.pool.path("snapshots", id), { recursive: true });
      const p = h.pool.path("snapshots", id, snapName);
      const subvolumeId = await h.pool.snapshot(h.pool.path("tenants", id), p, true);
      revert.add("snapshot subvolume", () => h.pool.deleteSubvolume(p));
      const snap = { name: snapName, createdAt: new Date().toISOString(), subvolumeId };
      m.snapshots.push(snap);
      revert.add("snapshot entry", () => void m.snapshots.splice(m.snapshots.indexOf(snap), 1));
      await h.saveMeta(m);
      return h.snapshotInfo(snap);
    });
  });
}

export function listSnapshots(h: HostState, id: string): SnapshotInfo[] {
  return h.getTenant(id).snapshots.map((s) => h.snapshotInfo(s));
}

/**
 * Rolls the tenant's filesystem back to a snapshot (the snapshot stays). A running tenant is
 * restarted. A failure anywhere puts everything back: the old filesystem, its limit and metadata,
 * and the tenant running if it was; no `.restore-<id>` stays behind.
 */
export async function restoreSnapshot(h: HostState, id: string, snapName: string): Promise<TenantInfo> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    if (!m.snapshots.some((s) => s.name === snapName)) throw new EngineError("SNAPSHOT_NOT_FOUND", `snapshot ${snapName} not found`);
    const live = h.pool.path("tenants", id);
    const aside = h.restoreAsidePath(id);
    const oldId = m.subvolumeId;
    // A leftover of an earlier restore that died is the tenant's old data: it goes first.
    await h.pool.deleteSubvolume(aside);
    const wasRunning = h.cgroups.running(id);
    await Revert.run(async (revert) => {
      if (wasRunning) {
        await h.stopLocked(id, { timeoutS: h.config.stopTimeoutS });
        revert.add("running tenant", () => h.startLocked(m));
      }
      await fs.rename(live, aside);
      revert.add("put live back", () => fs.rename(aside, live));
      m.subvolumeId = await h.pool.snapshot(h.pool.path("snapshots", id, snapName), live, false);
      revert.add("restored subvolume", async () => {
        m.subvolumeId = oldId;
        await h.pool.deleteSubvolume(live);
      });
      await h.applyDiskLimit(m);
      revert.add("metadata", async () => {
        m.subvolumeId = oldId;
        await h.saveMeta(m);
      });
      await h.saveMeta(m);
      if (wasRunning) await h.startLocked(m);
    });
    await h.pool.deleteSubvolume(aside);
    return h.tenantInfo(m);
  });
}

export async function deleteSnapshot(h: HostState, id: string, snapName: string): Promise<{ existed: boolean }> {
  return h.lock.run(id, async () => {
    const m = h.getTenant(id);
    const snap = m.snapshots.find((s) => s.name === snapName);
    if (!snap) return { existed: false };
    // BTRFS refuses to delete a subvolume a send is reading.
    await abortChanges(h, id);
    await h.pool.deleteSubvolume(h.pool.path("snapshots", id, snapName));
    m.snapshots = m.snapshots.filter((s) => s !== snap);
    await h.saveMeta(m);
    return { existed: true };
  });
}

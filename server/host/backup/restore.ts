// Restoring a backup: as a new tenant (import, on this box or another with the same template and
// the operator's key) or over the tenant it was made of (in place, rolled back on any failure).
import fs from "node:fs/promises";
import { EngineError } from "../../shared/errors.js";
import { Revert } from "../../shared/revert.js";
import type { TenantInfo } from "../../shared/protocol.js";
import type { TenantMeta } from "../meta.js";
import { applyFirewall } from "../network.js";
import type { HostState } from "../state.js";
import { createTenant } from "../tenants.js";
import { dropReceived, openBackup, receiveBackup, type Received } from "./backups.js";

/** Read-only copies of the backup's snapshots under the tenant's snapshot directory (O(1) each). */
async function placeSnapshots(h: HostState, r: Received, id: string, revert: Revert): Promise<TenantMeta["snapshots"]> {
  const dir = h.pool.path("snapshots", id);
  await fs.mkdir(dir, { recursive: true });
  const out: TenantMeta["snapshots"] = [];
  for (const [i, part] of r.manifest.parts.entries()) {
    if (!part.snapshot) continue;
    const dst = h.pool.path("snapshots", id, part.snapshot.name);
    const subvolumeId = await h.pool.snapshot(r.parts[i]!, dst, true);
    revert.add(`snapshot ${part.snapshot.name}`, () => h.pool.deleteSubvolume(dst));
    out.push({ name: part.snapshot.name, createdAt: part.snapshot.createdAt, subvolumeId });
  }
  return out;
}

/** A new tenant from a backup stream, with the backup's data, snapshots, env, limits and firewall. */
export async function importBackup(h: HostState, source: AsyncIterable<Buffer | Uint8Array | string>, opts: { name?: string; labels?: Record<string, string>; start?: boolean }): Promise<TenantInfo> {
  const r = await receiveBackup(h, source);
  try {
    const t = r.manifest.tenant;
    return await createTenant(
      h,
      {
        template: r.manifest.template.name,
        name: opts.name ?? t.name,
        env: t.env,
        limits: t.limits,
        ramdiskMiB: t.ramdiskMiB,
        ksm: t.ksm,
        firewall: t.firewall,
        start: opts.start ?? true,
        autostart: t.autostart,
        labels: opts.labels ?? {},
      },
      undefined,
      {
        path: r.parts.at(-1)!,
        initCmd: t.initCmd,
        appPort: t.appPort,
        sharedPaths: t.sharedPaths,
        adopt: async (meta, revert) => {
          revert.add("snapshot dir", () => fs.rm(h.pool.path("snapshots", meta.id), { recursive: true, force: true }));
          meta.snapshots = await placeSnapshots(h, r, meta.id, revert);
        },
      },
    );
  } finally {
    await dropReceived(h, r);
  }
}

/**
 * Puts the tenant back as the backup has it: filesystem, snapshots, env, limits, firewall. A
 * running tenant is stopped first and started after. Any failure puts the previous filesystem,
 * snapshots and settings back (and the tenant running if it was).
 */
export async function restoreBackup(h: HostState, id: string, bid: string): Promise<TenantInfo> {
  h.getTenant(id);
  const r = await receiveBackup(h, await openBackup(h, id, bid));
  try {
    return await h.lock.run(id, async () => {
      const m = h.getTenant(id);
      if (r.manifest.template.name !== m.template) throw new EngineError("TEMPLATE_MISMATCH", `backup ${bid} was made on template ${r.manifest.template.name}, the tenant runs ${m.template}`);
      const live = h.pool.path("tenants", id);
      const aside = h.restoreAsidePath(id);
      const snapDir = h.pool.path("snapshots", id);
      const snapAside = h.pool.path("snapshots", `.restore-${id}`);
      await h.pool.deleteSubvolume(aside);
      await dropDir(h, snapAside);
      const before = structuredClone(m);
      const wasRunning = h.cgroups.running(id);
      await Revert.run(async (revert) => {
        if (wasRunning) {
          await h.stopLocked(id, { timeoutS: h.config.stopTimeoutS });
          revert.add("running tenant", () => h.startLocked(m));
        }
        revert.add("settings", async () => {
          Object.assign(m, before);
          await h.saveMeta(m);
          await h.writeLxcConfig(m);
          await applyFirewall(h, m);
          await h.applyDiskLimit(m);
        });
        await fs.rename(live, aside);
        revert.add("put live back", () => fs.rename(aside, live));
        const hadSnaps = await fs.rename(snapDir, snapAside).then(
          () => true,
          () => false,
        );
        if (hadSnaps) revert.add("put snapshots back", () => fs.rename(snapAside, snapDir));
        const subvolumeId = await h.pool.snapshot(r.parts.at(-1)!, live, false);
        revert.add("restored subvolume", () => h.pool.deleteSubvolume(live));
        revert.add("restored snapshots", () => dropDir(h, snapDir));
        const snapshots = await placeSnapshots(h, r, id, revert);
        const t = r.manifest.tenant;
        Object.assign(m, {
          subvolumeId,
          snapshots,
          env: t.env,
          limits: t.limits,
          firewall: t.firewall,
          ramdiskMiB: t.ramdiskMiB,
          ksm: t.ksm,
          initCmd: t.initCmd,
          appPort: t.appPort,
          sharedPaths: t.sharedPaths,
        });
        await h.writeLxcConfig(m);
        await applyFirewall(h, m);
        await h.applyDiskLimit(m);
        await h.saveMeta(m);
        if (wasRunning) await h.startLocked(m);
      });
      await h.pool.deleteSubvolume(aside);
      await dropDir(h, snapAside);
      return h.tenantInfo(m);
    });
  } finally {
    await dropReceived(h, r);
  }
}

async function dropDir(h: HostState, dir: string): Promise<void> {
  for (const n of await fs.readdir(dir).catch(() => [] as string[])) await h.pool.deleteSubvolume(`${dir}/${n}`);
  await fs.rm(dir, { recursive: true, force: true });
}

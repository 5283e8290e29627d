// Tenants: listing, allocation (id, uid range, address) and create.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { Revert } from "../shared/revert.js";
import { EngineError } from "../shared/errors.js";
import { LimitsSchema, NAME_RE, type CreateTenantInput, type TenantInfo } from "../shared/protocol.js";
import type { TenantMeta } from "./meta.js";
import { parseCreateTenant } from "../shared/engine-input.js";
import type { HostState } from "./state.js";
import { applyFirewall } from "./network.js";

/** `running`: only those with processes (the idle sweep's question; at 10,000 tenants the full list is megabytes). */
export function listTenants(h: HostState, opts: { running?: boolean } = {}): TenantInfo[] {
  if (!opts.running) return [...h.tenants.values()].filter((m) => !m.pooled).map((m) => h.tenantInfo(m));
  // One listing gives who runs and their pids (the idle sweep's question every few seconds): read once, not again per tenant.
  const up = h.cgroups.runningPids((n) => h.tenants.has(n));
  const out: TenantInfo[] = [];
  for (const [id, pids] of up) {
    const m = h.tenants.get(id);
    if (m && !m.pooled) out.push(h.tenantInfo(m, pids));
  }
  return out;
}

export function getTenantInfo(h: HostState, id: string): TenantInfo {
  return h.tenantInfo(h.getTenant(id));
}

export function allocate(h: HostState): { id: string; uidBase: number; ip: string } {
  let id: string;
  do id = `c${randomBytes(8).toString("hex").slice(0, 10)}`;
  while (h.tenants.has(id));
  // The lowest free of each, kept by the map as tenants come and go (tenant-map.ts): no scan of all tenants per create.
  const uidBase = h.tenants.freeUidBase();
  if (uidBase === null) throw new EngineError("EXHAUSTED", "no free uid range: raise HOODY_UID_RANGES");
  const ip = h.tenants.freeIp();
  if (!ip) throw new EngineError("EXHAUSTED", `no free address in ${h.config.subnet}`);
  return { id, uidBase, ip };
}

/** A create from a received backup: its filesystem, the settings its template does not decide, and a step that moves its snapshots in. */
export interface CreateFrom {
  path: string;
  initCmd: string[];
  appPort: number;
  sharedPaths: string[];
  adopt: (meta: TenantMeta, revert: Revert) => Promise<void>;
}

/** `pool`: make a warm-pool member of the template (warm-pool.ts) instead of someone's tenant; `from`: a backup's filesystem instead of the template's. */
export async function createTenant(h: HostState, input: CreateTenantInput, pool?: { beforeStart: (m: TenantMeta) => Promise<void> }, from?: CreateFrom): Promise<TenantInfo> {
  const req = parseCreateTenant(input);
  await h.assertPoolRoom();
  const tpl = h.getTemplate(req.template);
  const source = req.sourceTenant ? h.getTenant(req.sourceTenant) : null;
  let sourcePath = from?.path ?? h.pool.path("templates", tpl.name);
  if (source) {
    sourcePath = h.pool.path("tenants", source.id);
    if (req.sourceSnapshot) {
      if (!source.snapshots.some((s) => s.name === req.sourceSnapshot)) {
        throw new EngineError("SNAPSHOT_NOT_FOUND", `snapshot ${req.sourceSnapshot} of ${source.id} not found`);
      }
      sourcePath = h.pool.path("snapshots", source.id, req.sourceSnapshot);
    }
  }
  const base = source ?? { ...tpl.settings, ...from };
  // Allocation and reservation are synchronous, so concurrent creates never lease the same id, uid range or IP.
  const { id, uidBase, ip } = allocate(h);
  const name = req.name ?? id;
  if (!NAME_RE.test(name)) throw new EngineError("INVALID_INPUT", `invalid name ${name}`);
  const limits = LimitsSchema.parse({ ...(source?.limits ?? tpl.settings.limits), ...req.limits });
  const meta: TenantMeta = {
    id,
    name,
    template: tpl.name,
    phase: "creating",
    ip,
    uidBase,
    veth: `${h.config.vethPrefix}${id.slice(1)}`.slice(0, 15),
    createdAt: new Date().toISOString(),
    subvolumeId: 0,
    initCmd: source?.initCmd ?? from?.initCmd ?? tpl.settings.initCmd,
    appPort: source?.appPort ?? from?.appPort ?? tpl.settings.appPort,
    env: { ...(source ? source.env : tpl.settings.env), TENANT_NAME: name, ...req.env },
    limits,
    ramdiskMiB: req.ramdiskMiB ?? base.ramdiskMiB,
    ksm: req.ksm ?? base.ksm,
    sharedPaths: base.sharedPaths,
    firewall: req.firewall ?? source?.firewall ?? tpl.settings.firewall,
    snapshots: [],
    wantRunning: req.start,
    autostart: req.autostart,
    labels: req.labels,
    pooled: !!pool,
  };
  h.tenants.set(id, meta);
  // From a template: its spare when there is one (spares.ts), and another made once this create is done.
  const fromTemplate = !source && !from;
  const snapshot = async (rootfs: string) => (fromTemplate ? await h.spares.take(tpl, rootfs) : null) ?? h.pool.snapshot(sourcePath, rootfs, false);
  const created = h.lock.run(id, () =>
    Revert.run(async (revert) => {
      revert.add("lease", () => void h.tenants.delete(id));
      await fs.mkdir(h.lxc.dir(id), { mode: 0o711 });
      revert.add("tenant dir", () => h.lxc.removeDir(id));
      await h.saveMeta(meta);
      const rootfs = h.pool.path("tenants", id);
      // The snapshot, the LXC config and the firewall chains do not depend on each other: run
      // together (one after the other they added 20–40 ms to every create; bench/run.ts provision).
      // Whatever succeeded is registered for undo before the first failure is thrown.
      const [snap, config, firewall] = await Promise.allSettled([snapshot(rootfs), h.writeLxcConfig(meta), applyFirewall(h, meta)]);
      if (snap.status === "fulfilled") {
        meta.subvolumeId = snap.value;
        revert.add("tenant subvolume", () => h.pool.deleteSubvolume(rootfs));
      }
      if (firewall.status === "fulfilled") revert.add("firewall", () => h.firewall.removeTenant(id, meta.veth, meta.ip));
      for (const r of [snap, config, firewall]) if (r.status === "rejected") throw r.reason;
      if (from) await from.adopt(meta, revert);
      // A new snapshot's qgroup has no limit: only set one when asked.
      if (meta.limits.diskMiB) await h.applyDiskLimit(meta);
      if (req.start) {
        revert.add("ramdisk", async () => void (await h.ramdisks.remove(id)));
        revert.add("shares", async () => void (await h.shares.remove(id)));
        revert.add("proc", async () => void (await h.procs.remove(id)));
        await h.startLocked(meta, pool && (() => pool.beforeStart(meta)));
        revert.add("running tenant", () => h.lxc.stop(id, { force: true, timeoutS: 0 }));
      }
      meta.phase = "ready";
      await h.saveMeta(meta);
      return h.tenantInfo(meta);
    }),
  );
  if (fromTemplate) void created.then(() => h.spares.refill(tpl)).catch(() => undefined);
  return created;
}

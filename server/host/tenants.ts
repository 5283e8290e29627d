// Tenants: listing, allocation (id, uid range, address) and create.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { UID_RANGE } from "./drivers/lxc.js";
import { firstFreeIp } from "../shared/ip.js";
import { issuesText } from "../shared/issues.js";
import { Revert } from "../shared/revert.js";
import { EngineError } from "../shared/errors.js";
import { CreateTenantSchema, LimitsSchema, NAME_RE, type CreateTenantInput, type TenantInfo } from "../shared/protocol.js";
import { assertNoReservedEnv, type TenantMeta } from "./meta.js";
import type { HostState } from "./state.js";
import { applyFirewall } from "./network.js";

export function listTenants(h: HostState): TenantInfo[] {
  return [...h.tenants.values()].map((m) => h.tenantInfo(m));
}

export function getTenantInfo(h: HostState, id: string): TenantInfo {
  return h.tenantInfo(h.getTenant(id));
}

export function allocate(h: HostState): { id: string; uidBase: number; ip: string } {
  const used = [...h.tenants.values()];
  let id: string;
  do id = `c${randomBytes(8).toString("hex").slice(0, 10)}`;
  while (h.tenants.has(id));
  const usedUid = new Set(used.map((m) => m.uidBase));
  let uidBase = -1;
  for (let i = 0; i < h.config.uidRanges; i++) {
    const b = h.config.uidBase + i * UID_RANGE;
    if (!usedUid.has(b)) {
      uidBase = b;
      break;
    }
  }
  if (uidBase < 0) throw new EngineError("EXHAUSTED", "no free uid range: raise HOODY_UID_RANGES");
  const usedIp = new Set(used.map((m) => m.ip));
  const ip = firstFreeIp(h.config.subnet, usedIp);
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

export async function createTenant(h: HostState, input: CreateTenantInput, from?: CreateFrom): Promise<TenantInfo> {
  const parsed = CreateTenantSchema.safeParse(input);
  if (!parsed.success) throw new EngineError("INVALID_INPUT", issuesText(parsed.error.issues));
  const req = parsed.data;
  assertNoReservedEnv(req.env);
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
  };
  h.tenants.set(id, meta);
  return h.lock.run(id, () =>
    Revert.run(async (revert) => {
      revert.add("lease", () => void h.tenants.delete(id));
      await fs.mkdir(h.lxc.dir(id), { mode: 0o711 });
      revert.add("tenant dir", () => h.lxc.removeDir(id));
      await h.saveMeta(meta);
      const rootfs = h.pool.path("tenants", id);
      // The snapshot, the LXC config and the firewall chains do not depend on each other: run
      // together (one after the other they added 20–40 ms to every create; bench/run.ts provision).
      // Whatever succeeded is registered for undo before the first failure is thrown.
      const [snap, config, firewall] = await Promise.allSettled([
        h.pool.snapshot(sourcePath, rootfs, false),
        h.writeLxcConfig(meta),
        applyFirewall(h, meta),
      ]);
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
        await h.startLocked(meta);
        revert.add("running tenant", () => h.lxc.stop(id, { force: true, timeoutS: 0 }));
      }
      meta.phase = "ready";
      await h.saveMeta(meta);
      return h.tenantInfo(meta);
    }),
  );
}

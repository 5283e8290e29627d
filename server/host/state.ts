// The host's in-memory state (templates and tenants adopted from disk) and its drivers, with the
// helpers every concern (templates.ts, tenants.ts, lifecycle.ts, network.ts, snapshots.ts, erase.ts,
// stats.ts) shares: lookups, the on-disk record, the LXC config, start and stop.
import fs from "node:fs/promises";
import path from "node:path";
import type { HostConfig } from "./config.js";
import type { BtrfsPool } from "./drivers/btrfs.js";
import { CgroupReader, detectCgroupLayout } from "./drivers/cgroup.js";
import { Lxc, UID_RANGE } from "./drivers/lxc.js";
import { Ramdisks } from "./drivers/ramdisk.js";
import { Shares, type Share } from "./drivers/shares.js";
import { TenantProcs } from "./drivers/procfs.js";
import { Firewall } from "./drivers/nft.js";
import { tenantUsernsSysctls } from "./drivers/kernel.js";
import { KeyedMutex } from "../shared/lock.js";
import { dnsLabel } from "../shared/names.js";
import { EngineError } from "../shared/errors.js";
import type { Env, SnapshotInfo, TemplateInfo, TenantInfo } from "../shared/protocol.js";
import { META_FILE, ramdiskSizeMiB, writeJsonAtomic, type TemplateMeta, type TenantMeta } from "./meta.js";
import { hostSideNetSysctls } from "./network.js";
import { TenantMap } from "./tenant-map.js";

/** A pool member's init (see writeLxcConfig); the FIFO is made by warm-pool.ts before it starts. */
export const CLAIM_DIR = ".hoody-claim";
const CLAIM_INIT = ["/bin/sh", `/ramdisk/${CLAIM_DIR}/go`];
import { Dedup } from "./dedup.js";
import { Spares } from "./spares.js";
import type { StatsShard } from "./stats-shard.js";

/** One per daemon: what the concern modules read and change, under `lock` per tenant or template. */
export class HostState {
  readonly tenants: TenantMap;
  templates = new Map<string, TemplateMeta>();
  lock = new KeyedMutex();
  /** Pool members a claim has taken (picked synchronously, so two claims never take the same one). */
  claiming = new Set<string>();
  readonly cgroups: CgroupReader;
  readonly lxc: Lxc;
  readonly firewall: Firewall;
  readonly ramdisks: Ramdisks;
  readonly shares: Shares;
  readonly procs: TenantProcs;
  readonly dedup: Dedup;
  /** Snapshots of templates made ahead of the creates that take them (spares.ts). */
  readonly spares: Spares;
  /** The stats shard's thread, once the daemon started it (stats.ts reads every tenant itself without one). */
  statsShard: StatsShard | null = null;

  constructor(
    readonly config: HostConfig,
    readonly pool: BtrfsPool,
    readonly versions: { lxc: string; btrfs: string },
    /** Whether an lxcfs serves /var/lib/lxcfs, so tenants' configs bind its files (lxc.ts, tenant-proc.hook). */
    readonly lxcfs: boolean,
  ) {
    this.tenants = new TenantMap(config);
    const layout = detectCgroupLayout();
    this.cgroups = new CgroupReader(layout);
    this.lxc = new Lxc(config.lxcPath, layout);
    this.ramdisks = new Ramdisks(path.join(config.dataDir, "ramdisk"));
    this.shares = new Shares(path.join(config.dataDir, "shares"));
    this.procs = new TenantProcs(path.join(config.dataDir, "proc"));
    this.firewall = new Firewall(config.nftTable, config.vethPrefix, config.subnet, config.outboundNat);
    this.dedup = new Dedup(pool, path.join(config.dataDir, "dedup"), () => ({
      tenants: [...this.tenants.values()].filter((m) => m.phase === "ready").map((m) => ({ id: m.id, subvolumeId: m.subvolumeId })),
      templates: [...this.templates.keys()],
    }));
    pool.aroundDelete = (fn) => this.dedup.around(fn);
    this.spares = new Spares(pool, (name) => this.templates.get(name));
  }

  templateInfo(t: TemplateMeta): TemplateInfo {
    return {
      name: t.name,
      recipe: t.recipe,
      settings: t.settings,
      subvolumeId: t.subvolumeId,
      createdAt: t.createdAt,
      bytes: this.pool.subvolumeBytes(t.subvolumeId),
      tenants: [...this.tenants.values()].filter((m) => m.template === t.name && !m.pooled).length,
    };
  }

  getTemplate(name: string): TemplateMeta {
    const t = this.templates.get(name);
    if (!t) throw new EngineError("TEMPLATE_NOT_FOUND", `template ${name} not found`);
    return t;
  }

  getTenant(id: string): TenantMeta {
    const m = this.tenants.get(id);
    if (!m || m.phase === "deleting") throw new EngineError("TENANT_NOT_FOUND", `tenant ${id} not found`);
    return m;
  }

  /** `pids`: the tenant's, when a listing already read them (runningPids). */
  tenantInfo(m: TenantMeta, pids = this.cgroups.pids(m.id)): TenantInfo {
    return {
      id: m.id,
      name: m.name,
      template: m.template,
      state: m.phase === "creating" ? "creating" : m.phase === "deleting" ? "deleting" : !pids.length ? "stopped" : this.cgroups.frozen(m.id) ? "paused" : "running",
      ip: m.ip,
      uidBase: m.uidBase,
      veth: m.veth,
      appPort: m.appPort,
      env: m.env,
      limits: m.limits,
      ramdiskMiB: m.ramdiskMiB,
      ksm: m.ksm,
      firewall: m.firewall,
      createdAt: m.createdAt,
      subvolumeId: m.subvolumeId,
      snapshots: m.snapshots.map((s) => this.snapshotInfo(s)),
      labels: m.labels,
    };
  }

  snapshotInfo(s: TenantMeta["snapshots"][number]): SnapshotInfo {
    return { ...s, bytes: this.pool.subvolumeBytes(s.subvolumeId) };
  }

  metaPath(id: string): string {
    return path.join(this.lxc.dir(id), META_FILE);
  }

  async saveMeta(m: TenantMeta): Promise<void> {
    await writeJsonAtomic(this.metaPath(m.id), m);
  }

  /**
   * The pool's free-space reserve belongs to the tenants already on it: below it anything that adds
   * to the pool (a create, a snapshot, a promote, a template build) is refused with POOL_FULL instead
   * of eating the others' room. A snapshot is metadata at first, but it pins every block it shares,
   * so once taken the tenant's deletes no longer free space. A restore is allowed: it frees the
   * tenant's current delta, the way out of a full pool.
   */
  async assertPoolRoom(): Promise<void> {
    const st = await fs.statfs(this.pool.mountPath);
    const MiB = 1024 * 1024;
    const free = st.bavail * st.bsize;
    const reserveMiB = this.config.poolMinFreeMiB ?? Math.min(1024, Math.floor((st.blocks * st.bsize * 0.05) / MiB));
    if (free < reserveMiB * MiB) {
      throw new EngineError("POOL_FULL", `the pool has ${Math.floor(free / MiB)} MiB free, below its reserve of ${reserveMiB} MiB: free space or grow the pool`);
    }
  }

  /** The environment the tenant's init starts with (its config's lxc.environment lines). */
  initEnv(m: TenantMeta): Env {
    return { ...m.env, HOODY_TENANT_ID: m.id, HOODY_TENANT_NAME: m.name };
  }

  /**
   * A warm-pool member's init is a shell that runs the claim FIFO in its ramdisk as its script: it
   * blocks in open() until the claim writes `exec env -i <the tenant's env> "$@"` there (warm-pool.ts),
   * so the app starts with its customer's env as PID 1. Until then it has no env of anyone's.
   */
  async writeLxcConfig(m: TenantMeta): Promise<void> {
    await this.lxc.writeConfig({
      name: m.id,
      hostname: dnsLabel(m.name),
      rootfs: this.pool.path("tenants", m.id),
      uidBase: m.uidBase,
      initCmd: m.pooled ? [...CLAIM_INIT, ...m.initCmd] : m.initCmd,
      env: m.pooled ? {} : this.initEnv(m),
      limits: m.limits,
      ramdiskPath: this.ramdisks.path(m.id),
      veth: m.veth,
      ip: m.ip,
      // Shared paths come from the template's subvolume: one page cache for all tenants.
      sharedMounts: this.sharesOf(m).map((s) => ({ hostPath: this.shares.path(m.id, s.containerPath), containerPath: s.containerPath })),
      logDir: this.lxc.dir(m.id),
      usernsSysctls: tenantUsernsSysctls(this.config),
      lxcfs: this.lxcfs,
      procPoint: this.procs.point(m.id),
    });
  }

  /** The template paths shared into the tenant (none if its template is gone). */
  sharesOf(m: TenantMeta): Share[] {
    const tpl = this.templates.get(m.template);
    return tpl ? m.sharedPaths.map((p) => ({ hostPath: path.join(this.pool.path("templates", tpl.name), p), containerPath: p })) : [];
  }

  async applyDiskLimit(m: TenantMeta): Promise<void> {
    await this.pool.limitExclusive(this.pool.path("tenants", m.id), m.limits.diskMiB ? m.limits.diskMiB * 1024 * 1024 : null);
  }

  /**
   * The directories that hold every tenant's mounts (ramdisks, shares, /proc points): each a mount
   * of its own (launch.ts), which a start's launch namespace detaches, keeping only its tenant's.
   */
  launchParents(): string[] {
    return [this.ramdisks.dir, this.shares.dir, this.procs.dir];
  }

  /** `beforeStart`: runs once the ramdisk is mounted (a pool member's claim FIFO goes there). */
  async startLocked(m: TenantMeta, beforeStart?: () => Promise<void>): Promise<void> {
    if (this.cgroups.running(m.id)) return;
    this.cgroups.applyLastingLimits(m.id, m.limits);
    await this.ramdisks.ensure(m.id, ramdiskSizeMiB(m), m.uidBase);
    await beforeStart?.();
    // Before lxc-start: only mounts that exist when the tenant's mount namespace is made get locked read-only in it.
    await this.shares.ensure(m.id, m.uidBase, UID_RANGE, this.sharesOf(m));
    await this.procs.prepare(m.id);
    // The point's mount on the host goes whether or not the start did; a start's own error is the
    // one reported.
    const failed = await this.lxc
      .start(m.id, m.ksm, {
        carry: [this.ramdisks.path(m.id), ...this.sharesOf(m).map((s) => this.shares.path(m.id, s.containerPath)), this.procs.point(m.id)],
        detach: this.launchParents(),
        shared: [this.procs.point(m.id)],
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    await this.procs.detachHostCopy(m.id).catch((e: unknown) => {
      if (!failed) throw e;
    });
    if (failed) throw failed;
    hostSideNetSysctls(m);
    // LXC made the veth with group 0, which reaches no ruleset: the tenant's network opens here.
    // Running without it, the tenant would have no network at all, so a failure stops it (false
    // with the tenant gone already is an app that exited at once, which a start allows).
    let bound: boolean | Error;
    try {
      bound = this.firewall.bindLink(m.id);
    } catch (e) {
      bound = e as Error;
    }
    if (bound !== true && this.cgroups.running(m.id)) {
      await this.lxc.stop(m.id, { force: true, timeoutS: 0 }).catch(() => undefined);
      throw new EngineError("START_FAILED", `tenant ${m.id}'s veth could not be given its firewall: ${bound === false ? "no veth or no firewall entry" : bound.message}`);
    }
  }

  /**
   * Stops the tenant, thawing it first if it is paused: a graceful stop needs the app to run to
   * handle its SIGTERM (frozen, it would only be killed after the timeout).
   */
  async stopLocked(id: string, opts: { force?: boolean; timeoutS: number }): Promise<void> {
    if (this.cgroups.frozen(id)) await this.cgroups.setFrozen(id, false);
    await this.lxc.stop(id, opts);
  }

  /** Where a restore keeps the tenant's previous filesystem until the restored one is in place. */
  restoreAsidePath(id: string): string {
    return this.pool.path("tenants", `.restore-${id}`);
  }
}

// The host engine: templates and tenants on one machine. It has no database: the disk is its state
// (subvolumes in the pool, one directory per tenant in the lxcpath holding the LXC config and a
// hoody.json of what we decided for it). On start it adopts what is there; it never stops a tenant
// because it restarted.
import { randomInt, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { HostConfig } from "./config.js";
import { BtrfsPool } from "./drivers/btrfs.js";
import { CgroupReader, detectCgroupLayout } from "./drivers/cgroup.js";
import { enableKsmd, hostKsmStats, ksmAvailable, processKsm } from "./drivers/ksm.js";
import { netDevCounters, oldestStartMs, type IfaceCounters } from "./drivers/procinfo.js";
import { Lxc, UID_RANGE } from "./drivers/lxc.js";
import { Ramdisks } from "./drivers/ramdisk.js";
import { Shares, type Share } from "./drivers/shares.js";
import { TenantProcs } from "./drivers/procfs.js";
import { Firewall } from "./drivers/nft.js";
import { hostSysctlFloors, raiseHostSysctls, tenantUsernsSysctls } from "./drivers/kernel.js";
import { ensureLxcfs } from "./drivers/lxcfs.js";
import { reservedEnvKeys } from "../shared/env.js";
import { firstFreeIp } from "../shared/ip.js";
import { issuesText } from "../shared/issues.js";
import { KeyedMutex } from "../shared/lock.js";
import { dnsLabel } from "../shared/names.js";
import { RECIPES, type Progress } from "../recipes/index.js";
import { Revert } from "../shared/revert.js";
import { EngineError } from "../shared/errors.js";
import { run } from "../shared/sys.js";
import {
  CreateTenantSchema,
  EnvSchema,
  FirewallRuleSchema,
  LimitsSchema,
  NAME_RE,
  SNAPSHOT_NAME_RE,
  TEMPLATE_NAME_RE,
  TENANT_ID_RE,
  TemplateSettingsSchema,
  type CreateTenantInput,
  type DeleteReport,
  type Env,
  type ExecResult,
  type FirewallRule,
  type HostInfo,
  type HostStats,
  type SnapshotInfo,
  type TemplateInfo,
  type TemplateSettings,
  type TenantInfo,
  type TenantStats,
} from "../shared/protocol.js";

const TenantMetaSchema = z.object({
  id: z.string(),
  name: z.string(),
  template: z.string(),
  phase: z.enum(["creating", "ready", "deleting"]),
  ip: z.string(),
  uidBase: z.number().int(),
  veth: z.string(),
  createdAt: z.string(),
  subvolumeId: z.number().int(),
  initCmd: z.array(z.string()),
  appPort: z.number().int(),
  env: EnvSchema,
  limits: LimitsSchema,
  ramdiskMiB: z.number().int(),
  ksm: z.boolean(),
  sharedPaths: z.array(z.string()),
  firewall: z.array(FirewallRuleSchema),
  snapshots: z.array(z.object({ name: z.string(), createdAt: z.string(), subvolumeId: z.number().int() })),
  /** Whether the operator wants it running (restored after a host reboot). */
  wantRunning: z.boolean(),
  /** Brought back at a host boot when it wanted to run (Hoody's autostart); false: stays stopped until started. */
  autostart: z.boolean().default(true),
  labels: z.record(z.string(), z.string()).default({}),
});
type TenantMeta = z.infer<typeof TenantMetaSchema>;

const TemplateMetaSchema = z.object({
  name: z.string(),
  recipe: z.string().nullable(),
  settings: TemplateSettingsSchema,
  createdAt: z.string(),
  subvolumeId: z.number().int(),
});
type TemplateMeta = z.infer<typeof TemplateMetaSchema>;

const META_FILE = "hoody.json";

export class Host {
  private tenants = new Map<string, TenantMeta>();
  private templates = new Map<string, TemplateMeta>();
  private lock = new KeyedMutex();
  private readonly cgroups: CgroupReader;
  readonly lxc: Lxc;
  readonly firewall: Firewall;
  readonly ramdisks: Ramdisks;
  readonly shares: Shares;
  readonly procs: TenantProcs;

  private constructor(
    readonly config: HostConfig,
    readonly pool: BtrfsPool,
    private readonly versions: { lxc: string; btrfs: string },
    /** Whether an lxcfs serves /var/lib/lxcfs, so tenants' configs get its mount hook. */
    private readonly lxcfs: boolean,
  ) {
    const layout = detectCgroupLayout();
    this.cgroups = new CgroupReader(layout);
    this.lxc = new Lxc(config.lxcPath, layout);
    this.ramdisks = new Ramdisks(path.join(config.dataDir, "ramdisk"));
    this.shares = new Shares(path.join(config.dataDir, "shares"));
    this.procs = new TenantProcs(path.join(config.dataDir, "proc"));
    this.firewall = new Firewall(config.nftTable, config.vethPrefix, config.subnet, config.outboundNat);
  }

  /** Opens the pool, checks tools once, and adopts every template and tenant on disk. */
  static async open(config: HostConfig): Promise<Host> {
    const [lxcVersion] = await Promise.all([
      run("lxc-start", ["--version"]).then((r) => r.stdout.trim()),
      run("nft", ["--version"]),
      // Every tenant start runs them (the LXC hook that writes its kernel shares).
      run("nsenter", ["--version"]),
      run("sysctl", ["--version"]),
    ]);
    await fs.mkdir(config.dataDir, { recursive: true, mode: 0o711 });
    await fs.chmod(config.dataDir, 0o711);
    const pool = await BtrfsPool.open({ mountPath: config.poolPath, image: config.poolImage, imageSizeMiB: config.poolImageSizeMiB });
    await fs.mkdir(config.lxcPath, { recursive: true, mode: 0o711 });
    await fs.chmod(config.lxcPath, 0o711);
    enableKsmd();
    await ensureSubIdRange(config.uidBase, config.uidRanges * UID_RANGE);
    const lxcfs = await ensureLxcfs(path.join(config.dataDir, "lxcfs.log"));
    console.log(`hostd: ${lxcfs.message}`);
    const host = new Host(config, pool, { lxc: lxcVersion, btrfs: pool.progsVersion }, lxcfs.serving);
    await host.firewall.ensureBase();
    // After ensureBase: its conntrack rules load nf_conntrack, whose limit is one of these.
    for (const r of await raiseHostSysctls(hostSysctlFloors(config))) console.log(`hostd: raised ${r.key} from ${r.from} to ${r.to}`);
    // Each running tenant has a /32 route to its veth. Without a route for the rest of the subnet, a
    // packet for a stopped or unknown tenant address (the router racing a stop) would follow the
    // default route off the box; "unreachable" answers it on the spot instead.
    await run("ip", ["route", "replace", "unreachable", config.subnet]);
    await host.adopt();
    return host;
  }

  // ---------------------------------------------------------------- adoption

  private async adopt(): Promise<void> {
    for (const f of await fs.readdir(this.pool.path("templates"))) {
      if (!f.endsWith(".json")) continue;
      const meta = TemplateMetaSchema.parse(JSON.parse(await fs.readFile(this.pool.path("templates", f), "utf8")));
      if (await this.pool.isSubvolume(this.pool.path("templates", meta.name))) this.templates.set(meta.name, meta);
    }
    // Unfinished template builds (crash mid-build) are ours by name: remove them.
    for (const f of await fs.readdir(this.pool.path("templates"))) {
      if (f.startsWith(".build-")) await this.pool.deleteSubvolume(this.pool.path("templates", f));
    }
    for (const id of await fs.readdir(this.config.lxcPath)) {
      const file = path.join(this.config.lxcPath, id, META_FILE);
      const text = await fs.readFile(file, "utf8").catch(() => null);
      if (text === null) {
        // A create that died between making the tenant's directory and writing its hoody.json (the
        // subvolume comes after): nothing else of it exists, so the directory goes too.
        if (TENANT_ID_RE.test(id) && !(await this.pool.isSubvolume(this.pool.path("tenants", id)))) await this.lxc.removeDir(id);
        continue;
      }
      const meta = TenantMetaSchema.parse(JSON.parse(text));
      this.tenants.set(meta.id, meta);
      if (meta.phase !== "ready") {
        // Half-created or half-deleted when we last stopped: finish the removal.
        await this.deleteTenant(meta.id).catch(() => undefined);
        continue;
      }
      await this.finishDeadRestore(meta);
      await this.applyFirewall(meta);
      // A config written before a change of this daemon (e.g. new kernel shares) is current from the next start.
      await this.writeLxcConfig(meta);
      if (this.cgroups.running(meta.id)) this.hostSideNetSysctls(meta);
      else if (meta.wantRunning && meta.autostart) {
        // Running when the host went down (reboot) and meant to come back: bring it back. A failure is logged, not fatal.
        await this.startLocked(meta).catch((e) => console.error(`hostd: could not restart ${meta.id}: ${(e as Error).message}`));
      }
    }
  }

  /**
   * A restore that died midway left the previous filesystem aside: the metadata says which one is
   * the tenant's (it is saved only once the restored subvolume is in place); the other goes.
   */
  private async finishDeadRestore(m: TenantMeta): Promise<void> {
    const aside = this.restoreAsidePath(m.id);
    if (!(await this.pool.isSubvolume(aside))) return;
    const live = this.pool.path("tenants", m.id);
    if ((await this.pool.isSubvolume(live)) && (await this.pool.subvolumeId(live)) !== m.subvolumeId) await this.pool.deleteSubvolume(live);
    if (await this.pool.isSubvolume(live)) await this.pool.deleteSubvolume(aside);
    else await fs.rename(aside, live);
  }

  // ---------------------------------------------------------------- info & stats

  info(): HostInfo {
    return {
      version: "0.1.0",
      pool: { path: this.pool.mountPath, uuid: this.pool.uuid, quotaMode: this.pool.quotaMode, loopImage: this.pool.image },
      cgroup: this.cgroups.layout,
      ksm: { available: ksmAvailable() },
      lxcVersion: this.versions.lxc,
      btrfsVersion: this.versions.btrfs,
      subnet: this.config.subnet,
      nftTable: this.config.nftTable,
      outboundNat: this.config.outboundNat,
    };
  }

  /** Reads sysfs/procfs/cgroup files only: no process per tenant. `sync` commits BTRFS first (one spawn). */
  async stats(opts: { sync?: boolean; ids?: string[] } = {}): Promise<{ host: HostStats; tenants: TenantStats[] }> {
    if (opts.sync) await this.pool.sync();
    const t0 = performance.now();
    const metas = opts.ids ? opts.ids.map((id) => this.tenants.get(id)).filter((m): m is TenantMeta => !!m) : [...this.tenants.values()];
    const net = netDevCounters();
    const tenants = metas.map((m) => this.tenantStats(m, net, !!opts.ids));
    const meminfo = await fs.readFile("/proc/meminfo", "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
    const usage = await this.pool.usage();
    return {
      tenants,
      host: {
        pool: { ...usage, quotaMode: this.pool.quotaMode },
        ksm: hostKsmStats(),
        memory: { totalBytes: kb("MemTotal"), availableBytes: kb("MemAvailable") },
        tenants: opts.ids
          ? { total: this.tenants.size, running: [...this.tenants.keys()].filter((id) => this.cgroups.running(id)).length }
          : { total: tenants.length, running: tenants.filter((t) => t.running).length },
        collectedMs: performance.now() - t0,
      },
    };
  }

  /** `net`: /proc/net/dev read once for all; `withStart`: also read each process's start time (pages and single tenants only). */
  tenantStats(m: TenantMeta, net: Map<string, IfaceCounters> = netDevCounters(), withStart = false): TenantStats {
    const pids = this.cgroups.pids(m.id);
    let ksmMergingPages = 0;
    let ksmProfitBytes = 0;
    for (const pid of pids) {
      const k = processKsm(pid);
      ksmMergingPages += k.mergingPages;
      ksmProfitBytes += k.profitBytes;
    }
    const running = pids.length > 0;
    const c = net.get(m.veth);
    const started = running && withStart ? oldestStartMs(pids) : null;
    return {
      id: m.id,
      running,
      paused: running && this.cgroups.frozen(m.id),
      deltaBytes: this.pool.subvolumeBytes(m.subvolumeId),
      snapshotBytes: m.snapshots.reduce((s, snap) => s + this.pool.subvolumeBytes(snap.subvolumeId), 0),
      memoryBytes: running ? this.cgroups.memoryBytes(m.id) : 0,
      cpuUsageNs: running ? this.cgroups.cpuUsageNs(m.id) : 0,
      ksmMergingPages,
      ksmProfitBytes,
      pids: pids.length,
      memoryLimitBytes: m.limits.memoryMiB * 1024 * 1024,
      memoryPeakBytes: this.cgroups.memoryPeakBytes(m.id),
      swapBytes: running ? this.cgroups.swapBytes(m.id) : 0,
      cpuLimitMilli: m.limits.cpuMilli,
      diskLimitBytes: m.limits.diskMiB ? m.limits.diskMiB * 1024 * 1024 : null,
      // The host side of the veth receives what the tenant sends.
      network: {
        interface: "eth0",
        hostInterface: m.veth,
        address: m.ip,
        bytesReceived: c?.txBytes ?? 0,
        bytesSent: c?.rxBytes ?? 0,
        packetsReceived: c?.txPackets ?? 0,
        packetsSent: c?.rxPackets ?? 0,
        errorsReceived: c?.txErrors ?? 0,
        errorsSent: c?.rxErrors ?? 0,
        droppedInbound: c?.txDropped ?? 0,
        droppedOutbound: c?.rxDropped ?? 0,
      },
      startedAt: started === null ? null : new Date(started).toISOString(),
    };
  }

  // ---------------------------------------------------------------- templates

  listTemplates(): TemplateInfo[] {
    return [...this.templates.values()].map((t) => this.templateInfo(t));
  }

  private templateInfo(t: TemplateMeta): TemplateInfo {
    return {
      name: t.name,
      recipe: t.recipe,
      settings: t.settings,
      subvolumeId: t.subvolumeId,
      createdAt: t.createdAt,
      bytes: this.pool.subvolumeBytes(t.subvolumeId),
      tenants: [...this.tenants.values()].filter((m) => m.template === t.name).length,
    };
  }

  private getTemplate(name: string): TemplateMeta {
    const t = this.templates.get(name);
    if (!t) throw new EngineError("TEMPLATE_NOT_FOUND", `template ${name} not found`);
    return t;
  }

  /** Builds a template from a built-in recipe. Existing template of that name: returned as is. */
  async buildTemplate(recipeName: string, opts: { name?: string; progress?: Progress } = {}): Promise<TemplateInfo> {
    const recipe = RECIPES[recipeName];
    if (!recipe) throw new EngineError("INVALID_INPUT", `unknown recipe ${recipeName}; known: ${Object.keys(RECIPES).join(", ")}`);
    const name = opts.name ?? recipe.name;
    if (!TEMPLATE_NAME_RE.test(name)) throw new EngineError("INVALID_INPUT", `invalid template name ${name}`);
    const progress = opts.progress ?? (() => undefined);
    return this.lock.run(`template:${name}`, async () => {
      const existing = this.templates.get(name);
      if (existing) {
        progress(100, "already built");
        return this.templateInfo(existing);
      }
      await this.assertPoolRoom();
      return Revert.run(async (revert) => {
        const buildPath = this.pool.path("templates", `.build-${name}-${randomBytes(4).toString("hex")}`);
        await this.pool.createSubvolume(buildPath);
        revert.add("build subvolume", () => this.pool.deleteSubvolume(buildPath));
        await recipe.build(buildPath, progress, this.config.cacheDir);
        return this.installTemplate(name, recipe.name, recipe.settings, buildPath, revert);
      });
    });
  }

  /** Moves a finished rootfs subvolume into place as a read-only template. */
  private async installTemplate(name: string, recipe: string | null, settings: TemplateSettings, subvol: string, revert: Revert) {
    const finalPath = this.pool.path("templates", name);
    await fs.rename(subvol, finalPath);
    revert.add("template subvolume", () => this.pool.deleteSubvolume(finalPath));
    await this.pool.setReadonly(finalPath, true);
    const meta: TemplateMeta = {
      name,
      recipe,
      settings,
      createdAt: new Date().toISOString(),
      subvolumeId: await this.pool.subvolumeId(finalPath),
    };
    await writeJsonAtomic(this.pool.path("templates", `${name}.json`), meta);
    this.templates.set(name, meta);
    return this.templateInfo(meta);
  }

  /** A tenant's current filesystem becomes a new template (read-only snapshot; the tenant keeps running). */
  async promoteTenant(id: string, name: string, settings?: Partial<TemplateSettings>): Promise<TemplateInfo> {
    if (!TEMPLATE_NAME_RE.test(name)) throw new EngineError("INVALID_INPUT", `invalid template name ${name}`);
    return this.lock.run(`template:${name}`, () =>
      this.lock.run(id, async () => {
        const m = this.getTenant(id);
        if (this.templates.has(name)) throw new EngineError("ALREADY_EXISTS", `template ${name} exists`);
        await this.assertPoolRoom();
        const base = this.templates.get(m.template)?.settings;
        const merged = TemplateSettingsSchema.parse({
          ...(base ?? {}),
          initCmd: m.initCmd,
          appPort: m.appPort,
          env: m.env,
          limits: m.limits,
          ramdiskMiB: m.ramdiskMiB,
          ksm: m.ksm,
          firewall: m.firewall,
          // Its own /usr may differ from the template's; the promoted copy carries it, so share it again.
          sharedPaths: m.sharedPaths,
          ...settings,
        });
        return Revert.run(async (revert) => {
          const buildPath = this.pool.path("templates", `.build-${name}-${randomBytes(4).toString("hex")}`);
          await this.pool.snapshot(this.pool.path("tenants", id), buildPath, false);
          revert.add("promote snapshot", () => this.pool.deleteSubvolume(buildPath));
          return this.installTemplate(name, null, merged, buildPath, revert);
        });
      }),
    );
  }

  async deleteTemplate(name: string): Promise<{ existed: boolean }> {
    return this.lock.run(`template:${name}`, async () => {
      const t = this.templates.get(name);
      if (!t) return { existed: false };
      const users = [...this.tenants.values()].filter((m) => m.template === name).map((m) => m.id);
      if (users.length) throw new EngineError("TEMPLATE_IN_USE", `template ${name} is used by ${users.length} tenant(s): ${users.slice(0, 5).join(", ")}`);
      this.templates.delete(name);
      await fs.rm(this.pool.path("templates", `${name}.json`), { force: true });
      await this.pool.deleteSubvolume(this.pool.path("templates", name));
      return { existed: true };
    });
  }

  // ---------------------------------------------------------------- tenants

  listTenants(): TenantInfo[] {
    return [...this.tenants.values()].map((m) => this.tenantInfo(m));
  }

  getTenantInfo(id: string): TenantInfo {
    return this.tenantInfo(this.getTenant(id));
  }

  private getTenant(id: string): TenantMeta {
    const m = this.tenants.get(id);
    if (!m || m.phase === "deleting") throw new EngineError("TENANT_NOT_FOUND", `tenant ${id} not found`);
    return m;
  }

  private tenantInfo(m: TenantMeta): TenantInfo {
    const pids = this.cgroups.pids(m.id);
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

  private snapshotInfo(s: TenantMeta["snapshots"][number]): SnapshotInfo {
    return { ...s, bytes: this.pool.subvolumeBytes(s.subvolumeId) };
  }

  private metaPath(id: string): string {
    return path.join(this.lxc.dir(id), META_FILE);
  }

  private async saveMeta(m: TenantMeta): Promise<void> {
    await writeJsonAtomic(this.metaPath(m.id), m);
  }

  private allocate(): { id: string; uidBase: number; ip: string } {
    const used = [...this.tenants.values()];
    let id: string;
    do id = `c${randomBytes(8).toString("hex").slice(0, 10)}`;
    while (this.tenants.has(id));
    const usedUid = new Set(used.map((m) => m.uidBase));
    let uidBase = -1;
    for (let i = 0; i < this.config.uidRanges; i++) {
      const b = this.config.uidBase + i * UID_RANGE;
      if (!usedUid.has(b)) {
        uidBase = b;
        break;
      }
    }
    if (uidBase < 0) throw new EngineError("EXHAUSTED", "no free uid range: raise HOODY_UID_RANGES");
    const usedIp = new Set(used.map((m) => m.ip));
    const ip = firstFreeIp(this.config.subnet, usedIp);
    if (!ip) throw new EngineError("EXHAUSTED", `no free address in ${this.config.subnet}`);
    return { id, uidBase, ip };
  }

  /**
   * The pool's free-space reserve belongs to the tenants already on it: below it anything that adds
   * to the pool (a create, a snapshot, a promote, a template build) is refused with POOL_FULL instead
   * of eating the others' room. A snapshot is metadata at first, but it pins every block it shares,
   * so once taken the tenant's deletes no longer free space. A restore is allowed: it frees the
   * tenant's current delta, the way out of a full pool.
   */
  private async assertPoolRoom(): Promise<void> {
    const st = await fs.statfs(this.pool.mountPath);
    const MiB = 1024 * 1024;
    const free = st.bavail * st.bsize;
    const reserveMiB = this.config.poolMinFreeMiB ?? Math.min(1024, Math.floor((st.blocks * st.bsize * 0.05) / MiB));
    if (free < reserveMiB * MiB) {
      throw new EngineError("POOL_FULL", `the pool has ${Math.floor(free / MiB)} MiB free, below its reserve of ${reserveMiB} MiB: free space or grow the pool`);
    }
  }

  async createTenant(input: CreateTenantInput): Promise<TenantInfo> {
    const parsed = CreateTenantSchema.safeParse(input);
    if (!parsed.success) throw new EngineError("INVALID_INPUT", issuesText(parsed.error.issues));
    const req = parsed.data;
    assertNoReservedEnv(req.env);
    await this.assertPoolRoom();
    const tpl = this.getTemplate(req.template);
    const source = req.sourceTenant ? this.getTenant(req.sourceTenant) : null;
    let sourcePath = this.pool.path("templates", tpl.name);
    if (source) {
      sourcePath = this.pool.path("tenants", source.id);
      if (req.sourceSnapshot) {
        if (!source.snapshots.some((s) => s.name === req.sourceSnapshot)) {
          throw new EngineError("SNAPSHOT_NOT_FOUND", `snapshot ${req.sourceSnapshot} of ${source.id} not found`);
        }
        sourcePath = this.pool.path("snapshots", source.id, req.sourceSnapshot);
      }
    }
    const base = source ?? { ...tpl.settings, sharedPaths: tpl.settings.sharedPaths };
    // Allocation and reservation are synchronous, so concurrent creates never lease the same id, uid range or IP.
    const { id, uidBase, ip } = this.allocate();
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
      veth: `${this.config.vethPrefix}${id.slice(1)}`.slice(0, 15),
      createdAt: new Date().toISOString(),
      subvolumeId: 0,
      initCmd: source?.initCmd ?? tpl.settings.initCmd,
      appPort: source?.appPort ?? tpl.settings.appPort,
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
    this.tenants.set(id, meta);
    return this.lock.run(id, () =>
      Revert.run(async (revert) => {
        revert.add("lease", () => void this.tenants.delete(id));
        await fs.mkdir(this.lxc.dir(id), { mode: 0o711 });
        revert.add("tenant dir", () => this.lxc.removeDir(id));
        await this.saveMeta(meta);
        const rootfs = this.pool.path("tenants", id);
        // The snapshot, the LXC config and the firewall chains do not depend on each other: run
        // together (one after the other they added 20–40 ms to every create; bench/run.ts provision).
        // Whatever succeeded is registered for undo before the first failure is thrown.
        const [snap, config, firewall] = await Promise.allSettled([
          this.pool.snapshot(sourcePath, rootfs, false),
          this.writeLxcConfig(meta),
          this.applyFirewall(meta),
        ]);
        if (snap.status === "fulfilled") {
          meta.subvolumeId = snap.value;
          revert.add("tenant subvolume", () => this.pool.deleteSubvolume(rootfs));
        }
        if (firewall.status === "fulfilled") revert.add("firewall", () => this.firewall.removeTenant(id, meta.veth, meta.ip));
        for (const r of [snap, config, firewall]) if (r.status === "rejected") throw r.reason;
        // A new snapshot's qgroup has no limit: only set one when asked.
        if (meta.limits.diskMiB) await this.applyDiskLimit(meta);
        if (req.start) {
          revert.add("ramdisk", async () => void (await this.ramdisks.remove(id)));
          revert.add("shares", async () => void (await this.shares.remove(id)));
          revert.add("proc", async () => void (await this.procs.remove(id)));
          await this.startLocked(meta);
          revert.add("running tenant", () => this.lxc.stop(id, { force: true, timeoutS: 0 }));
        }
        meta.phase = "ready";
        await this.saveMeta(meta);
        return this.tenantInfo(meta);
      }),
    );
  }

  private async writeLxcConfig(m: TenantMeta): Promise<void> {
    const env: Env = { ...m.env, HOODY_TENANT_ID: m.id, HOODY_TENANT_NAME: m.name };
    await this.lxc.writeConfig({
      name: m.id,
      hostname: dnsLabel(m.name),
      rootfs: this.pool.path("tenants", m.id),
      uidBase: m.uidBase,
      initCmd: m.initCmd,
      env,
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
  private sharesOf(m: TenantMeta): Share[] {
    const tpl = this.templates.get(m.template);
    return tpl ? m.sharedPaths.map((p) => ({ hostPath: path.join(this.pool.path("templates", tpl.name), p), containerPath: p })) : [];
  }

  private async applyDiskLimit(m: TenantMeta): Promise<void> {
    await this.pool.limitExclusive(this.pool.path("tenants", m.id), m.limits.diskMiB ? m.limits.diskMiB * 1024 * 1024 : null);
  }

  private async applyFirewall(m: TenantMeta): Promise<void> {
    await this.firewall.setTenant({ id: m.id, veth: m.veth, ip: m.ip, rules: m.firewall, conntrackMax: this.config.tenantConntrackMax });
  }

  /**
   * Host side of the routed veth: answer ARP for other tenants and allow forwarding (nft decides).
   * Proxy ARP replies at once: by default they wait up to 0.8 s in one queue of 64 for the whole
   * host, which overflows with a few hundred tenants and leaves new neighbours unresolved (found
   * with the density benchmark's 500 tenants running beside the tests). Strict reverse-path
   * filtering drops a packet whose source address does not route back through this veth (a forged
   * one) in routing, before any filter chain or tenant sees it; nft's source check stands behind it.
   */
  private hostSideNetSysctls(m: TenantMeta): void {
    for (const [file, value] of [
      [`conf/${m.veth}/rp_filter`, "1"],
      [`conf/${m.veth}/proxy_arp`, "1"],
      [`conf/${m.veth}/forwarding`, "1"],
      [`neigh/${m.veth}/proxy_delay`, "0"],
    ] as const) {
      try {
        writeFileSync(`/proc/sys/net/ipv4/${file}`, value);
      } catch {
        // The veth is gone if the tenant stopped meanwhile; nothing to set.
      }
    }
  }

  private async startLocked(m: TenantMeta): Promise<void> {
    if (this.cgroups.running(m.id)) return;
    this.cgroups.applyLastingLimits(m.id, m.limits);
    await this.ramdisks.ensure(m.id, ramdiskSizeMiB(m), m.uidBase);
    // Before lxc-start: only mounts that exist when the tenant's mount namespace is made get locked read-only in it.
    await this.shares.ensure(m.id, m.uidBase, UID_RANGE, this.sharesOf(m));
    await this.procs.prepare(m.id);
    await this.lxc.start(m.id, m.ksm);
    this.hostSideNetSysctls(m);
  }

  /**
   * Stops the tenant, thawing it first if it is paused: a graceful stop needs the app to run to
   * handle its SIGTERM (frozen, it would only be killed after the timeout).
   */
  private async stopLocked(id: string, opts: { force?: boolean; timeoutS: number }): Promise<void> {
    if (this.cgroups.frozen(id)) await this.cgroups.setFrozen(id, false);
    await this.lxc.stop(id, opts);
  }

  /** Freezes a running tenant's processes where they are (cgroup freezer); its memory, ramdisk and address stay. */
  async pauseTenant(id: string): Promise<TenantInfo> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      if (!this.cgroups.running(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is not running`);
      if (this.cgroups.frozen(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is already paused`);
      await this.cgroups.setFrozen(id, true);
      return this.tenantInfo(m);
    });
  }

  async resumeTenant(id: string): Promise<TenantInfo> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      if (!this.cgroups.running(id) || !this.cgroups.frozen(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is not paused`);
      await this.cgroups.setFrozen(id, false);
      return this.tenantInfo(m);
    });
  }

  async startTenant(id: string): Promise<TenantInfo> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      await this.startLocked(m);
      if (!m.wantRunning) {
        m.wantRunning = true;
        await this.saveMeta(m);
      }
      return this.tenantInfo(m);
    });
  }

  async stopTenant(id: string, opts: { force?: boolean; timeoutS?: number } = {}): Promise<TenantInfo> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      await this.stopLocked(id, { force: opts.force, timeoutS: opts.timeoutS ?? this.config.stopTimeoutS });
      await this.procs.release(id);
      if (m.wantRunning) {
        m.wantRunning = false;
        await this.saveMeta(m);
      }
      return this.tenantInfo(m);
    });
  }

  async restartTenant(id: string): Promise<TenantInfo> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      await this.stopLocked(id, { timeoutS: this.config.stopTimeoutS });
      await this.startLocked(m);
      return this.tenantInfo(m);
    });
  }

  /**
   * Changes env, limits or ramdisk. The config is rewritten at once; a running tenant is restarted
   * so its app sees the change unless restart is false (then it applies at the next start).
   */
  async updateTenant(
    id: string,
    patch: { env?: Record<string, string | null>; limits?: Partial<z.infer<typeof LimitsSchema>>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean },
  ): Promise<{ tenant: TenantInfo; restarted: boolean }> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      if (patch.autostart !== undefined && patch.autostart !== m.autostart) {
        // A boot-time choice: nothing changes for the running tenant, so it alone never restarts it.
        m.autostart = patch.autostart;
        await this.saveMeta(m);
        if (patch.env === undefined && patch.limits === undefined && patch.ramdiskMiB === undefined) return { tenant: this.tenantInfo(m), restarted: false };
      }
      const env: Env = { ...m.env };
      for (const [k, v] of Object.entries(patch.env ?? {})) {
        if (v === null) delete env[k];
        else env[k] = v;
      }
      const envParsed = EnvSchema.safeParse(env);
      if (!envParsed.success) throw new EngineError("INVALID_INPUT", issuesText(envParsed.error.issues));
      assertNoReservedEnv(env);
      const limits = LimitsSchema.safeParse({ ...m.limits, ...patch.limits });
      if (!limits.success) throw new EngineError("INVALID_INPUT", issuesText(limits.error.issues));
      const prev = { env: m.env, limits: m.limits, ramdiskMiB: m.ramdiskMiB };
      m.env = envParsed.data;
      m.limits = limits.data;
      if (patch.ramdiskMiB !== undefined) m.ramdiskMiB = patch.ramdiskMiB;
      try {
        await this.writeLxcConfig(m);
        if (prev.limits.diskMiB !== m.limits.diskMiB) await this.applyDiskLimit(m);
        if (ramdiskSizeMiB(prev) !== ramdiskSizeMiB(m) && this.ramdisks.mounted(id)) await this.ramdisks.ensure(id, ramdiskSizeMiB(m), m.uidBase);
        await this.saveMeta(m);
      } catch (e) {
        Object.assign(m, prev);
        await this.writeLxcConfig(m).catch(() => undefined);
        await this.applyDiskLimit(m).catch(() => undefined);
        throw e;
      }
      // A paused tenant stays paused (pausing is deliberate): the change applies at its next start.
      const running = this.cgroups.running(id) && !this.cgroups.frozen(id);
      const restart = running && patch.restart !== false;
      if (restart) {
        await this.lxc.stop(id, { timeoutS: this.config.stopTimeoutS });
        try {
          await this.startLocked(m);
        } catch (e) {
          // The change does not start: the tenant gets its previous settings back and runs again.
          const reason = (e as Error).message.split("\n")[0];
          Object.assign(m, prev);
          await this.writeLxcConfig(m);
          await this.applyDiskLimit(m);
          if (this.ramdisks.mounted(id)) await this.ramdisks.ensure(id, ramdiskSizeMiB(m), m.uidBase);
          await this.saveMeta(m);
          const back = await this.startLocked(m).then(() => "and it runs again", (e2: Error) => `but it did not start either: ${e2.message.split("\n")[0]}`);
          throw new EngineError("START_FAILED", `the tenant did not start with this change (${reason}); its previous settings are back ${back}`);
        }
      }
      return { tenant: this.tenantInfo(m), restarted: restart };
    });
  }

  async setFirewall(id: string, rules: FirewallRule[]): Promise<TenantInfo> {
    const parsed = z.array(FirewallRuleSchema).max(200).safeParse(rules);
    if (!parsed.success) throw new EngineError("INVALID_INPUT", issuesText(parsed.error.issues));
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      const prev = m.firewall;
      m.firewall = parsed.data;
      try {
        await this.applyFirewall(m);
        await this.saveMeta(m);
      } catch (e) {
        m.firewall = prev;
        await this.applyFirewall(m).catch(() => undefined);
        throw e;
      }
      return this.tenantInfo(m);
    });
  }

  async exec(id: string, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
    const m = this.getTenant(id);
    if (!command.length) throw new EngineError("INVALID_INPUT", "command must not be empty");
    if (!this.cgroups.running(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is not running`);
    // An attached command would join the frozen cgroup and hang until a resume.
    if (this.cgroups.frozen(id)) throw new EngineError("INVALID_STATE", `tenant ${id} is paused`);
    return this.lxc.exec(id, command, { timeoutMs, ksm: m.ksm });
  }

  /** The tail of the app's console output (what its init writes to stdout/stderr). */
  async logs(id: string, maxBytes = 64 * 1024): Promise<string> {
    this.getTenant(id);
    const file = path.join(this.lxc.dir(id), "console.log");
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

  async initPid(id: string): Promise<number | null> {
    this.getTenant(id);
    return this.lxc.initPid(id);
  }

  /**
   * Erases the tenant: its processes (the whole cgroup subtree), ramdisk, firewall chains, every
   * snapshot, its subvolume with any nested in it, a failed restore's leftover (waiting for the BTRFS
   * cleaner so the blocks are gone), then a verification pass over all of it; only then
   * its LXC config, logs and metadata go, which also releases its uid range and IP. Anything still
   * there fails the call with what it is (the tenant stays "deleting", so a retry or the next start
   * finishes it): the receipt never claims what did not happen. Unknown id: `existed: false`.
   */
  async deleteTenant(id: string): Promise<DeleteReport> {
    return this.lock.run(id, async () => {
      const m = this.tenants.get(id);
      if (!m) return { id, existed: false, erased: [] };
      const erased: string[] = [];
      m.phase = "deleting";
      await this.saveMeta(m).catch(() => undefined);
      // Processes first: a subvolume unlinked under a running tenant stays mounted in it, and the
      // cleaner would wait for it forever.
      if (this.cgroups.running(id)) {
        await this.lxc.stop(id, { force: true, timeoutS: 0 });
        erased.push("processes (force-stopped)");
      }
      const survivors = await this.cgroups.killAll(id);
      if (survivors.length) throw new EngineError("SYSTEM_ERROR", `erase of ${id} stopped before its files: processes ${survivors.join(", ")} survived SIGKILL`);
      this.cgroups.removeAll(id);
      if (await this.ramdisks.remove(id)) erased.push("ramdisk (tmpfs unmounted)");
      if (await this.shares.remove(id)) erased.push("shared read-only mounts (unmounted)");
      if (await this.procs.remove(id)) erased.push("its /proc on the host (unmounted)");
      const mounted = await this.tenantMounts(id);
      if (mounted.length) throw new EngineError("SYSTEM_ERROR", `erase of ${id} stopped before its files: still mounted at ${mounted.join(", ")}`);
      await this.firewall.removeTenant(id, m.veth, m.ip);
      erased.push(`firewall chains eg_${id}, in_${id}`);
      // Every snapshot on disk, also one a crash left out of the metadata.
      const snapshotDir = this.pool.path("snapshots", id);
      for (const name of await fs.readdir(snapshotDir).catch(() => [] as string[])) {
        await this.pool.deleteSubvolume(path.join(snapshotDir, name));
        const known = m.snapshots.find((s) => s.name === name);
        erased.push(`snapshot ${name}${known ? ` (subvolume ${known.subvolumeId})` : ""}`);
      }
      await fs.rm(snapshotDir, { recursive: true, force: true });
      const aside = this.restoreAsidePath(id);
      if (await fs.lstat(aside).then(() => true, () => false)) {
        await this.pool.deleteSubvolume(aside);
        erased.push("filesystem left by a failed restore");
      }
      const nested = await this.pool.nestedSubvolumes(this.pool.path("tenants", id));
      await this.pool.deleteSubvolume(this.pool.path("tenants", id));
      const qgroup = this.pool.qgroupExists(m.subvolumeId) ? "" : `, qgroup 0/${m.subvolumeId}`;
      erased.push(`filesystem (subvolume ${m.subvolumeId}${qgroup}${nested.length ? `, ${nested.length} nested subvolume(s)` : ""})`);
      // Freed blocks still hold the bytes: discard them (on a loop image this punches holes, so the
      // data is gone from the image file; on SSDs it is the device's TRIM).
      if (await this.pool.discardFree()) erased.push("freed pool blocks discarded (fstrim)");
      const left = await this.erasureLeftovers(m);
      if (left.length) throw new EngineError("SYSTEM_ERROR", `erase of ${id} is incomplete, still present: ${left.join("; ")}`);
      erased.push("verified gone: processes, cgroups, mounts, paths, subvolumes, firewall chains, veth");
      await this.lxc.removeDir(id);
      if (await fs.lstat(this.lxc.dir(id)).then(() => true, () => false)) throw new EngineError("SYSTEM_ERROR", `erase of ${id} is incomplete: ${this.lxc.dir(id)} is still present`);
      erased.push("lxc config, console and lxc logs, metadata");
      erased.push(`uid range ${m.uidBase}-${m.uidBase + UID_RANGE - 1} and address ${m.ip} released`);
      this.tenants.delete(id);
      return { id, existed: true, erased };
    });
  }

  /** What of an erased tenant is still on the host (empty when the erase is complete). */
  private async erasureLeftovers(m: TenantMeta): Promise<string[]> {
    const left: string[] = [];
    const pids = this.cgroups.pids(m.id);
    if (pids.length) left.push(`processes ${pids.join(", ")}`);
    left.push(...this.cgroups.removeAll(m.id).map((d) => `cgroup ${d}`));
    left.push(...(await this.tenantMounts(m.id)).map((mp) => `mount ${mp}`));
    for (const p of this.tenantPoolPaths(m.id)) if (await fs.lstat(p).then(() => true, () => false)) left.push(`path ${p}`);
    // Its subvolumes by id (a qgroup may rightly outlive them: with simple quotas a copy made from
    // the tenant keeps the extents it shares charged to the tenant's qgroup until they are freed).
    const ids = await this.pool.subvolumeIds();
    for (const subvolumeId of [m.subvolumeId, ...m.snapshots.map((s) => s.subvolumeId)]) {
      if (ids.has(subvolumeId)) left.push(`subvolume ${subvolumeId}`);
    }
    const chains = await this.firewall.tenantChains();
    left.push(...chains.filter((c) => c === `eg_${m.id}` || c === `in_${m.id}`).map((c) => `nft chain ${c}`));
    if (await fs.lstat(`/sys/class/net/${m.veth}`).then(() => true, () => false)) left.push(`veth ${m.veth}`);
    return left;
  }

  private tenantPoolPaths(id: string): string[] {
    return [this.pool.path("tenants", id), this.restoreAsidePath(id), this.pool.path("snapshots", id)];
  }

  /**
   * Host mounts of the tenant: on its ramdisk or pool paths, or of them (a bind mount elsewhere whose
   * root is in its subvolumes). BTRFS deletes a subvolume that is still mounted somewhere, and its
   * cleaner then waits for that mount for ever: the erase must refuse instead.
   */
  private async tenantMounts(id: string): Promise<string[]> {
    const rows = (await fs.readFile("/proc/self/mountinfo", "utf8")).split("\n").map((l) => l.split(" "));
    const poolDev = rows.find((r) => r[4] === this.pool.mountPath)?.[2];
    const under = (p: string, dir: string) => p === dir || p.startsWith(dir + "/");
    const points = [this.ramdisks.path(id), ...this.tenantPoolPaths(id)];
    const roots = this.tenantPoolPaths(id).map((p) => "/" + path.relative(this.pool.mountPath, p));
    return rows
      .filter((r) => points.some((p) => under(r[4] ?? "", p)) || (r[2] === poolDev && roots.some((root) => under(r[3] ?? "", root))))
      .map((r) => r[4]!);
  }

  /** Where a restore keeps the tenant's previous filesystem until the restored one is in place. */
  private restoreAsidePath(id: string): string {
    return this.pool.path("tenants", `.restore-${id}`);
  }

  // ---------------------------------------------------------------- snapshots

  async createSnapshot(id: string, name?: string): Promise<SnapshotInfo> {
    const snapName = name ?? `snap-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${randomInt(1000, 9999)}`;
    if (!SNAPSHOT_NAME_RE.test(snapName)) throw new EngineError("INVALID_INPUT", `invalid snapshot name ${snapName}`);
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      if (m.snapshots.some((s) => s.name === snapName)) throw new EngineError("ALREADY_EXISTS", `snapshot ${snapName} exists`);
      await this.assertPoolRoom();
      return Revert.run(async (revert) => {
        await fs.mkdir(this.pool.path("snapshots", id), { recursive: true });
        const p = this.pool.path("snapshots", id, snapName);
        const subvolumeId = await this.pool.snapshot(this.pool.path("tenants", id), p, true);
        revert.add("snapshot subvolume", () => this.pool.deleteSubvolume(p));
        const snap = { name: snapName, createdAt: new Date().toISOString(), subvolumeId };
        m.snapshots.push(snap);
        revert.add("snapshot entry", () => void m.snapshots.splice(m.snapshots.indexOf(snap), 1));
        await this.saveMeta(m);
        return this.snapshotInfo(snap);
      });
    });
  }

  listSnapshots(id: string): SnapshotInfo[] {
    return this.getTenant(id).snapshots.map((s) => this.snapshotInfo(s));
  }

  /**
   * Rolls the tenant's filesystem back to a snapshot (the snapshot stays). A running tenant is
   * restarted. A failure anywhere puts everything back: the old filesystem, its limit and metadata,
   * and the tenant running if it was; no `.restore-<id>` stays behind.
   */
  async restoreSnapshot(id: string, snapName: string): Promise<TenantInfo> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      if (!m.snapshots.some((s) => s.name === snapName)) throw new EngineError("SNAPSHOT_NOT_FOUND", `snapshot ${snapName} not found`);
      const live = this.pool.path("tenants", id);
      const aside = this.restoreAsidePath(id);
      const oldId = m.subvolumeId;
      // A leftover of an earlier restore that died is the tenant's old data: it goes first.
      await this.pool.deleteSubvolume(aside);
      const wasRunning = this.cgroups.running(id);
      await Revert.run(async (revert) => {
        if (wasRunning) {
          await this.stopLocked(id, { timeoutS: this.config.stopTimeoutS });
          revert.add("running tenant", () => this.startLocked(m));
        }
        await fs.rename(live, aside);
        revert.add("put live back", () => fs.rename(aside, live));
        m.subvolumeId = await this.pool.snapshot(this.pool.path("snapshots", id, snapName), live, false);
        revert.add("restored subvolume", async () => {
          m.subvolumeId = oldId;
          await this.pool.deleteSubvolume(live);
        });
        await this.applyDiskLimit(m);
        revert.add("metadata", async () => {
          m.subvolumeId = oldId;
          await this.saveMeta(m);
        });
        await this.saveMeta(m);
        if (wasRunning) await this.startLocked(m);
      });
      await this.pool.deleteSubvolume(aside);
      return this.tenantInfo(m);
    });
  }

  async deleteSnapshot(id: string, snapName: string): Promise<{ existed: boolean }> {
    return this.lock.run(id, async () => {
      const m = this.getTenant(id);
      const snap = m.snapshots.find((s) => s.name === snapName);
      if (!snap) return { existed: false };
      await this.pool.deleteSubvolume(this.pool.path("snapshots", id, snapName));
      m.snapshots = m.snapshots.filter((s) => s !== snap);
      await this.saveMeta(m);
      return { existed: true };
    });
  }
}

// ---------------------------------------------------------------- helpers

async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString("hex")}`;
  await fs.writeFile(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
  await fs.rename(tmp, file);
}

function assertNoReservedEnv(env: Record<string, unknown>): void {
  const bad = reservedEnvKeys(env);
  if (bad.length) throw new EngineError("INVALID_INPUT", `reserved env prefix HOODY_: ${bad.join(", ")}`);
}

/**
 * The ramdisk's tmpfs size: what was asked for, but at most three quarters of the memory limit. Its
 * pages count against that limit and outlive the tenant's runs; a ramdisk allowed to hold all of it
 * would leave a stopped tenant no memory to start its init in, ever again.
 */
export function ramdiskSizeMiB(m: { ramdiskMiB: number; limits: { memoryMiB: number } }): number {
  return Math.max(1, Math.min(m.ramdiskMiB, Math.floor((m.limits.memoryMiB * 3) / 4)));
}

/** LXC maps tenant uids from root's ranges in /etc/subuid and /etc/subgid; make sure ours is there. */
export async function ensureSubIdRange(base: number, count: number): Promise<void> {
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    const text = await fs.readFile(file, "utf8").catch(() => "");
    const covered = text.split("\n").some((line) => {
      const [user, start, n] = line.split(":");
      return user === "root" && Number(start) <= base && Number(start) + Number(n) >= base + count;
    });
    if (!covered) await fs.appendFile(file, `${text && !text.endsWith("\n") ? "\n" : ""}root:${base}:${count}\n`);
  }
}

// An in-memory Engine for unit tests of server/core (Incus's storage/drivers/driver_mock.go idea: a
// fake behind the same interface). No root, LXC or BTRFS: tenants, templates, snapshots and rules
// are plain objects. It checks its inputs with the same schemas and fails with the same
// EngineError codes as the host daemon and the Incus engine, so core's error mapping and
// rollbacks run as they do against the real ones. Every call is recorded, and a test can make the
// next call of a method fail (before or after its effect) or hold it mid-way.
import { parseCreateTenant, patchedEnv } from "../../shared/engine-input";
import { FakeScript } from "./script";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import {
  FirewallRuleSchema,
  LimitsSchema,
  NAME_RE,
  SNAPSHOT_NAME_RE,
  TEMPLATE_NAME_RE,
  TemplateSettingsSchema,
  type CreateTenantInput,
  type ExecResult,
  type FirewallRule,
  type HostInfo,
  type HostStats,
  type Limits,
  type SnapshotInfo,
  type TemplateInfo,
  type TemplateSettings,
  type TenantInfo,
  type TenantStats,
} from "../../shared/protocol";
import type { DeltaBrowser, Engine, EngineBackups, EngineCapabilities, EngineServer } from "../types";
import { fakeDeltas } from "./changes";
import { FakeDedup } from "./dedup";
import {
  DEFAULT_TEMPLATE_SETTINGS,
  fail,
  MiB,
  snapshotInfo,
  templateInfo,
  tenantInfo,
  tenantStats,
  type ExecHandler,
  type FakeEngineOptions,
  type FakeSnapshot,
  type FakeTemplate,
  type FakeTenant,
} from "./model";

import { FakeWarmPool } from "./pool";

export * from "./model";

export class FakeEngine implements Engine {
  readonly kind: "host" | "incus";
  readonly tenants = new Map<string, FakeTenant>();
  readonly templates = new Map<string, FakeTemplate>();
  /** The host engine's warm pool (Incus has none). */
  readonly warmPool?: FakeWarmPool;
  /** Calls recorded, failures injected, calls held: the test's controls. */
  readonly script = new FakeScript();
  /** Answers exec; default: exit 0 with no output. Return undefined to fall back to the default. */
  onExec: ExecHandler | null = null;
  readonly dedup = new FakeDedup(this.tenants);
  private readonly caps: EngineCapabilities;
  private readonly places: EngineServer[];
  private readonly recipes: Set<string>;
  private readonly maxTenants: number;
  private nextSubvolume = 256;
  private nextIp = 2;
  /** Diffs the few files the fake keeps per tenant against its template's (or a snapshot's). */
  // Backups need btrfs send/receive: the fake has none (core's unit tests see them refused by name).
  readonly backups: EngineBackups = { create: noBackups, list: noBackups, delete: noBackups, restore: noBackups, import: noBackups, export: noBackups };
  readonly deltas: DeltaBrowser = fakeDeltas(
    (m, a, e) => this.script.run(m, a, e),
    (id) => this.tenant(id),
    (name) => this.getTemplate(name),
  );

  constructor(opts: FakeEngineOptions = {}) {
    this.kind = opts.kind ?? "host";
    this.caps = { deltaDisk: true, ksm: true, snapshots: true, firewall: true, backups: false, ...opts.capabilities };
    this.places = opts.servers ?? [
      {
        key: this.kind,
        name: this.kind === "host" ? "fake-host" : "fake-incus",
        member: null,
        online: true,
        specs: { cpuModel: "Fake CPU", cpuThreads: 4, memoryBytes: 8 * 1024 * MiB, diskBytes: 100 * 1024 * MiB },
      },
    ];
    this.recipes = new Set(opts.recipes ?? ["mini", "node"]);
    this.maxTenants = opts.maxTenants ?? Infinity;
    this.addTemplate("mini");
    if (this.kind === "host") this.warmPool = new FakeWarmPool(this);
  }

  // ---------------------------------------------------------------- test controls

  /** Adds (or replaces) a template as a build would leave it. */
  addTemplate(name: string, settings: Partial<TemplateSettings> = {}, recipe: string | null = name): FakeTemplate {
    const tpl: FakeTemplate = {
      name,
      recipe,
      settings: TemplateSettingsSchema.parse({ ...DEFAULT_TEMPLATE_SETTINGS, ...settings }),
      createdAt: new Date().toISOString(),
      subvolumeId: this.nextSubvolume++,
      bytes: 300 * MiB,
      files: new Map(),
    };
    this.templates.set(name, tpl);
    return tpl;
  }

  /** The tenant (a test's handle on its state); TENANT_NOT_FOUND like the engine when there is none. */
  tenant(id: string): FakeTenant {
    return this.tenants.get(id) ?? fail("TENANT_NOT_FOUND", `tenant ${id} not found`);
  }

  /** The tenant writes `bytes` more to its own filesystem (its delta grows). */
  write(id: string, bytes: number, file?: { path: string; content: string }): void {
    const t = this.tenant(id);
    t.deltaBytes += bytes;
    if (file) t.files.set(file.path, file.content);
  }

  /** A tenant made outside the core (no hoody.owner label unless given): what reconcile must leave alone. */
  async adopt(input: CreateTenantInput): Promise<TenantInfo> {
    return this.doCreate(input);
  }

  // ---------------------------------------------------------------- host

  capabilities(): EngineCapabilities {
    return { ...this.caps };
  }

  info(): Promise<HostInfo> {
    return this.script.run("info", [], () => ({
      version: "fake",
      pool: { path: "/fake/pool", uuid: "00000000-0000-0000-0000-000000000000", quotaMode: "simple" as const, loopImage: null },
      cgroup: "v2" as const,
      ksm: { available: this.caps.ksm },
      lxcVersion: "fake",
      btrfsVersion: "fake",
      subnet: "10.99.0.0/16",
      nftTable: "hoody_fake",
      outboundNat: true,
    }));
  }

  servers(): Promise<EngineServer[]> {
    return this.script.run("servers", [], () => this.places.map((p) => ({ ...p, specs: { ...p.specs } })));
  }

  stats(opts: { sync?: boolean; ids?: string[] } = {}): Promise<{ host: HostStats; tenants: TenantStats[] }> {
    return this.script.run("stats", [opts], () => {
      const all = [...this.tenants.values()];
      const picked = opts.ids ? opts.ids.map((id) => this.tenants.get(id)).filter((x): x is FakeTenant => !!x) : all;
      const poolSize = 100 * 1024 * MiB;
      const used = [...this.templates.values()].reduce((s, t) => s + t.bytes, 0) + all.reduce((s, t) => s + t.deltaBytes + t.snapshots.reduce((a, x) => a + x.bytes, 0), 0);
      return {
        host: {
          pool: { sizeBytes: poolSize, usedBytes: used, quotaMode: "simple" as const },
          ksm: { run: this.caps.ksm, pagesShared: 0, pagesSharing: 0, savedBytes: 0, generalProfitBytes: 0 },
          memory: { totalBytes: 8 * 1024 * MiB, availableBytes: 6 * 1024 * MiB },
          // As the daemon's: of the asked tenants when given ids.
          tenants: { total: picked.length, running: picked.filter((t) => t.state === "running" || t.state === "paused").length },
          // As the daemon counts them: tenants and pool members each hold a uid range and an address.
          ...(this.kind === "host" && {
            capacity: (() => {
              const total = Number.isFinite(this.maxTenants) ? this.maxTenants : 4096;
              const used = all.length + (this.warmPool?.members.size ?? 0);
              return { uidRanges: { total, used }, addresses: { total, used } };
            })(),
          }),
          collectedMs: 1,
        },
        tenants: picked.map((t) => tenantStats(t, !!opts.ids)),
      };
    });
  }

  private getTemplate(name: string): FakeTemplate {
    return this.templates.get(name) ?? fail("TEMPLATE_NOT_FOUND", `template ${name} not found`);
  }

  listTemplates(): Promise<TemplateInfo[]> {
    return this.script.run("listTemplates", [], () => [...this.templates.values()].map((t) => templateInfo(t, this.tenants.values())));
  }

  buildTemplate(recipe: string, opts: { name?: string; onProgress?: (percent: number, message: string) => void } = {}): Promise<TemplateInfo> {
    return this.script.run("buildTemplate", [recipe, { name: opts.name }], () => {
      if (!this.recipes.has(recipe)) fail("INVALID_INPUT", `unknown recipe ${recipe}; known: ${[...this.recipes].join(", ")}`);
      const name = opts.name ?? recipe;
      if (!TEMPLATE_NAME_RE.test(name)) fail("INVALID_INPUT", `invalid template name ${name}`);
      // An existing template of that name is returned as it is (as the daemon does).
      const existing = this.templates.get(name);
      if (existing) return templateInfo(existing, this.tenants.values());
      opts.onProgress?.(0, "starting");
      opts.onProgress?.(100, "done");
      return templateInfo(this.addTemplate(name, {}, recipe), this.tenants.values());
    });
  }

  promote(id: string, name: string, settings: Partial<TemplateSettings> = {}): Promise<TemplateInfo> {
    return this.script.run("promote", [id, name, settings], () => {
      if (!TEMPLATE_NAME_RE.test(name)) fail("INVALID_INPUT", `invalid template name ${name}`);
      const t = this.tenant(id);
      if (this.templates.has(name)) fail("ALREADY_EXISTS", `template ${name} exists`);
      const from = this.getTemplate(t.template).settings;
      const tpl = this.addTemplate(name, { ...from, appPort: t.appPort, env: t.env, limits: t.limits, ramdiskMiB: t.ramdiskMiB, firewall: t.firewall, ...settings }, null);
      tpl.files = new Map(t.files);
      return templateInfo(tpl, this.tenants.values());
    });
  }

  deleteTemplate(name: string): Promise<{ existed: boolean }> {
    return this.script.run("deleteTemplate", [name], () => {
      if (!this.templates.has(name)) return { existed: false };
      const users = [...this.tenants.values()].filter((t) => t.template === name).map((t) => t.id);
      if (users.length) fail("TEMPLATE_IN_USE", `template ${name} is used by ${users.length} tenant(s): ${users.slice(0, 5).join(", ")}`);
      this.templates.delete(name);
      return { existed: true };
    });
  }

  listTenants(opts: { running?: boolean } = {}): Promise<TenantInfo[]> {
    return this.script.run("listTenants", [opts], () => [...this.tenants.values()].filter((t) => !opts.running || t.state === "running" || t.state === "paused").map((t) => tenantInfo(t)));
  }

  getTenant(id: string): Promise<TenantInfo> {
    return this.script.run("getTenant", [id], () => tenantInfo(this.tenant(id)));
  }

  createTenant(input: CreateTenantInput): Promise<TenantInfo> {
    return this.script.run("createTenant", [structuredClone(input)], () => this.doCreate(input));
  }

  private doCreate(input: CreateTenantInput): TenantInfo {
    const req = parseCreateTenant(input);
    const tpl = this.getTemplate(req.template);
    const source = req.sourceTenant ? this.tenant(req.sourceTenant) : null;
    const snap =
      source && req.sourceSnapshot ? (source.snapshots.find((s) => s.name === req.sourceSnapshot) ?? fail("SNAPSHOT_NOT_FOUND", `snapshot ${req.sourceSnapshot} of ${source.id} not found`)) : null;
    if (this.tenants.size + (this.warmPool?.members.size ?? 0) >= this.maxTenants) fail("EXHAUSTED", `no free address (fake limit of ${this.maxTenants} tenants)`);
    if (this.kind === "incus" && req.member && !this.places.some((p) => p.member === req.member)) fail("INVALID_INPUT", `no cluster member ${req.member}`);
    let id: string;
    do id = `c${randomBytes(8).toString("hex").slice(0, 10)}`;
    while (this.tenants.has(id));
    const name = req.name ?? id;
    if (!NAME_RE.test(name)) fail("INVALID_INPUT", `invalid name ${name}`);
    const limits = LimitsSchema.safeParse({ ...(source?.limits ?? tpl.settings.limits), ...req.limits });
    if (!limits.success) fail("INVALID_INPUT", limits.error.message);
    const n = this.nextIp++;
    const t: FakeTenant = {
      id,
      name,
      template: tpl.name,
      state: req.start ? "running" : "stopped",
      ip: `10.99.${Math.floor(n / 256)}.${n % 256}`,
      uidBase: 100_000 + n * 65536,
      appPort: source?.appPort ?? tpl.settings.appPort,
      // As the daemon does: the source's (or template's) env, its name, then what was asked.
      env: { ...(source ? source.env : tpl.settings.env), TENANT_NAME: name, ...req.env },
      limits: limits.data,
      ramdiskMiB: req.ramdiskMiB ?? source?.ramdiskMiB ?? tpl.settings.ramdiskMiB,
      ksm: req.ksm ?? source?.ksm ?? tpl.settings.ksm,
      firewall: structuredClone(req.firewall ?? source?.firewall ?? tpl.settings.firewall),
      createdAt: new Date().toISOString(),
      subvolumeId: this.nextSubvolume++,
      snapshots: [],
      labels: req.labels,
      ...(this.kind === "incus" ? { member: req.member ?? this.places[0]?.member ?? undefined } : {}),
      autostart: req.autostart,
      files: new Map(snap ? snap.files : source ? source.files : tpl.files),
      deltaBytes: snap ? snap.deltaBytes : (source?.deltaBytes ?? 0),
      starts: req.start ? 1 : 0,
      log: "",
    };
    if (t.member === undefined) delete t.member;
    this.tenants.set(id, t);
    return tenantInfo(t);
  }

  startTenant(id: string): Promise<TenantInfo> {
    return this.script.run("startTenant", [id], () => {
      const t = this.tenant(id);
      // Like lxc-start of a running tenant: nothing to do. A paused one stays paused.
      if (t.state === "stopped") {
        t.state = "running";
        t.starts++;
      }
      return tenantInfo(t);
    });
  }

  stopTenant(id: string, opts: { force?: boolean; timeoutS?: number } = {}): Promise<TenantInfo> {
    return this.script.run("stopTenant", [id, opts], () => {
      const t = this.tenant(id);
      // A paused tenant is thawed first, then stopped.
      t.state = "stopped";
      return tenantInfo(t);
    });
  }

  restartTenant(id: string): Promise<TenantInfo> {
    return this.script.run("restartTenant", [id], () => {
      const t = this.tenant(id);
      t.state = "running";
      t.starts++;
      return tenantInfo(t);
    });
  }

  pauseTenant(id: string): Promise<TenantInfo> {
    return this.script.run("pauseTenant", [id], () => {
      const t = this.tenant(id);
      if (t.state !== "running") fail("INVALID_STATE", `tenant ${id} is not running${t.state === "paused" ? " (already paused)" : ""}`);
      t.state = "paused";
      return tenantInfo(t);
    });
  }

  resumeTenant(id: string): Promise<TenantInfo> {
    return this.script.run("resumeTenant", [id], () => {
      const t = this.tenant(id);
      if (t.state !== "paused") fail("INVALID_STATE", `tenant ${id} is not paused`);
      t.state = "running";
      return tenantInfo(t);
    });
  }

  /** The erasure report lists what went, as the daemon's does; an unknown id is `existed: false`. */
  deleteTenant(id: string): Promise<{ id: string; existed: boolean; erased: string[] }> {
    return this.script.run("deleteTenant", [id], () => {
      const t = this.tenants.get(id);
      if (!t) return { id, existed: false, erased: [] };
      const erased: string[] = [];
      if (t.state === "running" || t.state === "paused") erased.push("processes (force-stopped)");
      erased.push(`firewall entries of hv${id.slice(1)} and ${t.ip}, and its flow count`);
      for (const s of t.snapshots) erased.push(`snapshot ${s.name} (subvolume ${s.subvolumeId})`);
      erased.push(`filesystem (subvolume ${t.subvolumeId})`);
      erased.push("lxc config, console and lxc logs, metadata");
      erased.push(`uid range ${t.uidBase}-${t.uidBase + 65535} and address ${t.ip} released`);
      this.tenants.delete(id);
      return { id, existed: true, erased };
    });
  }

  updateTenant(
    id: string,
    patch: { env?: Record<string, string | null>; limits?: Partial<Limits>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean },
  ): Promise<{ tenant: TenantInfo; restarted: boolean }> {
    return this.script.run("updateTenant", [id, structuredClone(patch)], () => {
      const t = this.tenant(id);
      if (patch.autostart !== undefined && patch.autostart !== t.autostart) {
        // A boot-time choice alone never restarts the tenant.
        t.autostart = patch.autostart;
        if (patch.env === undefined && patch.limits === undefined && patch.ramdiskMiB === undefined) return { tenant: tenantInfo(t), restarted: false };
      }
      const env = patchedEnv(t.env, patch.env);
      const limits = LimitsSchema.safeParse({ ...t.limits, ...patch.limits });
      if (!limits.success) fail("INVALID_INPUT", limits.error.message);
      t.env = env;
      t.limits = limits.data;
      if (patch.ramdiskMiB !== undefined) t.ramdiskMiB = patch.ramdiskMiB;
      // A paused tenant stays paused: the change applies at its next start.
      const restarted = t.state === "running" && patch.restart !== false;
      if (restarted) t.starts++;
      return { tenant: tenantInfo(t), restarted };
    });
  }

  setFirewall(id: string, rules: FirewallRule[]): Promise<TenantInfo> {
    return this.script.run("setFirewall", [id, structuredClone(rules)], () => {
      const parsed = z.array(FirewallRuleSchema).max(200).safeParse(rules);
      if (!parsed.success) fail("INVALID_INPUT", parsed.error.message);
      const t = this.tenant(id);
      t.firewall = parsed.data;
      return tenantInfo(t);
    });
  }

  exec(id: string, command: string[], timeoutMs?: number): Promise<ExecResult> {
    return this.script.run("exec", [id, [...command], timeoutMs], () => {
      const t = this.tenant(id);
      if (!command.length) fail("INVALID_INPUT", "command must not be empty");
      if (t.state === "paused") fail("INVALID_STATE", `tenant ${id} is paused`);
      if (t.state !== "running") fail("INVALID_STATE", `tenant ${id} is not running`);
      return this.onExec?.(t, command) ?? { exitCode: 0, stdout: "", stderr: "", timedOut: false };
    });
  }

  logs(id: string, maxBytes = 64 * 1024): Promise<string> {
    return this.script.run("logs", [id, maxBytes], () => this.tenant(id).log.slice(-maxBytes));
  }

  createSnapshot(id: string, name?: string): Promise<SnapshotInfo> {
    return this.script.run("createSnapshot", [id, name], () => {
      const snapName = name ?? `snap-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${1000 + Math.floor(Math.random() * 9000)}`;
      if (!SNAPSHOT_NAME_RE.test(snapName)) fail("INVALID_INPUT", `invalid snapshot name ${snapName}`);
      const t = this.tenant(id);
      if (t.snapshots.some((s) => s.name === snapName)) fail("ALREADY_EXISTS", `snapshot ${snapName} exists`);
      // What the snapshot pins: the tenant's delta at the time (exclusive bytes grow as the tenant diverges; kept simple here).
      const snap: FakeSnapshot = { name: snapName, createdAt: new Date().toISOString(), subvolumeId: this.nextSubvolume++, bytes: t.deltaBytes, files: new Map(t.files), deltaBytes: t.deltaBytes };
      t.snapshots.push(snap);
      return snapshotInfo(snap);
    });
  }

  restoreSnapshot(id: string, name: string): Promise<TenantInfo> {
    return this.script.run("restoreSnapshot", [id, name], () => {
      const t = this.tenant(id);
      const snap = t.snapshots.find((s) => s.name === name) ?? fail("SNAPSHOT_NOT_FOUND", `snapshot ${name} not found`);
      t.files = new Map(snap.files);
      t.deltaBytes = snap.deltaBytes;
      t.subvolumeId = this.nextSubvolume++;
      // A running tenant is restarted on the restored filesystem.
      if (t.state === "running") t.starts++;
      return tenantInfo(t);
    });
  }

  deleteSnapshot(id: string, name: string): Promise<{ existed: boolean }> {
    return this.script.run("deleteSnapshot", [id, name], () => {
      const t = this.tenant(id);
      const before = t.snapshots.length;
      t.snapshots = t.snapshots.filter((s) => s.name !== name);
      return { existed: t.snapshots.length < before };
    });
  }
}

function noBackups(): Promise<never> {
  return Promise.resolve().then(() => fail("NOT_SUPPORTED", "the fake engine has no backups"));
}

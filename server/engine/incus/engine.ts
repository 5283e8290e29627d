// The Engine over Incus (a lone incusd or a cluster). Mapping:
//   template  → a stopped instance per member (user.hoody.kind=template), cloned locally per tenant
//   tenant    → an instance copied from its member's template, started in the same operation; Hoody's
//               facts live in user.hoody.* config keys (name, template, IP, limits, firewall, labels)
//   network   → a managed bridge; each tenant has a static /32 with the bridge as gateway, and its
//               port isolated, so every packet to or between tenants is routed through the host
//               and crosses the inet hooks (this kernel has no bridge-family conntrack, which NIC
//               ACLs need); MAC/IPv4 filtering on the NIC stops address spoofing
//   firewall  → one network ACL per tenant (hoody-<id>), rules scoped to the tenant's address,
//               attached to the bridge; defaults reject both ways
//   stats     → one /1.0/instances?recursion=2 call for every tenant (state included)
// Lifecycle events (/1.0/events) invalidate the listing cache, so reads stay cheap and fresh.
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { randomBytes, randomInt } from "node:crypto";
import { z } from "zod";
import { isReservedEnvKey, reservedEnvKeys } from "../../shared/env";
import { EngineError, type EngineErrorCode, isEngineError } from "../../shared/errors";
import { cidrBlock, firstFreeIp, intToIp } from "../../shared/ip";
import { issuesText } from "../../shared/issues";
import { KeyedMutex } from "../../shared/lock";
import { Revert } from "../../shared/revert";
import {
  CreateTenantSchema,
  EnvSchema,
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
import type { Engine, EngineCapabilities, EngineServer } from "../types";
import { IncusApiError, IncusClient } from "./client";
import { K, createTemplateInstances, templateInstanceName, templateMembers, uploadImage } from "./templates";
import type { IncusClusterMember, IncusInstanceFull, IncusNetworkAclRule, IncusServer, IncusSnapshot } from "./types";

export interface IncusEngineConfig {
  pool: string;
  network: string;
  /** Member (or @group) new tenants go to; unset: the least-loaded member that has the template. */
  target?: string;
  /** Explicit isolated idmap ranges (security.idmap.base); unset: Incus allocates them. */
  uidBase?: number;
  uidRanges?: number;
  cacheDir: string;
  stopTimeoutS: number;
}

const UID_RANGE = 65536;
const T = {
  name: "user.hoody.name",
  ip: "user.hoody.ip",
  appPort: "user.hoody.app_port",
  init: "user.hoody.init",
  ramdisk: "user.hoody.ramdisk_mib",
  limits: "user.hoody.limits",
  firewall: "user.hoody.firewall",
  labelPrefix: "user.hoody.label.",
} as const;

function fail(code: EngineErrorCode, message: string): never {
  throw new EngineError(code, message);
}

/** Incus errors in the engine's vocabulary (the core maps EngineError codes to API errors). */
function mapError(e: unknown, what: { tenant?: string; snapshot?: string } = {}): never {
  if (isEngineError(e)) throw e;
  if (e instanceof IncusApiError) {
    if (e.status === 404) {
      if (what.snapshot) fail("SNAPSHOT_NOT_FOUND", `snapshot ${what.snapshot} not found`);
      if (what.tenant) fail("TENANT_NOT_FOUND", `tenant ${what.tenant} not found`);
    }
    if (e.status === 409) fail("ALREADY_EXISTS", e.message);
    fail("SYSTEM_ERROR", `incus: ${e.message}`);
  }
  throw e;
}

function quoteInitArg(a: string): string {
  if (/[\s"'\\]/.test(a)) fail("INVALID_INPUT", `init argument not allowed: ${JSON.stringify(a)}`);
  return a;
}

export class IncusEngine implements Engine {
  readonly kind = "incus" as const;
  /** One mutation per tenant (and one template or network-ACL list update) at a time. */
  private locks = new KeyedMutex();
  private cache: { at: number; list: IncusInstanceFull[] } | null = null;
  private events: { close(): void } | null = null;
  private reservedIps = new Set<string>();
  private reservedUids = new Set<number>();
  private net: { gateway: string; subnet: string; prefix: number; nat: boolean } | null = null;
  private server: IncusServer | null = null;

  constructor(
    readonly client: IncusClient,
    readonly config: IncusEngineConfig,
  ) {}

  capabilities(): EngineCapabilities {
    // deltaDisk: Incus reports a volume's usage, not the bytes it holds apart from its template;
    // ksm: the containers are started by incusd, which does not opt them in to KSM (PR_SET_MEMORY_MERGE).
    return { deltaDisk: false, ksm: false, snapshots: true, firewall: true };
  }

  // ---------------------------------------------------------------- listing, cache, events

  /** Keeps the listing cache fresh from lifecycle events (re-subscribes if the stream drops). */
  private watch(): void {
    if (this.events) return;
    this.events = this.client.events(["lifecycle"], () => (this.cache = null), () => {
      this.events = null;
      this.cache = null;
    });
  }

  private async instances(fresh = false): Promise<IncusInstanceFull[]> {
    this.watch();
    if (!fresh && this.cache && Date.now() - this.cache.at < 2000) return this.cache.list;
    const list = await this.client.get<IncusInstanceFull[]>("/1.0/instances", { recursion: 2 }).catch((e) => mapError(e));
    this.cache = { at: Date.now(), list };
    return list;
  }

  private invalidate(): void {
    this.cache = null;
  }

  private async tenantInstance(id: string): Promise<IncusInstanceFull> {
    if (!/^c[a-z0-9]{10}$/.test(id)) fail("TENANT_NOT_FOUND", `tenant ${id} not found`);
    const inst = await this.client.get<IncusInstanceFull>(`/1.0/instances/${id}`, { recursion: 1 }).catch((e) => mapError(e, { tenant: id }));
    if (inst.config[K.kind] !== "tenant") fail("TENANT_NOT_FOUND", `tenant ${id} not found`);
    const [state, snapshots] = await Promise.all([
      this.client.get<IncusInstanceFull["state"]>(`/1.0/instances/${id}/state`).catch(() => null),
      this.client.get<IncusSnapshot[]>(`/1.0/instances/${id}/snapshots`, { recursion: 1 }).catch(() => [] as IncusSnapshot[]),
    ]);
    return { ...inst, state, snapshots };
  }

  private async serverInfo(): Promise<IncusServer> {
    this.server ??= await this.client.get<IncusServer>("/1.0").catch((e) => mapError(e));
    return this.server;
  }

  /** The bridge's address and prefix; makes sure its ACL defaults are "reject" (tenants are closed by default). */
  private async network() {
    if (this.net) return this.net;
    const n = await this.client.get<{ config: Record<string, string> }>(`/1.0/networks/${this.config.network}`).catch((e) => mapError(e));
    const cidr = n.config["ipv4.address"];
    if (!cidr || cidr === "none") fail("SYSTEM_ERROR", `network ${this.config.network} has no IPv4 address`);
    const gateway = cidr.split("/")[0]!;
    const { network, bits: prefix } = cidrBlock(cidr);
    const subnet = `${intToIp(network)}/${prefix}`;
    const want = { "security.acls.default.ingress.action": "reject", "security.acls.default.egress.action": "reject" };
    if (Object.entries(want).some(([k, v]) => n.config[k] !== v)) {
      await this.client.patch(`/1.0/networks/${this.config.network}`, { config: want }).catch((e) => mapError(e));
    }
    this.net = { gateway, subnet, prefix, nat: n.config["ipv4.nat"] === "true" };
    return this.net;
  }

  private tenantInfo(i: IncusInstanceFull): TenantInfo {
    const c = i.config;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(c)) if (k.startsWith("environment.") && !isReservedEnvKey(k.slice(12))) env[k.slice(12)] = v;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(c)) if (k.startsWith(T.labelPrefix)) labels[k.slice(T.labelPrefix.length)] = v;
    return {
      id: i.name,
      name: c[T.name] ?? i.name,
      template: c[K.template] ?? "",
      state: i.status === "Running" ? "running" : i.status === "Frozen" ? "paused" : "stopped",
      ip: c[T.ip] ?? "",
      uidBase: Number(c["security.idmap.base"] ?? c["volatile.idmap.base"] ?? 0),
      veth: i.state?.network?.eth0?.host_name ?? c["volatile.eth0.host_name"] ?? "",
      appPort: Number(c[T.appPort] ?? 0),
      env,
      limits: JSON.parse(c[T.limits] ?? "{}") as Limits,
      ramdiskMiB: Number(c[T.ramdisk] ?? 0),
      ksm: false,
      firewall: JSON.parse(c[T.firewall] ?? "[]") as FirewallRule[],
      createdAt: i.created_at,
      subvolumeId: 0,
      snapshots: (i.snapshots ?? []).map((s) => this.snapshotInfo(s)),
      labels,
      member: i.location && i.location !== "none" ? i.location : undefined,
    };
  }

  private snapshotInfo(s: IncusSnapshot): SnapshotInfo {
    return { name: s.name.split("/").pop()!, createdAt: s.created_at, subvolumeId: 0, bytes: Math.max(0, s.size ?? 0) };
  }

  // ---------------------------------------------------------------- info & stats

  async info(): Promise<HostInfo> {
    const [server, net] = await Promise.all([this.serverInfo(), this.network()]);
    return {
      version: `incus ${server.environment.server_version}`,
      pool: { path: this.config.pool, uuid: "", quotaMode: "none", loopImage: null },
      cgroup: fs.existsSync("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1",
      ksm: { available: false },
      lxcVersion: server.environment.driver_version,
      btrfsVersion: server.environment.storage_version,
      subnet: net.subnet,
      nftTable: "incus",
      outboundNat: net.nat,
    };
  }

  /** A lone incusd is one place; a cluster has one per member (a member's specs from its own /1.0/resources). */
  async servers(): Promise<EngineServer[]> {
    const server = await this.serverInfo();
    const specsOf = async (member: string | null): Promise<EngineServer["specs"]> => {
      const r = await this.client
        .get<{ cpu?: { total?: number; sockets?: { name?: string }[] }; memory?: { total?: number } }>("/1.0/resources", member ? { target: member } : undefined)
        .catch(() => null);
      const pool = await this.client
        .get<{ space?: { total?: number } }>(`/1.0/storage-pools/${this.config.pool}/resources`, member ? { target: member } : undefined)
        .catch(() => null);
      return { cpuModel: r?.cpu?.sockets?.[0]?.name ?? null, cpuThreads: r?.cpu?.total ?? null, memoryBytes: r?.memory?.total ?? null, diskBytes: pool?.space?.total ?? null };
    };
    if (!server.environment.server_clustered) return [{ key: "incus", name: server.environment.server_name, member: null, online: true, specs: await specsOf(null) }];
    const members = await this.client.get<IncusClusterMember[]>("/1.0/cluster/members", { recursion: 1 }).catch((e) => mapError(e));
    return Promise.all(
      members.map(async (m) => ({ key: `incus:${m.server_name}`, name: m.server_name, member: m.server_name, online: m.status === "Online", specs: await specsOf(m.status === "Online" ? m.server_name : null) })),
    );
  }

  async stats(opts: { sync?: boolean; ids?: string[] } = {}): Promise<{ host: HostStats; tenants: TenantStats[] }> {
    const t0 = performance.now();
    const [list, pool, resources] = await Promise.all([
      this.instances(),
      this.client.get<{ space: { used: number; total: number } }>(`/1.0/storage-pools/${this.config.pool}/resources`).catch(() => ({ space: { used: 0, total: 0 } })),
      this.client.get<{ memory: { total: number; used: number } }>("/1.0/resources").catch(() => ({ memory: { total: 0, used: 0 } })),
    ]);
    const all = list.filter((i) => i.config[K.kind] === "tenant");
    const wanted = opts.ids ? new Set(opts.ids) : null;
    let picked = all.filter((i) => !wanted || wanted.has(i.name));
    // One tenant's stats (GET …/stats) are read fresh: the listing is cached for up to 2 s, and
    // counters read twice within that would not move.
    if (opts.ids?.length === 1 && picked.length === 1) {
      const fresh = await this.client.get<IncusInstanceFull>(`/1.0/instances/${encodeURIComponent(picked[0]!.name)}`, { recursion: 1 }).catch(() => null);
      if (fresh?.state) picked = [fresh];
    }
    const tenants = picked.map((i): TenantStats => {
      const s = i.state;
      const running = isUp(i);
      const limits = JSON.parse(i.config[T.limits] ?? "{}") as Partial<Limits>;
      const eth0 = s?.network?.eth0;
      const n = running ? eth0?.counters : undefined;
      return {
        id: i.name,
        running,
        paused: i.status === "Frozen",
        deltaBytes: 0,
        snapshotBytes: (i.snapshots ?? []).reduce((sum, x) => sum + Math.max(0, x.size ?? 0), 0),
        memoryBytes: running ? (s?.memory?.usage ?? 0) : 0,
        cpuUsageNs: running ? (s?.cpu?.usage ?? 0) : 0,
        ksmMergingPages: 0,
        ksmProfitBytes: 0,
        pids: running ? (s?.processes ?? 0) : 0,
        memoryLimitBytes: limits.memoryMiB ? limits.memoryMiB * 1024 * 1024 : 0,
        memoryPeakBytes: running ? (s?.memory?.usage_peak ?? null) : null,
        swapBytes: running ? (s?.memory?.swap_usage ?? 0) : 0,
        cpuLimitMilli: limits.cpuMilli ?? null,
        diskLimitBytes: limits.diskMiB ? limits.diskMiB * 1024 * 1024 : null,
        // Incus counts from the instance's side already.
        network: {
          interface: "eth0",
          hostInterface: eth0?.host_name || null,
          address: i.config[T.ip] || null,
          bytesReceived: n?.bytes_received ?? 0,
          bytesSent: n?.bytes_sent ?? 0,
          packetsReceived: n?.packets_received ?? 0,
          packetsSent: n?.packets_sent ?? 0,
          errorsReceived: n?.errors_received ?? 0,
          errorsSent: n?.errors_sent ?? 0,
          droppedInbound: n?.packets_dropped_inbound ?? 0,
          droppedOutbound: n?.packets_dropped_outbound ?? 0,
        },
        // last_used_at is when Incus last started it.
        startedAt: running && i.last_used_at && !i.last_used_at.startsWith("0001") ? new Date(i.last_used_at).toISOString() : null,
      };
    });
    return {
      tenants,
      host: {
        pool: { sizeBytes: pool.space.total, usedBytes: pool.space.used, quotaMode: "none" },
        ksm: { run: false, pagesShared: 0, pagesSharing: 0, savedBytes: 0, generalProfitBytes: 0 },
        memory: { totalBytes: resources.memory.total, availableBytes: Math.max(0, resources.memory.total - resources.memory.used) },
        tenants: { total: all.length, running: all.filter(isUp).length },
        collectedMs: performance.now() - t0,
      },
    };
  }

  // ---------------------------------------------------------------- templates

  async listTemplates(): Promise<TemplateInfo[]> {
    const list = await this.instances();
    const byName = new Map<string, IncusInstanceFull>();
    for (const i of list) if (i.config[K.kind] === "template" && !byName.has(i.config[K.template]!)) byName.set(i.config[K.template]!, i);
    return [...byName.values()].map((i) => ({
      name: i.config[K.template]!,
      recipe: i.config[K.recipe] || null,
      settings: TemplateSettingsSchema.parse(JSON.parse(i.config[K.settings] ?? "{}")),
      subvolumeId: 0,
      createdAt: i.config[K.created] ?? i.created_at,
      bytes: Math.max(0, i.state?.disk?.root?.usage ?? 0),
      tenants: list.filter((x) => x.config[K.kind] === "tenant" && x.config[K.template] === i.config[K.template]).length,
    }));
  }

  private async templateInstances(name: string): Promise<IncusInstanceFull[]> {
    return (await this.instances(true)).filter((i) => i.config[K.kind] === "template" && i.config[K.template] === name);
  }

  async buildTemplate(recipe: string, opts: { name?: string; onProgress?: (percent: number, message: string) => void } = {}): Promise<TemplateInfo> {
    const name = opts.name ?? recipe;
    if (!TEMPLATE_NAME_RE.test(name)) fail("INVALID_INPUT", `invalid template name ${name}`);
    if (!/^[a-z][a-z0-9-]{0,40}$/.test(recipe)) fail("INVALID_INPUT", `unknown recipe ${recipe}`);
    return this.locks.run(`template:${name}`, async () => {
      const existing = (await this.listTemplates()).find((t) => t.name === name);
      if (existing) {
        opts.onProgress?.(100, "already built");
        return existing;
      }
      await this.importInChild(recipe, name, opts.onProgress).catch((e) => mapError(e));
      this.invalidate();
      opts.onProgress?.(100, "done");
      return (await this.listTemplates()).find((t) => t.name === name)!;
    });
  }

  /** The rootfs is built by a tsx child (see build-image.ts), then uploaded and instantiated from here. */
  private async importInChild(recipe: string, name: string, onProgress?: (p: number, m: string) => void): Promise<void> {
    const root = process.env.HOODY_ROOT ?? process.cwd();
    const child = execa(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "server/engine/incus/build-image.ts"), recipe, this.config.cacheDir], { cwd: root, timeout: 1_800_000, reject: false });
    child.stderr?.on("data", (d: Buffer) => {
      const m = /progress: (\d+) (.*)/.exec(String(d));
      if (m) onProgress?.(Number(m[1]), m[2] ?? "");
    });
    const r = await child;
    if (r.exitCode === 3) fail("INVALID_INPUT", String(r.stderr).trim().split("\n").pop() ?? `unknown recipe ${recipe}`);
    if (r.exitCode !== 0) throw new Error(`building the ${recipe} image failed: ${String(r.stderr).slice(-2000)}`);
    const { tarball, dir, settings: raw } = JSON.parse(String(r.stdout).trim().split("\n").pop()!) as { tarball: string; dir: string; settings: unknown };
    try {
      const fingerprint = await uploadImage(this.client, tarball);
      try {
        const settings = TemplateSettingsSchema.parse(raw);
        await createTemplateInstances(this.client, name, fingerprint, settings, recipe, this.placement());
      } finally {
        await this.client.delete(`/1.0/images/${fingerprint}`).catch(() => undefined);
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  private placement() {
    return { pool: this.config.pool, network: this.config.network, idmapBase: this.config.uidBase };
  }

  async promote(id: string, name: string, settings?: Partial<TemplateSettings>): Promise<TemplateInfo> {
    if (!TEMPLATE_NAME_RE.test(name)) fail("INVALID_INPUT", `invalid template name ${name}`);
    return this.locks.run(`template:${name}`, async () => {
      const src = this.tenantInfo(await this.tenantInstance(id));
      if ((await this.templateInstances(name)).length) fail("ALREADY_EXISTS", `template ${name} exists`);
      const base = (await this.listTemplates()).find((t) => t.name === src.template)?.settings;
      const merged = TemplateSettingsSchema.parse({
        ...(base ?? {}),
        initCmd: JSON.parse((await this.tenantInstance(id)).config[T.init] ?? "[]"),
        appPort: src.appPort,
        env: Object.fromEntries(Object.entries(src.env).filter(([k]) => k !== "TENANT_NAME")),
        limits: src.limits,
        ramdiskMiB: src.ramdiskMiB,
        firewall: src.firewall,
        ...settings,
      });
      // A snapshot of the tenant becomes the template on the tenant's member; other members get a copy.
      const members = await templateMembers(this.client);
      const created: string[] = [];
      try {
        for (const [i, member] of members.entries()) {
          const instance = templateInstanceName(name, member, i === 0);
          await this.client.post("/1.0/instances", {
            name: instance,
            source: { type: "copy", source: id, instance_only: true },
            config: {
              [K.kind]: "template",
              [K.template]: name,
              [K.settings]: JSON.stringify(merged),
              [K.recipe]: "",
              [K.created]: new Date().toISOString(),
              ...(this.config.uidBase !== undefined && { "security.idmap.base": String(this.config.uidBase) }),
            },
            start: false,
          }, member ? { target: member } : undefined);
          created.push(instance);
        }
      } catch (e) {
        for (const n of created) await this.client.delete(`/1.0/instances/${n}`).catch(() => undefined);
        mapError(e, { tenant: id });
      }
      this.invalidate();
      return (await this.listTemplates()).find((t) => t.name === name)!;
    });
  }

  async deleteTemplate(name: string): Promise<{ existed: boolean }> {
    return this.locks.run(`template:${name}`, async () => {
      const instances = await this.templateInstances(name);
      if (!instances.length) return { existed: false };
      const users = (await this.instances(true)).filter((i) => i.config[K.kind] === "tenant" && i.config[K.template] === name);
      if (users.length) fail("TEMPLATE_IN_USE", `template ${name} is used by ${users.length} tenant(s): ${users.slice(0, 5).map((u) => u.name).join(", ")}`);
      for (const i of instances) await this.client.delete(`/1.0/instances/${i.name}`).catch((e) => mapError(e));
      this.invalidate();
      return { existed: true };
    });
  }

  // ---------------------------------------------------------------- tenants

  async listTenants(): Promise<TenantInfo[]> {
    return (await this.instances(true)).filter((i) => i.config[K.kind] === "tenant").map((i) => this.tenantInfo(i));
  }

  async getTenant(id: string): Promise<TenantInfo> {
    return this.tenantInfo(await this.tenantInstance(id));
  }

  /** Id, address and idmap range, reserved synchronously so concurrent creates never share them. */
  private async allocate(list: IncusInstanceFull[]): Promise<{ id: string; ip: string; uidBase?: number; release: () => void }> {
    const net = await this.network();
    const names = new Set(list.map((i) => i.name));
    let id: string;
    do id = `c${randomBytes(8).toString("hex").slice(0, 10)}`;
    while (names.has(id));
    // The bridge's own address may sit anywhere in the subnet: never leased.
    const usedIp = new Set([...list.flatMap((i) => i.config[T.ip] ?? []), ...this.reservedIps, net.gateway]);
    const ip = firstFreeIp(net.subnet, usedIp);
    if (!ip) fail("EXHAUSTED", `no free address in ${net.subnet}`);
    let uidBase: number | undefined;
    if (this.config.uidBase !== undefined) {
      const usedUid = new Set([...list.map((i) => Number(i.config["security.idmap.base"] ?? -1)), ...this.reservedUids]);
      // Range 0 is the templates' (they never run).
      for (let k = 1; k < (this.config.uidRanges ?? 64); k++) {
        const b = this.config.uidBase + k * UID_RANGE;
        if (!usedUid.has(b)) {
          uidBase = b;
          break;
        }
      }
      if (uidBase === undefined) fail("EXHAUSTED", "no free uid range: raise HOODY_INCUS_UID_RANGES");
      this.reservedUids.add(uidBase);
    }
    this.reservedIps.add(ip);
    const chosenIp = ip;
    const chosenUid = uidBase;
    return {
      id,
      ip,
      uidBase,
      release: () => {
        this.reservedIps.delete(chosenIp);
        if (chosenUid !== undefined) this.reservedUids.delete(chosenUid);
      },
    };
  }

  private rawLxc(m: { initCmd: string[]; ip: string; gateway: string; ramdiskMiB: number }): string {
    return [
      `lxc.init.cmd = ${m.initCmd.map(quoteInitArg).join(" ")}`,
      "lxc.signal.halt = SIGTERM",
      // A /32 with the bridge as gateway: tenant traffic is routed through the host (see the header).
      `lxc.net.0.ipv4.address = ${m.ip}/32`,
      `lxc.net.0.ipv4.gateway = ${m.gateway}`,
      `lxc.mount.entry = tmpfs ramdisk tmpfs rw,nosuid,nodev,size=${m.ramdiskMiB}m,mode=1777,create=dir 0 0`,
      "lxc.mount.entry = tmpfs tmp tmpfs rw,nosuid,nodev,size=64m,mode=1777,create=dir 0 0",
    ].join("\n");
  }

  private limitsConfig(l: Limits): Record<string, string> {
    return {
      "limits.memory": `${l.memoryMiB}MiB`,
      "limits.cpu.allowance": `${Math.max(1, Math.round(l.cpuMilli / 10))}ms/100ms`,
      "limits.processes": String(l.pids),
    };
  }

  /** The tenant's firewall as ACL rules scoped to its address ("host" = the bridge's own address). */
  private aclRules(ip: string, rules: FirewallRule[], gateway: string): { ingress: IncusNetworkAclRule[]; egress: IncusNetworkAclRule[] } {
    const conv = (r: FirewallRule): IncusNetworkAclRule => {
      const out: IncusNetworkAclRule = { action: r.action, state: r.state === "disabled" ? "disabled" : "enabled", description: r.description ?? "" };
      if (r.protocol) out.protocol = r.protocol;
      if (r.destination_port) out.destination_port = r.destination_port;
      if (r.source_port) out.source_port = r.source_port;
      if (r.icmp_type) out.icmp_type = r.icmp_type;
      if (r.icmp_code) out.icmp_code = r.icmp_code;
      if (r.direction === "ingress") {
        out.destination = `${ip}/32`;
        if (r.source) out.source = r.source === "host" ? `${gateway}/32` : r.source;
      } else {
        out.source = `${ip}/32`;
        if (r.destination) out.destination = r.destination;
      }
      return out;
    };
    return { ingress: rules.filter((r) => r.direction === "ingress").map(conv), egress: rules.filter((r) => r.direction === "egress").map(conv) };
  }

  private aclName(id: string): string {
    return `hoody-${id}`;
  }

  /** Adds or removes a tenant ACL in the bridge's security.acls (one update at a time). */
  private attachAcl(id: string, attach: boolean): Promise<void> {
    return this.locks.run("network-acls", async () => {
      const n = await this.client.get<{ config: Record<string, string> }>(`/1.0/networks/${this.config.network}`);
      const list = (n.config["security.acls"] ?? "").split(",").filter(Boolean);
      const name = this.aclName(id);
      const next = attach ? [...new Set([...list, name])] : list.filter((x) => x !== name);
      if (next.join(",") === list.join(",")) return;
      await this.client.patch(`/1.0/networks/${this.config.network}`, { config: { "security.acls": next.join(",") } });
    });
  }

  private async chooseSource(template: string, list: IncusInstanceFull[], member?: string): Promise<{ source: string; target?: string }> {
    const tpls = list.filter((i) => i.config[K.kind] === "template" && i.config[K.template] === template);
    if (!tpls.length) fail("TEMPLATE_NOT_FOUND", `template ${template} not found`);
    const server = await this.serverInfo();
    if (!server.environment.server_clustered) return { source: tpls[0]!.name };
    // A member asked for by the caller (the API's server_id) wins over the configured default.
    const target = member ?? this.config.target;
    if (target && !target.startsWith("@")) {
      const local = tpls.find((t) => t.location === target);
      // No template on that member yet: Incus transfers the primary's copy (a full copy).
      return { source: (local ?? tpls[0]!).name, target };
    }
    if (target) return { source: tpls[0]!.name, target };
    // Least-loaded member that holds the template: the copy stays a local clone.
    const load = (m: string) => list.filter((i) => i.config[K.kind] === "tenant" && i.location === m).length;
    const best = [...tpls].sort((a, b) => load(a.location) - load(b.location))[0]!;
    return { source: best.name, target: best.location };
  }

  async createTenant(input: CreateTenantInput): Promise<TenantInfo> {
    const parsed = CreateTenantSchema.safeParse(input);
    if (!parsed.success) fail("INVALID_INPUT", issuesText(parsed.error.issues));
    const req = parsed.data;
    const reserved = reservedEnvKeys(req.env);
    if (reserved.length) fail("INVALID_INPUT", `reserved env prefix HOODY_: ${reserved.join(", ")}`);
    const list = await this.instances(true);
    const tplInst = list.find((i) => i.config[K.kind] === "template" && i.config[K.template] === req.template);
    if (!tplInst) fail("TEMPLATE_NOT_FOUND", `template ${req.template} not found`);
    const tpl = TemplateSettingsSchema.parse(JSON.parse(tplInst.config[K.settings] ?? "{}"));
    let source: { source: string; target?: string };
    let base: { initCmd: string[]; appPort: number; env: Record<string, string>; limits: Limits; ramdiskMiB: number; firewall: FirewallRule[] };
    if (req.sourceTenant) {
      const src = list.find((i) => i.name === req.sourceTenant && i.config[K.kind] === "tenant");
      if (!src) fail("TENANT_NOT_FOUND", `tenant ${req.sourceTenant} not found`);
      const info = this.tenantInfo(src);
      if (req.sourceSnapshot && !(src.snapshots ?? []).some((s) => s.name === req.sourceSnapshot)) fail("SNAPSHOT_NOT_FOUND", `snapshot ${req.sourceSnapshot} of ${src.name} not found`);
      const clustered = (await this.serverInfo()).environment.server_clustered;
      source = { source: req.sourceSnapshot ? `${src.name}/${req.sourceSnapshot}` : src.name, target: clustered ? (req.member ?? (src.location && src.location !== "none" ? src.location : undefined)) : undefined };
      base = { initCmd: JSON.parse(src.config[T.init] ?? "[]"), appPort: info.appPort, env: info.env, limits: info.limits, ramdiskMiB: info.ramdiskMiB, firewall: info.firewall };
    } else {
      source = await this.chooseSource(req.template, list, req.member);
      base = { initCmd: tpl.initCmd, appPort: tpl.appPort, env: tpl.env, limits: tpl.limits, ramdiskMiB: tpl.ramdiskMiB, firewall: tpl.firewall };
    }
    const limits = LimitsSchema.safeParse({ ...base.limits, ...req.limits });
    if (!limits.success) fail("INVALID_INPUT", issuesText(limits.error.issues));
    const net = await this.network();
    const lease = await this.allocate(list);
    const { id, ip } = lease;
    const name = req.name ?? id;
    if (!NAME_RE.test(name)) {
      lease.release();
      fail("INVALID_INPUT", `invalid name ${name}`);
    }
    const env = { ...base.env, TENANT_NAME: name, ...req.env };
    const firewall = req.firewall ?? base.firewall;
    const ramdiskMiB = req.ramdiskMiB ?? base.ramdiskMiB;
    const diskMiB = (limits.data as { diskMiB?: number }).diskMiB;
    const config: Record<string, string> = {
      [K.kind]: "tenant",
      [K.template]: req.template,
      [K.settings]: "",
      [K.recipe]: "",
      [K.created]: new Date().toISOString(),
      [T.name]: name,
      [T.ip]: ip,
      [T.appPort]: String(base.appPort),
      [T.init]: JSON.stringify(base.initCmd),
      [T.ramdisk]: String(ramdiskMiB),
      [T.limits]: JSON.stringify(limits.data),
      [T.firewall]: JSON.stringify(firewall),
      ...Object.fromEntries(Object.entries(req.labels).map(([k, v]) => [`${T.labelPrefix}${k}`, v])),
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => [`environment.${k}`, v])),
      "environment.HOODY_TENANT_ID": id,
      "environment.HOODY_TENANT_NAME": name,
      // Unset, Incus brings an instance back at boot if it was running; false keeps it stopped (Hoody's autostart).
      ...(!req.autostart && { "boot.autostart": "false" }),
      "security.idmap.isolated": "true",
      ...(lease.uidBase !== undefined && { "security.idmap.base": String(lease.uidBase) }),
      ...this.limitsConfig(limits.data),
      "raw.lxc": this.rawLxc({ initCmd: base.initCmd, ip, gateway: net.gateway, ramdiskMiB }),
    };
    // Template-only keys have no meaning on a tenant: an empty value drops them.
    for (const k of [K.settings, K.recipe]) delete config[k];
    const acl = this.aclName(id);
    try {
      await Revert.run(async (revert) => {
        await this.client.post("/1.0/network-acls", { name: acl, description: `hoody tenant ${id}`, ...this.aclRules(ip, firewall, net.gateway) });
        revert.add("network ACL", () => this.client.delete(`/1.0/network-acls/${acl}`));
        await this.attachAcl(id, true);
        revert.add("ACL on the bridge", () => this.attachAcl(id, false));
        // The copy may have failed before the instance existed: nothing to undo then, not a problem.
        revert.add("instance", () => this.client.delete(`/1.0/instances/${id}`).catch(() => undefined));
        revert.add("instance stop", () => this.client.put(`/1.0/instances/${id}/state`, { action: "stop", force: true }).catch(() => undefined));
        await this.client.post(
          "/1.0/instances",
          {
            name: id,
            type: "container",
            source: { type: "copy", source: source.source, instance_only: true },
            config,
            devices: {
              root: { type: "disk", path: "/", pool: this.config.pool, ...(diskMiB && { size: `${diskMiB}MiB` }) },
              eth0: {
                type: "nic",
                network: this.config.network,
                name: "eth0",
                "ipv4.address": ip,
                "security.port_isolation": "true",
                "security.mac_filtering": "true",
                "security.ipv4_filtering": "true",
              },
            },
            start: req.start,
          },
          source.target ? { target: source.target } : undefined,
        );
      });
    } catch (e) {
      mapError(e);
    } finally {
      lease.release();
      this.invalidate();
    }
    return this.getTenant(id);
  }

  private async setState(id: string, action: "start" | "stop" | "restart" | "freeze" | "unfreeze", opts: { force?: boolean; timeoutS?: number } = {}): Promise<void> {
    await this.client
      .put(`/1.0/instances/${id}/state`, { action, timeout: opts.timeoutS ?? this.config.stopTimeoutS, force: opts.force ?? false })
      .catch((e) => mapError(e, { tenant: id }));
    this.invalidate();
  }

  async startTenant(id: string): Promise<TenantInfo> {
    return this.locks.run(id, async () => {
      const i = await this.tenantInstance(id);
      // A paused (Frozen) tenant is up: start leaves it paused, as the host engine does.
      if (!isUp(i)) await this.setState(id, "start");
      return this.getTenant(id);
    });
  }

  /** Incus's freeze: the cgroup freezer on the instance's cgroup (status "Frozen"). */
  async pauseTenant(id: string): Promise<TenantInfo> {
    return this.locks.run(id, async () => {
      const i = await this.tenantInstance(id);
      if (i.status !== "Running") fail("INVALID_STATE", `tenant ${id} is not running${i.status === "Frozen" ? " (already paused)" : ""}`);
      await this.setState(id, "freeze");
      return this.getTenant(id);
    });
  }

  async resumeTenant(id: string): Promise<TenantInfo> {
    return this.locks.run(id, async () => {
      const i = await this.tenantInstance(id);
      if (i.status !== "Frozen") fail("INVALID_STATE", `tenant ${id} is not paused`);
      await this.setState(id, "unfreeze");
      return this.getTenant(id);
    });
  }

  /** A stop of a paused tenant thaws it first: a graceful stop needs the app to run to handle its signal. */
  private async thawIfFrozen(i: IncusInstanceFull): Promise<void> {
    if (i.status === "Frozen") await this.setState(i.name, "unfreeze");
  }

  async stopTenant(id: string, opts: { force?: boolean; timeoutS?: number } = {}): Promise<TenantInfo> {
    return this.locks.run(id, async () => {
      const i = await this.tenantInstance(id);
      await this.thawIfFrozen(i);
      if (isUp(i)) {
        await this.setState(id, "stop", opts).catch(async (e) => {
          // A graceful stop that timed out ends in a forced one, as the host engine's SIGKILL does.
          if (opts.force) throw e;
          await this.setState(id, "stop", { force: true });
        });
      }
      return this.getTenant(id);
    });
  }

  async restartTenant(id: string): Promise<TenantInfo> {
    return this.locks.run(id, async () => {
      const i = await this.tenantInstance(id);
      await this.thawIfFrozen(i);
      if (isUp(i)) await this.stopInside(id);
      await this.setState(id, "start");
      return this.getTenant(id);
    });
  }

  private async stopInside(id: string): Promise<void> {
    await this.setState(id, "stop").catch(() => this.setState(id, "stop", { force: true }));
  }

  async deleteTenant(id: string): Promise<{ id: string; existed: boolean; erased: string[] }> {
    return this.locks.run(id, async () => {
      let inst: IncusInstanceFull;
      try {
        inst = await this.tenantInstance(id);
      } catch (e) {
        if (isEngineError(e) && e.code === "TENANT_NOT_FOUND") return { id, existed: false, erased: [] };
        throw e;
      }
      const erased: string[] = [];
      if (isUp(inst)) {
        await this.thawIfFrozen(inst);
        await this.setState(id, "stop", { force: true, timeoutS: 0 });
        erased.push("processes (force-stopped)");
      }
      for (const s of inst.snapshots ?? []) erased.push(`snapshot ${s.name.split("/").pop()} (deleted with the instance)`);
      await this.client.delete(`/1.0/instances/${id}`).catch((e) => mapError(e, { tenant: id }));
      erased.push(`instance ${id} and its root volume on pool ${this.config.pool}${inst.location && inst.location !== "none" ? ` (member ${inst.location})` : ""}`);
      await this.attachAcl(id, false).catch((e) => mapError(e));
      await this.client.delete(`/1.0/network-acls/${this.aclName(id)}`).catch((e) => (e instanceof IncusApiError && e.status === 404 ? undefined : mapError(e)));
      erased.push(`network ACL ${this.aclName(id)}`);
      const info = this.tenantInfo(inst);
      erased.push(`address ${info.ip}${info.uidBase ? ` and uid range ${info.uidBase}-${info.uidBase + UID_RANGE - 1}` : ""} released`);
      this.invalidate();
      return { id, existed: true, erased };
    });
  }

  async updateTenant(
    id: string,
    patch: { env?: Record<string, string | null>; limits?: Partial<Limits>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean },
  ): Promise<{ tenant: TenantInfo; restarted: boolean }> {
    return this.locks.run(id, async () => {
      const inst = await this.tenantInstance(id);
      if (patch.autostart !== undefined) {
        // A boot-time key: changing it alone never restarts the tenant.
        const config = { ...inst.config };
        if (patch.autostart) delete config["boot.autostart"];
        else config["boot.autostart"] = "false";
        await this.client
          .put(`/1.0/instances/${id}`, { architecture: inst.architecture, config, devices: inst.devices, profiles: inst.profiles, ephemeral: inst.ephemeral, stateful: inst.stateful, description: inst.description })
          .catch((e) => mapError(e, { tenant: id }));
        this.invalidate();
        if (patch.env === undefined && patch.limits === undefined && patch.ramdiskMiB === undefined) return { tenant: await this.getTenant(id), restarted: false };
        inst.config = config;
      }
      const info = this.tenantInfo(inst);
      const env: Record<string, string> = { ...info.env };
      for (const [k, v] of Object.entries(patch.env ?? {})) {
        if (v === null) delete env[k];
        else env[k] = v;
      }
      const envParsed = EnvSchema.safeParse(env);
      if (!envParsed.success) fail("INVALID_INPUT", issuesText(envParsed.error.issues));
      const reserved = reservedEnvKeys(env);
      if (reserved.length) fail("INVALID_INPUT", `reserved env prefix HOODY_: ${reserved.join(", ")}`);
      const limits = LimitsSchema.safeParse({ ...info.limits, ...patch.limits });
      if (!limits.success) fail("INVALID_INPUT", issuesText(limits.error.issues));
      const config: Record<string, string> = {};
      // volatile.* keys are Incus's own (it refuses their removal): carried over as they are.
      for (const [k, v] of Object.entries(inst.config)) if (!(k.startsWith("environment.") && !isReservedEnvKey(k.slice(12)))) config[k] = v;
      for (const [k, v] of Object.entries(envParsed.data)) config[`environment.${k}`] = v;
      Object.assign(config, this.limitsConfig(limits.data), { [T.limits]: JSON.stringify(limits.data) });
      if (patch.ramdiskMiB !== undefined) {
        const net = await this.network();
        config[T.ramdisk] = String(patch.ramdiskMiB);
        config["raw.lxc"] = this.rawLxc({ initCmd: JSON.parse(inst.config[T.init] ?? "[]"), ip: info.ip, gateway: net.gateway, ramdiskMiB: patch.ramdiskMiB });
      }
      await this.client
        .put(`/1.0/instances/${id}`, { architecture: inst.architecture, config, devices: inst.devices, profiles: inst.profiles, ephemeral: inst.ephemeral, stateful: inst.stateful, description: inst.description })
        .catch((e) => mapError(e, { tenant: id }));
      this.invalidate();
      const restart = inst.status === "Running" && patch.restart !== false;
      if (restart) {
        await this.stopInside(id);
        await this.setState(id, "start");
      }
      return { tenant: await this.getTenant(id), restarted: restart };
    });
  }

  async setFirewall(id: string, rules: FirewallRule[]): Promise<TenantInfo> {
    const parsed = z.array(FirewallRuleSchema).max(200).safeParse(rules);
    if (!parsed.success) fail("INVALID_INPUT", issuesText(parsed.error.issues));
    return this.locks.run(id, async () => {
      const inst = await this.tenantInstance(id);
      const net = await this.network();
      const ip = inst.config[T.ip]!;
      // ACL first (the enforcement), then the record on the instance; a failed record puts the old ACL back.
      const prev = JSON.parse(inst.config[T.firewall] ?? "[]") as FirewallRule[];
      await this.client.put(`/1.0/network-acls/${this.aclName(id)}`, { description: `hoody tenant ${id}`, ...this.aclRules(ip, parsed.data, net.gateway) }).catch((e) => mapError(e));
      try {
        await this.client.patch(`/1.0/instances/${id}`, { config: { [T.firewall]: JSON.stringify(parsed.data) } });
      } catch (e) {
        await this.client.put(`/1.0/network-acls/${this.aclName(id)}`, { description: `hoody tenant ${id}`, ...this.aclRules(ip, prev, net.gateway) }).catch(() => undefined);
        mapError(e, { tenant: id });
      }
      this.invalidate();
      return this.getTenant(id);
    });
  }

  async exec(id: string, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
    if (!command.length) fail("INVALID_INPUT", "command must not be empty");
    const inst = await this.tenantInstance(id);
    if (inst.status !== "Running") fail("INVALID_STATE", `tenant ${id} is not running`);
    const { status, body } = await this.client.raw("POST", `/1.0/instances/${id}/exec`, {
      body: { command, "wait-for-websocket": false, interactive: false, "record-output": true, environment: {} },
    });
    const started = JSON.parse(body) as { type: string; error?: string; operation?: string };
    if (started.type === "error" || !started.operation) fail("SYSTEM_ERROR", `incus exec: ${started.error ?? `HTTP ${status}`}`);
    const opId = started.operation.split("/").pop()!;
    // Wait at most the timeout; a command that outlives it is reported as timed out (Incus cannot
    // signal a non-interactive exec; it ends on its own or with the instance).
    const waitS = Math.max(1, Math.ceil(timeoutMs / 1000));
    const op = await this.client
      .get<{ status: string; metadata: { return?: number; output?: Record<string, string> } | null }>(`/1.0/operations/${opId}/wait`, { timeout: waitS })
      .catch((e) => (e instanceof IncusApiError && /deadline|timeout/i.test(e.message) ? null : mapError(e)));
    if (!op || op.status === "Running") return { exitCode: -1, stdout: "", stderr: "", timedOut: true };
    const out = op.metadata?.output ?? {};
    const read = async (p?: string) => {
      if (!p) return "";
      const r = await this.client.raw("GET", p, { project: false });
      await this.client.raw("DELETE", p, { project: false }).catch(() => undefined);
      return r.body;
    };
    const [stdout, stderr] = await Promise.all([read(out["1"]), read(out["2"])]);
    return { exitCode: op.metadata?.return ?? -1, stdout, stderr, timedOut: false };
  }

  async logs(id: string, maxBytes = 64 * 1024): Promise<string> {
    await this.tenantInstance(id);
    const r = await this.client.raw("GET", `/1.0/instances/${id}/console`, { query: { type: "log" } });
    if (r.status !== 200) return "";
    return r.body.slice(-maxBytes);
  }

  // ---------------------------------------------------------------- snapshots

  async createSnapshot(id: string, name?: string): Promise<SnapshotInfo> {
    const snapName = name ?? `snap-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${randomInt(1000, 9999)}`;
    if (!SNAPSHOT_NAME_RE.test(snapName)) fail("INVALID_INPUT", `invalid snapshot name ${snapName}`);
    return this.locks.run(id, async () => {
      const inst = await this.tenantInstance(id);
      if ((inst.snapshots ?? []).some((s) => s.name === snapName)) fail("ALREADY_EXISTS", `snapshot ${snapName} exists`);
      await this.client.post(`/1.0/instances/${id}/snapshots`, { name: snapName, stateful: false }).catch((e) => mapError(e, { tenant: id }));
      this.invalidate();
      const s = await this.client.get<IncusSnapshot>(`/1.0/instances/${id}/snapshots/${snapName}`).catch((e) => mapError(e, { tenant: id }));
      return this.snapshotInfo(s);
    });
  }

  async restoreSnapshot(id: string, name: string): Promise<TenantInfo> {
    if (!SNAPSHOT_NAME_RE.test(name)) fail("SNAPSHOT_NOT_FOUND", `snapshot ${name} not found`);
    return this.locks.run(id, async () => {
      const inst = await this.tenantInstance(id);
      if (!(inst.snapshots ?? []).some((s) => s.name === name)) fail("SNAPSHOT_NOT_FOUND", `snapshot ${name} not found`);
      const wasRunning = isUp(inst);
      await this.thawIfFrozen(inst);
      if (wasRunning) await this.stopInside(id);
      await this.client.put(`/1.0/instances/${id}`, { restore: name }).catch((e) => mapError(e, { tenant: id, snapshot: name }));
      // The restore also rolled the config back to the snapshot's; keep today's (env, firewall, limits).
      const now = await this.client.get<IncusInstanceFull>(`/1.0/instances/${id}`);
      const config: Record<string, string> = {};
      for (const [k, v] of Object.entries(now.config)) if (k.startsWith("volatile.")) config[k] = v;
      for (const [k, v] of Object.entries(inst.config)) if (!k.startsWith("volatile.")) config[k] = v;
      await this.client.put(`/1.0/instances/${id}`, { architecture: now.architecture, config, devices: inst.devices, profiles: now.profiles, ephemeral: now.ephemeral, stateful: now.stateful, description: now.description });
      if (wasRunning) await this.setState(id, "start");
      this.invalidate();
      return this.getTenant(id);
    });
  }

  async deleteSnapshot(id: string, name: string): Promise<{ existed: boolean }> {
    return this.locks.run(id, async () => {
      const inst = await this.tenantInstance(id);
      if (!(inst.snapshots ?? []).some((s) => s.name === name)) return { existed: false };
      await this.client.delete(`/1.0/instances/${id}/snapshots/${name}`).catch((e) => mapError(e, { tenant: id }));
      this.invalidate();
      return { existed: true };
    });
  }

  close(): void {
    this.events?.close();
    this.events = null;
    this.client.close();
  }
}

/** The engine from HOODY_INCUS_* settings (read by server/core/instance.ts when HOODY_ENGINE=incus). */
export function incusEngineFromEnv(env: NodeJS.ProcessEnv): IncusEngine {
  const client = IncusClient.fromFiles({
    socketPath: env.HOODY_INCUS_URL ? undefined : (env.HOODY_INCUS_SOCKET ?? "/var/lib/incus/unix.socket"),
    url: env.HOODY_INCUS_URL,
    certFile: env.HOODY_INCUS_CERT,
    keyFile: env.HOODY_INCUS_KEY,
    caFile: env.HOODY_INCUS_CA,
    project: env.HOODY_INCUS_PROJECT,
  });
  return new IncusEngine(client, {
    pool: env.HOODY_INCUS_POOL ?? "default",
    network: env.HOODY_INCUS_NETWORK ?? "incusbr0",
    target: env.HOODY_INCUS_TARGET || undefined,
    uidBase: env.HOODY_INCUS_UID_BASE ? Number(env.HOODY_INCUS_UID_BASE) : undefined,
    uidRanges: env.HOODY_INCUS_UID_RANGES ? Number(env.HOODY_INCUS_UID_RANGES) : undefined,
    cacheDir: env.HOODY_CACHE_DIR ?? "/var/cache/hoody",
    stopTimeoutS: Number(env.HOODY_STOP_TIMEOUT_S ?? 10),
  });
}

/** Has processes: running, or paused (Frozen). */
function isUp(i: { status: string }): boolean {
  return i.status === "Running" || i.status === "Frozen";
}

// What the Incus engine's concerns share: the client and settings, the per-tenant locks, the
// listing cache kept fresh by lifecycle events, the bridge's addressing, Hoody's user.hoody.* keys,
// and the error mapping into the engine's vocabulary.
import { isReservedEnvKey } from "../../shared/env";
import { isEngineError } from "../../shared/errors";
import { cidrBlock, intToIp } from "../../shared/ip";
import { KeyedMutex } from "../../shared/lock";
import type { FirewallRule, Limits, SnapshotInfo, TenantInfo } from "../../shared/protocol";
import { IncusApiError, type IncusClient } from "./client";
import { K } from "./templates";
import type { IncusInstanceFull, IncusServer, IncusSnapshot } from "./types";

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

export const UID_RANGE = 65536;
export const T = {
  name: "user.hoody.name",
  ip: "user.hoody.ip",
  appPort: "user.hoody.app_port",
  init: "user.hoody.init",
  ramdisk: "user.hoody.ramdisk_mib",
  limits: "user.hoody.limits",
  firewall: "user.hoody.firewall",
  labelPrefix: "user.hoody.label.",
} as const;

import { fail } from "../../shared/engine-input";

export { fail };

/** Incus errors in the engine's vocabulary (the core maps EngineError codes to API errors). */
export function mapError(e: unknown, what: { tenant?: string; snapshot?: string } = {}): never {
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

export function quoteInitArg(a: string): string {
  if (/[\s"'\\]/.test(a)) fail("INVALID_INPUT", `init argument not allowed: ${JSON.stringify(a)}`);
  return a;
}

/** Has processes: running, or paused (Frozen). */
export function isUp(i: { status: string }): boolean {
  return i.status === "Running" || i.status === "Frozen";
}

/** One per engine: the state every concern module (stats, template-ops, tenants, lifecycle, network, snapshots) works through. */
export class IncusContext {
  constructor(
    readonly client: IncusClient,
    readonly config: IncusEngineConfig,
  ) {}

  /** One mutation per tenant (and one template or network-ACL list update) at a time. */
  locks = new KeyedMutex();
  cache: { at: number; list: IncusInstanceFull[] } | null = null;
  events: { close(): void } | null = null;
  reservedIps = new Set<string>();
  reservedUids = new Set<number>();
  net: { gateway: string; subnet: string; prefix: number; nat: boolean } | null = null;
  server: IncusServer | null = null;

  // ---------------------------------------------------------------- listing, cache, events

  /** Keeps the listing cache fresh from lifecycle events (re-subscribes if the stream drops). */
  watch(): void {
    if (this.events) return;
    this.events = this.client.events(
      ["lifecycle"],
      () => (this.cache = null),
      () => {
        this.events = null;
        this.cache = null;
      },
    );
  }

  async instances(fresh = false): Promise<IncusInstanceFull[]> {
    this.watch();
    if (!fresh && this.cache && Date.now() - this.cache.at < 2000) return this.cache.list;
    const list = await this.client.get<IncusInstanceFull[]>("/1.0/instances", { recursion: 2 }).catch((e) => mapError(e));
    this.cache = { at: Date.now(), list };
    return list;
  }

  invalidate(): void {
    this.cache = null;
  }

  async tenantInstance(id: string): Promise<IncusInstanceFull> {
    if (!/^c[a-z0-9]{10}$/.test(id)) fail("TENANT_NOT_FOUND", `tenant ${id} not found`);
    const inst = await this.client.get<IncusInstanceFull>(`/1.0/instances/${id}`, { recursion: 1 }).catch((e) => mapError(e, { tenant: id }));
    if (inst.config[K.kind] !== "tenant") fail("TENANT_NOT_FOUND", `tenant ${id} not found`);
    const [state, snapshots] = await Promise.all([
      this.client.get<IncusInstanceFull["state"]>(`/1.0/instances/${id}/state`).catch(() => null),
      this.client.get<IncusSnapshot[]>(`/1.0/instances/${id}/snapshots`, { recursion: 1 }).catch(() => [] as IncusSnapshot[]),
    ]);
    return { ...inst, state, snapshots };
  }

  async serverInfo(): Promise<IncusServer> {
    this.server ??= await this.client.get<IncusServer>("/1.0").catch((e) => mapError(e));
    return this.server;
  }

  /** The bridge's address and prefix; makes sure its ACL defaults are "reject" (tenants are closed by default). */
  async network() {
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

  tenantInfo(i: IncusInstanceFull): TenantInfo {
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

  snapshotInfo(s: IncusSnapshot): SnapshotInfo {
    return { name: s.name.split("/").pop()!, createdAt: s.created_at, subvolumeId: 0, bytes: Math.max(0, s.size ?? 0) };
  }

  async setState(id: string, action: "start" | "stop" | "restart" | "freeze" | "unfreeze", opts: { force?: boolean; timeoutS?: number } = {}): Promise<void> {
    await this.client.put(`/1.0/instances/${id}/state`, { action, timeout: opts.timeoutS ?? this.config.stopTimeoutS, force: opts.force ?? false }).catch((e) => mapError(e, { tenant: id }));
    this.invalidate();
  }

  /** A stop of a paused tenant thaws it first: a graceful stop needs the app to run to handle its signal. */
  async thawIfFrozen(i: IncusInstanceFull): Promise<void> {
    if (i.status === "Frozen") await this.setState(i.name, "unfreeze");
  }

  async stopInside(id: string): Promise<void> {
    await this.setState(id, "stop").catch(() => this.setState(id, "stop", { force: true }));
  }

  close(): void {
    this.events?.close();
    this.events = null;
    this.client.close();
  }
}

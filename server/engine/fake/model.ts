// The fake engine's model (server/engine/fake/engine.ts): what it holds for tenants, snapshots and
// templates, its errors (the real engines' EngineError codes), and the engine's views of them.
import type { EngineErrorCode } from "../../shared/errors";
import { TemplateSettingsSchema, type ExecResult, type SnapshotInfo, type TemplateInfo, type TemplateSettings, type TenantInfo, type TenantStats } from "../../shared/protocol";
import type { Engine, EngineCapabilities, EngineServer } from "../types";

/** What a failure looks like: an engine code (an EngineError), or "UNAVAILABLE" (the socket refused, as a dead daemon does). */
export type FakeFailure = EngineErrorCode | "UNAVAILABLE";

/** Methods of the Engine that can be recorded, failed or held. */
export type FakeMethod = Exclude<keyof Engine, "kind" | "capabilities" | "deltas" | "warmPool"> | "changes" | "readFile" | "pool.prepare" | "pool.claim" | "pool.list" | "pool.discard";

export interface FakeSnapshot {
  name: string;
  createdAt: string;
  subvolumeId: number;
  bytes: number;
  /** The tenant's files and delta when it was taken (a restore or a copy gets them back). */
  files: Map<string, string>;
  deltaBytes: number;
}

/** A tenant as the fake holds it: its TenantInfo fields plus what the real engines keep on disk. */
export interface FakeTenant extends Omit<TenantInfo, "veth" | "snapshots"> {
  snapshots: FakeSnapshot[];
  autostart: boolean;
  /** A few files of its filesystem (e.g. /root/.ssh/authorized_keys), copied with it like its subvolume. */
  files: Map<string, string>;
  /** Its own bytes (what it wrote since its template); tests grow it with write(). */
  deltaBytes: number;
  /** How many times its processes were (re)started. */
  starts: number;
  log: string;
}

export interface FakeTemplate {
  name: string;
  recipe: string | null;
  settings: TemplateSettings;
  createdAt: string;
  subvolumeId: number;
  bytes: number;
  files: Map<string, string>;
}

export interface FakeEngineOptions {
  kind?: "host" | "incus";
  capabilities?: Partial<EngineCapabilities>;
  /** Places tenants run on; default one online "host" (or "incus" for kind incus). */
  servers?: EngineServer[];
  /** Recipes buildTemplate knows (others: INVALID_INPUT, as the daemon answers). */
  recipes?: string[];
  /** At most this many tenants (then EXHAUSTED, like a full uid range or subnet). */
  maxTenants?: number;
}

export interface FakeCall {
  method: FakeMethod;
  args: unknown[];
}

export type ExecHandler = (tenant: FakeTenant, command: string[]) => ExecResult | undefined;

export interface Injected {
  failure: FakeFailure;
  message?: string;
  /** The effect happens, then the call fails: the outcome a caller sees as unknown. */
  after: boolean;
  /** Calls to let through before this one fails. */
  skip: number;
}

export interface Hold {
  reached: () => void;
  release: Promise<void>;
}

export const MiB = 1024 * 1024;
export const DEFAULT_TEMPLATE_SETTINGS: TemplateSettings = TemplateSettingsSchema.parse({
  initCmd: ["/sbin/init"],
  appPort: 8080,
  env: {},
  limits: { memoryMiB: 256, cpuMilli: 1000, pids: 512 },
  ramdiskMiB: 64,
  firewall: [],
});

export { fail } from "../../shared/engine-input";
/** A refused unix socket, as the host client sees a dead daemon (core maps it to ENGINE_UNAVAILABLE). */
export function unavailable(message = "connect ECONNREFUSED /var/lib/hoody/run/hostd.sock"): Error {
  return Object.assign(new Error(message), { code: "ECONNREFUSED" });
}

export function tenantStats(t: FakeTenant, detailed: boolean): TenantStats {
  const up = t.state === "running" || t.state === "paused";
  return {
    id: t.id,
    running: up,
    paused: t.state === "paused",
    deltaBytes: t.deltaBytes,
    snapshotBytes: t.snapshots.reduce((s, x) => s + x.bytes, 0),
    memoryBytes: up ? 32 * MiB : 0,
    cpuUsageNs: t.starts * 1_000_000,
    ksmMergingPages: 0,
    ksmProfitBytes: 0,
    pids: up ? 3 : 0,
    memoryLimitBytes: t.limits.memoryMiB * MiB,
    memoryPeakBytes: up ? 40 * MiB : null,
    swapBytes: 0,
    cpuLimitMilli: t.limits.cpuMilli,
    diskLimitBytes: t.limits.diskMiB ? t.limits.diskMiB * MiB : null,
    network: up
      ? {
          interface: "eth0",
          hostInterface: `hv${t.id.slice(1)}`,
          address: t.ip,
          bytesReceived: 0,
          bytesSent: 0,
          packetsReceived: 0,
          packetsSent: 0,
          errorsReceived: 0,
          errorsSent: 0,
          droppedInbound: 0,
          droppedOutbound: 0,
        }
      : null,
    startedAt: detailed && up ? t.createdAt : null,
  };
}

export function tenantInfo(t: FakeTenant): TenantInfo {
  return {
    id: t.id,
    name: t.name,
    template: t.template,
    state: t.state,
    ip: t.ip,
    uidBase: t.uidBase,
    veth: `hv${t.id.slice(1)}`,
    appPort: t.appPort,
    env: { ...t.env },
    limits: { ...t.limits },
    ramdiskMiB: t.ramdiskMiB,
    ksm: t.ksm,
    firewall: structuredClone(t.firewall),
    createdAt: t.createdAt,
    subvolumeId: t.subvolumeId,
    snapshots: t.snapshots.map((s) => snapshotInfo(s)),
    labels: { ...t.labels },
    ...(t.member ? { member: t.member } : {}),
  };
}

export function snapshotInfo(s: FakeSnapshot): SnapshotInfo {
  return { name: s.name, createdAt: s.createdAt, subvolumeId: s.subvolumeId, bytes: s.bytes };
}

/** A template as the engines describe it, with how many of `tenants` were made from it. */
export function templateInfo(t: FakeTemplate, tenants: Iterable<FakeTenant>): TemplateInfo {
  return {
    name: t.name,
    recipe: t.recipe,
    settings: structuredClone(t.settings),
    subvolumeId: t.subvolumeId,
    createdAt: t.createdAt,
    bytes: t.bytes,
    tenants: [...tenants].filter((x) => x.template === t.name).length,
  };
}

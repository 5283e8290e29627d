// The shapes both engines, the host daemon (server/host) and its client (server/engine/host-client)
// agree on. Pure data, no privileged code: safe to import anywhere.
import { z } from "zod";
import { ENV_KEY_RE } from "./env";
import { ipToInt } from "./ip";

export { ENV_KEY_RE };

export const NAME_RE = /^[a-zA-Z0-9_-]{3,100}$/;
export const TENANT_ID_RE = /^c[a-z0-9]{10}$/;
export const TEMPLATE_NAME_RE = /^[a-z][a-z0-9-]{1,40}$/;
export const SNAPSHOT_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * All of a tenant's env together (KEY=VALUE and a NUL each). It is its init's environment, and
 * execve refuses ("Argument list too long") argv + env beyond a quarter of the stack limit, never
 * less than 128 KiB (ARG_MAX) whatever the host's limit: 96 KiB leaves room for the pointers, the
 * init's arguments and LXC's own variables, so an accepted env always starts.
 */
export const ENV_MAX_TOTAL_BYTES = 96 * 1024;
export function envBytes(env: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(env)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return n;
}

export const EnvSchema = z
  .record(
    z.string().regex(ENV_KEY_RE),
    z
      .string()
      .max(64 * 1024)
      .refine((v) => !/[\n\r\0]/.test(v), "no newlines or NUL"),
  )
  .refine((e) => Object.keys(e).length <= 200, "at most 200 keys")
  .refine((e) => envBytes(e) <= ENV_MAX_TOTAL_BYTES, `at most ${ENV_MAX_TOTAL_BYTES / 1024} KiB in all`);
export type Env = z.infer<typeof EnvSchema>;

export const LimitsSchema = z.object({
  memoryMiB: z
    .number()
    .int()
    .min(16)
    .max(1024 * 1024),
  /** CPU in thousandths of a core (1000 = one core). */
  cpuMilli: z
    .number()
    .int()
    .min(10)
    .max(1024 * 1000),
  pids: z.number().int().min(8).max(1_000_000),
  /** Cap on the tenant's own bytes (its delta: what it wrote since its snapshot), via a qgroup limit; absent = none. */
  diskMiB: z
    .number()
    .int()
    .min(16)
    .max(16 * 1024 * 1024)
    .optional(),
});
export type Limits = z.infer<typeof LimitsSchema>;

const PORT_SPEC_RE = /^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$/;
const IPV4 = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
/** One item of an address list: an address, a CIDR, or a range "a-b" (as Incus ACLs write them). */
const ADDR_ITEM = String.raw`${IPV4}(?:\/\d{1,2}|-${IPV4})?`;
const ADDR_LIST_RE = new RegExp(`^${ADDR_ITEM}(?:,${ADDR_ITEM})*$`);

/** "80", "80-90", "80,443": ports 1-65535, ranges low to high. */
export const PortSpec = z
  .string()
  .max(64)
  .regex(PORT_SPEC_RE)
  .refine(
    (spec) =>
      spec.split(",").every((part) => {
        const [lo = 0, hi = lo] = part.split("-").map(Number);
        return lo >= 1 && hi >= lo && hi <= 65535;
      }),
    "ports must be 1-65535, ranges low-high",
  );

/** Comma-separated IPv4 addresses, CIDRs (prefix ≤ 32) and ranges (low-high), octets ≤ 255. */
export const AddressList = z
  .string()
  .max(512)
  .regex(ADDR_LIST_RE, "IPv4 addresses, CIDRs or ranges a-b, comma-separated")
  .refine(
    (v) =>
      v.split(",").every((item) => {
        const [addr = "", bits = "32"] = item.split("/");
        const ends = addr.split("-");
        const octetsOk = ends.every((e) => e.split(".").every((o) => Number(o) <= 255));
        return octetsOk && Number(bits) <= 32 && (ends.length === 1 || ipToInt(ends[0]!) <= ipToInt(ends[1]!));
      }),
    "not IPv4 addresses, CIDRs or ranges",
  );

/** ICMP type or code: a number 0-255 as a string (the SDK's form). */
export const IcmpNumber = z
  .string()
  .max(8)
  .regex(/^\d{1,3}$/, "a number 0-255")
  .refine((v) => Number(v) <= 255, "a number 0-255");

/** The fields of a rule, without its cross-field checks (shared by the API's filters and bodies). */
export const FirewallRuleFields = z.object({
  direction: z.enum(["ingress", "egress"]),
  action: z.enum(["allow", "reject", "drop"]),
  protocol: z.enum(["tcp", "udp", "icmp4"]).optional(),
  destination_port: PortSpec.optional(),
  source_port: PortSpec.optional(),
  /** Ingress: IPv4 addresses/CIDRs/ranges, or "host" for the Hoody host itself. */
  source: z.union([z.literal("host"), AddressList]).optional(),
  /** Egress: IPv4 addresses/CIDRs/ranges. */
  destination: AddressList.optional(),
  icmp_type: IcmpNumber.optional(),
  icmp_code: IcmpNumber.optional(),
  description: z.string().max(255).optional(),
  state: z.enum(["enabled", "disabled"]).default("enabled"),
});

/**
 * A stored and rendered rule. Ports need tcp or udp and ICMP fields icmp4, as Incus ACLs require;
 * a code needs its type (Incus matches a code only with a type). Which address a direction matches
 * is checked at the API (core), not here, so rules stored before that check still load.
 */
export const FirewallRuleSchema = FirewallRuleFields.superRefine((r, ctx) => {
  const ports = r.protocol === "tcp" || r.protocol === "udp";
  for (const f of ["destination_port", "source_port"] as const) if (r[f] && !ports) ctx.addIssue({ code: "custom", message: `${f} needs protocol tcp or udp`, path: [f] });
  for (const f of ["icmp_type", "icmp_code"] as const) if (r[f] && r.protocol !== "icmp4") ctx.addIssue({ code: "custom", message: `${f} needs protocol icmp4`, path: [f] });
  if (r.icmp_code && !r.icmp_type) ctx.addIssue({ code: "custom", message: "icmp_code needs icmp_type", path: ["icmp_code"] });
});
export type FirewallRule = z.infer<typeof FirewallRuleSchema>;

export const TemplateSettingsSchema = z.object({
  initCmd: z.array(z.string().min(1)).min(1),
  appPort: z.number().int().min(1).max(65535),
  env: EnvSchema.default({}),
  limits: LimitsSchema,
  ramdiskMiB: z.number().int().min(1).max(65536),
  firewall: z.array(FirewallRuleSchema).default([]),
  ksm: z.boolean().default(true),
  /** Read-only paths tenants bind-mount from the template instead of their own copy (shared page cache). */
  sharedPaths: z.array(z.string().regex(/^\/[a-z0-9/_-]+$/)).default([]),
  /** Seconds of no traffic before the router stops a tenant; null = never. */
  idleTimeoutS: z.number().int().positive().nullable().default(null),
});
export type TemplateSettings = z.infer<typeof TemplateSettingsSchema>;

export interface TemplateInfo {
  name: string;
  recipe: string | null;
  settings: TemplateSettings;
  subvolumeId: number;
  createdAt: string;
  /** Bytes the template's subvolume holds (its qgroup). */
  bytes: number;
  tenants: number;
}

/** "paused": running, its processes frozen by the cgroup freezer (Incus: "Frozen"). */
export type TenantState = "creating" | "running" | "paused" | "stopped" | "deleting";

export const CreateTenantSchema = z.object({
  template: z.string().regex(TEMPLATE_NAME_RE),
  name: z.string().regex(NAME_RE).optional(),
  env: EnvSchema.default({}),
  limits: LimitsSchema.partial().default({}),
  ramdiskMiB: z.number().int().min(1).max(65536).optional(),
  ksm: z.boolean().optional(),
  start: z.boolean().default(true),
  /** Started again when the host boots if it was running when it went down; false: stays stopped until started. */
  autostart: z.boolean().default(true),
  /** Incus: the cluster member to place it on (the host engine has one place and ignores it). */
  member: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
    .optional(),
  /** Copy from a tenant (its latest state or one of its snapshots) instead of a template. */
  sourceTenant: z.string().regex(TENANT_ID_RE).optional(),
  sourceSnapshot: z.string().regex(SNAPSHOT_NAME_RE).optional(),
  /** Rules to install instead of the template's (or the source tenant's). */
  firewall: z.array(FirewallRuleSchema).max(200).optional(),
  /** Opaque owner labels (e.g. the control plane's project and request), kept with the tenant. */
  labels: z
    .record(z.string().regex(/^[a-z0-9._-]{1,64}$/), z.string().max(256))
    .refine((l) => Object.keys(l).length <= 16)
    .default({}),
});
export type CreateTenantInput = z.input<typeof CreateTenantSchema>;

export interface SnapshotInfo {
  name: string;
  createdAt: string;
  subvolumeId: number;
  bytes: number;
}

export interface TenantInfo {
  id: string;
  name: string;
  template: string;
  state: TenantState;
  ip: string;
  uidBase: number;
  veth: string;
  appPort: number;
  env: Env;
  limits: Limits;
  ramdiskMiB: number;
  ksm: boolean;
  firewall: FirewallRule[];
  createdAt: string;
  subvolumeId: number;
  snapshots: SnapshotInfo[];
  labels: Record<string, string>;
  /** Incus cluster member the tenant runs on (absent on the embedded host engine). */
  member?: string;
}

/** What deleting a tenant erased; `existed: false` for an unknown id. */
export interface DeleteReport {
  id: string;
  existed: boolean;
  erased: string[];
}

export interface TenantStats {
  id: string;
  /** Has processes (also when paused). */
  running: boolean;
  /** Its processes are frozen (pause). */
  paused: boolean;
  deltaBytes: number;
  snapshotBytes: number;
  memoryBytes: number;
  cpuUsageNs: number;
  ksmMergingPages: number;
  ksmProfitBytes: number;
  pids: number;
  /** Memory limit in bytes (0: none known); the most its lasting cgroup held (null: not reported); swap in use. */
  memoryLimitBytes: number;
  memoryPeakBytes: number | null;
  swapBytes: number;
  /** CPU allowed, in thousandths of a core (null: not limited). */
  cpuLimitMilli: number | null;
  /** Cap on its own bytes (null: none). */
  diskLimitBytes: number | null;
  /** Its address and interface counters from the tenant's side (received = what the host side sent), null when it has none. */
  network: TenantNetwork | null;
  /** When its current run started (ISO), null when stopped. Filled when stats are asked for by `ids` (one read per process). */
  startedAt: string | null;
}

export interface TenantNetwork {
  /** The interface as the tenant names it, and the host side's (the veth, or Incus's host_name). */
  interface: string;
  hostInterface: string | null;
  address: string | null;
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsSent: number;
  errorsReceived: number;
  errorsSent: number;
  droppedInbound: number;
  droppedOutbound: number;
}

export interface HostStats {
  pool: { sizeBytes: number; usedBytes: number; quotaMode: QuotaMode };
  ksm: { run: boolean; pagesShared: number; pagesSharing: number; savedBytes: number; generalProfitBytes: number };
  memory: { totalBytes: number; availableBytes: number };
  /** Tenants and running ones: all of them, or of the asked ones when stats() is given ids. */
  tenants: { total: number; running: number };
  /** What is left to lease (the host engine): uid ranges and addresses, each tenant and pool member holding one. */
  capacity?: { uidRanges: { total: number; used: number }; addresses: { total: number; used: number } };
  collectedMs: number;
}

export type QuotaMode = "simple" | "full" | "none";

export interface HostInfo {
  version: string;
  pool: { path: string; uuid: string; quotaMode: QuotaMode; loopImage: string | null };
  cgroup: "v1" | "v2";
  ksm: { available: boolean };
  lxcVersion: string;
  btrfsVersion: string;
  subnet: string;
  nftTable: string;
  outboundNat: boolean;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A backup of a tenant in the backup directory (what its index says; no env, no data). */
export interface BackupInfo {
  id: string;
  /** The engine's tenant id it was made of. */
  tenant: string;
  name: string;
  createdAt: string;
  /** The sealed file's size. */
  bytes: number;
  template: string;
  snapshots: string[];
  /** Which operator key opens it (a hash of the key, not the key). */
  keyId: string;
  file: string;
}

/** A template's warm pool on an engine: members made and started ahead, waiting to be claimed by a create. */
export interface PoolInfo {
  template: string;
  /** Started, init waiting for a claim. */
  ready: number;
  /** Being made. */
  preparing: number;
  /** What the ready members hold in memory together (their cgroups). */
  memoryBytes: number;
}

/** One dedup pass over the pool (server/host/dedup.ts). */
export interface DedupRun {
  id: string;
  /** Who asked: "manual" (API, CLI, dashboard) or "schedule". */
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  /**
   * completed; deadline: stopped at its time bound (the next run resumes from the hash file);
   * preempted: stopped so a subvolume could be deleted (erase, restore); failed; interrupted: the
   * daemon stopped during it.
   */
  state: "running" | "completed" | "deadline" | "preempted" | "failed" | "interrupted";
  deadlineS: number;
  /** The pool's used bytes (statfs) before and after: what the run gave back, less what tenants wrote meanwhile. */
  poolUsedBeforeBytes: number;
  poolUsedAfterBytes: number | null;
  savedBytes: number | null;
  message: string | null;
}

/** A tenant's bytes after sharing, measured with `btrfs filesystem du` at the end of a run. */
export interface DedupTenantAccount {
  id: string;
  /** What its qgroup counts (simple quotas: extents it wrote that still exist, also where others now share them). */
  qgroupBytes: number;
  /** Bytes its files reference, however shared. */
  referencedBytes: number;
  /** Referenced by its live tree alone: what erasing it frees at least (extents it shares only with its own snapshots come on top). */
  exclusiveBytes: number;
  /** Shared with its template, other tenants or its snapshots. */
  sharedBytes: number;
}

export interface DedupStatus {
  /** Whether dedup can run here (the tool is installed and the pool is BTRFS). */
  available: boolean;
  reason: string | null;
  running: DedupRun | null;
  /** Newest first. */
  runs: DedupRun[];
  /** Sum of savedBytes over finished runs. */
  totalSavedBytes: number;
  accounting: {
    measuredAt: string;
    tenants: DedupTenantAccount[];
    /** Bytes the tenants' and templates' files reference in total vs the pool's data: the gap is what sharing (snapshots and dedup) saves. */
    referencedBytes: number;
    poolDataBytes: number;
    /**
     * Charged to qgroups of subvolumes already deleted: simple quotas keep an extent on the qgroup of
     * the subvolume that wrote it until the last sharer frees it (an erased tenant's deduped files, the
     * filesystem a restore replaced, a template's build subvolume).
     */
    orphanQgroupBytes: number;
  } | null;
}

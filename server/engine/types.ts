// The engine interface server/core talks to. The embedded host daemon implements it today
// (host-engine.ts); an Incus cluster later. Capabilities are data, so the core and UI can tell
// what an engine measures instead of guessing.
import type { Readable } from "node:stream";
import type {
  BackupInfo,
  CreateTenantInput,
  DedupRun,
  DedupStatus,
  DeleteReport,
  ExecResult,
  FirewallRule,
  HostInfo,
  HostStats,
  Limits,
  PoolInfo,
  SnapshotInfo,
  TemplateInfo,
  TemplateSettings,
  TenantInfo,
  TenantStats,
} from "../shared/protocol";
import type { z } from "zod";
import type { ChangesQuerySchema, ChangesResult, FileContent } from "../shared/changes";

export type ChangesQuery = z.input<typeof ChangesQuerySchema>;

export interface EngineCapabilities {
  deltaDisk: boolean;
  ksm: boolean;
  snapshots: boolean;
  firewall: boolean;
  /** Sealed backups, import and export of a tenant's own files. */
  backups: boolean;
}

/** A place tenants can run: this box (host engine) or an Incus server / cluster member. */
export interface EngineServer {
  /** Stable across restarts: "host", "incus" (a lone incusd) or "incus:<member>". */
  key: string;
  name: string;
  /** The Incus member to target; null where there is one place. */
  member: string | null;
  online: boolean;
  specs: { cpuModel: string | null; cpuThreads: number | null; memoryBytes: number | null; diskBytes: number | null };
}

export interface EnginePool {
  /** Makes one member of the template's pool, started with its init waiting for a claim. */
  prepare(template: string): Promise<{ id: string }>;
  /** A create served from the pool; null when no member fits, and the caller creates as usual. */
  claim(input: CreateTenantInput): Promise<TenantInfo | null>;
  list(): Promise<PoolInfo[]>;
  /** Erases the template's members beyond `keep`. */
  discard(template: string, keep: number): Promise<{ removed: number }>;
}

export interface Engine {
  readonly kind: "host" | "incus";
  capabilities(): EngineCapabilities;
  info(): Promise<HostInfo>;
  /** Where tenants can run (one entry on the host engine; each cluster member on Incus). */
  servers(): Promise<EngineServer[]>;
  /** Stats of every tenant, or of `ids` only (a page of a table). */
  stats(opts?: { sync?: boolean; ids?: string[] }): Promise<{ host: HostStats; tenants: TenantStats[] }>;

  listTemplates(): Promise<TemplateInfo[]>;
  buildTemplate(recipe: string, opts?: { name?: string; onProgress?: (percent: number, message: string) => void }): Promise<TemplateInfo>;
  promote(id: string, name: string, settings?: Partial<TemplateSettings>): Promise<TemplateInfo>;
  deleteTemplate(name: string): Promise<{ existed: boolean }>;

  /** `running`: only tenants with processes (running or paused); an engine may answer more, callers filter on state. */
  listTenants(opts?: { running?: boolean }): Promise<TenantInfo[]>;
  getTenant(id: string): Promise<TenantInfo>;
  createTenant(input: CreateTenantInput): Promise<TenantInfo>;
  startTenant(id: string): Promise<TenantInfo>;
  stopTenant(id: string, opts?: { force?: boolean; timeoutS?: number }): Promise<TenantInfo>;
  restartTenant(id: string): Promise<TenantInfo>;
  /** Freezes a running tenant (state "paused"); INVALID_STATE unless it runs unpaused. */
  pauseTenant(id: string): Promise<TenantInfo>;
  /** Thaws a paused tenant; INVALID_STATE unless it is paused. */
  resumeTenant(id: string): Promise<TenantInfo>;
  deleteTenant(id: string): Promise<DeleteReport>;
  updateTenant(
    id: string,
    patch: { env?: Record<string, string | null>; limits?: Partial<Limits>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean },
  ): Promise<{ tenant: TenantInfo; restarted: boolean }>;
  setFirewall(id: string, rules: FirewallRule[]): Promise<TenantInfo>;
  exec(id: string, command: string[], timeoutMs?: number): Promise<ExecResult>;
  /** The tail of the app's console output. */
  logs(id: string, maxBytes?: number): Promise<string>;

  /**
   * The engine's warm pool; absent on an engine without one (creates keep today's path). The
   * engine makes, claims and discards members; core decides how many and when (core/warm-pool.ts).
   */
  readonly warmPool?: EnginePool;

  createSnapshot(id: string, name?: string): Promise<SnapshotInfo>;
  restoreSnapshot(id: string, name: string): Promise<TenantInfo>;
  deleteSnapshot(id: string, name: string): Promise<{ existed: boolean }>;

  /** The delta browser (an object of its own, so the engines' classes stay small). */
  readonly deltas: DeltaBrowser;
  /** Dedup of the pool's identical extents (server/host/dedup.ts); where it cannot run, status says why and start refuses. */
  readonly dedup: EngineDedup;
  /** Sealed backups, import and the Art. 20 export (an object of its own, so the engines' classes stay small). */
  readonly backups: EngineBackups;
}

export interface EngineBackups {
  /** Writes a sealed backup of the tenant (its delta on its template, its snapshots, its settings) to the backup directory. */
  create(id: string): Promise<BackupInfo>;
  list(id: string): Promise<BackupInfo[]>;
  delete(id: string, backup: string): Promise<{ existed: boolean }>;
  /** Puts the tenant back as the backup has it (stopped and started again if it ran); rolled back on failure. */
  restore(id: string, backup: string): Promise<TenantInfo>;
  /** A new tenant from a backup file streamed in (BACKUP_INVALID for one that does not verify; nothing is kept then). */
  import(source: AsyncIterable<Uint8Array>, opts: { name?: string; labels?: Record<string, string>; start?: boolean }): Promise<TenantInfo>;
  /** The tenant's own files (not its template's) as a tar stream. */
  export(id: string): Promise<Readable>;
}

export interface DeltaBrowser {
  /** What the tenant added, modified and deleted relative to its template (or `compare`, one of its snapshots): one directory of that tree. */
  changes(id: string, query: ChangesQuery): Promise<ChangesResult>;
  /** A small file of the tenant as it is now (base64 null past MAX_CONTENT_BYTES); never through a symlink or out of its filesystem. */
  readFile(id: string, path: string): Promise<FileContent>;
}

export interface EngineDedup {
  /** Starts a run in the background; while one runs, answers it with started: false. */
  start(opts: { deadlineS?: number; trigger?: "manual" | "schedule" }): Promise<{ run: DedupRun; started: boolean }>;
  status(): Promise<DedupStatus>;
}

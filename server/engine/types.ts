// The engine interface server/core talks to. The embedded host daemon implements it today
// (host-engine.ts); an Incus cluster later. Capabilities are data, so the core and UI can tell
// what an engine measures instead of guessing.
import type { Readable } from "node:stream";
import type {
  BackupInfo,
  CreateTenantInput,
  DeleteReport,
  ExecResult,
  FirewallRule,
  HostInfo,
  HostStats,
  Limits,
  SnapshotInfo,
  TemplateInfo,
  TemplateSettings,
  TenantInfo,
  TenantStats,
} from "../shared/protocol";

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

  listTenants(): Promise<TenantInfo[]>;
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

  createSnapshot(id: string, name?: string): Promise<SnapshotInfo>;
  restoreSnapshot(id: string, name: string): Promise<TenantInfo>;
  deleteSnapshot(id: string, name: string): Promise<{ existed: boolean }>;

  /** Writes a sealed backup of the tenant (its delta on its template, its snapshots, its settings) to the backup directory. */
  createBackup(id: string): Promise<BackupInfo>;
  listBackups(id: string): Promise<BackupInfo[]>;
  deleteBackup(id: string, backup: string): Promise<{ existed: boolean }>;
  /** Puts the tenant back as the backup has it (stopped and started again if it ran); rolled back on failure. */
  restoreBackup(id: string, backup: string): Promise<TenantInfo>;
  /** A new tenant from a backup file streamed in (BACKUP_INVALID for one that does not verify; nothing is kept then). */
  importBackup(source: AsyncIterable<Uint8Array>, opts: { name?: string; labels?: Record<string, string>; start?: boolean }): Promise<TenantInfo>;
  /** The tenant's own files (not its template's) as a tar stream. */
  exportTenant(id: string): Promise<Readable>;
}

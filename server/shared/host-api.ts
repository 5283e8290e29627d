// The host daemon's method table as a contract: each method's input schema (the daemon validates
// every request with it) and its result type. The daemon (server/host/daemon.ts) implements it and
// the client (server/engine/host-client.ts) calls it; neither imports the other, and a change on one
// side is a compile error on the other.
import { z } from "zod";
import {
  CreateTenantSchema,
  type DedupRun,
  type DedupStatus,
  type DeleteReport,
  type ExecResult,
  FirewallRuleSchema,
  type HostInfo,
  type HostStats,
  LimitsSchema,
  NAME_RE,
  type PoolInfo,
  SNAPSHOT_NAME_RE,
  type SnapshotInfo,
  TEMPLATE_NAME_RE,
  TENANT_ID_RE,
  type TemplateInfo,
  type BackupInfo,
  TemplateSettingsSchema,
  type TenantInfo,
  type TenantStats,
} from "./protocol";
import { ChangesQuerySchema, type ChangesResult, type FileContent, TenantPathSchema } from "./changes";

export const BACKUP_ID_RE = /^b[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;
const Id = z.object({ id: z.string().regex(TENANT_ID_RE) });

/**
 * Template settings to override on promote: only the keys given. (`.partial()` alone would still
 * fill in the schema's defaults, so `{sharedPaths: []}` also wiped env, firewall, ksm and idle timeout.)
 */
export const TemplateSettingsPatchSchema = z.object(
  Object.fromEntries(Object.entries(TemplateSettingsSchema.shape).map(([k, s]) => [k, (s instanceof z.ZodDefault ? s.unwrap() : s).optional()])),
) as unknown as z.ZodType<Partial<z.output<typeof TemplateSettingsSchema>>, Partial<z.input<typeof TemplateSettingsSchema>>>;

/** Each method's input, as the daemon parses it. */
export const HOST_INPUTS = {
  "host.info": z.object({}),
  "host.stats": z.object({ sync: z.boolean().optional(), ids: z.array(z.string().regex(TENANT_ID_RE)).max(10_000).optional() }),
  "templates.list": z.object({}),
  "templates.promote": Id.extend({ name: z.string().regex(TEMPLATE_NAME_RE), settings: TemplateSettingsPatchSchema.optional() }),
  "templates.delete": z.object({ name: z.string().regex(TEMPLATE_NAME_RE) }),
  /** running: only tenants with processes (running or paused), what the router's idle sweep needs. */
  "tenants.list": z.object({ running: z.boolean().optional() }),
  "tenants.get": Id,
  "tenants.create": CreateTenantSchema,
  "tenants.start": Id,
  "tenants.stop": Id.extend({ force: z.boolean().optional(), timeoutS: z.number().int().min(0).max(600).optional() }),
  "tenants.restart": Id,
  "tenants.pause": Id,
  "tenants.resume": Id,
  "tenants.delete": Id,
  "tenants.update": Id.extend({
    env: z.record(z.string(), z.string().nullable()).optional(),
    limits: LimitsSchema.partial().optional(),
    ramdiskMiB: z.number().int().min(1).max(65536).optional(),
    autostart: z.boolean().optional(),
    restart: z.boolean().optional(),
  }),
  "tenants.setFirewall": Id.extend({ rules: z.array(FirewallRuleSchema).max(200) }),
  "tenants.exec": Id.extend({
    command: z
      .array(z.string().max(64 * 1024))
      .min(1)
      .max(256),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
  }),
  "tenants.initPid": Id,
  "tenants.logs": Id.extend({
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(1024 * 1024)
      .optional(),
  }),
  "pool.prepare": z.object({ template: z.string().regex(TEMPLATE_NAME_RE) }),
  "pool.claim": CreateTenantSchema,
  "pool.list": z.object({}),
  "pool.discard": z.object({ template: z.string().regex(TEMPLATE_NAME_RE), keep: z.number().int().min(0).max(10_000) }),
  "snapshots.create": Id.extend({ name: z.string().regex(SNAPSHOT_NAME_RE).optional() }),
  "snapshots.list": Id,
  "snapshots.restore": Id.extend({ name: z.string().regex(SNAPSHOT_NAME_RE) }),
  "snapshots.delete": Id.extend({ name: z.string().regex(SNAPSHOT_NAME_RE) }),
  "backups.create": Id,
  "backups.list": Id,
  "backups.delete": Id.extend({ backup: z.string().regex(BACKUP_ID_RE) }),
  "backups.restore": Id.extend({ backup: z.string().regex(BACKUP_ID_RE) }),
  "tenants.changes": Id.merge(ChangesQuerySchema),
  "tenants.readFile": Id.extend({ path: TenantPathSchema }),
  "dedup.start": z.object({ deadlineS: z.number().int().min(1).max(86_400).optional(), trigger: z.enum(["manual", "schedule"]).optional() }),
  "dedup.status": z.object({}),
} satisfies Record<keyof HostResults, z.ZodType>;

/** Each method's result. */
export interface HostResults {
  "host.info": HostInfo;
  "host.stats": { host: HostStats; tenants: TenantStats[] };
  "templates.list": TemplateInfo[];
  "templates.promote": TemplateInfo;
  "templates.delete": { existed: boolean };
  "tenants.list": TenantInfo[];
  "tenants.get": TenantInfo;
  "tenants.create": TenantInfo;
  "tenants.start": TenantInfo;
  "tenants.stop": TenantInfo;
  "tenants.restart": TenantInfo;
  "tenants.pause": TenantInfo;
  "tenants.resume": TenantInfo;
  "tenants.delete": DeleteReport;
  "tenants.update": { tenant: TenantInfo; restarted: boolean };
  "tenants.setFirewall": TenantInfo;
  "tenants.exec": ExecResult;
  "tenants.initPid": number | null;
  "tenants.logs": string;
  "pool.prepare": { id: string };
  "pool.claim": TenantInfo | null;
  "pool.list": PoolInfo[];
  "pool.discard": { removed: number };
  "snapshots.create": SnapshotInfo;
  "snapshots.list": SnapshotInfo[];
  "snapshots.restore": TenantInfo;
  "snapshots.delete": { existed: boolean };
  "backups.create": BackupInfo;
  "backups.list": BackupInfo[];
  "backups.delete": { existed: boolean };
  "backups.restore": TenantInfo;
  "tenants.changes": ChangesResult;
  "tenants.readFile": FileContent;
  "dedup.start": { run: DedupRun; started: boolean };
  "dedup.status": DedupStatus;
}

export type HostMethodName = keyof typeof HOST_INPUTS;
export type HostMethodInput<M extends HostMethodName> = z.input<(typeof HOST_INPUTS)[M]>;
export type HostMethodResult<M extends HostMethodName> = HostResults[M];

/**
 * The one streaming method, templates.build: progress as NDJSON lines, then a line with the result
 * or the error.
 */
export const TemplateBuildInput = z.object({ recipe: z.string().regex(TEMPLATE_NAME_RE), name: z.string().regex(TEMPLATE_NAME_RE).optional() });

/**
 * The two byte-stream methods. backups.import: the request body is the backup file, these options
 * ride in the x-hoody-input header as JSON; the answer is JSON. tenants.export: a JSON body, the
 * answer is a tar stream (an error before the first byte is JSON with its status).
 */
export const BackupImportInput = z.object({
  name: z.string().regex(NAME_RE).optional(),
  labels: z
    .record(z.string().regex(/^[a-z0-9._-]{1,64}$/), z.string().max(256))
    .refine((l) => Object.keys(l).length <= 16)
    .optional(),
  start: z.boolean().optional(),
});
export const TenantExportInput = Id;

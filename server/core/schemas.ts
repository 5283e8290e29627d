// Request schemas of the public API (REST and tRPC share them; the OpenAPI document is generated
// from them). Field names follow Hoody's API.
import { SNAPSHOT_ALIAS_CHARS, SNAPSHOT_ALIAS_MAX } from "../shared/api-rules";
import { z } from "zod";
import { CHANGE_SORTS } from "../shared/changes";
import { idShape } from "./ids";
import { ENV_KEY_RE, FirewallRuleFields, FirewallRuleSchema, NAME_RE, SNAPSHOT_NAME_RE, TEMPLATE_NAME_RE } from "../shared/protocol";

export const MAX_ENV_KEYS = 200;
export const MAX_ENV_VALUE = 64 * 1024;

export const Name = z.string().regex(NAME_RE, "3-100 characters: letters, digits, '-' and '_'");
/** 24 hex (server/core/ids.ts), or an id from before 0006_public_ids, which still answers for a release. */
export const ProjectId = z.string().regex(idShape("project"), "a project id: 24 lowercase hex characters");
export const ContainerId = z.string().regex(idShape("container"), "a container id: 24 lowercase hex characters");
export const TemplateName = z.string().regex(TEMPLATE_NAME_RE);
export const SnapshotName = z.string().regex(SNAPSHOT_NAME_RE);

/** Env values: strings, no newlines/NUL (they go into LXC config lines), ≤ 64 KiB. */
export const EnvValue = z
  .string()
  .max(MAX_ENV_VALUE, "at most 64 KiB")
  .refine((v) => !/[\n\r\0]/.test(v), "no newlines or NUL");
export const EnvKey = z.string().regex(ENV_KEY_RE, "keys match ^[A-Za-z_][A-Za-z0-9_]*$");
export const EnvMap = z.record(z.string(), EnvValue);
export const EnvPatch = z.record(z.string(), EnvValue.nullable());

export const LimitsInput = z
  .object({
    memory_mib: z
      .number()
      .int()
      .min(16)
      .max(1024 * 1024),
    cpu_milli: z
      .number()
      .int()
      .min(10)
      .max(1024 * 1000),
    pids: z.number().int().min(8).max(1_000_000),
    disk_mib: z
      .number()
      .int()
      .min(16)
      .max(16 * 1024 * 1024),
  })
  .partial()
  .strict();

/** Ramdisk size in MiB (a tmpfs cap). */
export const RamdiskMiB = z.number().int().min(1).max(65536);

/** Operator-set ceilings of a project: the most its own tokens may ask for (absent: the template's default). */
export const CeilingsInput = LimitsInput.extend({ ramdisk_mib: RamdiskMiB.optional() }).strict();

/** Seconds without requests before the router stops the tenant; 0 = never, null = the template's. */
export const IdleTimeout = z
  .number()
  .int()
  .min(0)
  .max(30 * 86400)
  .nullable();

/** A server (where tenants run, GET /servers): 24 lowercase hex, as Hoody's SDK checks. */
export const ServerId = z.string().regex(/^[0-9a-f]{24}$/, "24 lowercase hex characters");
/** #RGB or #RRGGBB, the # optional (Hoody's form); stored as uppercase #RRGGBB. */
export const Color = z.string().regex(/^#?(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$/, "a hex color: #RGB or #RRGGBB");
export const Comment = z.string().max(16000);
/**
 * Fields of Hoody's API for features this server does not offer: false (or absent) is accepted, true
 * is refused with FEATURE_NOT_OFFERED naming the field (server/core checks, so tRPC refuses alike).
 */
const NotOffered = z.boolean().optional();
/**
 * Hoody's SSH key: one OpenSSH public key line, written as the tenant's /root/.ssh/authorized_keys
 * (for a template that runs sshd); null or "" removes it. One line only: nothing else is smuggled in.
 */
export const SSH_PUBLIC_KEY_RE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [ -~]{0,200})?$/;
const SshPublicKey = z
  .union([z.literal(""), z.string().max(16000).regex(SSH_PUBLIC_KEY_RE, "one OpenSSH public key line (type, base64 key, optional comment)")])
  .nullable()
  .optional();
/** Hoody's realms do not exist here: only an empty list is accepted (core refuses others). */
const RealmIds = z.array(z.string().max(100)).max(100).optional();

export const CreateContainerBody = z
  .object({
    /** Where to run it (GET /servers); absent: the engine chooses (this box, or the least-loaded Incus member). */
    server_id: ServerId.optional(),
    name: z.union([Name, z.literal("rand")]).optional(),
    /** The template (Hoody's field name); null or absent: "mini". */
    container_image: TemplateName.nullable().optional(),
    /** Our older name of container_image; both given must agree. */
    template: TemplateName.optional(),
    color: Color.optional(),
    environment_vars: EnvMap.optional(),
    ramdisk: z.boolean().optional(),
    ramdisk_mib: RamdiskMiB.optional(),
    /** Start it now; absent: as autostart (so autostart: false makes a stopped container, as before). */
    start: z.boolean().optional(),
    /** Brought back when the host boots if it was running when it went down; false: stays stopped until started. */
    autostart: z.boolean().default(true),
    ssh_public_key: SshPublicKey,
    comment: Comment.nullable().optional(),
    ai: NotOffered,
    hoody_kit: NotOffered,
    dev_kit: NotOffered,
    kvm: NotOffered,
    dev_kvm: NotOffered,
    cache: NotOffered,
    cache_image: NotOffered,
    prespawn: NotOffered,
    /** true: never a warm-pool member, always a fresh create (Hoody's prespawn bypass). */
    bypass_prespawn: z.boolean().optional(),
    realm_ids: RealmIds,
    limits: LimitsInput.optional(),
    idle_timeout_s: IdleTimeout.optional(),
  })
  .strict();

export const CopyContainerBody = z
  .object({
    target_project_id: ProjectId,
    /** Where the copy runs (GET /servers); absent: the source's server. */
    target_server_id: ServerId.optional(),
    name: z.union([Name, z.literal("rand")]).optional(),
    source_snapshot: SnapshotName.optional(),
    copy_firewall_rules: z.boolean().default(false),
    copy_network_rules: z.boolean().default(false),
    environment_vars: EnvMap.optional(),
    ssh_public_key: SshPublicKey,
    kvm: NotOffered,
    dev_kvm: NotOffered,
    /** Start the copy now; absent: as autostart. */
    start: z.boolean().optional(),
    autostart: z.boolean().default(true),
  })
  .strict();

export const UpdateContainerBody = z
  .object({
    environment_vars: EnvPatch.optional(),
    name: Name.optional(),
    /** null clears it (Hoody's way). */
    comment: Comment.nullable().optional(),
    color: Color.optional(),
    autostart: z.boolean().optional(),
    ai: NotOffered,
    ssh_public_key: SshPublicKey,
    /** Every container here has its own /ramdisk: true is what it has; false is refused. */
    ramdisk: z.boolean().optional(),
    /** "container" is what every ramdisk here is; "project" (shared) is refused. */
    ramdisk_scope: z.enum(["container", "project"]).optional(),
    realm_ids: RealmIds,
    ramdisk_mib: RamdiskMiB.optional(),
    limits: LimitsInput.optional(),
    idle_timeout_s: IdleTimeout.optional(),
    /** Erase the container this many seconds from now (a grace period); null cancels. */
    delete_after_s: z
      .number()
      .int()
      .min(0)
      .max(365 * 86400)
      .nullable()
      .optional(),
    /** true: stopped now (if running) and not woken by requests until started; false: may be woken again. */
    suspended: z.boolean().optional(),
    restart: z.boolean().default(true),
  })
  .strict();

/** A stop suspends the tenant (the router answers 503 and does not wake it) unless it may wake on a request. */
export const StopBody = z.object({ wake_on_request: z.boolean().default(false) }).strict();

/**
 * The env routes follow Hoody's documented propagation (the SDK has no restart switch): a change is
 * written at once, so new exec sessions see it, and reaches the app at its next start; `restart: true`
 * restarts a running container now.
 */
export const PutEnvBody = z
  .object({ environment_vars: EnvPatch, restart: z.boolean().default(false) })
  .strict()
  .or(EnvPatch);
export const PutEnvKeyBody = z.object({ value: EnvValue, restart: z.boolean().default(false) }).strict();
export const EnvRestartQuery = z.object({
  restart: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
});

export const ListQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  sort_by: z.enum(["id", "name", "status", "created_at", "updated_at"]).default("created_at"),
  sort_order: z.enum(["asc", "desc"]).default("desc"),
  status: z.enum(["creating", "claiming", "running", "paused", "stopped", "failed", "deleting"]).optional(),
  template: TemplateName.optional(),
  search: z.string().max(100).optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** GET /containers/{id}/status-logs: the SDK's paging and sorting. */
export const StatusLogQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  sort_by: z.enum(["transition_time", "created_at", "to_status", "from_status"]).default("transition_time"),
  sort_order: z.enum(["asc", "desc"]).default("desc"),
});
export type StatusLogQuery = z.infer<typeof StatusLogQuery>;

export const CreateProjectBody = z
  .object({
    alias: z.string().min(1).max(100),
    /** Absent: a random color is made (as Hoody does). */
    color: Color.optional(),
    max_containers: z.number().int().min(0).max(100000).nullable().optional(),
    ceilings: CeilingsInput.nullable().optional(),
    realm_ids: RealmIds,
  })
  .strict();
export const UpdateProjectBody = CreateProjectBody.partial().strict();

/** Hoody's projects.list query: paging and sorting (default: oldest first). realm_id is refused (no realms here). */
export const ProjectListQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  sort_by: z.enum(["id", "alias", "created_at", "updated_at"]).default("created_at"),
  sort_order: z.enum(["asc", "desc"]).default("asc"),
  realm_id: z.string().max(100).optional(),
});
export type ProjectListQuery = z.infer<typeof ProjectListQuery>;

/** Hoody's projects.delete query: include_deleted_items lists the erased containers by id and name. */
export const ProjectDeleteQuery = z.object({ include_deleted_items: z.enum(["true", "false", "1", "0"]).optional() });

export const CreateSnapshotBody = z.object({ alias: z.string().min(1).max(SNAPSHOT_ALIAS_MAX).regex(SNAPSHOT_ALIAS_CHARS).optional(), expiry: z.number().int().min(1).max(3650).optional() }).strict();

/** A rule as the SDK sends it (direction from the path). Cross-field checks run in core (INVALID_FIREWALL_RULE). */
export const FirewallRuleBody = FirewallRuleFields.omit({ direction: true }).strict();

/** The fields that identify a rule in a toggle or remove (first match in the direction's order). */
const RuleFilter = FirewallRuleFields.omit({ direction: true, state: true }).partial();
export const RULE_FILTER_KEYS = Object.keys(RuleFilter.shape) as (keyof z.infer<typeof RuleFilter>)[];

/**
 * PATCH /firewall/{direction}. The SDK's toggle: `state` plus fields that identify the rule. Ours as
 * well: `index` (the rule's position in its direction) plus the fields to change.
 */
export const FirewallPatchBody = RuleFilter.extend({ index: z.number().int().min(0).optional(), state: z.enum(["enabled", "disabled"]).optional() }).strict();

/** DELETE /firewall/{direction}: the SDK's fields (first match, or every match with `all`), or our `index`. */
export const FirewallDeleteBody = RuleFilter.extend({ index: z.number().int().min(0).optional(), all: z.boolean().optional(), state: z.enum(["enabled", "disabled"]).optional() }).strict();
export { FirewallRuleSchema };

export const ExecBody = z
  .object({
    command: z
      .array(z.string().max(64 * 1024))
      .min(1)
      .max(256),
    timeout: z.number().int().min(1).max(600).default(30),
  })
  .strict();

export const BuildTemplateBody = z.object({ recipe: TemplateName, name: TemplateName.optional() }).strict();
export const PromoteBody = z.object({ container_id: ContainerId, name: TemplateName }).strict();

export const CreateTokenBody = z.object({ name: z.string().min(1).max(100), project_id: ProjectId.nullable().default(null) }).strict();

/** A backup schedule: a backup every N hours, the K newest kept. */
export const ScheduleBody = z.object({ every_hours: z.number().int().min(1).max(8760), keep: z.number().int().min(1).max(1000) }).strict();
/** GET /containers/{id}/changes. The path is checked by the service (PATH_REFUSED, audited), not here. */
export const ChangesQuery = z.object({
  path: z.string().max(4096).default("/"),
  /** A snapshot's name or alias: list what changed since it instead of since the template. */
  compare: z.string().min(1).max(64).optional(),
  sort_by: z.enum(CHANGE_SORTS).default("size"),
  sort_order: z.enum(["asc", "desc"]).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  /** Seconds: reuse a listing this recent even if the tenant wrote since (drilling through one listing). */
  max_age: z.coerce.number().int().min(0).max(3600).default(0),
});
export type ChangesQuery = z.infer<typeof ChangesQuery>;

/** GET /containers/{id}/changes/content. */
export const ChangeContentQuery = z.object({ path: z.string().min(1).max(4096) });
/** A template's warm-pool size; null: back to the default. */
export const WarmPoolSizeBody = z.object({ size: z.number().int().min(0).max(64).nullable() }).strict();
/** POST /dedup: an optional time bound for this run (the next run resumes where it stopped). */
export const DedupBody = z.object({ deadline_s: z.number().int().min(1).max(86_400).optional() }).strict();
/** A custom domain for a tenant (checked further by the domain service: a DNS name that resolves here). */
export const AddDomainBody = z.object({ hostname: z.string().min(1).max(253) }).strict();

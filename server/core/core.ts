// The service layer's composition root. REST (server/rest), tRPC (server/api), the tenant router
// and the CLI call its services; nothing else writes the database or drives the engine. The
// database is the desired state, the engine the actual one: every mutation goes engine-first with
// a compensating step if the database write fails, and the reconciler repairs what a crash in
// between left. One service per domain (server/core/<domain>.ts), all sharing one CoreContext.
import type { Db } from "../db/client";
import type { Engine } from "../engine/types";
import { createAdmission, type Admission } from "./admission";
import { AuditService } from "./audit-log";
import { BackupService } from "./backups";
import { ChangesService } from "./changes";
import { ContainerService } from "./containers";
import { DedupService } from "./dedup";
import { DomainService } from "./domains";
import { type CoreSettings, CoreContext } from "./context";
import { ErasureService } from "./erasure";
import { FirewallService } from "./firewall";
import type { Idempotency } from "./idempotency";
import { LifecycleService } from "./lifecycle";
import { ProjectService } from "./projects";
import { ProvisioningService } from "./provisioning";
import { Reconciler } from "./reconcile";
import { RoutingService } from "./routing";
import { ScriptStore } from "./scripts";
import { ServerService } from "./servers";
import { SnapshotService } from "./snapshots";
import { StatsService } from "./stats";
import { TemplateService } from "./templates";
import { TokenService } from "./tokens";
import { WarmPoolService } from "./warm-pool";
import { CapacityService } from "./capacity";

export { type Actor, type CoreSettings, SYSTEM } from "./context";
export { sha256 } from "./ids";
export type { WarmPoolView } from "./warm-pool";
export type { CapacityView } from "./capacity";
export type { ContainerOperation, ContainerStatsView, ContainerStatus, ContainerView, ProjectView, RouteTarget, ServerView } from "./views";

export class Core {
  private readonly ctx: CoreContext;
  readonly audit: AuditService;
  readonly projects: ProjectService;
  readonly servers: ServerService;
  /** Containers: reads (containers), creation (provisioning), changes and operations (lifecycle). */
  readonly containers: ContainerService;
  readonly provisioning: ProvisioningService;
  readonly lifecycle: LifecycleService;
  readonly snapshots: SnapshotService;
  readonly backups: BackupService;
  /** The delta browser: what a tenant changed relative to its template or a snapshot. */
  readonly changes: ChangesService;
  readonly firewall: FirewallService;
  readonly templates: TemplateService;
  readonly tokens: TokenService;
  readonly stats: StatsService;
  readonly routing: RoutingService;
  readonly domains: DomainService;
  readonly erasure: ErasureService;
  readonly dedup: DedupService;
  readonly reconciler: Reconciler;
  readonly scripts: ScriptStore;
  readonly warmPool: WarmPoolService;
  readonly capacity: CapacityService;

  constructor(db: Db, engine: Engine, settings: CoreSettings, admission?: Admission) {
    const ctx = new CoreContext(db, engine, settings, admission ?? createAdmission());
    this.ctx = ctx;
    this.audit = new AuditService(ctx);
    this.projects = new ProjectService(ctx);
    this.servers = new ServerService(ctx);
    this.containers = new ContainerService(ctx);
    this.snapshots = new SnapshotService(ctx, this.containers);
    this.changes = new ChangesService(ctx, this.snapshots);
    this.warmPool = new WarmPoolService(ctx);
    this.capacity = new CapacityService(ctx, this.warmPool);
    this.provisioning = new ProvisioningService(ctx, this.containers, this.servers, this.snapshots, this.warmPool);
    this.lifecycle = new LifecycleService(ctx, this.containers);
    this.backups = new BackupService(ctx, this.containers, this.provisioning);
    this.firewall = new FirewallService(ctx);
    this.templates = new TemplateService(ctx);
    this.tokens = new TokenService(ctx);
    this.stats = new StatsService(ctx, this.containers);
    this.domains = new DomainService(ctx);
    this.routing = new RoutingService(ctx, this.domains);
    this.erasure = new ErasureService(ctx);
    this.dedup = new DedupService(ctx);
    this.reconciler = new Reconciler(ctx, this.erasure, this.servers);
    this.scripts = new ScriptStore(db);
  }

  /** Idempotency-Keys: the REST layer runs requests through it, a create claims its key with its row. */
  get idempotency(): Idempotency {
    return this.ctx.idempotency;
  }

  /** Bounds creates in flight against the engine (N running + M queued, the rest 429). */
  get creates(): Admission {
    return this.ctx.creates;
  }
}

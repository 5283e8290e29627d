// Containers, creation: create from a template or copy a container, engine first, then the rows.
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { EngineServer } from "../engine/types";
import type { FirewallRule, TenantInfo } from "../shared/protocol";
import { checkCeilings, checkEnv, checkEnvTotals, engineLimits, type LimitsBody, normalizeColor, pickName, randomColor, refuseNotOffered } from "./checks";
import { type Actor, type CoreContext, count, SYSTEM } from "./context";
import { CoreError, fromEngine, notFound } from "./errors";
import { faultPoint } from "./fault";
import { newPublicId } from "./ids";
import type { CopyContainerBody, CreateContainerBody } from "./schemas";
import { writeSshKey } from "./ssh-key";
import type { ContainerView } from "./views";
import type { ContainerService } from "./containers";
import type { ServerService } from "./servers";
import type { SnapshotService } from "./snapshots";
import type { WarmPoolService } from "./warm-pool";

export class ProvisioningService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly containers: ContainerService,
    private readonly servers: ServerService,
    private readonly snapshots: SnapshotService,
    private readonly warmPool: WarmPoolService,
  ) {}

  private checkQuota(projectId: string): void {
    const p = this.ctx.db.select().from(t.projects).where(eq(t.projects.id, projectId)).get();
    if (!p || p.maxContainers === null) return;
    const rows = count(this.ctx.db, t.containers, eq(t.containers.projectId, projectId));
    const n = rows + (this.ctx.inflightByProject.get(projectId) ?? 0);
    if (n >= p.maxContainers) throw new CoreError(409, "PROJECT_CONTAINER_LIMIT", `project ${projectId} allows at most ${p.maxContainers} containers`);
  }

  private insertContainer(row: typeof t.containers.$inferInsert, env: Record<string, string>, rules: FirewallRule[]): void {
    this.ctx.db.transaction((tx) => {
      tx.insert(t.containers).values(row).run();
      this.ctx.idempotency.claim(tx, row.id);
      const envRows = Object.entries(env).map(([key, value]) => ({ containerId: row.id, key, value }));
      if (envRows.length) tx.insert(t.envVars).values(envRows).run();
      const ruleRows = rules.map((rule, position) => ({ containerId: row.id, position, rule }));
      if (ruleRows.length) tx.insert(t.firewallRules).values(ruleRows).run();
    });
  }

  /** Engine first, then the rows; if the rows cannot be written the tenant is removed again. */
  private async provision(
    actor: Actor,
    givenProjectId: string,
    body: {
      name?: string;
      environment_vars?: Record<string, string>;
      start: boolean;
      autostart: boolean;
      comment?: string | null;
      color?: string;
      ssh_public_key?: string | null;
      ramdisk_mib?: number;
      idle_timeout_s?: number | null;
      limits?: LimitsBody;
      bypass_prespawn?: boolean;
    },
    /** sourceTenant: the source's engine name; sourceContainerId: its public id. */
    source: {
      template: string;
      build?: (args: { name: string; labels: Record<string, string> }) => Promise<TenantInfo>;
      sourceTenant?: string;
      sourceSnapshot?: string;
      firewall?: FirewallRule[];
      sourceContainerId?: string;
      place?: EngineServer | null;
      sshKey?: { desired: string | null; onDisk: string | null | undefined };
    },
  ): Promise<ContainerView> {
    const projectId = this.ctx.projectRow(actor, givenProjectId).id;
    checkEnv(body.environment_vars ?? {});
    checkEnvTotals(body.environment_vars ?? {});
    await checkCeilings(this.ctx, actor, projectId, source.template, body);
    this.checkQuota(projectId);
    return this.ctx.creates.run(async () => {
      // Checked again once admitted: rows and in-flight creates are counted at the moment the slot is taken.
      this.checkQuota(projectId);
      this.ctx.inflightByProject.set(projectId, (this.ctx.inflightByProject.get(projectId) ?? 0) + 1);
      const op = randomBytes(8).toString("hex");
      this.ctx.inflightOps.add(op);
      try {
        return await this.provisionAdmitted(actor, projectId, body, source, op);
      } finally {
        this.ctx.inflightOps.delete(op);
        const n = (this.ctx.inflightByProject.get(projectId) ?? 1) - 1;
        if (n > 0) this.ctx.inflightByProject.set(projectId, n);
        else this.ctx.inflightByProject.delete(projectId);
      }
    });
  }

  private async provisionAdmitted(
    actor: Actor,
    projectId: string,
    body: Parameters<ProvisioningService["provision"]>[2],
    source: Parameters<ProvisioningService["provision"]>[3],
    op: string,
  ): Promise<ContainerView> {
    const { name, label } = pickName(this.ctx, body.name);
    const t0 = performance.now();
    const input = {
      template: source.template,
      name,
      env: body.environment_vars ?? {},
      limits: body.limits ? engineLimits(body.limits) : {},
      ramdiskMiB: body.ramdisk_mib,
      start: body.start,
      autostart: body.autostart,
      // Only Incus places by member; the host engine has one place.
      ...(this.ctx.engine.kind === "incus" && source.place?.member ? { member: source.place.member } : {}),
      sourceTenant: source.sourceTenant,
      sourceSnapshot: source.sourceSnapshot,
      firewall: source.firewall,
      labels: { "hoody.owner": "core", "hoody.project": projectId, "hoody.op": op },
    };
    let tenant: TenantInfo;
    // A create from a template with a warm pool takes a member ready and waiting (status claiming);
    // none fits: the usual create. A failed claim costs nothing but the member (the engine erases it).
    // A backup import (`build`) makes its own tenant.
    const claimed = body.bypass_prespawn || source.build ? null : await this.warmPool.claim(input).catch(() => null);
    try {
      tenant = source.build ? await source.build({ name, labels: input.labels }) : (claimed ?? (await this.createMakingRoom(input)));
    } catch (e) {
      const err = fromEngine(e);
      if (err.code === "ENGINE_UNAVAILABLE") this.ctx.healSoon();
      throw err;
    }
    const cid = newPublicId();
    const sshKey = body.ssh_public_key !== undefined ? body.ssh_public_key || null : (source.sshKey?.desired ?? null);
    const running = tenant.state === "running";
    // undefined: the copied files hold a key not known here, so it is written whatever it is.
    const onDiskKnown = source.sshKey?.onDisk !== undefined || !source.sshKey;
    let sshOnDisk = source.sshKey?.onDisk ?? null;
    try {
      // Written while only the engine holds the tenant: a failure removes it like any failed create.
      if (running && (!onDiskKnown || sshKey !== sshOnDisk)) {
        await writeSshKey(this.ctx, tenant.id, sshKey);
        sshOnDisk = sshKey;
      }
    } catch (e) {
      await this.ctx.engine.deleteTenant(tenant.id).catch(() => undefined);
      throw e;
    }
    const serverId = await this.servers.serverIdOf(tenant.member);
    try {
      this.insertContainer(
        {
          id: cid,
          engineName: tenant.id,
          projectId,
          name,
          label,
          template: tenant.template,
          status: tenant.state === "running" ? "running" : "stopped",
          ip: tenant.ip,
          sourceContainerId: source.sourceContainerId ?? null,
          comment: body.comment ?? null,
          ramdisk: true,
          color: body.color ? normalizeColor(body.color) : randomColor(),
          autostart: body.autostart,
          serverId,
          sshPublicKey: sshKey,
          sshKeyApplied: sshOnDisk,
          idleTimeoutS: body.idle_timeout_s ?? null,
        },
        tenant.env,
        tenant.firewall,
      );
    } catch (e) {
      await this.ctx.engine.deleteTenant(tenant.id).catch(() => undefined);
      if (String(e).includes("UNIQUE constraint failed: containers.label")) throw new CoreError(409, "CONTAINER_NAME_TAKEN", `a container named like ${name} exists`);
      throw e;
    }
    // The row (and the request's Idempotency-Key claim) is committed, the answer not yet stored.
    faultPoint("after-container-row");
    const to = tenant.state === "running" ? "running" : "stopped";
    const meta = { template: tenant.template, ...(source.sourceContainerId && { source_container_id: source.sourceContainerId }) };
    if (claimed) {
      this.ctx.logStatus(cid, null, "claiming", actor, undefined, meta);
      this.ctx.logStatus(cid, "claiming", to, actor, Math.round(performance.now() - t0), meta);
    } else this.ctx.logStatus(cid, null, to, actor, Math.round(performance.now() - t0), meta);
    return this.containers.view(this.ctx.containerRow(SYSTEM, cid), tenant);
  }

  /**
   * The engine's create; refused for want of a uid range, an address or pool space while warm-pool
   * members hold some, the members go and it is tried once more: the pool never takes what a
   * create needs.
   */
  private async createMakingRoom(input: Parameters<CoreContext["engine"]["createTenant"]>[0]): Promise<TenantInfo> {
    try {
      return await this.ctx.engine.createTenant(input);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code === "EXHAUSTED" || code === "POOL_FULL") && (await this.warmPool.yieldForCreate())) return this.ctx.engine.createTenant(input);
      throw e;
    }
  }

  /**
   * A container made by `build` (a backup import) instead of a create: the same admission, quota,
   * name, rows and rollback as a create. Its env, limits and firewall are the backup's.
   */
  async provisionBuilt(
    actor: Actor,
    projectId: string,
    body: { name?: string; start: boolean; autostart: boolean },
    template: string,
    build: (args: { name: string; labels: Record<string, string> }) => Promise<TenantInfo>,
  ): Promise<ContainerView> {
    return this.provision(actor, projectId, body, { template, build });
  }

  /** Takes Hoody's create body (container_image, server_id, …) and our older one (template). */
  async create(actor: Actor, projectId: string, body: z.input<typeof CreateContainerBody>): Promise<ContainerView> {
    if (body.container_image && body.template && body.container_image !== body.template) {
      throw new CoreError(422, "VALIDATION_ERROR", `container_image (${body.container_image}) and template (${body.template}) name different templates; send one`, [
        { instancePath: "/container_image", message: "differs from template" },
      ]);
    }
    refuseNotOffered(body);
    const template = body.container_image ?? body.template ?? "mini";
    const autostart = body.autostart ?? true;
    // Recorded against the new container, so its page and the target filter list its creation.
    return this.ctx.audited(
      actor,
      "container.create",
      (c) => `container:${c.id}`,
      async () => {
        this.ctx.projectRow(actor, projectId);
        const place = await this.servers.placeFor(body.server_id);
        return this.provision(actor, projectId, { ...body, autostart, start: body.start ?? autostart }, { template, place });
      },
      (c) => ({ container_id: c.id, project_id: c.project_id, template: c.template, env_keys: Object.keys(body.environment_vars ?? {}) }),
      `project:${projectId}`,
    );
  }

  /** Copies a template (by name) or a visible container (its latest state or a named snapshot). */
  async copy(actor: Actor, sourceId: string, input: z.input<typeof CopyContainerBody>): Promise<ContainerView> {
    refuseNotOffered(input);
    const autostart = input.autostart ?? true;
    const body = { ...input, copy_firewall_rules: input.copy_firewall_rules ?? false, autostart, start: input.start ?? autostart };
    // Recorded against the copy (its creation); the source is named in the detail.
    return this.ctx.audited(
      actor,
      "container.copy",
      (c) => `container:${c.id}`,
      async () => {
        const place = await this.servers.placeFor(body.target_server_id);
        const srcId = this.ctx.canonicalId("container", sourceId);
        const src = srcId === null ? undefined : this.ctx.db.select().from(t.containers).where(eq(t.containers.id, srcId)).get();
        if (src && (!actor.projectId || src.projectId === actor.projectId)) {
          const snapName = body.source_snapshot ? this.snapshots.row(src.id, body.source_snapshot).name : undefined;
          const tplRules = body.copy_firewall_rules ? undefined : (await this.ctx.engine.listTemplates()).find((x) => x.name === src.template)?.settings.firewall;
          return this.provision(actor, body.target_project_id, body, {
            template: src.template,
            sourceTenant: src.engineName,
            sourceSnapshot: snapName,
            firewall: tplRules,
            sourceContainerId: src.id,
            place,
            // Its files are copied, authorized_keys included: the copy keeps the source's key unless given one.
            // A snapshot holds the key of its time, which may differ from the row's now: not known.
            sshKey: { desired: src.sshPublicKey, onDisk: snapName ? undefined : src.sshKeyApplied },
          });
        }
        const tpl = (await this.ctx.engine.listTemplates()).find((x) => x.name === sourceId);
        if (!tpl) throw notFound("CONTAINER", sourceId);
        if (body.source_snapshot) throw new CoreError(422, "VALIDATION_ERROR", "templates have no snapshots");
        return this.provision(actor, body.target_project_id, body, { template: tpl.name, place });
      },
      (c) => ({ container_id: c.id, source: sourceId }),
      `container:${sourceId}`,
    );
  }
}

// Backups of containers: take, list, delete, restore in place, import as a new container (from a
// file made here or on another box), and the Art. 20 export of a customer's own files. The engine
// writes and reads the sealed files; this keeps the rows (env, firewall, snapshots) in step.
import type { Readable } from "node:stream";
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { BackupInfo, TenantInfo } from "../shared/protocol";
import { BACKUP_ID_RE } from "../shared/host-api";
import { type Actor, type CoreContext, SYSTEM } from "./context";
import { CoreError } from "./errors";
import type { ContainerService } from "./containers";
import type { ProvisioningService } from "./provisioning";
import type { ContainerView } from "./views";

export interface BackupView {
  id: string;
  container_id: string;
  created_at: string;
  size_bytes: number;
  template: string;
  snapshots: string[];
  /** Which operator key opens it (a hash of the key). */
  key_id: string;
  /** Where the file is on the host (the backup directory may be another machine's mount). */
  location: string;
}

export interface ScheduleView {
  target: string;
  every_hours: number | null;
  keep: number | null;
  /** When each container it covers was last backed up by it. */
  last_runs: Record<string, string>;
}

export class BackupService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly containers: ContainerService,
    private readonly provisioning: ProvisioningService,
  ) {}

  private view(containerId: string, b: BackupInfo): BackupView {
    return { id: b.id, container_id: containerId, created_at: b.createdAt, size_bytes: b.bytes, template: b.template, snapshots: b.snapshots, key_id: b.keyId, location: b.file };
  }

  async list(actor: Actor, given: string): Promise<{ container_id: string; backups: BackupView[] }> {
    const row = this.ctx.containerRow(actor, given);
    const list = await this.ctx.engine.backups.list(row.engineName);
    return { container_id: row.id, backups: list.map((b) => this.view(row.id, b)) };
  }

  async create(actor: Actor, given: string): Promise<BackupView> {
    const row = this.ctx.containerRow(actor, given);
    return this.ctx.audited(
      actor,
      "container.backup",
      `container:${row.id}`,
      async () => this.view(row.id, await this.ctx.engine.backups.create(row.engineName)),
      (b) => ({ backup: b.id, size_bytes: b.size_bytes }),
    );
  }

  /** The container (scope first: another project's is a 404 whatever the backup id) and a well-formed backup id. */
  private target(actor: Actor, given: string, backup: string) {
    const row = this.ctx.containerRow(actor, given);
    if (!BACKUP_ID_RE.test(backup)) throw new CoreError(404, "BACKUP_NOT_FOUND", `backup ${backup.slice(0, 64)} not found`);
    return row;
  }

  async delete(actor: Actor, given: string, backup: string): Promise<{ container_id: string; backup_id: string; existed: boolean }> {
    const row = this.target(actor, given, backup);
    return this.ctx.audited(
      actor,
      "container.backup.delete",
      `container:${row.id}`,
      async () => {
        const r = await this.ctx.engine.backups.delete(row.engineName, backup);
        if (!r.existed) throw new CoreError(404, "BACKUP_NOT_FOUND", `backup ${backup.slice(0, 64)} not found`);
        return { container_id: row.id, backup_id: backup, existed: true };
      },
      (r) => ({ backup: r.backup_id }),
    );
  }

  /** Keeps the `keep` newest backups of a container and deletes the rest (a schedule's retention); how many went. */
  async prune(given: string, keep: number): Promise<number> {
    const row = this.ctx.containerRow(SYSTEM, given);
    const list = await this.ctx.engine.backups.list(row.engineName);
    let n = 0;
    for (const b of list.slice(keep)) if ((await this.ctx.engine.backups.delete(row.engineName, b.id)).existed) n++;
    return n;
  }

  /** Restores in place: filesystem, snapshots, env, limits, firewall as the backup has them. */
  async restore(actor: Actor, given: string, backup: string): Promise<ContainerView> {
    const row = this.target(actor, given, backup);
    return this.ctx.audited(
      actor,
      "container.backup.restore",
      `container:${row.id}`,
      async () => {
        const tenant = await this.ctx.engine.backups.restore(row.engineName, backup);
        this.syncRows(row.id, tenant);
        return this.containers.view(this.ctx.containerRow(SYSTEM, row.id), tenant);
      },
      () => ({ backup }),
    );
  }

  /**
   * A new container in the project from a backup file (the request body, bounded by the caller).
   * Admin only: a backup carries its own limits, which a project's ceilings did not approve.
   */
  async importFile(actor: Actor, projectId: string, source: AsyncIterable<Uint8Array>, opts: { name?: string; start?: boolean }): Promise<ContainerView> {
    this.ctx.requireAdmin(actor);
    this.ctx.projectRow(actor, projectId);
    return this.ctx.audited(
      actor,
      "container.import",
      (c) => `container:${c.id}`,
      async () => {
        const start = opts.start ?? true;
        let imported: TenantInfo | null = null;
        const view = await this.provisioning.provisionBuilt(actor, projectId, { name: opts.name, start, autostart: true }, "", async ({ name, labels }) => {
          imported = await this.ctx.engine.backups.import(source, { name, labels, start });
          return imported;
        });
        if (imported) this.syncRows(view.id, imported);
        return view;
      },
      (c) => ({ container_id: c.id, project_id: c.project_id }),
      `project:${projectId}`,
    );
  }

  /** The customer's own files as a tar (GDPR Art. 20). */
  async exportFiles(actor: Actor, given: string): Promise<{ container_id: string; name: string; stream: Readable }> {
    const row = this.ctx.containerRow(actor, given);
    const stream = await this.ctx.engine.backups.export(row.engineName);
    this.ctx.audit(actor, "container.export", `container:${row.id}`, "ok", null);
    return { container_id: row.id, name: row.name, stream };
  }

  /** A container's or a project's schedule (a project's covers each of its containers without one of its own). */
  async setSchedule(actor: Actor, kind: "container" | "project", given: string, body: { every_hours: number; keep: number }): Promise<ScheduleView> {
    const key = this.scheduleKey(actor, kind, given);
    return this.ctx.audited(
      actor,
      "backup.schedule",
      key.target,
      async () => {
        const values = { ...key, everyHours: body.every_hours, keep: body.keep };
        this.ctx.db
          .insert(t.backupSchedules)
          .values(values)
          .onConflictDoUpdate({ target: t.backupSchedules.target, set: { everyHours: body.every_hours, keep: body.keep } })
          .run();
        return this.getSchedule(actor, kind, given);
      },
      () => ({ every_hours: body.every_hours, keep: body.keep }),
    );
  }

  getSchedule(actor: Actor, kind: "container" | "project", given: string): ScheduleView {
    const { target } = this.scheduleKey(actor, kind, given);
    const row = this.ctx.db.select().from(t.backupSchedules).where(eq(t.backupSchedules.target, target)).get();
    return { target, every_hours: row?.everyHours ?? null, keep: row?.keep ?? null, last_runs: row?.lastRuns ?? {} };
  }

  deleteSchedule(actor: Actor, kind: "container" | "project", given: string): ScheduleView {
    const { target } = this.scheduleKey(actor, kind, given);
    this.ctx.db.delete(t.backupSchedules).where(eq(t.backupSchedules.target, target)).run();
    this.ctx.audit(actor, "backup.schedule.delete", target, "ok", null);
    return { target, every_hours: null, keep: null, last_runs: {} };
  }

  private scheduleKey(actor: Actor, kind: "container" | "project", given: string) {
    if (kind === "container") {
      const id = this.ctx.containerRow(actor, given).id;
      return { target: `container:${id}`, containerId: id, projectId: null };
    }
    const id = this.ctx.projectRow(actor, given).id;
    return { target: `project:${id}`, containerId: null, projectId: id };
  }

  private sweeping = false;

  /**
   * Runs what is due (the web process calls it every HOODY_BACKUP_SWEEP_MS): a backup of each
   * container whose schedule's period has passed since its last run, then its retention. A failure
   * is audited and counts as a run (retried next period, not every sweep).
   */
  async runDue(): Promise<{ backups: number; failed: number; pruned: number }> {
    const out = { backups: 0, failed: 0, pruned: 0 };
    if (this.sweeping) return out;
    this.sweeping = true;
    try {
      const schedules = this.ctx.db.select().from(t.backupSchedules).all();
      const own = new Set(schedules.flatMap((s) => (s.containerId ? [s.containerId] : [])));
      for (const s of schedules) {
        const ids = s.containerId
          ? [s.containerId]
          : this.ctx.db
              .select({ id: t.containers.id })
              .from(t.containers)
              .where(eq(t.containers.projectId, s.projectId!))
              .all()
              .map((r) => r.id)
              .filter((id) => !own.has(id));
        for (const id of ids) {
          const last = s.lastRuns[id];
          if (last && this.ctx.clock().getTime() - Date.parse(last) < s.everyHours * 3_600_000) continue;
          try {
            await this.create(SYSTEM, id);
            out.backups++;
            out.pruned += await this.prune(id, s.keep);
          } catch (e) {
            out.failed++;
            console.error(`[backups] scheduled backup of ${id} failed: ${(e as Error).message}`);
          }
          const row = this.ctx.db.select().from(t.backupSchedules).where(eq(t.backupSchedules.target, s.target)).get();
          if (row)
            this.ctx.db
              .update(t.backupSchedules)
              .set({ lastRuns: { ...row.lastRuns, [id]: this.ctx.now() } })
              .where(eq(t.backupSchedules.target, s.target))
              .run();
        }
      }
    } finally {
      this.sweeping = false;
    }
    return out;
  }

  /** The rows the engine's state decides after a restore or import: env, firewall, snapshots (aliases and expiries are not in a backup). */
  private syncRows(containerId: string, tenant: TenantInfo): void {
    this.ctx.db.transaction((tx) => {
      tx.delete(t.envVars).where(eq(t.envVars.containerId, containerId)).run();
      const env = Object.entries(tenant.env).map(([key, value]) => ({ containerId, key, value }));
      if (env.length) tx.insert(t.envVars).values(env).run();
      tx.delete(t.firewallRules).where(eq(t.firewallRules.containerId, containerId)).run();
      const rules = tenant.firewall.map((rule, position) => ({ containerId, position, rule }));
      if (rules.length) tx.insert(t.firewallRules).values(rules).run();
      tx.delete(t.snapshots).where(eq(t.snapshots.containerId, containerId)).run();
      const snaps = tenant.snapshots.map((s) => ({ containerId, name: s.name, createdAt: s.createdAt }));
      if (snaps.length) tx.insert(t.snapshots).values(snaps).run();
    });
  }
}

// GDPR erasure: a container and every byte of its data (a receipt stays), scheduled erasures, a project with its containers.
import { and, asc, desc, eq, sql } from "drizzle-orm";
import * as t from "../db/schema";
import { type Actor, type CoreContext, count } from "./context";
import { CoreError, fromEngine } from "./errors";
import { shortId } from "./ids";

export class ErasureService {
  constructor(private readonly ctx: CoreContext) {}

  /**
   * Erases every container of the project (each through deleteContainer, so each gets its GDPR
   * receipt), then the project and its tokens. The first erasure that fails stops it: the project
   * stays with what remains, and the error lists what was erased (with receipts) and what was not.
   */
  async deleteProject(actor: Actor, given: string, opts: { includeDeletedItems?: boolean } = {}) {
    this.ctx.requireAdmin(actor);
    const projectId = this.ctx.projectRow(actor, given).id;
    return this.ctx.audited(
      actor,
      "project.delete",
      `project:${projectId}`,
      async () => {
        const erased: { id: string; name: string; receipt_id: string }[] = [];
        // A create that lands while we erase is erased too; a project that keeps refilling is left (409).
        for (let round = 0; round < 3; round++) {
          const rows = this.ctx.db.select({ id: t.containers.id, name: t.containers.name }).from(t.containers).where(eq(t.containers.projectId, projectId)).orderBy(asc(t.containers.createdAt)).all();
          if (!rows.length) break;
          for (const r of rows) {
            try {
              const receipt = await this.deleteContainer(actor, r.id);
              erased.push({ id: r.id, name: r.name, receipt_id: receipt.receipt_id });
            } catch (e) {
              const err = fromEngine(e);
              if (err.code === "CONTAINER_NOT_FOUND") continue; // erased meanwhile by another request: its receipt is that request's
              const remaining = count(this.ctx.db, t.containers, eq(t.containers.projectId, projectId));
              throw new CoreError(
                err.status,
                "PROJECT_DELETE_INCOMPLETE",
                `erasing container ${r.id} failed (${err.code}: ${err.message}); ${erased.length} container(s) were erased, ${remaining} remain; the project was kept`,
                { failed: { id: r.id, name: r.name, code: err.code, message: err.message }, erased, remaining },
              );
            }
          }
        }
        const tokens = this.ctx.db.transaction((tx) => {
          const left = count(tx, t.containers, eq(t.containers.projectId, projectId));
          if (left > 0) throw new CoreError(409, "PROJECT_NOT_EMPTY", `containers keep being created in project ${projectId} (${left} now); ${erased.length} were erased`, { erased, remaining: left });
          const n = count(tx, t.apiTokens, eq(t.apiTokens.projectId, projectId));
          tx.delete(t.projects).where(eq(t.projects.id, projectId)).run();
          tx.delete(t.idAliases)
            .where(and(eq(t.idAliases.kind, "project"), eq(t.idAliases.newId, projectId)))
            .run();
          return n;
        });
        return {
          id: projectId,
          deleted: { containers: erased.length, permissions: 0, aliases: 0, tokens },
          ...(opts.includeDeletedItems && { deleted_items: { containers: erased.map(({ id: cid, name }) => ({ id: cid, name })) } }),
          receipts: erased.map((e) => e.receipt_id),
        };
      },
      (r) => ({ containers: r.deleted.containers, receipts: r.receipts }),
    );
  }

  /**
   * Erases the tenant and every byte of its data: the engine removes its processes, filesystem,
   * snapshots, config, logs and leases; here every row that holds its data goes (env vars,
   * snapshots, firewall rules, status logs, audit entries about it, idempotent replays of its
   * answers), the WAL is checkpointed so deleted pages do not linger, and only a receipt stays.
   */
  async deleteContainer(actor: Actor, given: string) {
    const row = this.ctx.containerRow(actor, given);
    const containerId = row.id;
    this.ctx.db.update(t.containers).set({ status: "deleting", updatedAt: this.ctx.now() }).where(eq(t.containers.id, containerId)).run();
    let engineReport: { existed: boolean; erased: string[] };
    try {
      engineReport = await this.ctx.engine.deleteTenant(row.engineName);
    } catch (e) {
      // The erasure was asked for: the row stays "deleting" (not "failed"), so a retry or the
      // reconciler finishes it even if the engine meanwhile completed its part (e.g. it crashed mid-delete).
      const err = fromEngine(e);
      if (err.code === "ENGINE_UNAVAILABLE") this.ctx.healSoon();
      this.ctx.audit(actor, "container.delete", `container:${containerId}`, `error:${err.code}`);
      throw err;
    }
    const counts = {
      env_vars: count(this.ctx.db, t.envVars, eq(t.envVars.containerId, containerId)),
      snapshots: count(this.ctx.db, t.snapshots, eq(t.snapshots.containerId, containerId)),
      firewall_rules: count(this.ctx.db, t.firewallRules, eq(t.firewallRules.containerId, containerId)),
      custom_domains: count(this.ctx.db, t.customDomains, eq(t.customDomains.containerId, containerId)),
      status_logs: count(this.ctx.db, t.statusLogs, eq(t.statusLogs.containerId, containerId)),
      stats_samples: count(this.ctx.db, t.statsSamples, eq(t.statsSamples.containerId, containerId)),
      // Its id from before 0006_public_ids, if it had one: an identifier of it like the others.
      id_aliases: count(this.ctx.db, t.idAliases, and(eq(t.idAliases.kind, "container"), eq(t.idAliases.newId, containerId))),
    };
    const receipt = {
      id: shortId("r"),
      containerId,
      projectId: row.projectId,
      requestedBy: actor.id,
      erased: {
        host: engineReport.erased,
        database: [
          `container row`,
          `${counts.env_vars} env var(s)`,
          `${counts.snapshots} snapshot record(s)`,
          `${counts.firewall_rules} firewall rule(s)`,
          `${counts.custom_domains} custom domain(s)`,
          `${counts.status_logs} status log entr(ies)`,
          `${counts.stats_samples} stats history sample(s)`,
          `${counts.id_aliases} old id alias(es)`,
          "audit entries and idempotent replays about it",
        ],
      },
    };
    this.ctx.db.transaction((tx) => {
      tx.delete(t.envVars).where(eq(t.envVars.containerId, containerId)).run();
      tx.delete(t.snapshots).where(eq(t.snapshots.containerId, containerId)).run();
      tx.delete(t.firewallRules).where(eq(t.firewallRules.containerId, containerId)).run();
      tx.delete(t.customDomains).where(eq(t.customDomains.containerId, containerId)).run();
      tx.delete(t.statusLogs).where(eq(t.statusLogs.containerId, containerId)).run();
      tx.delete(t.statsSamples).where(eq(t.statsSamples.containerId, containerId)).run();
      tx.delete(t.idempotencyKeys).where(eq(t.idempotencyKeys.resourceId, containerId)).run();
      tx.delete(t.auditLog)
        .where(eq(t.auditLog.target, `container:${containerId}`))
        .run();
      tx.delete(t.auditLog).where(sql`json_extract(${t.auditLog.detail}, '$.container_id') = ${containerId}`).run();
      tx.delete(t.idAliases)
        .where(and(eq(t.idAliases.kind, "container"), eq(t.idAliases.newId, containerId)))
        .run();
      tx.delete(t.containers).where(eq(t.containers.id, containerId)).run();
      tx.insert(t.erasureReceipts).values(receipt).run();
    });
    this.ctx.db.$client.pragma("wal_checkpoint(TRUNCATE)");
    this.ctx.audit(actor, "container.erase", `receipt:${receipt.id}`, "ok");
    return this.receipt(receipt.id);
  }

  receipt(receiptId: string) {
    const r = this.ctx.db.select().from(t.erasureReceipts).where(eq(t.erasureReceipts.id, receiptId)).get();
    if (!r) throw new CoreError(404, "RECEIPT_NOT_FOUND", `receipt ${receiptId} not found`);
    return { receipt_id: r.id, container_id: r.containerId, project_id: r.projectId, erased_at: r.erasedAt, requested_by: r.requestedBy, erased: r.erased };
  }

  receipts(actor: Actor) {
    const rows = this.ctx.db
      .select()
      .from(t.erasureReceipts)
      .where(actor.projectId ? eq(t.erasureReceipts.projectId, actor.projectId) : undefined)
      .orderBy(desc(t.erasureReceipts.erasedAt))
      .limit(500)
      .all();
    return rows.map((r) => this.receipt(r.id));
  }

  /** Erases containers whose grace period is over (called periodically). */
  async eraseDue(): Promise<string[]> {
    const due = this.ctx.db.select({ id: t.containers.id }).from(t.containers).where(sql`${t.containers.deleteAt} IS NOT NULL AND ${t.containers.deleteAt} <= ${this.ctx.now()}`).all();
    const erased: string[] = [];
    for (const { id: cid } of due) {
      try {
        await this.deleteContainer({ id: "system:grace-period", projectId: null }, cid);
        erased.push(cid);
      } catch (e) {
        console.error(`[core] scheduled erasure of ${cid} failed: ${(e as Error).message}`);
      }
    }
    return erased;
  }
}

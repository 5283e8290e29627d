// The reconciler: compares the database (desired) with the engine (actual) and repairs what it can attribute.
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import { type CoreContext, SYSTEM } from "./context";
import { engineStatus } from "./status";
import type { ErasureService } from "./erasure";
import type { ServerService } from "./servers";

export class Reconciler {
  constructor(
    private readonly ctx: CoreContext,
    private readonly erasure: ErasureService,
    private readonly servers: ServerService,
  ) {
    ctx.healSoon = () => this.healSoon();
  }

  private healing: Promise<void> | null = null;

  private healAgain = false;

  /**
   * After an engine call whose outcome is unknown (the daemon died or restarted mid-call) a tenant
   * may exist without its row, or an erasure may be half done. Reconcile as soon as the daemon
   * answers again (every 2 s, for up to 10 min) instead of waiting for the next web start.
   */
  private healSoon(): void {
    this.healAgain = true;
    if (this.healing) return;
    this.healing = (async () => {
      for (let attempt = 0; attempt < 300 && this.healAgain; attempt++) {
        await new Promise((r) => setTimeout(r, attempt ? 2000 : 500).unref());
        this.healAgain = false;
        try {
          const report = await this.reconcile();
          console.log(`[core] reconciled after an engine outage: ${JSON.stringify(report)}`);
        } catch {
          this.healAgain = true; // still down
        }
      }
    })().finally(() => {
      this.healing = null;
    });
  }

  /**
   * Compares the database (desired) with the engine (actual) and repairs what it can attribute:
   * tenants the core created (label hoody.owner=core) but never recorded (a crash between the two
   * steps) are removed; rows whose tenant vanished are marked failed; env drift is pushed to the
   * engine; templates are mirrored. Tenants it cannot attribute are reported, never touched.
   */
  async reconcile(): Promise<{ removedOrphans: string[]; markedFailed: string[]; finished: string[]; envPushed: string[]; unattributed: string[]; errors: string[] }> {
    const report = { removedOrphans: [] as string[], markedFailed: [] as string[], finished: [] as string[], envPushed: [] as string[], unattributed: [] as string[], errors: [] as string[] };
    // The engine names its tenants by engine name; rows are matched on that, reported by public id.
    const tenants = await this.ctx.engine.listTenants();
    const byEngine = new Map(tenants.map((x) => [x.id, x]));
    // Rows made before servers existed (or tenants Incus moved) get the place they run on.
    const places = new Map((await this.servers.syncServers().catch(() => [])).map((x) => [x.place.key, x.row.id]));
    const rows = this.ctx.db.select().from(t.containers).all();
    const rowNames = new Set(rows.map((r) => r.engineName));
    for (const tenant of tenants) {
      if (rowNames.has(tenant.id)) continue;
      // A create of this process between its engine call and its row is not an orphan.
      if (this.ctx.inflightOps.has(tenant.labels["hoody.op"] ?? "")) continue;
      if (tenant.labels["hoody.owner"] === "core") {
        await this.ctx.engine.deleteTenant(tenant.id).then(
          () => report.removedOrphans.push(tenant.id),
          (e) => report.errors.push(`${tenant.id}: ${(e as Error).message}`),
        );
      } else report.unattributed.push(tenant.id);
    }
    for (const row of rows) {
      const tenant = byEngine.get(row.engineName);
      if (row.status === "deleting") {
        // An erasure interrupted (crash, engine down): finish it, whether or not the engine still has the tenant.
        // One row's failure (or a concurrent DELETE that got there first) must not stop the rest.
        await this.erasure.deleteContainer(SYSTEM, row.id).then(
          () => report.finished.push(row.id),
          (e) => report.errors.push(`${row.id}: ${(e as Error).message}`),
        );
        continue;
      }
      if (!tenant) {
        if (row.status !== "failed") {
          this.ctx.db.update(t.containers).set({ status: "failed", updatedAt: this.ctx.now() }).where(eq(t.containers.id, row.id)).run();
          report.markedFailed.push(row.id);
        }
        continue;
      }
      const placeId = places.get(this.servers.serverKey(tenant.member));
      if (placeId && row.serverId !== placeId) this.ctx.db.update(t.containers).set({ serverId: placeId }).where(eq(t.containers.id, row.id)).run();
      if (row.status === "creating" || row.status === "failed") {
        this.ctx.db
          .update(t.containers)
          .set({ status: engineStatus(tenant) })
          .where(eq(t.containers.id, row.id))
          .run();
        report.finished.push(row.id);
      }
      const want = this.ctx.env(row.id);
      if (JSON.stringify(sortKeys(want)) !== JSON.stringify(sortKeys(tenant.env))) {
        const patch: Record<string, string | null> = { ...want };
        for (const k of Object.keys(tenant.env)) if (!(k in want)) patch[k] = null;
        await this.ctx.engine.updateTenant(row.engineName, { env: patch, restart: false });
        report.envPushed.push(row.id);
      }
    }
    // Mirror the engine's templates (the engine is their source of truth; the table serves queries and the UI).
    const templates = await this.ctx.engine.listTemplates();
    this.ctx.db.transaction((tx) => {
      // biome-ignore lint/suspicious/noDrizzleDeleteWithoutWhere: the mirror is rewritten whole, in this one transaction.
      tx.delete(t.templates).run();
      for (const tpl of templates) tx.insert(t.templates).values({ name: tpl.name, recipe: tpl.recipe, settings: tpl.settings, createdAt: tpl.createdAt }).run();
    });
    if (Object.values(report).some((v) => v.length)) this.ctx.audit(SYSTEM, "reconcile", null, "ok", report);
    return report;
  }
}

function sortKeys(o: Record<string, string>) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

// The audit log: entries, counted anonymous refusals, the admin's view of it.
import { and, desc, eq, like, type SQL } from "drizzle-orm";
import * as t from "../db/schema";
import { AuditTally } from "./audit-tally";
import { type Actor, type CoreContext, count } from "./context";
import { aliasTarget, type IdKind } from "./ids";
import { pagination } from "./views";

export class AuditService {
  constructor(private readonly ctx: CoreContext) {}

  record(actor: Actor, action: string, target: string | null, result: string, detail: Record<string, unknown> | null = null): void {
    this.ctx.db.insert(t.auditLog).values({ actor: actor.id, action, target, result, detail }).run();
  }

  /** Anonymous refusals, counted: one audit row per action and 15-minute window ("refused", counts by code in detail). */
  readonly refusals = new AuditTally((action, windowStart, counts) => this.addRefusalCounts(action, windowStart, counts));

  private addRefusalCounts(action: string, windowStart: Date, counts: Record<string, number>): void {
    const target = `window:${windowStart.toISOString()}`;
    this.ctx.db.transaction((tx) => {
      const row = tx
        .select()
        .from(t.auditLog)
        .where(and(eq(t.auditLog.action, action), eq(t.auditLog.target, target), eq(t.auditLog.result, "refused")))
        .get();
      const had = ((row?.detail as { counts?: Record<string, number> } | null)?.counts ?? {}) as Record<string, number>;
      const merged = { ...had };
      for (const [code, n] of Object.entries(counts)) merged[code] = (merged[code] ?? 0) + n;
      const detail = { window_start: windowStart.toISOString(), window_s: this.refusals.windowMs / 1000, counts: merged, total: Object.values(merged).reduce((a, b) => a + b, 0) };
      if (row) tx.update(t.auditLog).set({ detail, at: this.ctx.now() }).where(eq(t.auditLog.id, row.id)).run();
      else tx.insert(t.auditLog).values({ actor: "anonymous", action, target, result: "refused", detail }).run();
    });
  }

  list(actor: Actor, q: { page: number; limit: number; action?: string; target?: string; actor?: string }) {
    this.ctx.requireAdmin(actor);
    const conds: SQL[] = [];
    if (q.action) conds.push(like(t.auditLog.action, `${q.action}%`));
    if (q.target) {
      // Entries were rewritten to the new ids (0006_public_ids): an old id in the filter means its row's.
      const m = /^(project|container):(.+)$/.exec(q.target);
      const current = m ? aliasTarget(this.ctx.db, m[1] as IdKind, m[2]!) : null;
      conds.push(eq(t.auditLog.target, current ? `${m![1]}:${current}` : q.target));
    }
    if (q.actor) conds.push(eq(t.auditLog.actor, q.actor));
    const where = conds.length ? and(...conds) : undefined;
    const total = count(this.ctx.db, t.auditLog, where);
    const entries = this.ctx.db
      .select()
      .from(t.auditLog)
      .where(where)
      .orderBy(desc(t.auditLog.id))
      .limit(q.limit)
      .offset((q.page - 1) * q.limit)
      .all();
    return { entries, pagination: pagination(total, q.page, q.limit) };
  }
}

// The warm pool's policy: how many members each template keeps, when they are made and when they
// go. The engine (the host daemon) does the privileged part: it makes a member started and waiting,
// hands one to a create, and discards them (server/host/warm-pool.ts). Core decides because it knows
// what the daemon does not: which templates customers use (sizes set by the operator), whether
// creates are in flight (the refill runs only when none are: idle priority), and what a normal
// create still needs (pressure: the pool shrinks before a create would be refused).
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { CreateTenantInput, TenantInfo } from "../shared/protocol";
import type { Actor, CoreContext } from "./context";
import { CoreError, viaEngine } from "./errors";

export const MAX_POOL_SIZE = 64;

export interface WarmPoolView {
  template: string;
  size: number;
  /** true: no size was set, the default applies. */
  default: boolean;
  ready: number;
  preparing: number;
  memory_bytes: number;
}

/** Free uid ranges / addresses below which the pool gives its members back (they hold one each). */
export function poolReserve(total: number): number {
  return Math.max(4, Math.ceil(total * 0.02));
}

/**
 * Pressure: what the pool holds is wanted by normal creates. Each member holds a uid range, an
 * address and memory; below a reserve of any of them (or with the disk pool under twice its own
 * reserve), members are not made and the ones there go.
 */
export function underPressure(c: { uidFree: number; uidTotal: number; addrFree: number; addrTotal: number; memAvailable: number; memTotal: number; poolFree: number; poolSize: number }): boolean {
  return c.uidFree < poolReserve(c.uidTotal) || c.addrFree < poolReserve(c.addrTotal) || c.memAvailable < c.memTotal * 0.1 || c.poolFree < Math.min(2048 * 1024 * 1024, c.poolSize * 0.1);
}

export class WarmPoolService {
  private refilling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: CoreContext) {}

  /** The template's size: the operator's, else the default for recipe-built templates, else 0. */
  sizeOf(template: string, recipe: string | null | undefined): { size: number; isDefault: boolean } {
    const row = this.ctx.db.select().from(t.templatePools).where(eq(t.templatePools.template, template)).get();
    if (row) return { size: row.size, isDefault: false };
    return { size: recipe ? (this.ctx.settings.warmPoolDefault ?? 0) : 0, isDefault: true };
  }

  /** The pools as an operator sees them (admin: they describe the whole box, not a project). */
  listFor(actor: Actor): Promise<WarmPoolView[]> {
    this.ctx.requireAdmin(actor);
    return this.list();
  }

  async list(): Promise<WarmPoolView[]> {
    const pool = this.ctx.engine.warmPool;
    const [templates, members] = await viaEngine(Promise.all([this.ctx.engine.listTemplates(), pool ? pool.list() : Promise.resolve([])]));
    return templates.map((tpl) => {
      const s = this.sizeOf(tpl.name, tpl.recipe);
      const m = members.find((x) => x.template === tpl.name);
      return { template: tpl.name, size: pool ? s.size : 0, default: s.isDefault, ready: m?.ready ?? 0, preparing: m?.preparing ?? 0, memory_bytes: m?.memoryBytes ?? 0 };
    });
  }

  /** Sets a template's pool size (admin); `null` returns it to the default. Shrinking discards at once. */
  async setSize(actor: Actor, template: string, size: number | null): Promise<WarmPoolView> {
    this.ctx.requireAdmin(actor);
    return this.ctx.audited(
      actor,
      "template.pool",
      `template:${template}`,
      async () => {
        const pool = this.ctx.engine.warmPool;
        if (!pool && size) throw new CoreError(422, "FEATURE_NOT_OFFERED", `this engine (${this.ctx.engine.kind}) has no warm pool`);
        const tpl = (await this.ctx.engine.listTemplates()).find((x) => x.name === template);
        if (!tpl) throw new CoreError(404, "TEMPLATE_NOT_FOUND", `template ${template} not found`);
        if (size === null) this.ctx.db.delete(t.templatePools).where(eq(t.templatePools.template, template)).run();
        else
          this.ctx.db
            .insert(t.templatePools)
            .values({ template, size })
            .onConflictDoUpdate({ target: t.templatePools.template, set: { size, updatedAt: this.ctx.now() } })
            .run();
        const want = this.sizeOf(template, tpl.recipe).size;
        if (pool) await pool.discard(template, want);
        this.kick();
        return (await this.list()).find((x) => x.template === template)!;
      },
      (v) => ({ size: v.size }),
    );
  }

  /**
   * A create served from the pool, or null (no pool for the template, none ready, or a create the
   * members do not fit: then the caller creates as usual). A pool of size 0 is never asked.
   */
  async claim(input: CreateTenantInput & { template: string }): Promise<TenantInfo | null> {
    const pool = this.ctx.engine.warmPool;
    if (!pool || input.sourceTenant || input.start === false) return null;
    const tpl = (await this.ctx.templatesCached()).find((x) => x.name === input.template);
    if (!tpl || this.sizeOf(tpl.name, tpl.recipe).size === 0) return null;
    const got = await pool.claim(input);
    // One fewer: make it again once creates are done.
    if (got) this.kick();
    return got;
  }

  /**
   * Gives members back so a normal create finds room: called when a create was refused for want of
   * a uid range, an address or pool space. True when some went.
   */
  async yieldForCreate(): Promise<boolean> {
    const pool = this.ctx.engine.warmPool;
    if (!pool) return false;
    const members = await pool.list().catch(() => []);
    let removed = 0;
    for (const m of members) if (m.ready) removed += (await pool.discard(m.template, 0).catch(() => ({ removed: 0 }))).removed;
    return removed > 0;
  }

  /** Periodic refill (the web server's core only; the router's never makes members). */
  start(tickMs: number): void {
    if (this.timer || !this.ctx.engine.warmPool) return;
    this.timer = setInterval(() => this.kick(), tickMs);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs a refill pass unless one runs. */
  kick(): void {
    if (this.refilling || !this.ctx.engine.warmPool) return;
    this.refilling = this.refill()
      .catch((e) => console.error(`[core] warm pool refill: ${(e as Error).message}`))
      .finally(() => {
        this.refilling = null;
      });
  }

  /** Waits for a running refill pass (tests, shutdown). */
  async settled(): Promise<void> {
    await this.refilling;
  }

  private busy(): boolean {
    const load = this.ctx.creates.load;
    return load.running + load.queued > 0;
  }

  /**
   * One member at a time, only while no create runs or waits, re-checking pressure before each:
   * the pool takes what is idle and never what a create is about to need.
   */
  async refill(): Promise<void> {
    const pool = this.ctx.engine.warmPool;
    if (!pool) return;
    for (;;) {
      if (this.busy()) return;
      const views = await this.list();
      if (await this.pressure()) {
        for (const v of views) if (v.ready) await pool.discard(v.template, 0);
        return;
      }
      for (const v of views) if (v.ready > v.size) await pool.discard(v.template, v.size);
      const short = views.find((v) => v.ready + v.preparing < v.size);
      if (!short || this.busy()) return;
      await pool.prepare(short.template);
    }
  }

  private async pressure(): Promise<boolean> {
    const { host } = await this.ctx.engine.stats({ ids: [] });
    const c = host.capacity;
    if (!c) return false;
    return underPressure({
      uidFree: c.uidRanges.total - c.uidRanges.used,
      uidTotal: c.uidRanges.total,
      addrFree: c.addresses.total - c.addresses.used,
      addrTotal: c.addresses.total,
      memAvailable: host.memory.availableBytes,
      memTotal: host.memory.totalBytes,
      poolFree: host.pool.sizeBytes - host.pool.usedBytes,
      poolSize: host.pool.sizeBytes,
    });
  }
}

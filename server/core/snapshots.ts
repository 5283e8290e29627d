// Snapshots: list, take (with alias and expiry), restore, rename, delete, expire.
import { and, asc, eq, sql } from "drizzle-orm";
import * as t from "../db/schema";
import { type Actor, type CoreContext, SYSTEM } from "./context";
import { notFound } from "./errors";
import { engineStatus } from "./status";
import type { ContainerService } from "./containers";

export class SnapshotService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly containers: ContainerService,
  ) {}

  row(containerId: string, nameOrAlias: string) {
    const row =
      this.ctx.db
        .select()
        .from(t.snapshots)
        .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, nameOrAlias)))
        .get() ??
      this.ctx.db
        .select()
        .from(t.snapshots)
        .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.alias, nameOrAlias)))
        .get();
    if (!row) throw notFound("SNAPSHOT", nameOrAlias);
    return row;
  }

  private view(r: typeof t.snapshots.$inferSelect, bytes?: number) {
    return { name: r.name, alias: r.alias, created_at: r.createdAt, last_used_at: r.lastUsedAt, expires_at: r.expiresAt, stateful: false, size: bytes ?? null };
  }

  /** Removes expired snapshots (of one container, or all). Called on every snapshot read and periodically. */
  async expire(containerId?: string): Promise<number> {
    const now = this.ctx.now();
    const expired = this.ctx.db
      .select()
      .from(t.snapshots)
      .where(and(sql`${t.snapshots.expiresAt} IS NOT NULL AND ${t.snapshots.expiresAt} <= ${now}`, containerId ? eq(t.snapshots.containerId, containerId) : undefined))
      .all();
    for (const s of expired) {
      const engineName = this.ctx.db.select({ n: t.containers.engineName }).from(t.containers).where(eq(t.containers.id, s.containerId)).get()?.n;
      if (engineName) await this.ctx.engine.deleteSnapshot(engineName, s.name).catch(() => undefined);
      this.ctx.db
        .delete(t.snapshots)
        .where(and(eq(t.snapshots.containerId, s.containerId), eq(t.snapshots.name, s.name)))
        .run();
      this.ctx.audit(SYSTEM, "snapshot.expire", `container:${s.containerId}`, "ok", { snapshot: s.name });
    }
    return expired.length;
  }

  /** The SDK's listSnapshots answer: the container, its count (there is no per-container maximum here) and its snapshots, oldest first. */
  async list(actor: Actor, given: string) {
    const row = this.ctx.containerRow(actor, given);
    const containerId = row.id;
    await this.expire(containerId);
    const sizes = new Map((await this.ctx.engine.getTenant(row.engineName).catch(() => null))?.snapshots.map((s) => [s.name, s.bytes]) ?? []);
    const snapshots = this.ctx.db
      .select()
      .from(t.snapshots)
      .where(eq(t.snapshots.containerId, containerId))
      .orderBy(asc(t.snapshots.createdAt))
      .all()
      .map((r) => this.view(r, sizes.get(r.name)));
    return { container_id: row.id, project_id: row.projectId, snapshot_count: snapshots.length, max_snapshots: null, snapshots };
  }

  async create(actor: Actor, given: string, body: { alias?: string; expiry?: number }) {
    const owner = this.ctx.containerRow(actor, given);
    const { id: containerId, engineName } = owner;
    return this.ctx.audited(
      actor,
      "snapshot.create",
      `container:${containerId}`,
      async () => {
        await this.expire(containerId);
        const stamp = this.ctx.now().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
        let name = `snap-${stamp}`;
        for (
          let i = 2;
          this.ctx.db
            .select()
            .from(t.snapshots)
            .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, name)))
            .get();
          i++
        )
          name = `snap-${stamp}-${i}`;
        const info = await this.ctx.engine.createSnapshot(engineName, name);
        const replaced = body.alias
          ? this.ctx.db
              .select()
              .from(t.snapshots)
              .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.alias, body.alias)))
              .all()
          : [];
        const expiresAt = body.expiry ? new Date(this.ctx.clock().getTime() + body.expiry * 86_400_000).toISOString() : null;
        this.ctx.db
          .insert(t.snapshots)
          .values({ containerId, name, alias: body.alias ?? null, expiresAt })
          .run();
        // An alias names one snapshot: the older one it named goes.
        for (const old of replaced) {
          await this.ctx.engine.deleteSnapshot(engineName, old.name).catch(() => undefined);
          this.ctx.db
            .delete(t.snapshots)
            .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, old.name)))
            .run();
        }
        const row = this.row(containerId, name);
        return { container_id: owner.id, project_id: owner.projectId, snapshot: this.view(row, info.bytes), replaced: replaced.map((r) => r.name) };
      },
      (s) => ({ snapshot: s.snapshot.name }),
    );
  }

  async restore(actor: Actor, given: string, nameOrAlias: string) {
    const { id: containerId, engineName } = this.ctx.containerRow(actor, given);
    const snap = this.row(containerId, nameOrAlias);
    return this.ctx.audited(
      actor,
      "snapshot.restore",
      `container:${containerId}`,
      async () => {
        const after = await this.ctx.engine.restoreSnapshot(engineName, snap.name);
        this.ctx.db
          .update(t.snapshots)
          .set({ lastUsedAt: this.ctx.now() })
          .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, snap.name)))
          .run();
        const state = engineStatus(after);
        this.ctx.logStatus(containerId, state, state, actor, undefined, { cause: `restore ${snap.name}` });
        const size = after.snapshots.find((x) => x.name === snap.name)?.bytes;
        return { success: true, message: `restored ${snap.name}`, snapshot: this.view(this.row(containerId, snap.name), size), container: await this.containers.get(actor, containerId) };
      },
      () => ({ snapshot: snap.name }),
    );
  }

  /** An alias names one snapshot: given to another, it moves; null removes it. */
  async setAlias(actor: Actor, given: string, nameOrAlias: string, alias: string | null) {
    const row = this.ctx.containerRow(actor, given);
    const containerId = row.id;
    const snap = this.row(containerId, nameOrAlias);
    this.ctx.db.transaction((tx) => {
      if (alias !== null)
        tx.update(t.snapshots)
          .set({ alias: null })
          .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.alias, alias)))
          .run();
      tx.update(t.snapshots)
        .set({ alias })
        .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, snap.name)))
        .run();
    });
    this.ctx.audit(actor, "snapshot.alias", `container:${containerId}`, "ok", { snapshot: snap.name });
    return { container_id: row.id, project_id: row.projectId, snapshot: this.view(this.row(containerId, snap.name)) };
  }

  async delete(actor: Actor, given: string, nameOrAlias: string) {
    const row = this.ctx.containerRow(actor, given);
    const { id: containerId, engineName } = row;
    const snap = this.row(containerId, nameOrAlias);
    return this.ctx.audited(
      actor,
      "snapshot.delete",
      `container:${containerId}`,
      async () => {
        await this.ctx.engine.deleteSnapshot(engineName, snap.name);
        this.ctx.db
          .delete(t.snapshots)
          .where(and(eq(t.snapshots.containerId, containerId), eq(t.snapshots.name, snap.name)))
          .run();
        return { container_id: row.id, project_id: row.projectId, snapshot_name: snap.name, name: snap.name, deleted: true };
      },
      () => ({ snapshot: snap.name }),
    );
  }
}

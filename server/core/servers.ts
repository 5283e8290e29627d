// Servers: where tenants can run (this box, or each Incus cluster member), each with a stable row.
import { and, eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { EngineServer } from "../engine/types";
import { type Actor, type CoreContext, count } from "./context";
import { CoreError, viaEngine } from "./errors";
import { newPublicId } from "./ids";
import type { ServerView } from "./views";

export class ServerService {
  constructor(private readonly ctx: CoreContext) {}

  /** The engine's key of the place a tenant runs on (see EngineServer.key). */
  serverKey(member: string | undefined): string {
    if (this.ctx.engine.kind === "host") return "host";
    return member ? `incus:${member}` : "incus";
  }

  /** Asks the engine where tenants can run and gives each place its stable row (made once, name kept current). */
  async syncServers(): Promise<{ row: typeof t.servers.$inferSelect; place: EngineServer }[]> {
    const places = await viaEngine(this.ctx.engine.servers());
    return places.map((place) => {
      this.ctx.db.insert(t.servers).values({ id: newPublicId(), key: place.key, name: place.name }).onConflictDoNothing().run();
      let row = this.ctx.db.select().from(t.servers).where(eq(t.servers.key, place.key)).get()!;
      if (row.name !== place.name) {
        this.ctx.db.update(t.servers).set({ name: place.name, updatedAt: this.ctx.now() }).where(eq(t.servers.id, row.id)).run();
        row = { ...row, name: place.name };
      }
      return { row, place };
    });
  }

  /** `containers` counts what the actor can see: a project token's own, not other projects' tenants. */
  private serverView(actor: Actor, row: typeof t.servers.$inferSelect, place: EngineServer): ServerView {
    const mine = actor.projectId ? and(eq(t.containers.serverId, row.id), eq(t.containers.projectId, actor.projectId)) : eq(t.containers.serverId, row.id);
    const n = count(this.ctx.db, t.containers, mine);
    const gb = (b: number | null) => (b === null ? null : Math.round((b / 1024 ** 3) * 10) / 10);
    const ram = gb(place.specs.memoryBytes);
    const disk = gb(place.specs.diskBytes);
    return {
      id: row.id,
      server_id: row.id,
      name: row.name,
      status: place.online ? "active" : "offline",
      engine: this.ctx.engine.kind,
      member: place.member,
      containers: n,
      is_free_tier: false,
      pool_id: null,
      created_at: row.createdAt,
      server: {
        id: row.id,
        name: row.name,
        is_vm: false,
        specs: {
          cpu: place.specs.cpuThreads === null && place.specs.cpuModel === null ? null : { model: place.specs.cpuModel, cores: null, threads: place.specs.cpuThreads },
          ram: ram === null ? null : { capacity_gb: ram },
          disks: disk === null ? null : { total_gb: disk },
        },
      },
    };
  }

  /** Where tenants can run: this box (host engine) or each Incus cluster member. Any token may read it (create needs the id). */
  async list(actor: Actor): Promise<ServerView[]> {
    return (await this.syncServers()).map(({ row, place }) => this.serverView(actor, row, place));
  }

  async get(actor: Actor, serverId: string): Promise<ServerView> {
    const s = (await this.list(actor)).find((x) => x.id === serverId);
    if (!s) throw new CoreError(404, "SERVER_NOT_FOUND", `server ${serverId} not found (GET /servers lists where containers can run)`);
    return s;
  }

  /** The place a create or copy asked for, checked: unknown (or gone from the cluster) → 404, offline → 409. */
  async placeFor(serverId: string | undefined): Promise<EngineServer | null> {
    if (!serverId) return null;
    const hit = (await this.syncServers()).find((x) => x.row.id === serverId);
    if (!hit) throw new CoreError(404, "SERVER_NOT_FOUND", `server ${serverId} not found (GET /servers lists where containers can run)`);
    if (!hit.place.online) throw new CoreError(409, "SERVER_OFFLINE", `server ${hit.row.name} is offline`);
    return hit.place;
  }

  /** The servers row id of a place by its key, syncing once if the place has not been seen yet; null if the engine does not answer. */
  async serverIdOf(member: string | undefined): Promise<string | null> {
    const key = this.serverKey(member);
    const get = () => this.ctx.db.select({ id: t.servers.id }).from(t.servers).where(eq(t.servers.key, key)).get()?.id ?? null;
    return get() ?? (await this.syncServers().then(get, () => null));
  }
}

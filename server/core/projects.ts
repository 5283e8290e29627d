// Projects: list, read, create, change (erasing one is server/core/erasure.ts).
import { asc, desc, eq } from "drizzle-orm";
import * as t from "../db/schema";
import { type Ceilings, normalizeColor, randomColor, refuseNotOffered } from "./checks";
import { type Actor, type CoreContext, count } from "./context";
import { CoreError } from "./errors";
import { newPublicId } from "./ids";
import type { ProjectListQuery } from "./schemas";
import { pagination, type ProjectView } from "./views";

export class ProjectService {
  constructor(private readonly ctx: CoreContext) {}

  private projectView(row: typeof t.projects.$inferSelect): ProjectView {
    const containerCount = count(this.ctx.db, t.containers, eq(t.containers.projectId, row.id));
    return {
      id: row.id,
      user_id: this.operatorId(),
      alias: row.alias,
      color: row.color ?? "#6B7280",
      is_default: false,
      realm_ids: [],
      max_containers: row.maxContainers,
      ceilings: row.ceilings ?? null,
      container_count: containerCount,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    };
  }

  private operatorIdCache: string | null = null;

  /** The stable 24-hex id of this box's one operator (made once, kept in settings): Hoody's user_id of every project. */
  operatorId(): string {
    if (this.operatorIdCache) return this.operatorIdCache;
    this.ctx.db.insert(t.settings).values({ key: "operator_user_id", value: newPublicId() }).onConflictDoNothing().run();
    this.operatorIdCache = this.ctx.db.select().from(t.settings).where(eq(t.settings.key, "operator_user_id")).get()!.value;
    return this.operatorIdCache;
  }

  list(actor: Actor, q: { page: number; limit: number } & Partial<Pick<ProjectListQuery, "sort_by" | "sort_order" | "realm_id">>) {
    refuseNotOffered({ realm_id: q.realm_id });
    const where = actor.projectId ? eq(t.projects.id, actor.projectId) : undefined;
    const total = count(this.ctx.db, t.projects, where);
    const col = { id: t.projects.id, alias: t.projects.alias, created_at: t.projects.createdAt, updated_at: t.projects.updatedAt }[q.sort_by ?? "created_at"];
    // The id breaks ties (rows made in the same millisecond), so pages never overlap.
    const order = q.sort_order === "desc" ? [desc(col), desc(t.projects.id)] : [asc(col), asc(t.projects.id)];
    const rows = this.ctx.db
      .select()
      .from(t.projects)
      .where(where)
      .orderBy(...order)
      .limit(q.limit)
      .offset((q.page - 1) * q.limit)
      .all();
    return { projects: rows.map((r) => this.projectView(r)), pagination: pagination(total, q.page, q.limit) };
  }

  get(actor: Actor, projectId: string): ProjectView {
    return this.projectView(this.ctx.projectRow(actor, projectId));
  }

  async create(actor: Actor, body: { alias: string; color?: string; max_containers?: number | null; ceilings?: Ceilings | null; realm_ids?: string[] }): Promise<ProjectView> {
    this.ctx.requireAdmin(actor);
    refuseNotOffered(body);
    return this.ctx.audited(
      actor,
      "project.create",
      null,
      async () => {
        const pid = newPublicId();
        this.ctx.db
          .insert(t.projects)
          .values({ id: pid, alias: body.alias, color: body.color ? normalizeColor(body.color) : randomColor(), maxContainers: body.max_containers ?? null, ceilings: body.ceilings ?? null })
          .run();
        return this.get(actor, pid);
      },
      (p) => ({ project_id: p.id }),
    );
  }

  async update(actor: Actor, given: string, body: { alias?: string; color?: string; max_containers?: number | null; ceilings?: Ceilings | null; realm_ids?: string[] }): Promise<ProjectView> {
    const projectId = this.ctx.projectRow(actor, given).id;
    refuseNotOffered(body);
    return this.ctx.audited(actor, "project.update", `project:${projectId}`, async () => {
      // What a project may use is the operator's to set: its own token cannot lift it.
      if (actor.projectId && (body.max_containers !== undefined || body.ceilings !== undefined)) {
        throw new CoreError(403, "RESOURCE_ACCESS_DENIED", "max_containers and ceilings are set by the operator (an admin token)");
      }
      this.ctx.db
        .update(t.projects)
        .set({
          ...(body.alias !== undefined && { alias: body.alias }),
          ...(body.color !== undefined && { color: normalizeColor(body.color) }),
          ...(body.max_containers !== undefined && { maxContainers: body.max_containers }),
          ...(body.ceilings !== undefined && { ceilings: body.ceilings }),
          updatedAt: this.ctx.now(),
        })
        .where(eq(t.projects.id, projectId))
        .run();
      return this.get(actor, projectId);
    });
  }
}

// API tokens and bearer authentication (the dashboard's operator login is server/core/auth.ts).
import { randomBytes } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { Actor, CoreContext } from "./context";
import { CoreError, notFound } from "./errors";
import { sha256, shortId } from "./ids";

export class TokenService {
  constructor(private readonly ctx: CoreContext) {}

  /** Throws 403 unless the actor is an admin (an admin token, the operator, the system). */
  requireAdmin(actor: Actor): void {
    this.ctx.requireAdmin(actor);
  }

  /** Creates an API token; the secret is returned once and only its hash is kept. */
  create(actor: Actor, body: { name: string; project_id: string | null }) {
    this.ctx.requireAdmin(actor);
    // An old project id names the project it became: the token row holds the current id.
    const projectId = body.project_id ? this.ctx.projectRow(actor, body.project_id).id : null;
    const secret = `hdy_${randomBytes(24).toString("base64url")}`;
    const tid = shortId("k");
    this.ctx.db
      .insert(t.apiTokens)
      .values({ id: tid, name: body.name, hash: sha256(secret), prefix: secret.slice(0, 8), projectId })
      .run();
    this.ctx.audit(actor, "token.create", `token:${tid}`, "ok", { project_id: projectId });
    return { id: tid, name: body.name, project_id: projectId, token: secret, prefix: secret.slice(0, 8) };
  }

  /** Makes sure a token secret exists as an admin token (the one `npm run up` writes). */
  ensureAdmin(secret: string, name = "admin (npm run up)") {
    const hash = sha256(secret);
    if (this.ctx.db.select().from(t.apiTokens).where(eq(t.apiTokens.hash, hash)).get()) return;
    this.ctx.db
      .insert(t.apiTokens)
      .values({ id: shortId("k"), name, hash, prefix: secret.slice(0, 8), projectId: null })
      .run();
  }

  list(actor: Actor) {
    this.ctx.requireAdmin(actor);
    return this.ctx.db
      .select()
      .from(t.apiTokens)
      .orderBy(asc(t.apiTokens.createdAt))
      .all()
      .map((r) => ({ id: r.id, name: r.name, prefix: r.prefix, project_id: r.projectId, created_at: r.createdAt, last_used_at: r.lastUsedAt, revoked_at: r.revokedAt }));
  }

  revoke(actor: Actor, tokenId: string) {
    this.ctx.requireAdmin(actor);
    const row = this.ctx.db.select().from(t.apiTokens).where(eq(t.apiTokens.id, tokenId)).get();
    if (!row) throw notFound("TOKEN", tokenId);
    this.ctx.db
      .update(t.apiTokens)
      .set({ revokedAt: row.revokedAt ?? this.ctx.now() })
      .where(eq(t.apiTokens.id, tokenId))
      .run();
    this.ctx.audit(actor, "token.revoke", `token:${tokenId}`, "ok");
    return { id: tokenId, revoked: true };
  }

  /** Resolves a bearer secret to an actor; throws 401 with Hoody's codes. */
  authenticate(authorization: string | null): Actor {
    if (!authorization) throw new CoreError(401, "MISSING_TOKEN", "send Authorization: Bearer <token>");
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m?.[1]) throw new CoreError(401, "INVALID_TOKEN", "the Authorization header must be 'Bearer <token>'");
    const row = this.ctx.db
      .select()
      .from(t.apiTokens)
      .where(eq(t.apiTokens.hash, sha256(m[1])))
      .get();
    if (!row) throw new CoreError(401, "INVALID_TOKEN", "unknown token");
    if (row.revokedAt) throw new CoreError(401, "TOKEN_REVOKED", "this token was revoked");
    this.ctx.db.update(t.apiTokens).set({ lastUsedAt: this.ctx.now() }).where(eq(t.apiTokens.id, row.id)).run();
    return { id: `token:${row.id}`, projectId: row.projectId };
  }
}

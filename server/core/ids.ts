// Public ids of projects and containers: 24 lowercase hex characters, as Hoody's own SDK checks
// (`^[0-9a-f]{24}$`) before it sends a request. Shaped like a MongoDB ObjectId: 4 bytes of Unix
// seconds (so ids sort by creation) and 8 random bytes. drizzle/0006_public_ids.sql makes the same
// shape in SQL for rows that had the old ids. The engine keeps its own short tenant names
// (containers.engine_name): veth and cgroup names need them short.
import { createHash, randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { idAliases } from "../db/schema";

export const PUBLIC_ID_RE = /^[0-9a-f]{24}$/;

/**
 * Ids of the release before 0006 (`p`/`c` + 10 characters). They still answer for one release
 * through id_aliases, so path and body schemas accept them too.
 */
export const LEGACY_ID_RE = { project: /^p[a-z0-9]{10}$/, container: /^c[a-z0-9]{10}$/ } as const;

export type IdKind = keyof typeof LEGACY_ID_RE;

export function newPublicId(nowMs = Date.now()): string {
  return (
    Math.floor(nowMs / 1000)
      .toString(16)
      .padStart(8, "0")
      .slice(-8) + randomBytes(8).toString("hex")
  );
}

/** A public id, or an old one that may still be an alias: what an id parameter may look like. */
export function idShape(kind: IdKind): RegExp {
  return new RegExp(`^(?:[0-9a-f]{24}|${LEGACY_ID_RE[kind].source.slice(1, -1)})$`);
}

/** The current id an old (pre-0006) id stands for, or null when it is no alias. */
export function aliasTarget(db: Pick<Db, "select">, kind: IdKind, oldId: string): string | null {
  if (!LEGACY_ID_RE[kind].test(oldId)) return null;
  return (
    db
      .select({ id: idAliases.newId })
      .from(idAliases)
      .where(and(eq(idAliases.oldId, oldId), eq(idAliases.kind, kind)))
      .get()?.id ?? null
  );
}

/** Ids of things the SDK does not address by a 24-hex id (tokens `k…`, receipts `r…`). */
export const shortId = (prefix: string) => `${prefix}${randomBytes(8).toString("hex").slice(0, 10)}`;

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

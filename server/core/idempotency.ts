// Idempotency-Key on POST: the same key with the same body replays the first answer; the same key
// with another body is a 422. Keys are per actor; concurrent requests with one key run once.
import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { CoreError } from "./errors";
import { sha256 } from "./core";

const inflight = new Map<string, Promise<unknown>>();
const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const TTL_MS = 24 * 3600 * 1000;

export interface StoredAnswer {
  status: number;
  body: string;
  resourceId: string | null;
}

const NOT_STORED = "";

/** With `storeAnswer: false` only the request's hash is kept: a retry is refused, never replayed. */
export async function withIdempotency(
  db: Db,
  actorId: string,
  key: string,
  requestBody: string,
  run: () => Promise<StoredAnswer>,
  storeAnswer = true,
): Promise<StoredAnswer & { replayed: boolean }> {
  if (!KEY_RE.test(key)) throw new CoreError(422, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1-255 printable ASCII characters");
  const requestHash = sha256(requestBody);
  const slot = `${actorId}\0${key}`;
  while (inflight.has(slot)) await inflight.get(slot)!.catch(() => undefined);
  db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, new Date(Date.now() - TTL_MS).toISOString())).run();
  const found = db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.actor, actorId), eq(idempotencyKeys.key, key))).get();
  if (found) {
    if (found.requestHash !== requestHash) throw new CoreError(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
    if (found.response === NOT_STORED) throw new CoreError(409, "IDEMPOTENT_ANSWER_NOT_STORED", "this request already ran; its answer holds a secret or command output and is not kept for replay");
    return { status: found.status, body: found.response, resourceId: found.resourceId, replayed: true };
  }
  const p = run();
  inflight.set(slot, p);
  try {
    const answer = await p;
    // Only successes are remembered: a failed attempt may be retried with the same key.
    if (answer.status < 400) {
      db.insert(idempotencyKeys).values({ actor: actorId, key, requestHash, status: answer.status, response: storeAnswer ? answer.body : NOT_STORED, resourceId: answer.resourceId }).run();
    }
    return { ...answer, replayed: false };
  } finally {
    inflight.delete(slot);
  }
}

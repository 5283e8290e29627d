// Idempotency-Key on POST: the same key with the same body replays the first answer; the same key
// with another body is a 422. Keys are per actor; concurrent requests with one key run once.
// A request that creates a resource claims its key in the resource's own transaction, so a crash
// after the resource is committed but before the answer is stored cannot make a retry create a
// second one: the retry answers with the resource that exists.
// The state (requests in flight, the running request's claim) belongs to one Core, never to this
// module: Next.js bundles instrumentation and each route separately, so module-level state here
// would be one copy per bundle, and the REST route's request would set a claim that the Core (made
// by instrumentation) never sees.
import { AsyncLocalStorage } from "node:async_hooks";
import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { CoreError } from "./errors";
import { sha256 } from "./ids";

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const TTL_MS = 24 * 3600 * 1000;

export interface StoredAnswer {
  status: number;
  body: string;
  resourceId: string | null;
}

const NOT_STORED = "";
/** The key is claimed by a committed resource whose answer was never stored (the process died in between). */
const PENDING = "\u0000pending";

interface Claim {
  actorId: string;
  key: string;
  requestHash: string;
  claimed: boolean;
}

/** A key of the allowed shape, or 422 INVALID_IDEMPOTENCY_KEY (before anything else is said of it). */
export function assertIdempotencyKey(key: string): void {
  if (!KEY_RE.test(key)) throw new CoreError(422, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1-255 printable ASCII characters");
}

export class Idempotency {
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly claims = new AsyncLocalStorage<Claim>();

  constructor(private readonly db: Db) {}

  /**
   * Called inside the transaction that writes a new resource: records the running request's key
   * against it in that same transaction. No Idempotency-Key on the request: nothing to do.
   */
  claim(tx: Pick<Db, "insert">, resourceId: string): void {
    const c = this.claims.getStore();
    if (!c || c.claimed) return;
    tx.insert(idempotencyKeys).values({ actor: c.actorId, key: c.key, requestHash: c.requestHash, status: 0, response: PENDING, resourceId }).run();
    c.claimed = true;
  }

  /**
   * With `storeAnswer: false` only the request's hash is kept: a retry is refused, never replayed.
   * `answerFor` rebuilds the answer about a resource whose key was claimed but whose answer was never
   * stored (null when the resource is gone: then the request runs again).
   */
  async run(
    actorId: string,
    key: string,
    requestBody: string,
    execute: () => Promise<StoredAnswer>,
    storeAnswer = true,
    answerFor: (resourceId: string) => Promise<StoredAnswer | null> = async () => null,
  ): Promise<StoredAnswer & { replayed: boolean }> {
    const db = this.db;
    assertIdempotencyKey(key);
    const requestHash = sha256(requestBody);
    const slot = `${actorId}\0${key}`;
    while (this.inflight.has(slot)) await this.inflight.get(slot)!.catch(() => undefined);
    db.delete(idempotencyKeys)
      .where(lt(idempotencyKeys.createdAt, new Date(Date.now() - TTL_MS).toISOString()))
      .run();
    const where = and(eq(idempotencyKeys.actor, actorId), eq(idempotencyKeys.key, key));
    let found = db.select().from(idempotencyKeys).where(where).get();
    if (found?.response === PENDING && found.requestHash === requestHash) {
      const answer = found.resourceId ? await answerFor(found.resourceId) : null;
      if (answer) return { ...answer, replayed: true };
      db.delete(idempotencyKeys).where(where).run();
      found = undefined;
    }
    if (found) {
      if (found.requestHash !== requestHash) throw new CoreError(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
      if (found.response === NOT_STORED) throw new CoreError(409, "IDEMPOTENT_ANSWER_NOT_STORED", "this request already ran; its answer holds a secret or command output and is not kept for replay");
      return { status: found.status, body: found.response, resourceId: found.resourceId, replayed: true };
    }
    const claim: Claim = { actorId, key, requestHash, claimed: false };
    const p = this.claims.run(claim, execute);
    this.inflight.set(slot, p);
    try {
      const answer = await p;
      // Only successes are remembered: a failed attempt may be retried with the same key.
      if (answer.status < 400) {
        const values = { status: answer.status, response: storeAnswer ? answer.body : NOT_STORED, resourceId: answer.resourceId };
        const updated = claim.claimed ? db.update(idempotencyKeys).set(values).where(where).run().changes : 0;
        if (!updated)
          db.insert(idempotencyKeys)
            .values({ actor: actorId, key, requestHash, ...values })
            .run();
      }
      return { ...answer, replayed: false };
    } finally {
      this.inflight.delete(slot);
    }
  }
}

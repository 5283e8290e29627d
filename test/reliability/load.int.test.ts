// Load: 200 concurrent creates through the API against a small host (64 uid ranges, a small pool).
// Every request must end in 201, or in a clear 429 (admission: too many creates in flight) or 503
// (capacity exhausted) in the error envelope with Retry-After; clients that got 429 retry with the
// same Idempotency-Key as told; none is lost or duplicated, capacity is used to the last range,
// and afterwards the database and the pool hold exactly the successful ones.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestStack } from "../../testkit/stack-harness.js";
import { checkConsistency } from "./consistency.js";

const CLIENTS = 200;
const CAPACITY = 64; // uid ranges: the host's hard capacity
/** A request still unanswered after this is a hang (lost), not a slow answer. */
const HANG_MS = 120_000;

let s: TestStack;
let project: string;

beforeAll(async () => {
  s = await TestStack.create({
    uidRanges: CAPACITY,
    poolSizeMiB: 640,
    // A small admission window, so a burst of 200 must be shed early rather than queued in the daemon.
    webEnv: { HOODY_CREATE_CONCURRENCY: "4", HOODY_CREATE_QUEUE: "16" },
  });
  project = (await s.api("POST", "/projects", { alias: "load" })).body.data.id;
});
afterAll(async () => {
  await s?.stop();
});

interface Outcome {
  status: number;
  code?: string;
  retryAfter: string | null;
  id?: string;
  ms: number;
}

async function create(i: number): Promise<Outcome> {
  const t0 = performance.now();
  const res = await fetch(`${s.url}/api/v1/projects/${project}/containers`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.adminToken}`, "content-type": "application/json", "idempotency-key": `load-${i}` },
    body: JSON.stringify({ template: "mini", environment_vars: { CLIENT: `client-${i}` } }),
    signal: AbortSignal.timeout(HANG_MS),
  });
  const body = (await res.json()) as any;
  return { status: res.status, code: body.code, retryAfter: res.headers.get("retry-after"), id: body.data?.id, ms: performance.now() - t0 };
}

describe("a project's max_containers under a burst", () => {
  it("20 concurrent creates into a project capped at 5 make exactly 5; the rest 409 PROJECT_CONTAINER_LIMIT", async () => {
    // Rows are written after the engine call: the quota must count creates in flight, or a burst overshoots it.
    const capped = (await s.api("POST", "/projects", { alias: "capped", max_containers: 5 })).body.data.id;
    const answers = await Promise.all(Array.from({ length: 20 }, () => s.api("POST", `/projects/${capped}/containers`, { template: "mini" })));
    const made = answers.filter((a) => a.status === 201);
    for (const a of answers) if (a.status !== 201) expect(`${a.status} ${a.body.code}`).toBe("409 PROJECT_CONTAINER_LIMIT");
    expect(made).toHaveLength(5);
    expect((await s.api("GET", `/projects/${capped}`)).body.data.container_count).toBe(5);
    // Give the capacity back to the burst below.
    for (const a of made) expect((await s.api("DELETE", `/containers/${a.body.data.id}`)).status).toBe(200);
  });
});

describe("200 concurrent creates", () => {
  it("each ends 201 or a clear 429/503; retries settle; DB and pool hold exactly the successes", async () => {
    const t0 = performance.now();
    const first = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => create(i).catch((e) => ({ status: 0, code: String(e), retryAfter: null, ms: HANG_MS }) as Outcome)));
    const burstMs = performance.now() - t0;
    const count = (o: Outcome[], st: number) => o.filter((x) => x.status === st).length;
    console.log(
      `[load] burst of ${CLIENTS}: ${count(first, 201)} × 201, ${count(first, 429)} × 429, ${count(first, 503)} × 503, ` +
        `other ${
          first
            .filter((x) => ![201, 429, 503].includes(x.status))
            .map((x) => `${x.status}:${x.code}`)
            .join(",") || "none"
        }; ` +
        `${Math.round(burstMs)} ms; slowest answer ${Math.round(Math.max(...first.map((x) => x.ms)))} ms`,
    );
    for (const o of first) {
      expect([201, 429, 503], `${o.status} ${o.code}`).toContain(o.status);
      if (o.status === 201) expect(o.id).toMatch(/^[0-9a-f]{24}$/);
      else {
        expect(o.code).toMatch(o.status === 429 ? /^TOO_MANY_REQUESTS$/ : /^CAPACITY_EXHAUSTED$/);
        expect(Number(o.retryAfter)).toBeGreaterThan(0);
      }
    }
    // The burst is larger than the admission window: the surplus is shed at once with 429.
    expect(count(first, 429)).toBeGreaterThan(0);

    // Clients told 429 retry with the same key after Retry-After (capped), until they get an answer that is not 429.
    const final = [...first];
    let pending = final.map((o, i) => (o.status === 429 ? i : -1)).filter((i) => i >= 0);
    let rounds = 0;
    while (pending.length && rounds++ < 60) {
      const wait = Math.min(3, Math.max(...pending.map((i) => Number(final[i]!.retryAfter) || 1)));
      await new Promise((r) => setTimeout(r, wait * 1000 * (0.5 + Math.random() / 2)));
      await Promise.all(pending.map(async (i) => (final[i] = await create(i))));
      for (const i of pending) expect([201, 429, 503]).toContain(final[i]!.status);
      pending = pending.filter((i) => final[i]!.status === 429);
    }
    expect(pending).toEqual([]);
    const totalMs = performance.now() - t0;
    const ok = final.filter((o) => o.status === 201);
    console.log(`[load] after retries: ${ok.length} × 201, ${count(final, 503)} × 503 CAPACITY_EXHAUSTED, in ${Math.round(totalMs)} ms (${rounds} retry rounds)`);
    // Capacity used exactly: every range went to one successful client, no range lost to a failed create.
    expect(ok.length).toBe(CAPACITY);
    expect(count(final, 503)).toBe(CLIENTS - CAPACITY);
    const ids = ok.map((o) => o.id!);
    expect(new Set(ids).size).toBe(ids.length);

    // A replay of a successful key answers the same container (no duplicate).
    const iOk = final.findIndex((o) => o.status === 201);
    const again = await create(iOk);
    expect(again).toMatchObject({ status: 201, id: final[iOk]!.id });

    // The database holds exactly the successes, each client's container once.
    const list = await s.api("GET", `/projects/${project}/containers?limit=100`);
    expect(list.body.data.pagination.total).toBe(CAPACITY);
    const { problems, snapshot } = await checkConsistency(s.host, { settled: true });
    expect(problems).toEqual([]);
    expect(snapshot.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    // The pool names tenants by engine name: exactly the successful rows' subvolumes, no stray one.
    expect(snapshot.tenantSubvolumes.sort()).toEqual(snapshot.rows.map((r) => r.engine).sort());
    const clients = await Promise.all(ids.map(async (id) => (await s.api("GET", `/containers/${id}`)).body.data.environment_vars.CLIENT));
    expect(new Set(clients).size).toBe(CAPACITY);
    for (const [i, o] of final.entries()) if (o.status === 201) expect(clients[ids.indexOf(o.id!)]).toBe(`client-${i}`);
  });
});

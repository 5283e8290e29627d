// Crash safety: kill -9 the host daemon and the web server (each by its pid; the web server's whole
// process group) in the middle of 50 concurrent creates and deletes, at a recorded moment; restart
// both; the daemon's adoption and the web's reconciler must leave the database and the disk in
// agreement (consistency.ts). Clients whose requests died then retry with their Idempotency-Key:
// every create ends as exactly one container, every delete as none.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import path from "node:path";
import { TestStack } from "../../testkit/stack-harness.js";
import { waitFor } from "../../testkit/host-harness.js";
import { checkConsistency } from "./consistency.js";

const PER_ROUND = 25; // creates and deletes each: 50 concurrent requests
/**
 * Kill moments: early and middle by time after the burst starts (ms, with jitter; logged), late
 * by progress (once 40 of the 50 requests have answered, whatever this machine's speed: a fixed
 * late moment found every request answered once creates got faster). The last round kills only
 * the daemon while the web server stays up, so the web must heal by itself once the daemon is
 * back (no restart runs its reconciler).
 */
const ROUNDS: (({ killAtMs: number } | { killAfterAnswers: number }) & { kill: "both" | "hostd" })[] = [
  { killAtMs: 60, kill: "both" },
  { killAtMs: 500, kill: "both" },
  { killAfterAnswers: 40, kill: "both" },
  { killAtMs: 300, kill: "hostd" },
];

let s: TestStack;
let project: string;
/** Live containers the test knows of (id → client marker), to delete in the next round. */
const live = new Map<string, string>();

beforeAll(async () => {
  s = await TestStack.create({ uidRanges: 64 });
  project = (await s.api("POST", "/projects", { alias: "crash" })).body.data.id;
  for (let i = 0; i < PER_ROUND; i++) {
    const r = await s.api("POST", `/projects/${project}/containers`, { template: "mini", environment_vars: { CLIENT: `seed-${i}` } });
    expect(r.status).toBe(201);
    live.set(r.body.data.id, `seed-${i}`);
  }
});
afterAll(async () => {
  await s?.stop();
});

interface Attempt {
  status: number | "died";
  code?: string;
  id?: string;
}

async function post(round: number, i: number): Promise<Attempt> {
  try {
    const r = await s.api("POST", `/projects/${project}/containers`, { template: "mini", environment_vars: { CLIENT: `r${round}-${i}` } }, { headers: { "idempotency-key": `crash-r${round}-${i}` } });
    return { status: r.status, code: r.body.code, id: r.body.data?.id };
  } catch {
    return { status: "died" };
  }
}
async function del(id: string): Promise<Attempt> {
  try {
    const r = await s.api("DELETE", `/containers/${id}`);
    return { status: r.status, code: r.body.code };
  } catch {
    return { status: "died" };
  }
}

/** Tenants the daemon had half-way (phase creating/deleting, or a directory without hoody.json) when it died. */
async function halfStates(): Promise<{ creating: number; deleting: number; bare: number }> {
  const out = { creating: 0, deleting: 0, bare: 0 };
  for (const id of await fs.readdir(s.host.lxcPath)) {
    const text = await fs.readFile(path.join(s.host.lxcPath, id, "hoody.json"), "utf8").catch(() => null);
    if (text === null) out.bare++;
    else {
      const phase = JSON.parse(text).phase as string;
      if (phase === "creating") out.creating++;
      if (phase === "deleting") out.deleting++;
    }
  }
  return out;
}

describe("kill -9 of the host daemon and the web server mid-flight", () => {
  for (const [round, moment] of ROUNDS.entries()) {
    const kill = moment.kill;
    const what = kill === "both" ? "host daemon and web server" : "host daemon only";
    const when = "killAtMs" in moment ? `~${moment.killAtMs} ms into` : `after ${moment.killAfterAnswers} answers of`;
    it(`round ${round + 1}: ${what} killed ${when} 50 concurrent creates/deletes; after restart DB and disk agree; retries make no duplicates`, async () => {
      const victims = [...live.keys()].slice(0, PER_ROUND);
      let answered = 0;
      let onAnswer = () => {};
      const counted = (p: Promise<Attempt>) =>
        p.then((a) => {
          answered++;
          onAnswer();
          return a;
        });
      const t0 = performance.now();
      const creates = Array.from({ length: PER_ROUND }, (_, i) => counted(post(round, i)));
      const deletes = victims.map((id) => counted(del(id)));
      if ("killAtMs" in moment) await new Promise((r) => setTimeout(r, moment.killAtMs + Math.floor(Math.random() * 100)));
      else await new Promise<void>((r) => (onAnswer = () => void (answered >= moment.killAfterAnswers && r())));
      await Promise.all([s.host.killDaemon(), kill === "both" ? s.killWeb() : undefined]);
      const killedMs = Math.round(performance.now() - t0);
      const half = await halfStates();
      const created = await Promise.all(creates);
      const deleted = await Promise.all(deletes);
      const tally = (a: Attempt[]) => {
        const byKind = new Map<string, number>();
        for (const x of a) {
          const kind = `${x.status}${x.code ? ` ${x.code}` : ""}`;
          byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        }
        return [...byKind].map(([k, n]) => `${n}× ${k}`).join(", ");
      };
      console.log(`[crash] round ${round + 1} (${what}): killed at ${killedMs} ms; creates: ${tally(created)}; deletes: ${tally(deleted)}; on disk at the kill: ${JSON.stringify(half)}`);
      // Nothing may answer with an unexplained error before the kill: 201/200, or the engine-down 503.
      for (const a of [...created, ...deleted]) if (a.status !== "died") expect([200, 201, 503], `${a.status} ${a.code}`).toContain(a.status);

      await s.host.startDaemon();
      if (kill === "both") {
        await s.startWeb(); // runs the reconciler before it reports ready
        const after = await checkConsistency(s.host, { settled: true });
        expect(after.problems, `after restart (killed at ${killedMs} ms)`).toEqual([]);
      } else {
        // The web server saw its engine calls die: it must reconcile by itself once the daemon is back.
        let last: string[] = [];
        const settled = async () => {
          last = (await checkConsistency(s.host, { settled: true })).problems;
          return last.length === 0;
        };
        const healed = await waitFor(settled, 60_000, 500).catch(() => false);
        expect(healed ? [] : last, `60 s after the daemon restarted (killed at ${killedMs} ms)`).toEqual([]);
      }

      // Clients retry what did not answer 201/200, with the same key; deletes are retried as such.
      const finalCreates = await Promise.all(created.map((a, i) => (a.status === 201 ? a : post(round, i))));
      for (const a of finalCreates) expect(a.status, `retry answered ${a.code}`).toBe(201);
      const finalDeletes = await Promise.all(deleted.map((a, i) => (a.status === 200 ? a : del(victims[i]!))));
      for (const a of finalDeletes) expect([200, 404], `delete retry answered ${a.code}`).toContain(a.status);

      const settled = await checkConsistency(s.host, { settled: true });
      expect(settled.problems).toEqual([]);
      // Exactly one container per create client, none left of the deleted ones.
      const rows = settled.snapshot.rows;
      const markers = await Promise.all(rows.map(async (r) => (await s.api("GET", `/containers/${r.id}`)).body.data.environment_vars.CLIENT as string));
      for (let i = 0; i < PER_ROUND; i++)
        expect(
          markers.filter((m) => m === `r${round}-${i}`),
          `client r${round}-${i}`,
        ).toHaveLength(1);
      for (const id of victims)
        expect(
          rows.some((r) => r.id === id),
          `deleted ${id}`,
        ).toBe(false);
      expect(new Set(markers).size).toBe(markers.length);
      for (const id of victims) live.delete(id);
      for (const [i, a] of finalCreates.entries()) live.set(a.id!, `r${round}-${i}`);
      expect(rows.map((r) => r.id).sort()).toEqual([...live.keys()].sort());
    });
  }
});

// The window between a create's committed row and its stored answer is milliseconds wide: the kills
// above land in it only by chance. Here the web server dies exactly there (a fault point), and the
// client's retry with its Idempotency-Key must answer with the container the dead attempt made.
describe("the web server dies right after a create's row commits", () => {
  it("the client's retry with the same Idempotency-Key answers with that container; no second one is made", async () => {
    const create = () => s.api("POST", `/projects/${project}/containers`, { template: "mini", environment_vars: { CLIENT: "fault-1" } }, { headers: { "idempotency-key": "crash-fault-1" } });
    await s.killWeb();
    s.webEnv.HOODY_FAULT_POINT = "after-container-row";
    try {
      await s.startWeb();
      await expect(create(), "the first attempt gets no answer: the web server died after the row").rejects.toThrow();
    } finally {
      delete s.webEnv.HOODY_FAULT_POINT;
      await s.killWeb();
    }
    await s.startWeb();
    const retry = await create();
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const settled = await checkConsistency(s.host, { settled: true });
    expect(settled.problems).toEqual([]);
    const withMarker = [];
    for (const r of settled.snapshot.rows) if ((await s.api("GET", `/containers/${r.id}`)).body.data.environment_vars.CLIENT === "fault-1") withMarker.push(r.id);
    expect(withMarker).toEqual([retry.body.data.id]);
    expect((await s.api("DELETE", `/containers/${retry.body.data.id}`)).status).toBe(200);
  });
});

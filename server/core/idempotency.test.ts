// Idempotency across a crash: the key is claimed in the resource's own transaction, so a process
// that dies after committing the resource but before storing the answer cannot make a retry create
// a second one. Here the window is forced in one process: the first attempt commits its resource
// and then "dies". (test/reliability/crash.int.test.ts kills the real web server in that window with
// a fault point: that also covers the Core and the REST route sharing one Idempotency.)
import { afterAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { webConfig } from "../config";
import { Admission, createAdmission, execAdmission } from "./admission";
import { Idempotency } from "./idempotency";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-idem-"));
  dirs.push(dir);
  return openDb(path.join(dir, "hoody.db"));
}

/** An Idempotency on a fresh database, and a create that claims the running request's key for resource c<n>. */
function setup() {
  const db = tempDb();
  const idem = new Idempotency(db);
  const created = { count: 0 };
  const create = async () => {
    const id = `c${++created.count}`;
    db.transaction((tx) => idem.claim(tx, id));
    return { status: 201, body: JSON.stringify({ id }), resourceId: id };
  };
  return { db, idem, created, create };
}

describe("Idempotency and a crash between the resource and the stored answer", () => {
  it("a retry answers with the resource the dead attempt made instead of making another", async () => {
    const { idem, created, create } = setup();
    // The first attempt commits its resource, then the process dies before the answer is stored.
    const dies = async () => {
      await create();
      throw new Error("SIGKILL");
    };
    await expect(idem.run("token:a", "signup-1", "{}", dies)).rejects.toThrow("SIGKILL");
    expect(created.count).toBe(1);
    const answerFor = async (id: string) => ({ status: 201, body: JSON.stringify({ id, rebuilt: true }), resourceId: id });
    const retry = await idem.run("token:a", "signup-1", "{}", create, true, answerFor);
    expect(retry).toMatchObject({ status: 201, replayed: true, resourceId: "c1" });
    expect(JSON.parse(retry.body)).toEqual({ id: "c1", rebuilt: true });
    expect(created.count).toBe(1);
    // Another body with the key is still refused.
    await expect(idem.run("token:a", "signup-1", "{other}", create, true, answerFor)).rejects.toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
  });

  it("a claim whose resource is gone (erased, or never finished) lets the retry run again", async () => {
    const { db, idem, created, create } = setup();
    const dies = async () => {
      await create();
      throw new Error("SIGKILL");
    };
    await expect(idem.run("token:a", "k", "{}", dies)).rejects.toThrow();
    const r = await idem.run("token:a", "k", "{}", create, true, async () => null);
    expect(r).toMatchObject({ status: 201, replayed: false, resourceId: "c2" });
    // A normal success stores the answer over the claim: the next retry replays it verbatim.
    const again = await idem.run("token:a", "k", "{}", create, true, async () => null);
    expect(again).toMatchObject({ replayed: true, body: `{"id":"c2"}` });
    expect(db.select().from(idempotencyKeys).all()).toHaveLength(1);
    expect(created.count).toBe(2);
  });

  it("without a key nothing is claimed", () => {
    const db = tempDb();
    const idem = new Idempotency(db);
    db.transaction((tx) => idem.claim(tx, "c1"));
    expect(db.select().from(idempotencyKeys).all()).toHaveLength(0);
  });
});

describe("Admission", () => {
  it("runs N at once, queues M in order, refuses the rest with 429 and Retry-After", async () => {
    const a = new Admission("creates", 2, 1);
    const gates: (() => void)[] = [];
    const order: number[] = [];
    const job = (i: number) =>
      a.run(
        () =>
          new Promise<void>((r) =>
            gates.push(() => {
              order.push(i);
              r();
            }),
          ),
      );
    const running = [job(1), job(2), job(3)];
    await expect(job(4)).rejects.toMatchObject({ status: 429, code: "TOO_MANY_REQUESTS", headers: { "Retry-After": expect.stringMatching(/^\d+$/) } });
    expect(a.load).toEqual({ running: 2, queued: 1 });
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(a.load).toEqual({ running: 2, queued: 0 });
    while (gates.length) gates.shift()!();
    await Promise.all(running);
    while (gates.length) gates.shift()!();
    expect(order).toEqual([1, 2, 3]);
    expect(a.load).toEqual({ running: 0, queued: 0 });
  });

  it("reads its bounds from the settings, with defaults, and refuses nonsense by name", () => {
    expect(createAdmission(webConfig({ HOODY_CREATE_CONCURRENCY: "8", HOODY_CREATE_QUEUE: "0" }))).toMatchObject({ maxRunning: 8, maxQueued: 0 });
    expect(createAdmission(webConfig({}))).toMatchObject({ maxRunning: 4, maxQueued: 64 });
    expect(() => webConfig({ HOODY_CREATE_CONCURRENCY: "0" })).toThrow(/HOODY_CREATE_CONCURRENCY/);
    expect(() => webConfig({ HOODY_CREATE_QUEUE: "x" })).toThrow(/HOODY_CREATE_QUEUE/);
    // Exec scripts (a Node process each) have their own bounds.
    expect(execAdmission(webConfig({ HOODY_EXEC_CONCURRENCY: "2", HOODY_EXEC_QUEUE: "0" }))).toMatchObject({ what: "exec scripts", maxRunning: 2, maxQueued: 0 });
    expect(execAdmission(webConfig({}))).toMatchObject({ maxRunning: 4, maxQueued: 16 });
  });
});

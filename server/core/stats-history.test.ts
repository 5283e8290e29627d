// Stats history on a real SQLite file: 15 s rows and their 5-minute fold, the ranges the charts
// read, retention, and that a new process (a new Core on the same file) sees what the last one wrote.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDb } from "../db/client";
import { Admission } from "./admission";
import { Core, SYSTEM } from "./core";
import { fakeCore, t, type FakeCore } from "./fake-core";
import { HISTORY_KEEP, StatsHistory } from "./stats-history";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore();
});
afterEach(() => h.close());

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0) / 1000;
const sample = (containerId: string, memory: number, cpu = 0) => ({ containerId, delta: 4096, memory, ksm: 0, cpu });

describe("stats history", () => {
  it("keeps 15 s rows and folds them into 5-minute means; ranges read the right rows", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "aaa" });
    const store = new StatsHistory(h.db);
    // 40 samples, 15 s apart (10 minutes): memory 100, 200, …; CPU counts up.
    for (let i = 0; i < 40; i++) store.record([sample(c.id, 100 * (i + 1), i * 1e9)], T0 + i * 15);
    const rows = h.db.select().from(t.statsSamples).all();
    expect(rows.filter((r) => r.res === 15)).toHaveLength(40);
    const coarse = rows.filter((r) => r.res === 300).sort((a, b) => a.at - b.at);
    // Buckets 0–300 s hold samples 1–20 (mean 1050), 300–600 s samples 21–40 (mean 3050).
    expect(coarse.map((r) => [r.at - T0, r.n, r.memoryBytes, r.cpuNs])).toEqual([
      [0, 20, 1050, 19e9],
      [300, 20, 3050, 39e9],
    ]);
    const now = T0 + 40 * 15;
    const hour = store.points(c.id, "1h", now);
    expect(hour).toHaveLength(40);
    expect(hour[0]).toEqual({ at: new Date(T0 * 1000).toISOString(), delta: 4096, memory: 100, ksm: 0, cpu: 0 });
    // 1d: one point per 2 minutes, 8 samples each.
    expect(store.points(c.id, "1d", now).map((p) => p.memory)).toEqual([450, 1250, 2050, 2850, 3650]);
    expect(store.points(c.id, "30d", now).map((p) => p.memory)).toEqual([2050]);
  });

  it("drops 15 s rows after a day and 5-minute rows after a month", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "aaa" });
    const store = new StatsHistory(h.db);
    store.record([sample(c.id, 1)], T0);
    store.record([sample(c.id, 2)], T0 + HISTORY_KEEP.fine + 15);
    const res = () =>
      h.db
        .select()
        .from(t.statsSamples)
        .all()
        .map((r) => [r.res, r.at - T0]);
    expect(res()).toEqual([
      [300, 0],
      [15, HISTORY_KEEP.fine + 15],
      [300, HISTORY_KEEP.fine],
    ]);
    store.record([sample(c.id, 3)], T0 + HISTORY_KEEP.coarse + 300);
    expect(res().filter(([r, at]) => r === 300 && at === 0)).toEqual([]);
    expect(res().filter(([r]) => r === 15)).toEqual([[15, HISTORY_KEEP.coarse + 300]]);
  });

  it("writes running tenants only, and a Core opened later on the same file answers the history", async () => {
    const on = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "on1" });
    const off = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "off1" });
    await h.core.lifecycle.operation(SYSTEM, off.id, "stop");
    await h.core.stats.sample();
    expect(h.core.stats.history(SYSTEM, on.id)).toHaveLength(1);
    expect(h.core.stats.history(SYSTEM, off.id)).toEqual([]);
    const db2 = openDb(h.db.$client.name);
    try {
      const again = new Core(db2, h.engine, { domain: "test.local", routerPort: 8080, maxFirewallRules: 10 }, new Admission("creates", 4, 64));
      expect(again.stats.history(SYSTEM, on.id, "30d")).toHaveLength(1);
    } finally {
      db2.$client.close();
    }
  });
});

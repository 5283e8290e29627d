import { describe, expect, it } from "vitest";
import { AuditTally } from "./audit-tally";

describe("AuditTally", () => {
  it("writes counts per action, window and code on flush, and nothing twice", () => {
    let now = 15 * 60_000 * 100 + 5;
    const writes: [string, string, Record<string, number>][] = [];
    const tally = new AuditTally(
      (a, w, c) => writes.push([a, w.toISOString(), c]),
      15 * 60_000,
      0,
      () => now,
    );
    for (let i = 0; i < 1000; i++) tally.add("operator.sign_in", i % 10 ? "INVALID_CREDENTIALS" : "SIGN_IN_THROTTLED");
    now += 15 * 60_000;
    tally.add("operator.sign_in", "VALIDATION_ERROR");
    tally.flush();
    expect(writes).toEqual([
      ["operator.sign_in", new Date(15 * 60_000 * 100).toISOString(), { INVALID_CREDENTIALS: 900, SIGN_IN_THROTTLED: 100 }],
      ["operator.sign_in", new Date(15 * 60_000 * 101).toISOString(), { VALIDATION_ERROR: 1 }],
    ]);
    tally.flush();
    expect(writes).toHaveLength(2);
  });

  it("flushes by itself after the flush interval, once for many adds", async () => {
    const writes: Record<string, number>[] = [];
    const tally = new AuditTally((_a, _w, c) => writes.push(c), 60_000, 20);
    for (let i = 0; i < 50; i++) tally.add("x", "A");
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (!writes.length) return;
        clearInterval(t);
        resolve();
      }, 5);
    });
    expect(writes).toEqual([{ A: 50 }]);
  });

  it("a failing write does not throw into the request", () => {
    const tally = new AuditTally(
      () => {
        throw new Error("disk full");
      },
      60_000,
      0,
    );
    tally.add("x", "A");
    expect(() => tally.flush()).not.toThrow();
  });
});

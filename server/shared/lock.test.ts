import { describe, expect, it } from "vitest";
import { KeyedMutex } from "./lock.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending microtask and I/O callback run. */
const settle = () => new Promise<void>((res) => setImmediate(res));

describe("KeyedMutex", () => {
  it("serializes operations on the same key", async () => {
    const m = new KeyedMutex();
    const events: string[] = [];
    const gate1 = deferred();
    const gate2 = deferred();
    const p1 = m.run("t", async () => {
      events.push("1:start");
      await gate1.promise;
      events.push("1:end");
      return 1;
    });
    const p2 = m.run("t", async () => {
      events.push("2:start");
      await gate2.promise;
      events.push("2:end");
      return 2;
    });
    await settle();
    expect(events).toEqual(["1:start"]);
    gate1.resolve();
    await expect(p1).resolves.toBe(1);
    await settle();
    expect(events).toEqual(["1:start", "1:end", "2:start"]);
    gate2.resolve();
    await expect(p2).resolves.toBe(2);
    expect(events).toEqual(["1:start", "1:end", "2:start", "2:end"]);
  });

  it("runs queued same-key operations in call order", async () => {
    const m = new KeyedMutex();
    const gate = deferred();
    const order: number[] = [];
    const first = m.run("k", async () => {
      await gate.promise;
      order.push(0);
    });
    const rest = [1, 2, 3].map((i) => m.run("k", async () => void order.push(i)));
    await settle();
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("runs different keys concurrently", async () => {
    const m = new KeyedMutex();
    const started: string[] = [];
    const gateA = deferred();
    const gateB = deferred();
    const pa = m.run("a", async () => {
      started.push("a");
      await gateA.promise;
      return "a";
    });
    const pb = m.run("b", async () => {
      started.push("b");
      await gateB.promise;
      return "b";
    });
    await settle();
    // Both are inside their critical sections at once.
    expect(started).toEqual(["a", "b"]);
    // b can finish while a is still held.
    gateB.resolve();
    await expect(pb).resolves.toBe("b");
    gateA.resolve();
    await expect(pa).resolves.toBe("a");
  });

  it("a rejected operation does not block the next one on the same key", async () => {
    const m = new KeyedMutex();
    const gate = deferred();
    const events: string[] = [];
    const p1 = m.run("t", async () => {
      await gate.promise;
      events.push("1");
      throw new Error("op failed");
    });
    const p2 = m.run("t", async () => {
      events.push("2");
      return "ok";
    });
    await settle();
    expect(events).toEqual([]);
    gate.resolve();
    await expect(p1).rejects.toThrow("op failed");
    await expect(p2).resolves.toBe("ok");
    expect(events).toEqual(["1", "2"]);
    // And the key is usable afterwards.
    await expect(m.run("t", async () => 3)).resolves.toBe(3);
  });

  it("a synchronously throwing fn rejects its own call only", async () => {
    const m = new KeyedMutex();
    await expect(
      m.run("t", () => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    await expect(m.run("t", async () => "after")).resolves.toBe("after");
  });

  it("forgets a key once its queue drains", async () => {
    const m = new KeyedMutex();
    await m.run("t", async () => undefined);
    await m
      .run("u", async () => {
        throw new Error("x");
      })
      .catch(() => undefined);
    const tails = (m as unknown as { tails: Map<string, unknown> }).tails;
    expect(tails.size).toBe(0);
  });
});

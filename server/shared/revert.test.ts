import { describe, expect, it } from "vitest";
import { Revert } from "./revert.js";

describe("Revert", () => {
  it("fail() runs undo steps newest first and reports no errors", async () => {
    const r = new Revert();
    const order: string[] = [];
    r.add("a", () => void order.push("a"));
    r.add("b", async () => void order.push("b"));
    r.add("c", () => void order.push("c"));
    expect(await r.fail()).toEqual([]);
    expect(order).toEqual(["c", "b", "a"]);
  });

  it("fail() awaits each async undo before starting the previous one", async () => {
    const r = new Revert();
    const events: string[] = [];
    r.add("first", () => void events.push("first"));
    r.add("second", async () => {
      events.push("second:start");
      await new Promise<void>((res) => setImmediate(res));
      events.push("second:end");
    });
    await r.fail();
    expect(events).toEqual(["second:start", "second:end", "first"]);
  });

  it("fail() collects undo errors with their labels and keeps going", async () => {
    const r = new Revert();
    const order: string[] = [];
    r.add("one", () => void order.push("one"));
    r.add("two", () => {
      throw new Error("boom");
    });
    r.add("three", async () => {
      order.push("three");
      throw new Error("bang");
    });
    expect(await r.fail()).toEqual(["three: bang", "two: boom"]);
    expect(order).toEqual(["three", "one"]);
  });

  it("fail() clears the steps (a second fail runs nothing)", async () => {
    const r = new Revert();
    let n = 0;
    r.add("x", () => void n++);
    await r.fail();
    await r.fail();
    expect(n).toBe(1);
  });

  it("success() drops the steps", async () => {
    const r = new Revert();
    let n = 0;
    r.add("x", () => void n++);
    r.success();
    expect(await r.fail()).toEqual([]);
    expect(n).toBe(0);
  });

  it("run() returns the result and runs no undo on success", async () => {
    const order: string[] = [];
    const result = await Revert.run(async (r) => {
      r.add("a", () => void order.push("a"));
      r.add("b", () => void order.push("b"));
      return 42;
    });
    expect(result).toBe(42);
    expect(order).toEqual([]);
  });

  it("run() reverts newest first on failure and rethrows the same error", async () => {
    const order: string[] = [];
    const err = new Error("step 3 failed");
    const p = Revert.run(async (r) => {
      r.add("a", () => void order.push("a"));
      r.add("b", () => void order.push("b"));
      throw err;
    });
    await expect(p).rejects.toBe(err);
    expect(err.message).toBe("step 3 failed");
    expect(order).toEqual(["b", "a"]);
  });

  it("run() only reverts the steps registered before the throw", async () => {
    const order: string[] = [];
    await expect(
      Revert.run(async (r) => {
        r.add("a", () => void order.push("a"));
        await Promise.resolve();
        if (order.length === 0) throw new Error("x");
        r.add("never", () => void order.push("never"));
      }),
    ).rejects.toThrow("x");
    expect(order).toEqual(["a"]);
  });

  it("run() attaches undo errors to the thrown error's message", async () => {
    const order: string[] = [];
    const p = Revert.run(async (r) => {
      r.add("subvolume", () => {
        throw new Error("busy");
      });
      r.add("veth", () => void order.push("veth"));
      r.add("chain", async () => {
        throw new Error("no such chain");
      });
      throw new Error("lxc-start failed");
    });
    await expect(p).rejects.toThrow("lxc-start failed (revert problems: chain: no such chain; subvolume: busy)");
    expect(order).toEqual(["veth"]);
  });

  it("run() rethrows a non-Error value unchanged", async () => {
    await expect(
      Revert.run(async (r) => {
        r.add("x", () => {
          throw new Error("ignored");
        });
        throw "plain";
      }),
    ).rejects.toBe("plain");
  });
});

import { describe, expect, it } from "vitest";
import { SignInThrottle } from "./auth";

describe("SignInThrottle", () => {
  it("refuses a client past its failed-attempt budget with 429 and Retry-After, until failures age out", () => {
    let now = 1_000_000;
    const t = new SignInThrottle(3, 100, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      t.check("a");
      t.fail("a");
      now += 1000;
    }
    const err = (() => {
      try {
        t.check("a");
      } catch (e) {
        return e as { status: number; code: string; headers: Record<string, string> };
      }
    })();
    expect(err).toMatchObject({ status: 429, code: "SIGN_IN_THROTTLED" });
    // The first failure (at 1_000_000) leaves the window at 1_060_000; now is 1_003_000.
    expect(err!.headers["Retry-After"]).toBe("57");
    expect(() => t.check("b")).not.toThrow();
    now += 57_000;
    expect(() => t.check("a")).not.toThrow();
  });

  it("refuses everyone once the global budget is spent, and a success clears only its client", () => {
    const now = 5_000;
    const t = new SignInThrottle(10, 4, 60_000, () => now);
    t.fail("a");
    t.fail("a");
    t.succeed("a");
    expect(() => t.check("a")).not.toThrow();
    t.fail("b");
    t.fail("c");
    expect(() => t.check("d")).toThrow(/too many failed sign-ins/);
  });
});

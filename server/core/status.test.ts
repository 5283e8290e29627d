import { describe, expect, it } from "vitest";
import { allowedOperations, engineStatus } from "./status";

describe("engineStatus", () => {
  it("reads a TenantInfo state or a stats row; paused wins over running (a paused tenant still has processes)", () => {
    expect(engineStatus({ state: "paused" })).toBe("paused");
    expect(engineStatus({ running: true, paused: true })).toBe("paused");
    expect(engineStatus({ running: true, paused: false })).toBe("running");
    expect(engineStatus({ state: "running" })).toBe("running");
    expect(engineStatus({ state: "stopped" })).toBe("stopped");
    expect(engineStatus({ running: false, paused: false })).toBe("stopped");
  });
});

describe("allowedOperations", () => {
  it("pause only from running, resume only from paused; a paused tenant can be stopped but not started or restarted", () => {
    expect(allowedOperations("running")).toContain("pause");
    expect(allowedOperations("running")).not.toContain("resume");
    expect(allowedOperations("paused")).toEqual(["resume", "stop", "force-stop"]);
    expect(allowedOperations("stopped")).not.toContain("pause");
    expect(allowedOperations("stopped")).not.toContain("resume");
    expect(allowedOperations("creating")).toEqual([]);
    expect(allowedOperations("deleting")).toEqual([]);
  });
});

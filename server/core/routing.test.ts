// The router's idle sweep asks only for tenants with processes, and reads only their rows.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeCore, SYSTEM, type FakeCore } from "./fake-core";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore();
});
afterEach(() => h.close());

describe("idle sweep", () => {
  it("lists running and paused tenants with their timeouts, not stopped ones", async () => {
    const up = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "upper", idle_timeout_s: 60 });
    const paused = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "frozen" });
    const down = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "downer", start: false });
    await h.engine.pauseTenant(paused.engine_name);
    const states = await h.core.routing.idleStates();
    expect(states.map((s) => [s.id, s.state, s.timeoutS]).sort()).toEqual(
      [
        [up.id, "running", 60],
        [paused.id, "paused", null],
      ].sort(),
    );
    expect(states.some((s) => s.id === down.id)).toBe(false);
    expect(h.engine.script.callsOf("listTenants").at(-1)).toEqual([{ running: true }]);
  });
});

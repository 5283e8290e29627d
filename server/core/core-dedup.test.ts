// Dedup in the service layer, on the fake engine: admin only, one run at a time (a second ask gets
// the run in flight), the schedule's tick, the audit trail, and the accounting by container id.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditOf, expectCoreError, fakeCore, SYSTEM, type FakeCore } from "./fake-core";
import { EngineError } from "../shared/errors";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore();
});
afterEach(() => h.close());

describe("dedup", () => {
  it("is admin only: a project token can neither start a run nor read the accounting, and starts nothing", async () => {
    await expectCoreError(h.core.dedup.run(h.member, {}), 403, "RESOURCE_ACCESS_DENIED");
    await expectCoreError(h.core.dedup.status(h.member), 403, "RESOURCE_ACCESS_DENIED");
    expect(h.engine.dedup.starts).toEqual([]);
    // Control: the operator can.
    expect((await h.core.dedup.run(SYSTEM, {})).started).toBe(true);
  });

  it("runs one at a time: a second ask answers the run in flight; after it ends a new one starts", async () => {
    const first = await h.core.dedup.run(SYSTEM, { deadline_s: 60 });
    expect(first).toMatchObject({ started: true, run: { state: "running", trigger: "manual", deadline_s: 60 } });
    const second = await h.core.dedup.run(SYSTEM, {});
    expect(second).toMatchObject({ started: false, run: { id: first.run.id } });
    expect(await h.core.dedup.scheduled(30)).toBe(false);
    h.engine.dedup.finish(64 * 1024 * 1024);
    const third = await h.core.dedup.run(SYSTEM, {});
    expect(third.started).toBe(true);
    expect(third.run.id).not.toBe(first.run.id);
    const st = await h.core.dedup.status(SYSTEM);
    expect(st.running?.id).toBe(third.run.id);
    expect(st.total_saved_bytes).toBe(64 * 1024 * 1024);
    expect(st.runs.map((r) => r.state)).toEqual(["running", "completed"]);
    // Every ask is audited, with whether it started a run.
    expect(auditOf(h.db, "dedup.run").map((a) => a.detail)).toEqual([
      { run: first.run.id, started: true },
      { run: first.run.id, started: false },
      { run: third.run.id, started: true },
    ]);
  });

  it("the schedule's tick starts a run as the system with its deadline, and skips while the pool is held", async () => {
    expect(await h.core.dedup.scheduled(900)).toBe(true);
    expect(h.engine.dedup.starts.at(-1)).toEqual({ deadlineS: 900, trigger: "schedule" });
    expect(auditOf(h.db, "dedup.run").at(-1)).toMatchObject({ actor: "system", action: "dedup.run", detail: { trigger: "schedule" } });
    h.engine.dedup.finish(0);
    // A delete holds the pool: the engine refuses with INVALID_STATE; the tick waits for the next one.
    const start = h.engine.dedup.start.bind(h.engine.dedup);
    h.engine.dedup.start = async () => {
      throw new EngineError("INVALID_STATE", "a subvolume is being deleted");
    };
    expect(await h.core.dedup.scheduled(900)).toBe(false);
    await expectCoreError(h.core.dedup.run(SYSTEM, {}), 409, "INVALID_STATE");
    h.engine.dedup.start = start;
    expect(await h.core.dedup.scheduled(900)).toBe(true);
  });

  it("shows the accounting by container id, and nothing of tenants the database does not know", async () => {
    const a = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "alpha" });
    const b = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "bravo" });
    h.engine.tenants.get(a.engine_name)!.deltaBytes = 70 << 20;
    h.engine.tenants.get(b.engine_name)!.deltaBytes = 1 << 20;
    h.engine.dedup.shared.set(b.engine_name, 64 << 20);
    expect((await h.core.dedup.status(SYSTEM)).accounting).toBeNull();
    await h.core.dedup.run(SYSTEM, {});
    h.engine.dedup.finish(64 << 20);
    // A tenant the engine has and the database does not (an orphan) is left out of the view.
    h.engine.tenants.set("cstray00000", { ...h.engine.tenants.get(a.engine_name)!, id: "cstray00000" });
    const acc = (await h.core.dedup.status(SYSTEM)).accounting!;
    expect(acc.containers.map((c) => c.container_id).sort()).toEqual([a.id, b.id].sort());
    expect(acc.containers.find((c) => c.container_id === b.id)).toMatchObject({ name: "bravo", qgroup_bytes: 1 << 20, shared_bytes: 64 << 20, referenced_bytes: 65 << 20 });
  });
});

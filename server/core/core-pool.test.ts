// The warm pool's policy in the service layer, on the fake engine: a size of 0 is today's create;
// a sized pool is filled while no create runs, claimed by creates (never one member twice, status
// claiming then running), refilled after, and gives its members back when a create needs the room.
import { afterEach, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { expectCoreError, fakeCore, SYSTEM, t, type FakeCore } from "./fake-core";
import { poolReserve, underPressure } from "./warm-pool";

let h: FakeCore;
afterEach(() => h.close());
const ready = async () => (await h.core.warmPool.list()).find((v) => v.template === "mini")!;

describe("warm pool policy", () => {
  it("size 0 (a promoted template, or no default) is today's path: the engine's pool is never asked", async () => {
    h = await fakeCore();
    expect(await ready()).toMatchObject({ size: 0, default: true, ready: 0 });
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "plain" });
    expect(h.engine.script.callsOf("pool.claim")).toEqual([]);
    expect(h.engine.script.callsOf("createTenant").length).toBe(1);
    h.core.warmPool.kick();
    await h.core.warmPool.settled();
    expect(h.engine.script.callsOf("pool.prepare")).toEqual([]);
    expect(
      h.db
        .select()
        .from(t.statusLogs)
        .where(eq(t.statusLogs.containerId, c.id))
        .all()
        .map((s) => s.toStatus),
    ).toEqual(["running"]);
  });

  it("the default applies to recipe-built templates only", async () => {
    h = await fakeCore({ settings: { warmPoolDefault: 2 } });
    h.engine.addTemplate("custom", {}, null);
    const views = await h.core.warmPool.list();
    expect(views.find((v) => v.template === "mini")).toMatchObject({ size: 2, default: true });
    expect(views.find((v) => v.template === "custom")).toMatchObject({ size: 0, default: true });
  });

  it("fills to its size, serves concurrent creates from distinct members (claiming → running), then refills", async () => {
    h = await fakeCore();
    await h.core.warmPool.setSize(SYSTEM, "mini", 3);
    await h.core.warmPool.settled();
    expect(await ready()).toMatchObject({ size: 3, default: false, ready: 3 });
    const members = new Set(h.engine.warmPool!.members.keys());
    const made = await Promise.all([0, 1, 2, 3, 4].map((i) => h.core.provisioning.create(SYSTEM, h.projectId, { name: `cc${i}`, environment_vars: { N: String(i) } })));
    const engineNames = made.map((c) => c.engine_name);
    expect(new Set(engineNames).size).toBe(5);
    const fromPool = made.filter((c) => members.has(c.engine_name));
    expect(fromPool.length).toBe(3);
    expect(h.engine.script.callsOf("createTenant").length).toBe(2);
    for (const c of fromPool) {
      expect(c.environment_vars).toMatchObject({ N: c.name.slice(2), TENANT_NAME: c.name });
      const logs = h.db.select().from(t.statusLogs).where(eq(t.statusLogs.containerId, c.id)).all();
      expect(logs.map((s) => [s.fromStatus, s.toStatus])).toEqual([
        [null, "claiming"],
        ["claiming", "running"],
      ]);
      expect(h.engine.tenant(c.engine_name).labels).toMatchObject({ "hoody.owner": "core", "hoody.project": h.projectId });
    }
    await h.core.warmPool.settled();
    h.core.warmPool.kick();
    await h.core.warmPool.settled();
    expect((await ready()).ready).toBe(3);
  });

  it("bypass_prespawn: true never claims a member", async () => {
    h = await fakeCore();
    await h.core.warmPool.setSize(SYSTEM, "mini", 1);
    await h.core.warmPool.settled();
    await h.core.provisioning.create(SYSTEM, h.projectId, { name: "fresh", bypass_prespawn: true });
    expect(h.engine.script.callsOf("pool.claim")).toEqual([]);
    expect((await ready()).ready).toBe(1);
  });

  it("a create whose limits the members lack is made as usual, and the member stays", async () => {
    h = await fakeCore();
    await h.core.warmPool.setSize(SYSTEM, "mini", 1);
    await h.core.warmPool.settled();
    await h.core.provisioning.create(SYSTEM, h.projectId, { name: "big", limits: { memory_mib: 200 } });
    expect(h.engine.script.callsOf("createTenant").length).toBe(1);
    expect((await ready()).ready).toBe(1);
  });

  it("makes no member while a create runs (idle priority)", async () => {
    h = await fakeCore();
    const hold = h.engine.script.hold("createTenant");
    const creating = h.core.provisioning.create(SYSTEM, h.projectId, { name: "slow", limits: { memory_mib: 200 } });
    await hold.reached;
    await h.core.warmPool.setSize(SYSTEM, "mini", 2);
    await h.core.warmPool.settled();
    expect(h.engine.script.callsOf("pool.prepare")).toEqual([]);
    hold.release();
    await creating;
    h.core.warmPool.kick();
    await h.core.warmPool.settled();
    expect((await ready()).ready).toBe(2);
  });

  it("gives members back when a create is refused for room, and the create then succeeds", async () => {
    h = await fakeCore({ maxTenants: 6 });
    await h.core.warmPool.setSize(SYSTEM, "mini", 2);
    await h.core.warmPool.settled();
    expect((await ready()).ready).toBe(2);
    for (const n of ["aaa", "bbb", "ccc", "ddd"]) await h.core.provisioning.create(SYSTEM, h.projectId, { name: n, limits: { memory_mib: 200 } });
    // Six held (four tenants, two members): a create the members do not fit needs one of theirs.
    const e = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "eee", limits: { memory_mib: 200 } });
    expect(e.status).toBe("running");
    expect(h.engine.script.callsOf("pool.discard").some(([, keep]) => keep === 0)).toBe(true);
  });

  it("only an admin sets a size; an unknown template is a 404; null returns to the default", async () => {
    h = await fakeCore({ settings: { warmPoolDefault: 1 } });
    await expectCoreError(h.core.warmPool.setSize(h.member, "mini", 3), 403, "RESOURCE_ACCESS_DENIED");
    await expectCoreError(h.core.warmPool.setSize(SYSTEM, "nope", 3), 404, "TEMPLATE_NOT_FOUND");
    await h.core.warmPool.setSize(SYSTEM, "mini", 0);
    expect(await ready()).toMatchObject({ size: 0, default: false });
    await h.core.warmPool.setSize(SYSTEM, "mini", null);
    expect(await ready()).toMatchObject({ size: 1, default: true });
  });

  it("capacity: tenants and pool members each hold a uid range and an address; admins only", async () => {
    h = await fakeCore({ maxTenants: 100 });
    await h.core.warmPool.setSize(SYSTEM, "mini", 2);
    await h.core.warmPool.settled();
    await h.core.provisioning.create(SYSTEM, h.projectId, { name: "one", limits: { memory_mib: 200 } });
    const c = await h.core.capacity.get(SYSTEM);
    expect(c.tenants).toMatchObject({ count: 1, running: 1, more: 97 });
    expect(c.uid_ranges).toEqual({ total: 100, used: 3, free: 97 });
    expect(c.addresses).toEqual({ total: 100, used: 3, free: 97 });
    expect(c.memory.more_running).toBeGreaterThan(0);
    expect(c.warm_pool.find((w) => w.template === "mini")).toMatchObject({ size: 2, ready: 2 });
    await expectCoreError(h.core.capacity.get(h.member), 403, "RESOURCE_ACCESS_DENIED");
  });

  it("under pressure the refill makes nothing and gives the ready members back", async () => {
    h = await fakeCore({ maxTenants: 10 });
    await h.core.warmPool.setSize(SYSTEM, "mini", 2);
    await h.core.warmPool.settled();
    expect((await ready()).ready).toBe(2);
    // Fill to within the reserve (at least 4 free): 2 members + 5 tenants leave 3.
    for (const n of ["aaa", "bbb", "ccc", "ddd", "eee"]) await h.core.provisioning.create(SYSTEM, h.projectId, { name: n, limits: { memory_mib: 200 } });
    h.core.warmPool.kick();
    await h.core.warmPool.settled();
    expect((await ready()).ready).toBe(0);
  });

  it("pressure: below a reserve of uid ranges, addresses, memory or pool space", () => {
    const ok = { uidFree: 100, uidTotal: 1000, addrFree: 100, addrTotal: 1000, memAvailable: 50, memTotal: 100, poolFree: 50e9, poolSize: 100e9 };
    expect(poolReserve(1000)).toBe(20);
    expect(underPressure(ok)).toBe(false);
    expect(underPressure({ ...ok, uidFree: 19 })).toBe(true);
    expect(underPressure({ ...ok, addrFree: 3 })).toBe(true);
    expect(underPressure({ ...ok, memAvailable: 9 })).toBe(true);
    expect(underPressure({ ...ok, poolFree: 1e9 })).toBe(true);
  });
});

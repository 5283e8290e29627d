// Changes to a container in the service layer, on the fake engine: env, state operations,
// snapshots and firewall rules. Each checks what the engine was asked and what the rows hold,
// and that an engine refusal changes nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { eq } from "drizzle-orm";
import type { ContainerView } from "./core";
import { auditOf, expectCoreError, fakeCore, rowOf, SYSTEM, t, type FakeCore } from "./fake-core";

let h: FakeCore;
let c: ContainerView;
beforeEach(async () => {
  h = await fakeCore();
  c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "app", environment_vars: { A: "1", B: "2" } });
});
afterEach(() => {
  vi.useRealTimers();
  h.close();
});

describe("env", () => {
  it("merges a patch, null removes, and the engine gets the patch with the restart flag", async () => {
    const starts = h.engine.tenant(c.engine_name).starts;
    const r = await h.core.lifecycle.update(SYSTEM, c.id, { environment_vars: { B: null, C: "3" }, restart: true });
    expect(r.restarted).toBe(true);
    expect(h.engine.script.callsOf("updateTenant").at(-1)).toEqual([c.engine_name, { env: { B: null, C: "3" }, restart: true }]);
    expect(h.engine.tenant(c.engine_name).starts).toBe(starts + 1);
    expect(h.core.containers.env(SYSTEM, c.id)).toEqual({ A: "1", C: "3", TENANT_NAME: "app" });
    expect(h.engine.tenant(c.engine_name).env).toEqual({ A: "1", C: "3", TENANT_NAME: "app" });

    const r2 = await h.core.lifecycle.update(SYSTEM, c.id, { environment_vars: { D: "4" }, restart: false });
    expect(r2.restarted).toBe(false);
    expect(h.engine.script.callsOf("updateTenant").at(-1)![1]).toMatchObject({ restart: false });
    expect(h.engine.tenant(c.engine_name).starts).toBe(starts + 1);
  });

  it("refuses reserved or invalid keys and too much env before the engine; an engine refusal leaves the rows as they were", async () => {
    await expectCoreError(h.core.lifecycle.update(SYSTEM, c.id, { environment_vars: { Hoody_X: null }, restart: true }), 422, "RESERVED_ENV_PREFIX");
    await expectCoreError(h.core.lifecycle.update(SYSTEM, c.id, { environment_vars: { "a-b": "1" }, restart: true }), 422, "INVALID_ENV_KEY");
    await expectCoreError(h.core.lifecycle.update(SYSTEM, c.id, { environment_vars: { BIG: "x".repeat(60 * 1024), BIG2: "x".repeat(40 * 1024) }, restart: true }), 422, "ENV_TOO_LARGE");
    expect(h.engine.script.callsOf("updateTenant")).toEqual([]);
    h.engine.script.failNext("updateTenant", "START_FAILED", { message: "the tenant did not start with this change" });
    await expectCoreError(h.core.lifecycle.update(SYSTEM, c.id, { environment_vars: { A: "changed" }, restart: true }), 422, "START_FAILED");
    expect(h.core.containers.env(SYSTEM, c.id)).toEqual({ A: "1", B: "2", TENANT_NAME: "app" });
    expect(auditOf(h.db, "container.update").at(-1)!.result).toBe("error:START_FAILED");
  });

  it("changes autostart alone without a restart, and a suspension stops a running tenant", async () => {
    await h.core.lifecycle.update(SYSTEM, c.id, { autostart: false, restart: true });
    expect(h.engine.script.callsOf("updateTenant").at(-1)).toEqual([c.engine_name, { autostart: false, restart: false }]);
    expect(h.engine.tenant(c.engine_name).autostart).toBe(false);
    const r = await h.core.lifecycle.update(SYSTEM, c.id, { suspended: true, restart: true });
    expect(r.container).toMatchObject({ status: "stopped", suspended: true });
    expect(h.engine.tenant(c.engine_name).state).toBe("stopped");
    await expectCoreError(h.core.routing.setRunning(c.id, true, "request"), 409, "TENANT_SUSPENDED");
  });
});

describe("operations", () => {
  it("moves between running, paused and stopped as allowed, and answers 409 with the allowed list otherwise", async () => {
    expect(await h.core.lifecycle.operation(SYSTEM, c.id, "pause")).toMatchObject({ status: "paused", container_id: c.id });
    const e = await expectCoreError(h.core.lifecycle.operation(SYSTEM, c.id, "pause"), 409, "INVALID_STATE_TRANSITION");
    expect(e.data).toEqual({ status: "paused", allowed: ["resume", "stop", "force-stop"] });
    await expectCoreError(h.core.routing.setRunning(c.id, true, "request"), 409, "TENANT_PAUSED");
    await h.core.lifecycle.operation(SYSTEM, c.id, "resume");
    await h.core.lifecycle.operation(SYSTEM, c.id, "force-stop");
    expect(h.engine.script.callsOf("stopTenant").at(-1)).toEqual([c.engine_name, { force: true }]);
    expect(rowOf(h.db, c.id)).toMatchObject({ status: "stopped", suspended: true });
    const e2 = await expectCoreError(h.core.lifecycle.operation(SYSTEM, c.id, "stop"), 409, "INVALID_STATE_TRANSITION");
    expect(e2.data).toEqual({ status: "stopped", allowed: ["start", "restart"] });
    await h.core.lifecycle.operation(SYSTEM, c.id, "start");
    expect(rowOf(h.db, c.id)).toMatchObject({ status: "running", suspended: false });
    await h.core.lifecycle.operation(SYSTEM, c.id, "stop", { wakeOnRequest: true });
    expect(rowOf(h.db, c.id)).toMatchObject({ status: "stopped", suspended: false });
    await h.core.routing.setRunning(c.id, true, "request");
    expect(h.engine.tenant(c.engine_name).state).toBe("running");
    const logs = h.db.select().from(t.statusLogs).where(eq(t.statusLogs.containerId, c.id)).all();
    expect(logs.map((l) => `${l.fromStatus}>${l.toStatus}`)).toEqual(["null>running", "running>paused", "paused>running", "running>stopped", "stopped>running", "running>stopped", "stopped>running"]);
  });

  it("maps the engine's own INVALID_STATE (a race with another caller) to 409 and keeps the row", async () => {
    h.engine.script.failNext("pauseTenant", "INVALID_STATE");
    await expectCoreError(h.core.lifecycle.operation(SYSTEM, c.id, "pause"), 409, "INVALID_STATE");
    expect(rowOf(h.db, c.id)!.status).toBe("running");
    h.engine.script.failNext("getTenant", "TENANT_NOT_FOUND");
    await expectCoreError(h.core.lifecycle.operation(SYSTEM, c.id, "stop"), 404, "CONTAINER_NOT_FOUND");
  });
});

describe("snapshots", () => {
  it("takes a snapshot with its size from the engine; an alias given again replaces the older snapshot", async () => {
    h.engine.write(c.engine_name, 5000);
    const s1 = await h.core.snapshots.create(SYSTEM, c.id, { alias: "nightly" });
    expect(s1.snapshot).toMatchObject({ alias: "nightly", size: 5000, expires_at: null });
    expect(h.engine.script.callsOf("createSnapshot")).toEqual([[c.engine_name, s1.snapshot.name]]);
    const s2 = await h.core.snapshots.create(SYSTEM, c.id, { alias: "nightly" });
    expect(s2.snapshot.name).not.toBe(s1.snapshot.name);
    expect(s2.replaced).toEqual([s1.snapshot.name]);
    expect(h.engine.script.callsOf("deleteSnapshot")).toEqual([[c.engine_name, s1.snapshot.name]]);
    expect(h.engine.tenant(c.engine_name).snapshots.map((s) => s.name)).toEqual([s2.snapshot.name]);
    const list = await h.core.snapshots.list(SYSTEM, c.id);
    expect(list).toMatchObject({ container_id: c.id, snapshot_count: 1, snapshots: [{ name: s2.snapshot.name, alias: "nightly", size: 5000 }] });
  });

  it("expires a snapshot after its days, in the engine and the rows", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    const s = await h.core.snapshots.create(SYSTEM, c.id, { expiry: 1 });
    expect(s.snapshot.expires_at).toBe("2030-01-02T00:00:00.000Z");
    vi.setSystemTime(new Date("2030-01-01T23:59:00Z"));
    expect((await h.core.snapshots.list(SYSTEM, c.id)).snapshot_count).toBe(1);
    vi.setSystemTime(new Date("2030-01-02T00:00:01Z"));
    expect((await h.core.snapshots.list(SYSTEM, c.id)).snapshot_count).toBe(0);
    expect(h.engine.tenant(c.engine_name).snapshots).toEqual([]);
    expect(auditOf(h.db, "snapshot.expire")).toHaveLength(1);
  });

  it("restores by alias (the engine gets the name) and marks it last used", async () => {
    h.engine.write(c.engine_name, 10, { path: "/data", content: "v1" });
    const s = await h.core.snapshots.create(SYSTEM, c.id, { alias: "good" });
    h.engine.write(c.engine_name, 10, { path: "/data", content: "v2" });
    const r = await h.core.snapshots.restore(SYSTEM, c.id, "good");
    expect(h.engine.script.callsOf("restoreSnapshot")).toEqual([[c.engine_name, s.snapshot.name]]);
    expect(h.engine.tenant(c.engine_name).files.get("/data")).toBe("v1");
    expect(r.container.last_used_snapshot).toBe(s.snapshot.name);
    expect(r.snapshot.last_used_at).not.toBeNull();
    await expectCoreError(h.core.snapshots.restore(SYSTEM, c.id, "nope"), 404, "SNAPSHOT_NOT_FOUND");
  });

  it("moves an alias, removes it with null, and deletes by alias; an engine refusal keeps the row", async () => {
    const a = await h.core.snapshots.create(SYSTEM, c.id, { alias: "x" });
    const b = await h.core.snapshots.create(SYSTEM, c.id, {});
    await h.core.snapshots.setAlias(SYSTEM, c.id, b.snapshot.name, "x");
    const rows = () =>
      h.db
        .select()
        .from(t.snapshots)
        .where(eq(t.snapshots.containerId, c.id))
        .all()
        .map((r) => [r.name, r.alias]);
    expect(rows()).toEqual([
      [a.snapshot.name, null],
      [b.snapshot.name, "x"],
    ]);
    await h.core.snapshots.setAlias(SYSTEM, c.id, "x", null);
    expect(rows()).toEqual([
      [a.snapshot.name, null],
      [b.snapshot.name, null],
    ]);
    await h.core.snapshots.setAlias(SYSTEM, c.id, a.snapshot.name, "gone-soon");
    h.engine.script.failNext("deleteSnapshot", "SYSTEM_ERROR");
    await expectCoreError(h.core.snapshots.delete(SYSTEM, c.id, "gone-soon"), 500, "ENGINE_ERROR");
    expect(rows()).toHaveLength(2);
    expect(await h.core.snapshots.delete(SYSTEM, c.id, "gone-soon")).toMatchObject({ snapshot_name: a.snapshot.name, deleted: true });
    expect(rows()).toEqual([[b.snapshot.name, null]]);
    expect(h.engine.tenant(c.engine_name).snapshots.map((s) => s.name)).toEqual([b.snapshot.name]);
  });

  it("records no snapshot when the engine refuses one (pool full)", async () => {
    h.engine.script.failNext("createSnapshot", "POOL_FULL");
    await expectCoreError(h.core.snapshots.create(SYSTEM, c.id, {}), 507, "POOL_FULL");
    expect(h.db.select().from(t.snapshots).all()).toEqual([]);
  });
});

describe("firewall", () => {
  const rule = (port: string, extra: Record<string, unknown> = {}) => ({ action: "allow", protocol: "tcp", destination_port: port, ...extra });
  const ports = (d: "ingress" | "egress" = "ingress") => h.core.firewall.get(SYSTEM, c.id)[d].map((r) => `${r.destination_port}:${r.state}`);

  it("adds rules in order through the engine; a repeat answers duplicate_of and changes nothing", async () => {
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80"));
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("443"));
    expect(h.engine.tenant(c.engine_name).firewall.map((r) => r.destination_port)).toEqual(["80", "443"]);
    const calls = h.engine.script.callsOf("setFirewall").length;
    const dup = await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("443", { description: "again" }));
    expect(dup).toMatchObject({ duplicate: true, duplicate_of: { direction: "ingress", index: 1 } });
    expect(h.engine.script.callsOf("setFirewall").length).toBe(calls);
    expect(ports()).toEqual(["80:enabled", "443:enabled"]);
  });

  it("refuses a rule on the container's own address or with fields its protocol lacks, and beyond the maximum", async () => {
    await expectCoreError(h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80", { destination: "10.0.0.1" })), 422, "INVALID_FIREWALL_RULE");
    await expectCoreError(h.core.firewall.add(SYSTEM, c.id, "egress", { action: "allow", destination_port: "53" }), 422, "INVALID_FIREWALL_RULE");
    for (let p = 1; p <= 10; p++) await h.core.firewall.add(SYSTEM, c.id, "ingress", rule(String(p)));
    await expectCoreError(h.core.firewall.add(SYSTEM, c.id, "ingress", rule("11")), 422, "TOO_MANY_RULES");
    expect(h.engine.tenant(c.engine_name).firewall).toHaveLength(10);
  });

  it("toggles the first rule matching the fields, or the rule at an index", async () => {
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80", { source: "host" }));
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("443"));
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80", { source: "10.0.0.0/8" }));
    const r = await h.core.firewall.toggle(SYSTEM, c.id, "ingress", { destination_port: "80", state: "disabled" });
    expect(r).toMatchObject({ new_state: "disabled", index: 0 });
    expect(ports()).toEqual(["80:disabled", "443:enabled", "80:enabled"]);
    await h.core.firewall.patch(SYSTEM, c.id, "ingress", 2, { description: "office" });
    expect(h.core.firewall.get(SYSTEM, c.id).ingress[2]).toMatchObject({ description: "office", source: "10.0.0.0/8" });
    await expectCoreError(h.core.firewall.toggle(SYSTEM, c.id, "ingress", { destination_port: "22", state: "disabled" }), 404, "RULE_NOT_FOUND");
    await expectCoreError(h.core.firewall.toggle(SYSTEM, c.id, "ingress", { destination_port: "80" }), 422, "VALIDATION_ERROR");
    await expectCoreError(h.core.firewall.toggle(SYSTEM, c.id, "ingress", { state: "enabled" }), 422, "RULE_FILTER_REQUIRED");
    await expectCoreError(h.core.firewall.patch(SYSTEM, c.id, "ingress", 7, { state: "enabled" }), 404, "RULE_NOT_FOUND");
    expect(h.engine.tenant(c.engine_name).firewall.map((x) => x.state)).toEqual(["disabled", "enabled", "enabled"]);
  });

  it("removes the first match, every match with all, every rule of a direction with all alone, or by index", async () => {
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80", { source: "host" }));
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("443"));
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80", { source: "10.0.0.0/8" }));
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("22"));
    await h.core.firewall.add(SYSTEM, c.id, "egress", { action: "reject", protocol: "tcp", destination_port: "25" });
    expect((await h.core.firewall.remove(SYSTEM, c.id, "ingress", { destination_port: "80" })).removed_count).toBe(1);
    expect(ports()).toEqual(["443:enabled", "80:enabled", "22:enabled"]);
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("80", { source: "192.168.0.0/16" }));
    expect((await h.core.firewall.remove(SYSTEM, c.id, "ingress", { destination_port: "80", all: true })).removed_count).toBe(2);
    expect(ports()).toEqual(["443:enabled", "22:enabled"]);
    expect((await h.core.firewall.delete(SYSTEM, c.id, "ingress", 1)).removed).toMatchObject([{ destination_port: "22" }]);
    await expectCoreError(h.core.firewall.remove(SYSTEM, c.id, "ingress", { index: 0, destination_port: "443" }), 422, "VALIDATION_ERROR");
    await expectCoreError(h.core.firewall.remove(SYSTEM, c.id, "ingress", { destination_port: "9" }), 404, "RULE_NOT_FOUND");
    // Nothing matches `all`: nothing to change, so the engine is not asked.
    const calls = h.engine.script.callsOf("setFirewall").length;
    expect((await h.core.firewall.remove(SYSTEM, c.id, "ingress", { destination_port: "9", all: true })).removed_count).toBe(0);
    expect(h.engine.script.callsOf("setFirewall").length).toBe(calls);
    expect((await h.core.firewall.remove(SYSTEM, c.id, "ingress", { all: true })).removed_count).toBe(1);
    expect(ports()).toEqual([]);
    expect(ports("egress")).toEqual(["25:enabled"]);
    expect(h.engine.tenant(c.engine_name).firewall.map((r) => r.direction)).toEqual(["egress"]);
  });

  it("resets to the template's rules; an engine refusal leaves the stored rules", async () => {
    h.engine.templates.get("mini")!.settings.firewall = [{ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "8080", state: "enabled" }];
    await h.core.firewall.add(SYSTEM, c.id, "ingress", rule("22"));
    h.engine.script.failNext("setFirewall", "INVALID_INPUT");
    await expectCoreError(h.core.firewall.reset(SYSTEM, c.id), 422, "VALIDATION_ERROR");
    expect(ports()).toEqual(["22:enabled"]);
    await h.core.firewall.reset(SYSTEM, c.id);
    expect(ports()).toEqual(["8080:enabled"]);
    expect(h.engine.tenant(c.engine_name).firewall.map((r) => r.destination_port)).toEqual(["8080"]);
  });
});

// Create and copy in the service layer, on the fake engine: what core checks before the engine is
// asked, what it asks, what it records, and what it undoes when the second step fails.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { eq } from "drizzle-orm";
import type { FirewallRule } from "../shared/protocol";
import { auditOf, expectCoreError, fakeCore, KEY_A, KEY_B, rowOf, sshAwareExec, SYSTEM, t, type FakeCore } from "./fake-core";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore();
});
afterEach(() => h.close());

const WEB: FirewallRule = { direction: "ingress", action: "allow", protocol: "tcp", destination_port: "80", state: "enabled" };

describe("create", () => {
  it("asks the engine for a tenant with core's labels and records it under a public id, apart from the engine name", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "My_App-1", environment_vars: { A: "1" } });
    expect(c.id).toMatch(/^[0-9a-f]{24}$/);
    expect(c.engine_name).toMatch(/^c[0-9a-f]{10}$/);
    expect(h.engine.tenants.has(c.engine_name)).toBe(true);
    const [input] = h.engine.script.callsOf("createTenant")[0] as [Record<string, unknown>];
    expect(input).toMatchObject({ template: "mini", name: "My_App-1", env: { A: "1" }, start: true, autostart: true, labels: { "hoody.owner": "core", "hoody.project": h.projectId } });
    const row = rowOf(h.db, c.id)!;
    expect(row).toMatchObject({ engineName: c.engine_name, label: "my-app-1", status: "running", template: "mini" });
    expect(c.url).toBe("http://my-app-1.test.local:8080/");
    // The engine's env (TENANT_NAME added by it) is what the rows hold.
    expect(c.environment_vars).toEqual({ A: "1", TENANT_NAME: "My_App-1" });
    expect(
      h.db
        .select()
        .from(t.statusLogs)
        .where(eq(t.statusLogs.containerId, c.id))
        .all()
        .map((s) => s.toStatus),
    ).toEqual(["running"]);
    expect(auditOf(h.db, "container.create")).toMatchObject([{ target: `container:${c.id}`, result: "ok" }]);
  });

  it("picks a random tenant-… name for none or 'rand', and refuses a name whose URL label is taken before asking the engine", async () => {
    const a = await h.core.provisioning.create(SYSTEM, h.projectId, {});
    const b = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "rand" });
    for (const c of [a, b]) expect(c.name).toMatch(/^tenant-[0-9a-f]{8}$/);
    expect(a.name).not.toBe(b.name);
    await h.core.provisioning.create(SYSTEM, h.projectId, { name: "Shop" });
    const before = h.engine.script.callsOf("createTenant").length;
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { name: "shop" }), 409, "CONTAINER_NAME_TAKEN");
    expect(h.engine.script.callsOf("createTenant").length).toBe(before);
  });

  it("refuses bad env keys, the reserved HOODY_ prefix in any case, and env beyond its totals, without asking the engine", async () => {
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: { "1BAD": "x" } }), 422, "INVALID_ENV_KEY");
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: { HOODY_TOKEN: "x" } }), 422, "RESERVED_ENV_PREFIX");
    // Core's rule is case-insensitive, although the engines' own check is not.
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: { hoody_token: "x" } }), 422, "RESERVED_ENV_PREFIX");
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`K${i}`, "v"]));
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: many }), 422, "TOO_MANY_ENV_VARS");
    const big = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`K${i}`, "x".repeat(30 * 1024)]));
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: big }), 422, "ENV_TOO_LARGE");
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { ai: true }), 422, "FEATURE_NOT_OFFERED");
    expect(h.engine.script.callsOf("createTenant")).toEqual([]);
    expect(h.db.select().from(t.containers).all()).toEqual([]);
  });

  it("holds a project to max_containers, also against a burst of creates in flight", async () => {
    await h.core.projects.update(SYSTEM, h.projectId, { max_containers: 2 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => h.core.provisioning.create(SYSTEM, h.projectId, {})));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    for (const r of results.filter((x) => x.status === "rejected")) expect((r as PromiseRejectedResult).reason.code).toBe("PROJECT_CONTAINER_LIMIT");
    expect(h.engine.tenants.size).toBe(2);
  });

  it("caps a project token at the project's ceilings, else the template's defaults; the operator is not capped", async () => {
    await expectCoreError(h.core.provisioning.create(h.member, h.projectId, { limits: { memory_mib: 512 } }), 403, "LIMIT_ABOVE_CEILING");
    await h.core.projects.update(SYSTEM, h.projectId, { ceilings: { memory_mib: 1024 } });
    await expectCoreError(h.core.projects.update(h.member, h.projectId, { ceilings: { memory_mib: 9999 } }), 403, "RESOURCE_ACCESS_DENIED");
    const c = await h.core.provisioning.create(h.member, h.projectId, { limits: { memory_mib: 1024 } });
    expect(h.engine.tenant(c.engine_name).limits.memoryMiB).toBe(1024);
    await expectCoreError(h.core.provisioning.create(h.member, h.projectId, { ramdisk_mib: 65 }), 403, "LIMIT_ABOVE_CEILING");
    await h.core.provisioning.create(SYSTEM, h.projectId, { limits: { memory_mib: 4096, cpu_milli: 2000 } });
    expect(h.engine.script.callsOf("createTenant").at(-1)![0]).toMatchObject({ limits: { memoryMiB: 4096, cpuMilli: 2000 } });
  });

  it("maps the engine's refusals to the API's codes and records the failure against the project", async () => {
    h.engine.script.failNext("createTenant", "EXHAUSTED");
    const e = await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, {}), 503, "CAPACITY_EXHAUSTED");
    expect(e.headers["Retry-After"]).toBe("30");
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { container_image: "nope" }), 404, "TEMPLATE_NOT_FOUND");
    h.engine.script.failNext("createTenant", "POOL_FULL");
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, {}), 507, "POOL_FULL");
    expect(auditOf(h.db, "container.create").map((a) => [a.target, a.result])).toEqual([
      [`project:${h.projectId}`, "error:CAPACITY_EXHAUSTED"],
      [`project:${h.projectId}`, "error:TEMPLATE_NOT_FOUND"],
      [`project:${h.projectId}`, "error:POOL_FULL"],
    ]);
    expect(h.db.select().from(t.containers).all()).toEqual([]);
  });

  it("removes the tenant again when its row cannot be written", async () => {
    h.db.$client.exec("CREATE TRIGGER no_rows BEFORE INSERT ON containers BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: { A: "1" } }), 500, "INTERNAL_ERROR");
    const made = (h.engine.script.callsOf("createTenant").length === 1 && h.engine.script.callsOf("deleteTenant")[0]?.[0]) as string;
    expect(made).toMatch(/^c[0-9a-f]{10}$/);
    expect(h.engine.tenants.size).toBe(0);
    expect(h.db.select().from(t.envVars).all()).toEqual([]);
  });

  it("undoes the loser of two creates racing for one name: its tenant goes, the winner's stays", async () => {
    const held = h.engine.script.hold("createTenant");
    const first = h.core.provisioning.create(SYSTEM, h.projectId, { name: "same" });
    await held.reached; // the first tenant exists, its row does not yet
    const second = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "same" });
    held.release();
    await expectCoreError(first, 409, "CONTAINER_NAME_TAKEN");
    expect([...h.engine.tenants.keys()]).toEqual([second.engine_name]);
  });

  it("writes the SSH key into a running tenant, leaves it pending while stopped, and undoes a create whose key cannot be written", async () => {
    sshAwareExec(h.engine);
    const run = await h.core.provisioning.create(SYSTEM, h.projectId, { ssh_public_key: KEY_A });
    expect(h.engine.tenant(run.engine_name).files.get("/root/.ssh/authorized_keys")).toBe(`${KEY_A}\n`);
    expect(rowOf(h.db, run.id)).toMatchObject({ sshPublicKey: KEY_A, sshKeyApplied: KEY_A });

    const stopped = await h.core.provisioning.create(SYSTEM, h.projectId, { ssh_public_key: KEY_A, autostart: false });
    expect(stopped.status).toBe("stopped");
    expect(rowOf(h.db, stopped.id)).toMatchObject({ sshPublicKey: KEY_A, sshKeyApplied: null });
    await h.core.lifecycle.operation(SYSTEM, stopped.id, "start");
    expect(h.engine.tenant(stopped.engine_name).files.get("/root/.ssh/authorized_keys")).toBe(`${KEY_A}\n`);
    expect(rowOf(h.db, stopped.id)!.sshKeyApplied).toBe(KEY_A);

    sshAwareExec(h.engine, { fail: true });
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { name: "keyless", ssh_public_key: KEY_A }), 500, "SSH_KEY_NOT_APPLIED");
    expect(h.engine.tenants.size).toBe(2);
    expect(h.db.select().from(t.containers).where(eq(t.containers.name, "keyless")).get()).toBeUndefined();
  });

  it("after an engine outage mid-create, heals: the tenant the engine made without a row is removed once it answers", async () => {
    h.engine.script.failNext("createTenant", "UNAVAILABLE", { after: true });
    const e = await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, {}), 503, "ENGINE_UNAVAILABLE");
    expect(e.headers["Retry-After"]).toBe("5");
    expect(h.engine.tenants.size).toBe(1);
    await vi.waitFor(() => expect(h.engine.tenants.size).toBe(0), { timeout: 5000, interval: 50 });
    expect(auditOf(h.db, "reconcile").at(-1)!.detail).toMatchObject({ removedOrphans: [expect.stringMatching(/^c/)] });
  });
});

describe("placement", () => {
  it("passes the chosen Incus member to the engine and records the server; unknown or offline servers are refused", async () => {
    h.close();
    const spec = { cpuModel: null, cpuThreads: 2, memoryBytes: 1 << 30, diskBytes: null };
    h = await fakeCore({
      kind: "incus",
      servers: [
        { key: "incus:m1", name: "m1", member: "m1", online: true, specs: spec },
        { key: "incus:m2", name: "m2", member: "m2", online: true, specs: spec },
        { key: "incus:m3", name: "m3", member: "m3", online: false, specs: spec },
      ],
    });
    const servers = await h.core.servers.list(SYSTEM);
    const byName = Object.fromEntries(servers.map((s) => [s.name, s]));
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { server_id: byName.m2!.id });
    expect(h.engine.script.callsOf("createTenant")[0]![0]).toMatchObject({ member: "m2" });
    expect(c).toMatchObject({ server_id: byName.m2!.id, server_name: "m2", member: "m2" });
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { server_id: "0".repeat(24) }), 404, "SERVER_NOT_FOUND");
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { server_id: byName.m3!.id }), 409, "SERVER_OFFLINE");
    expect((await h.core.servers.list(SYSTEM)).find((s) => s.name === "m2")!.containers).toBe(1);
  });
});

describe("copy", () => {
  async function source() {
    h.engine.addTemplate("web", { firewall: [WEB] });
    const src = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "src", template: "web", environment_vars: { A: "1" } });
    await h.core.firewall.add(SYSTEM, src.id, "ingress", { action: "allow", protocol: "tcp", destination_port: "22" });
    return src;
  }

  it("copies a container by its engine name, with the template's rules unless the source's are asked for", async () => {
    const src = await source();
    const copy = await h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId, name: "copy1", environment_vars: { B: "2" } });
    expect(h.engine.script.callsOf("createTenant").at(-1)![0]).toMatchObject({ sourceTenant: src.engine_name, template: "web", firewall: [WEB] });
    expect(copy).toMatchObject({ source_container_id: src.id, template: "web" });
    expect(copy.environment_vars).toEqual({ A: "1", B: "2", TENANT_NAME: "copy1" });
    expect(h.core.firewall.get(SYSTEM, copy.id).ingress.map((r) => r.destination_port)).toEqual(["80"]);

    const withRules = await h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId, copy_firewall_rules: true });
    expect((h.engine.script.callsOf("createTenant").at(-1)![0] as { firewall?: unknown }).firewall).toBeUndefined();
    expect(h.core.firewall.get(SYSTEM, withRules.id).ingress.map((r) => r.destination_port)).toEqual(["80", "22"]);
    expect(h.engine.tenant(withRules.engine_name).firewall.map((r) => r.destination_port)).toEqual(["80", "22"]);
  });

  it("copies from a snapshot by name or alias; an unknown snapshot is 404 before the engine is asked", async () => {
    const src = await source();
    h.engine.write(src.engine_name, 1000, { path: "/data", content: "v1" });
    const snap = await h.core.snapshots.create(SYSTEM, src.id, { alias: "golden" });
    h.engine.write(src.engine_name, 1000, { path: "/data", content: "v2" });
    const copy = await h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId, source_snapshot: "golden" });
    expect(h.engine.script.callsOf("createTenant").at(-1)![0]).toMatchObject({ sourceTenant: src.engine_name, sourceSnapshot: snap.snapshot.name });
    expect(h.engine.tenant(copy.engine_name).files.get("/data")).toBe("v1");
    const calls = h.engine.script.callsOf("createTenant").length;
    await expectCoreError(h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId, source_snapshot: "nope" }), 404, "SNAPSHOT_NOT_FOUND");
    expect(h.engine.script.callsOf("createTenant").length).toBe(calls);
  });

  it("copies a template by name; a template has no snapshots; an unknown source is CONTAINER_NOT_FOUND", async () => {
    h.engine.addTemplate("node");
    const copy = await h.core.provisioning.copy(SYSTEM, "node", { target_project_id: h.projectId });
    expect(copy.template).toBe("node");
    expect((h.engine.script.callsOf("createTenant")[0]![0] as { sourceTenant?: unknown }).sourceTenant).toBeUndefined();
    await expectCoreError(h.core.provisioning.copy(SYSTEM, "node", { target_project_id: h.projectId, source_snapshot: "s" }), 422, "VALIDATION_ERROR");
    await expectCoreError(h.core.provisioning.copy(SYSTEM, "0".repeat(24), { target_project_id: h.projectId }), 404, "CONTAINER_NOT_FOUND");
  });

  it("does not let a project token copy another project's container", async () => {
    const src = await source();
    const other = await h.core.projects.create(SYSTEM, { alias: "other" });
    const outsider = { id: "token:kout", projectId: other.id };
    await expectCoreError(h.core.provisioning.copy(outsider, src.id, { target_project_id: other.id }), 404, "CONTAINER_NOT_FOUND");
    expect(h.engine.tenants.size).toBe(1);
  });

  it("keeps the source's SSH key: copied with its files, not written again; a new key is written", async () => {
    sshAwareExec(h.engine);
    const src = await h.core.provisioning.create(SYSTEM, h.projectId, { ssh_public_key: KEY_A });
    const execs = h.engine.script.callsOf("exec").length;
    const copy = await h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId });
    expect(h.engine.script.callsOf("exec").length).toBe(execs);
    expect(h.engine.tenant(copy.engine_name).files.get("/root/.ssh/authorized_keys")).toBe(`${KEY_A}\n`);
    expect(rowOf(h.db, copy.id)).toMatchObject({ sshPublicKey: KEY_A, sshKeyApplied: KEY_A });
    const rekeyed = await h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId, ssh_public_key: KEY_B });
    expect(h.engine.tenant(rekeyed.engine_name).files.get("/root/.ssh/authorized_keys")).toBe(`${KEY_B}\n`);
    expect(rowOf(h.db, rekeyed.id)).toMatchObject({ sshPublicKey: KEY_B, sshKeyApplied: KEY_B });
  });

  it("gives a copy from a snapshot the source's current key, although the snapshot holds the key of its time", async () => {
    sshAwareExec(h.engine);
    const src = await h.core.provisioning.create(SYSTEM, h.projectId, { ssh_public_key: KEY_A });
    await h.core.snapshots.create(SYSTEM, src.id, { alias: "before" });
    await h.core.lifecycle.update(SYSTEM, src.id, { ssh_public_key: KEY_B, restart: false });
    const copy = await h.core.provisioning.copy(SYSTEM, src.id, { target_project_id: h.projectId, source_snapshot: "before" });
    expect(rowOf(h.db, copy.id)).toMatchObject({ sshPublicKey: KEY_B, sshKeyApplied: KEY_B });
    expect(h.engine.tenant(copy.engine_name).files.get("/root/.ssh/authorized_keys")).toBe(`${KEY_B}\n`);
  });
});

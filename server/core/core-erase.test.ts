// GDPR erasure, project deletion and the reconciler's decisions in the service layer, on the fake
// engine: which rows go, what the receipt says, what stays when the engine fails, and what the
// reconciler repairs, reports or leaves alone.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { eq } from "drizzle-orm";
import { count as countRows } from "./context";
import { auditOf, BOX_ADDRESS, expectCoreError, fakeCore, rowOf, SYSTEM, t, type FakeCore } from "./fake-core";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore();
});
afterEach(() => h.close());

/** A container with something in every table that holds its data. */
async function populated(name = "victim") {
  const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name, environment_vars: { SECRET: "s3cret", B: "2" } });
  await h.core.snapshots.create(SYSTEM, c.id, { alias: "a" });
  await h.core.firewall.add(SYSTEM, c.id, "ingress", { action: "allow", protocol: "tcp", destination_port: "80" });
  await h.core.lifecycle.operation(SYSTEM, c.id, "restart");
  await h.core.stats.sample();
  h.dns.set(`${name}.example.com`, [BOX_ADDRESS]);
  await h.core.domains.add(SYSTEM, c.id, `${name}.example.com`);
  h.db
    .insert(t.idempotencyKeys)
    .values({ key: `k-${name}`, actor: "token:x", requestHash: "h", status: 201, response: JSON.stringify(c), resourceId: c.id })
    .run();
  return c;
}

const count = (table: typeof t.envVars | typeof t.snapshots | typeof t.firewallRules | typeof t.statusLogs | typeof t.statsSamples, id: string) => countRows(h.db, table, eq(table.containerId, id));

describe("delete (GDPR erasure)", () => {
  it("erases every row about the container and answers a receipt with exactly what went", async () => {
    const c = await populated();
    const other = await populated("bystander");
    const before = { env: count(t.envVars, c.id), snaps: count(t.snapshots, c.id), rules: count(t.firewallRules, c.id), logs: count(t.statusLogs, c.id), stats: count(t.statsSamples, c.id) };
    expect(before).toEqual({ env: 3, snaps: 1, rules: 1, logs: 2, stats: 2 });
    const receipt = await h.core.erasure.deleteContainer(SYSTEM, c.id);
    expect(h.engine.script.callsOf("deleteTenant")).toEqual([[c.engine_name]]);
    expect(h.engine.tenants.has(c.engine_name)).toBe(false);
    expect(receipt).toMatchObject({ container_id: c.id, project_id: h.projectId, requested_by: "system" });
    expect(receipt.erased).toEqual({
      host: [
        "processes (force-stopped)",
        expect.stringMatching(/^firewall entries of \S+ and [\d.]+, and its flow count$/),
        expect.stringMatching(/^snapshot snap-/),
        expect.stringMatching(/^filesystem \(subvolume \d+\)$/),
        "lxc config, console and lxc logs, metadata",
        expect.stringMatching(/^uid range .* released$/),
      ],
      database: [
        "container row",
        "3 env var(s)",
        "1 snapshot record(s)",
        "1 firewall rule(s)",
        "1 custom domain(s)",
        "2 status log entr(ies)",
        "2 stats history sample(s)",
        "0 old id alias(es)",
        "audit entries and idempotent replays about it",
      ],
    });
    expect(rowOf(h.db, c.id)).toBeUndefined();
    expect(
      h.db
        .select()
        .from(t.customDomains)
        .all()
        .map((d) => d.hostname),
    ).toEqual(["bystander.example.com"]);
    expect([count(t.envVars, c.id), count(t.snapshots, c.id), count(t.firewallRules, c.id), count(t.statusLogs, c.id), count(t.statsSamples, c.id)]).toEqual([0, 0, 0, 0, 0]);
    expect(count(t.statsSamples, other.id)).toBe(2);
    expect(
      h.db
        .select()
        .from(t.idempotencyKeys)
        .all()
        .map((k) => k.resourceId),
    ).toEqual([other.id]);
    const audit = h.db.select().from(t.auditLog).all();
    expect(audit.filter((a) => a.target === `container:${c.id}` || JSON.stringify(a.detail ?? {}).includes(c.id))).toEqual([]);
    expect(audit.filter((a) => a.target === `container:${other.id}`).length).toBeGreaterThan(0);
    expect(JSON.stringify(h.db.select().from(t.envVars).all())).not.toContain(c.id);
    expect(auditOf(h.db, "container.erase")).toMatchObject([{ target: `receipt:${receipt.receipt_id}`, result: "ok" }]);
    expect(h.core.erasure.receipts(SYSTEM).map((r) => r.receipt_id)).toEqual([receipt.receipt_id]);
    // The bystander is whole.
    expect(count(t.envVars, other.id)).toBe(3);
    expect(h.engine.tenants.has(other.engine_name)).toBe(true);
  });

  it("finds a container by its old id and erases that alias too", async () => {
    const c = await populated();
    h.db.insert(t.idAliases).values({ oldId: "cold0000001", kind: "container", newId: c.id }).run();
    expect((await h.core.containers.get(SYSTEM, "cold0000001")).id).toBe(c.id);
    const receipt = await h.core.erasure.deleteContainer(SYSTEM, "cold0000001");
    expect(receipt.container_id).toBe(c.id);
    expect((receipt.erased as { database: string[] }).database).toContain("1 old id alias(es)");
    expect(h.db.select().from(t.idAliases).all()).toEqual([]);
  });

  it("keeps the row 'deleting' with its data when the engine fails, and a retry finishes it", async () => {
    const c = await populated();
    h.engine.script.failNext("deleteTenant", "SYSTEM_ERROR", { message: "erase stopped before its files: still mounted" });
    await expectCoreError(h.core.erasure.deleteContainer(SYSTEM, c.id), 500, "ENGINE_ERROR");
    expect(rowOf(h.db, c.id)!.status).toBe("deleting");
    expect(count(t.envVars, c.id)).toBe(3);
    expect(h.db.select().from(t.erasureReceipts).all()).toEqual([]);
    expect((await h.core.containers.get(SYSTEM, c.id)).status).toBe("deleting");
    await h.core.erasure.deleteContainer(SYSTEM, c.id);
    expect(rowOf(h.db, c.id)).toBeUndefined();
  });

  it("erases the row when the engine no longer has the tenant (existed: false), and hides other projects' containers", async () => {
    const c = await populated();
    h.engine.tenants.delete(c.engine_name);
    const receipt = await h.core.erasure.deleteContainer(SYSTEM, c.id);
    expect((receipt.erased as { host: string[] }).host).toEqual([]);
    const d = await populated("other");
    const other = await h.core.projects.create(SYSTEM, { alias: "other" });
    await expectCoreError(h.core.erasure.deleteContainer({ id: "token:x", projectId: other.id }, d.id), 404, "CONTAINER_NOT_FOUND");
    expect(rowOf(h.db, d.id)!.status).toBe("running");
  });
});

describe("project delete", () => {
  it("erases each container with its receipt, then the project and its tokens", async () => {
    const ids = [(await populated("one")).id, (await populated("two")).id];
    h.core.tokens.create(SYSTEM, { name: "ci", project_id: h.projectId });
    const r = await h.core.erasure.deleteProject(SYSTEM, h.projectId, { includeDeletedItems: true });
    expect(r).toMatchObject({
      id: h.projectId,
      deleted: { containers: 2, tokens: 1 },
      deleted_items: {
        containers: [
          { id: ids[0], name: "one" },
          { id: ids[1], name: "two" },
        ],
      },
    });
    expect(r.receipts.map((x) => h.core.erasure.receipt(x).container_id)).toEqual(ids);
    expect(h.db.select().from(t.projects).all()).toEqual([]);
    expect(h.db.select().from(t.apiTokens).all()).toEqual([]);
    expect(h.engine.tenants.size).toBe(0);
    await expectCoreError(h.core.erasure.deleteProject(h.member, h.projectId), 403, "RESOURCE_ACCESS_DENIED");
  });

  it("stops at the first failed erasure, keeps the project and says what was erased and what remains", async () => {
    const [one, two, three] = [await populated("one"), await populated("two"), await populated("three")];
    h.engine.script.failNext("deleteTenant", "SYSTEM_ERROR", { skip: 1 });
    const e = await expectCoreError(h.core.erasure.deleteProject(SYSTEM, h.projectId), 500, "PROJECT_DELETE_INCOMPLETE");
    expect(e.data).toMatchObject({ failed: { id: two.id, name: "two", code: "ENGINE_ERROR" }, erased: [{ id: one.id, name: "one" }], remaining: 2 });
    expect(rowOf(h.db, one.id)).toBeUndefined();
    expect(rowOf(h.db, two.id)!.status).toBe("deleting");
    expect(rowOf(h.db, three.id)!.status).toBe("running");
    expect(h.engine.tenants.has(three.engine_name)).toBe(true);
    expect(h.core.projects.get(SYSTEM, h.projectId).container_count).toBe(2);
  });
});

describe("reconcile", () => {
  it("removes tenants core made but never recorded, and reports others without touching them", async () => {
    const kept = await h.core.provisioning.create(SYSTEM, h.projectId, {});
    const orphan = await h.engine.adopt({ template: "mini", labels: { "hoody.owner": "core", "hoody.project": h.projectId, "hoody.op": "gone" } });
    const foreign = await h.engine.adopt({ template: "mini", labels: { "made.by": "operator" } });
    const r = await h.core.reconciler.reconcile();
    expect(r).toMatchObject({ removedOrphans: [orphan.id], unattributed: [foreign.id], markedFailed: [], errors: [] });
    expect([...h.engine.tenants.keys()].sort()).toEqual([kept.engine_name, foreign.id].sort());
    expect(auditOf(h.db, "reconcile")).toHaveLength(1);
  });

  it("leaves a tenant whose create is still between its engine call and its row", async () => {
    const held = h.engine.script.hold("createTenant");
    const creating = h.core.provisioning.create(SYSTEM, h.projectId, {});
    await held.reached;
    const r = await h.core.reconciler.reconcile();
    expect(r.removedOrphans).toEqual([]);
    held.release();
    const c = await creating;
    expect(h.engine.tenants.has(c.engine_name)).toBe(true);
  });

  it("marks rows whose tenant vanished failed (once), and brings them back when the tenant returns", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, {});
    const tenant = h.engine.tenant(c.engine_name);
    h.engine.tenants.delete(c.engine_name);
    expect((await h.core.reconciler.reconcile()).markedFailed).toEqual([c.id]);
    expect(rowOf(h.db, c.id)!.status).toBe("failed");
    expect((await h.core.reconciler.reconcile()).markedFailed).toEqual([]);
    tenant.state = "stopped";
    h.engine.tenants.set(c.engine_name, tenant);
    expect((await h.core.reconciler.reconcile()).finished).toEqual([c.id]);
    expect(rowOf(h.db, c.id)!.status).toBe("stopped");
  });

  it("finishes an interrupted erasure after an outage, with or without the tenant", async () => {
    const a = await h.core.provisioning.create(SYSTEM, h.projectId, {});
    const b = await h.core.provisioning.create(SYSTEM, h.projectId, {});
    h.engine.script.failNext("deleteTenant", "UNAVAILABLE", { after: true });
    await expectCoreError(h.core.erasure.deleteContainer(SYSTEM, a.id), 503, "ENGINE_UNAVAILABLE");
    h.db.update(t.containers).set({ status: "deleting" }).where(eq(t.containers.id, b.id)).run();
    // The outage makes core reconcile as soon as the engine answers again: no explicit call needed.
    await vi.waitFor(() => expect(h.db.select().from(t.containers).all()).toEqual([]), { timeout: 5000, interval: 50 });
    expect((auditOf(h.db, "reconcile").at(-1)!.detail as { finished: string[] }).finished.sort()).toEqual([a.id, b.id].sort());
    expect(h.db.select().from(t.erasureReceipts).all()).toHaveLength(2);
    expect(h.engine.tenants.size).toBe(0);
  });

  it("pushes the rows' env to a tenant that drifted, without a restart, and mirrors templates", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { environment_vars: { A: "1" } });
    const tenant = h.engine.tenant(c.engine_name);
    tenant.env = { ...tenant.env, A: "stale", EXTRA: "x" };
    h.engine.addTemplate("node", { appPort: 3000 });
    const starts = tenant.starts;
    const r = await h.core.reconciler.reconcile();
    expect(r.envPushed).toEqual([c.id]);
    expect(h.engine.script.callsOf("updateTenant").at(-1)).toEqual([c.engine_name, { env: { A: "1", TENANT_NAME: c.name, EXTRA: null }, restart: false }]);
    expect(tenant.env).toEqual({ A: "1", TENANT_NAME: c.name });
    expect(tenant.starts).toBe(starts);
    expect(
      h.db
        .select()
        .from(t.templates)
        .all()
        .map((x) => x.name)
        .sort(),
    ).toEqual(["mini", "node"]);
    expect((await h.core.reconciler.reconcile()).envPushed).toEqual([]);
  });

  it("reports an orphan it could not remove and carries on; places rows that have no server yet", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, {});
    h.db.update(t.containers).set({ serverId: null }).where(eq(t.containers.id, c.id)).run();
    const orphan = await h.engine.adopt({ template: "mini", labels: { "hoody.owner": "core" } });
    h.engine.script.failNext("deleteTenant", "SYSTEM_ERROR", { message: "still mounted" });
    const r = await h.core.reconciler.reconcile();
    expect(r.errors).toEqual([`${orphan.id}: still mounted`]);
    expect(h.engine.tenants.has(orphan.id)).toBe(true);
    const [server] = await h.core.servers.list(SYSTEM);
    expect(rowOf(h.db, c.id)!.serverId).toBe(server!.id);
  });
});

// Placement on an Incus cluster: our throwaway incusd becomes a single-member cluster (PUT
// /1.0/cluster, listening on loopback only), the template is made per member, and tenants are
// placed by Incus or on the member HOODY_INCUS_TARGET names; the member shows in the engine's
// TenantInfo and in the core's container view (what the API and dashboard print).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import path from "node:path";
import { openDb } from "../server/db/client";
import { Core, SYSTEM } from "../server/core/core";
import { IncusClient } from "../server/engine/incus/client";
import { IncusEngine } from "../server/engine/incus/engine";
import { IncusTestDaemon } from "../testkit/incus-harness.js";
import { TEST_CACHE_DIR, freePort, httpGet, waitFor } from "../testkit/host-harness.js";

const RUN = process.env.HOODY_TEST_ENGINE === "incus";
const MEMBER = "hoody-m1";
let d: IncusTestDaemon;

function engine(target?: string): IncusEngine {
  return new IncusEngine(new IncusClient({ socketPath: d.socket }), {
    pool: d.pool,
    network: d.network,
    target,
    uidBase: d.uidBase,
    uidRanges: 64,
    cacheDir: TEST_CACHE_DIR,
    stopTimeoutS: 3,
  });
}

describe.skipIf(!RUN)("Incus cluster placement (runs under npm run test:incus: needs HOODY_TEST_ENGINE=incus)", () => {
  beforeAll(async () => {
    d = await IncusTestDaemon.start();
    await d.client.patch("/1.0", { config: { "core.https_address": `127.0.0.1:${await freePort()}` } });
    await d.client.put("/1.0/cluster", { server_name: MEMBER, enabled: true });
    await d.importTemplate("mini");
  });
  afterAll(async () => {
    await d?.stop();
  });

  it("is a one-member cluster whose template instance lives on that member", async () => {
    const members = await d.client.get<{ server_name: string; status: string }[]>("/1.0/cluster/members", { recursion: 1 });
    expect(members.map((m) => [m.server_name, m.status])).toEqual([[MEMBER, "Online"]]);
    const tpl = await d.client.get<{ location: string; status: string }>("/1.0/instances/tpl-mini");
    expect([tpl.location, tpl.status]).toEqual([MEMBER, "Stopped"]);
  });

  it("places a tenant on the HOODY_INCUS_TARGET member and reports it (engine, Incus, core view)", async () => {
    const e = engine(MEMBER);
    const dir = await fs.mkdtemp(path.join(d.dir, "db-"));
    const core = new Core(openDb(path.join(dir, "hoody.db")), e, { domain: "localhost", routerPort: 8080, maxFirewallRules: 100 });
    try {
      const t = await e.createTenant({ template: "mini", name: "placed", labels: { "hoody.owner": "core" } });
      expect(t.member).toBe(MEMBER);
      expect(t.state).toBe("running");
      expect((await d.client.get<{ location: string }>(`/1.0/instances/${t.id}`)).location).toBe(MEMBER);
      expect((await waitFor(() => httpGet(`http://${t.ip}:8080/`).catch(() => null))).body).toContain("hello from placed");
      // The owner label travels as a user.* key, so the reconciler can attribute it.
      expect((await d.client.get<{ config: Record<string, string> }>(`/1.0/instances/${t.id}`)).config["user.hoody.label.hoody.owner"]).toBe("core");
      expect((await e.listTenants()).find((x) => x.id === t.id)?.labels).toEqual({ "hoody.owner": "core" });
      // Not in the core's database: the reconciler removes it as an orphan of the core.
      expect((await core.reconciler.reconcile()).removedOrphans).toEqual([t.id]);
      await expect(d.client.get(`/1.0/instances/${t.id}`)).rejects.toThrow(/not found/i);
      // Through the core: the container view carries the member.
      const project = await core.projects.create(SYSTEM, { alias: "placement" });
      const c = await core.provisioning.create(SYSTEM, project.id, { template: "mini", autostart: true });
      expect(c.member ?? (await core.containers.get(SYSTEM, c.id)).member).toBe(MEMBER);
      await core.erasure.deleteContainer(SYSTEM, c.id);
    } finally {
      e.close();
    }
  });

  it("lists each member as a server with a stable id; create places on server_id and keeps autostart in boot.autostart", async () => {
    const e = engine();
    const dir = await fs.mkdtemp(path.join(d.dir, "db-"));
    const db = openDb(path.join(dir, "hoody.db"));
    const core = new Core(db, e, { domain: "localhost", routerPort: 8080, maxFirewallRules: 100 });
    try {
      const servers = await core.servers.list(SYSTEM);
      expect(servers.map((x) => [x.name, x.member, x.engine, x.status])).toEqual([[MEMBER, MEMBER, "incus", "active"]]);
      const sid = servers[0]!.id;
      expect(sid).toMatch(/^[0-9a-f]{24}$/);
      // Same id from a second Core on the same database (a restart).
      expect((await new Core(db, e, { domain: "localhost", routerPort: 8080, maxFirewallRules: 100 }).servers.get(SYSTEM, sid)).member).toBe(MEMBER);
      const project = await core.projects.create(SYSTEM, { alias: "servers" });
      await expect(core.provisioning.create(SYSTEM, project.id, { container_image: "mini", server_id: "0123456789abcdef01234567" })).rejects.toMatchObject({ status: 404, code: "SERVER_NOT_FOUND" });
      const c = await core.provisioning.create(SYSTEM, project.id, { container_image: "mini", server_id: sid, autostart: false, start: true });
      expect([c.server_id, c.server_name, c.member, c.status, c.autostart]).toEqual([sid, MEMBER, MEMBER, "running", false]);
      // Incus knows the tenant by its engine name, not the API's 24-hex id.
      const conf = async () => (await d.client.get<{ config: Record<string, string> }>(`/1.0/instances/${c.engine_name}`)).config["boot.autostart"];
      expect(await conf()).toBe("false");
      const u = await core.lifecycle.update(SYSTEM, c.id, { autostart: true, restart: true });
      expect([u.container.autostart, u.restarted]).toEqual([true, false]);
      // Unset: Incus restores the last state at boot (ours: back if it was running).
      expect(await conf()).toBeUndefined();
      await core.erasure.deleteContainer(SYSTEM, c.id);
    } finally {
      e.close();
    }
  });

  it("lets Incus place without a target, and a target that is no member fails and leaves nothing behind", async () => {
    const e = engine();
    try {
      const t = await e.createTenant({ template: "mini", start: false });
      expect(t.member).toBe(MEMBER);
      await e.deleteTenant(t.id);
      const before = await d.client.get<string[]>("/1.0/network-acls");
      const bad = engine("no-such-member");
      await expect(bad.createTenant({ template: "mini" })).rejects.toThrow();
      bad.close();
      expect(await d.client.get<string[]>("/1.0/network-acls")).toEqual(before);
      expect((await e.listTenants()).length).toBe(0);
    } finally {
      e.close();
    }
  });
});

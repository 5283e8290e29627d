// Custom domains, per-port names and Caddy's `ask` in the service layer (fake engine, test DNS).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { domainResolution } from "./domains";
import { auditOf, BOX_ADDRESS, expectCoreError, fakeCore, SYSTEM, t, type FakeCore } from "./fake-core";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore({ settings: { dashboardHost: "hoody.test.local", publicUrl: { scheme: "https", port: 443 } } });
});
afterEach(() => h.close());

describe("custom domains", () => {
  it("attaches a name that resolves here, routes it, and detaches it", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "acme" });
    h.dns.set("app.acme.com", [BOX_ADDRESS]);
    const d = await h.core.domains.add(SYSTEM, c.id, "App.Acme.com.");
    expect(d).toMatchObject({ hostname: "app.acme.com", container_id: c.id, url: "https://app.acme.com/", addresses: [BOX_ADDRESS] });
    expect(h.core.domains.list(SYSTEM, c.id).domains.map((x) => x.hostname)).toEqual(["app.acme.com"]);
    expect((await h.core.routing.routeHost("app.acme.com"))?.id).toBe(c.id);
    expect(await h.core.routing.tlsAllowed("app.acme.com")).toBe(true);
    expect(h.core.domains.remove(SYSTEM, c.id, "app.acme.com")).toEqual({ hostname: "app.acme.com", removed: true });
    expect(await h.core.routing.routeHost("app.acme.com")).toBeNull();
    expect(await h.core.routing.tlsAllowed("app.acme.com")).toBe(false);
    expect(auditOf(h.db, "container.domain.add")).toMatchObject([{ result: "ok" }]);
  });

  it("refuses names that do not resolve here, are ours, are taken or are no names, and changes nothing", async () => {
    const a = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "aaa" });
    const b = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "bbb" });
    h.dns.set("elsewhere.com", ["198.51.100.1"]);
    h.dns.set("mixed.com", [BOX_ADDRESS, "198.51.100.1"]);
    h.dns.set("taken.com", [BOX_ADDRESS]);
    await h.core.domains.add(SYSTEM, a.id, "taken.com");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "elsewhere.com"), 422, "DOMAIN_NOT_POINTED");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "mixed.com"), 422, "DOMAIN_NOT_POINTED");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "nowhere.com"), 422, "DOMAIN_NOT_RESOLVED");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "x.test.local"), 422, "DOMAIN_RESERVED");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "hoody.test.local"), 422, "DOMAIN_RESERVED");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "not a name"), 422, "INVALID_DOMAIN");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "localhost"), 422, "INVALID_DOMAIN");
    await expectCoreError(h.core.domains.add(SYSTEM, b.id, "TAKEN.com"), 409, "DOMAIN_TAKEN");
    // Another project's token cannot see or touch it.
    const other = await h.core.projects.create(SYSTEM, { alias: "other" });
    await expectCoreError(h.core.domains.add({ id: "token:x", projectId: other.id }, a.id, "taken.com"), 404, "CONTAINER_NOT_FOUND");
    expect(() => h.core.domains.remove(SYSTEM, b.id, "taken.com")).toThrow(/not found/);
    expect(
      h.db
        .select()
        .from(t.customDomains)
        .all()
        .map((d) => [d.hostname, d.containerId]),
    ).toEqual([["taken.com", a.id]]);
  });
});

describe("per-port names and the ask endpoint", () => {
  it("routes <label>-http-<port> to that port only while the firewall lets the host reach it", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "shop" });
    const closed = await h.core.routing.routeHost("shop-http-9000.test.local");
    expect(closed).toMatchObject({ id: c.id, port: 9000, portOpen: false });
    expect(await h.core.routing.tlsAllowed("shop-http-9000.test.local")).toBe(false);
    await h.core.firewall.add(SYSTEM, c.id, "ingress", { action: "allow", protocol: "tcp", destination_port: "9000", source: "host" });
    expect(await h.core.routing.routeHost("shop-http-9000.test.local")).toMatchObject({ id: c.id, port: 9000, portOpen: true });
    expect(await h.core.routing.tlsAllowed("shop-http-9000.test.local")).toBe(true);
    expect(await h.core.routing.routeHost("shop.test.local")).toMatchObject({ id: c.id, port: 8080, portOpen: true });
  });

  it("says yes only to live tenants, their ports, attached domains and the dashboard", async () => {
    await h.core.provisioning.create(SYSTEM, h.projectId, { name: "live" });
    expect(await h.core.routing.tlsAllowed("live.test.local")).toBe(true);
    expect(await h.core.routing.tlsAllowed("hoody.test.local")).toBe(true);
    for (const name of ["ghost.test.local", "test.local", "evil.com", "a.b.live.test.local", "live-http-99999.test.local", "", "127.0.0.1"]) {
      expect(await h.core.routing.tlsAllowed(name), name).toBe(false);
    }
  });

  it("refuses tenant names that read as per-port names", async () => {
    await expectCoreError(h.core.provisioning.create(SYSTEM, h.projectId, { name: "acme-http-8080" }), 422, "AMBIGUOUS_NAME");
    const ok = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "acme-http" });
    await expectCoreError(h.core.lifecycle.update(SYSTEM, ok.id, { name: "x-http-1", restart: false }), 422, "AMBIGUOUS_NAME");
    expect(
      h.db
        .select()
        .from(t.containers)
        .all()
        .map((r) => r.label),
    ).toEqual(["acme-http"]);
  });
});

describe("domainResolution (HOODY_RESOLVE_FILE, HOODY_PUBLIC_IPS)", () => {
  it("answers from the file alone, read at each check, and names the box's addresses", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-resolve-"));
    const file = path.join(dir, "hosts");
    fs.writeFileSync(file, "# comment\n192.0.2.1 a.example.com b.example.com\n192.0.2.2 a.example.com\n");
    const r = domainResolution({ resolveFile: file, publicIps: "192.0.2.1, 192.0.2.2" });
    expect(await r.resolveHost!("a.example.com")).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(await r.resolveHost!("b.example.com")).toEqual(["192.0.2.1"]);
    await expect(r.resolveHost!("c.example.com")).rejects.toThrow(/not in/);
    fs.appendFileSync(file, "192.0.2.3 c.example.com\n");
    expect(await r.resolveHost!("c.example.com")).toEqual(["192.0.2.3"]);
    expect(r.boxAddresses!()).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(domainResolution({})).toEqual({});
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

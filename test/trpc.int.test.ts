// tRPC routers through createCaller on a real SQLite database and the real host engine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { TRPCError } from "@trpc/server";
import { createCaller } from "../server/api/root";
import { OperatorAuth, OPERATOR } from "../server/core/auth";
import { Core } from "../server/core/core";
import { openDb } from "../server/db/client";
import { HostEngine } from "../server/engine/host-engine";
import { TestHost } from "../testkit/host-harness.js";

let h: TestHost;
let core: Core;
let auth: OperatorAuth;
let admin: ReturnType<typeof createCaller>;
let anonymous: ReturnType<typeof createCaller>;

beforeAll(async () => {
  h = await TestHost.create();
  await h.client.buildTemplate("mini");
  const db = openDb(path.join(h.dir, "trpc.db"));
  core = new Core(db, new HostEngine(h.client), { domain: "localhost", routerPort: 8080, maxFirewallRules: 100 });
  auth = new OperatorAuth(db);
  auth.ensurePassword("initial-password-123");
  admin = createCaller({ core, auth, actor: OPERATOR, sessionCookie: null });
  anonymous = createCaller({ core, auth, actor: null, sessionCookie: null });
});
afterAll(async () => {
  await h?.stop();
});

describe("tRPC", () => {
  it("refuses every admin procedure without a session", async () => {
    await expect(anonymous.projects.list()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(anonymous.containers.list({})).rejects.toBeInstanceOf(TRPCError);
    expect(await anonymous.auth.me()).toEqual({ signedIn: false });
    expect(await admin.auth.me()).toEqual({ signedIn: true });
  });

  it("creates, reads, updates and deletes a container through the same service layer", async () => {
    const p = await admin.projects.create({ alias: "trpc" });
    const c = await admin.containers.create({ projectId: p.id, template: "mini", name: "trpc-tenant", environment_vars: { A: "1" } });
    expect(c.status).toBe("running");
    expect((await admin.containers.get({ id: c.id })).environment_vars.A).toBe("1");
    const list = await admin.containers.list({ projectId: p.id });
    expect(list.pagination.total).toBe(1);
    const u = await admin.containers.update({ id: c.id, environment_vars: { A: "2" } });
    expect(u.restarted).toBe(true);
    const e = await admin.containers.exec({ id: c.id, command: ["/bin/sh", "-c", "echo $A"] });
    expect(e.stdout.trim()).toBe("2");
    const snap = await admin.containers.createSnapshot({ id: c.id, alias: "s" });
    expect((await admin.containers.snapshots({ id: c.id })).snapshots.map((x) => x.name)).toEqual([snap.snapshot.name]);
    expect((await admin.containers.firewall({ id: c.id })).rule_count).toBe(1);
    const overview = await admin.host.overview();
    expect(overview.tenants.running).toBe(1);
    expect(overview.info.pool.quotaMode).toBe("simple");
    const receipt = await admin.containers.delete({ id: c.id });
    expect(receipt.container_id).toBe(c.id);
    await expect(admin.containers.get({ id: c.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const audit = await admin.audit.list({});
    expect(audit.entries.some((x) => x.action === "container.erase")).toBe(true);
  });

  it("keeps Hoody's error codes and validates input with the shared schemas", async () => {
    const p = await admin.projects.create({ alias: "codes" });
    const err = await admin.containers.create({ projectId: p.id, template: "mini", environment_vars: { HOODY_X: "1" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("UNPROCESSABLE_CONTENT");
    expect(((err as TRPCError).cause as { code?: string }).code).toBe("RESERVED_ENV_PREFIX");
    await expect(admin.containers.create({ projectId: p.id, template: "mini", name: "../x" } as never)).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("manages tokens: created once, listed without the secret, revoked", async () => {
    const t = await admin.tokens.create({ name: "ci", project_id: null });
    expect(t.token).toMatch(/^hdy_/);
    const listed = await admin.tokens.list();
    expect(JSON.stringify(listed)).not.toContain(t.token);
    await admin.tokens.revoke({ id: t.id });
    expect(() => core.tokens.authenticate(`Bearer ${t.token}`)).toThrow(/revoked/);
  });

  it("signs operators in with the password, changes it, and ends other sessions", async () => {
    expect(() => auth.signIn("wrong")).toThrow(/wrong password/);
    const a = auth.signIn("initial-password-123");
    const b = auth.signIn("initial-password-123");
    expect(auth.session(a.cookie)).toEqual(OPERATOR);
    const withA = createCaller({ core, auth, actor: OPERATOR, sessionCookie: a.cookie });
    await expect(withA.auth.changePassword({ current: "initial-password-123", next: "short" })).rejects.toBeInstanceOf(TRPCError);
    await withA.auth.changePassword({ current: "initial-password-123", next: "a-much-longer-password" });
    expect(auth.session(a.cookie)).toEqual(OPERATOR);
    expect(auth.session(b.cookie)).toBeNull();
    expect(() => auth.signIn("initial-password-123")).toThrow();
    expect(auth.signIn("a-much-longer-password").cookie).toBeTruthy();
    expect(fs.existsSync(path.join(h.dir, "trpc.db"))).toBe(true);
  });
});

// Issue 14 against the real stack (host engine: LXC, BTRFS, nftables): GET /servers and the server_id
// create takes; the SDK's create body (container_image, color, autostart honoured at a host boot,
// features this server does not offer refused by name); projects.list sorting; a project deleted with
// its containers (each erased with its receipt, gone from LXC and the pool), and stopped honestly when
// an erasure fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import os from "node:os";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { TestStack } from "../testkit/stack-harness.js";

let s: TestStack;
let project: string;
let serverId: string;
const HEX24 = /^[0-9a-f]{24}$/;
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKH4OGhL+SNgvCPEhxrVcGUHuRAATfj/XJv89casTSOK servers-test";

/**
 * The engine's name of a container by its API id (LXC, the pool and cgroups know it by that), asked
 * once while it exists and remembered, so checks after its erasure still look in the right place.
 */
const engineNames = new Map<string, string>();
async function engineOf(id: string): Promise<string> {
  if (!engineNames.has(id)) {
    const r = await s.api("GET", `/containers/${id}`);
    if (r.status !== 200) throw new Error(`no engine name for ${id}: ${r.body.code}`);
    engineNames.set(id, r.body.data.engine_name);
  }
  return engineNames.get(id)!;
}
/** What lxc-info says of a tenant (by API id): RUNNING / STOPPED, or GONE when LXC no longer knows it. */
async function lxcState(id: string): Promise<string> {
  const r = await s.host.lxc("lxc-info", await engineOf(id), "-sH");
  return r.exitCode === 0 ? r.stdout.trim() : "GONE";
}
const initPid = async (id: string) => Number((await s.host.lxc("lxc-info", await engineOf(id), "-pH")).stdout.trim() || 0);
/** Tenant subvolumes in the pool, per `btrfs subvolume list`. */
async function subvolumes(): Promise<string[]> {
  return (await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout.split("\n").filter((l) => l.includes("tenants/"));
}

beforeAll(async () => {
  s = await TestStack.create();
  project = (await s.api("POST", "/projects", { alias: "servers", color: "0af" })).body.data.id;
});
afterAll(async () => {
  await s?.stop();
});

describe("servers", () => {
  it("lists this box as the one server, with a stable 24-hex id that survives a web restart", async () => {
    const list = await s.api("GET", "/servers");
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    const srv = list.body.data[0];
    expect(srv).toMatchObject({ name: os.hostname(), status: "active", engine: "host", member: null, is_free_tier: false });
    expect(srv.id).toMatch(HEX24);
    expect(srv.server_id).toBe(srv.id);
    expect(srv.server).toMatchObject({ id: srv.id, name: os.hostname() });
    expect(srv.server.specs.cpu.threads).toBe(os.cpus().length);
    expect(srv.server.specs.ram.capacity_gb).toBeGreaterThan(0);
    expect(srv.server.specs.disks.total_gb).toBeGreaterThan(0);
    serverId = srv.id;
    const one = await s.api("GET", `/servers/${serverId}`);
    expect([one.status, one.body.data.id, one.body.data.name]).toEqual([200, serverId, os.hostname()]);
    await s.killWeb();
    await s.startWeb();
    expect((await s.api("GET", "/servers")).body.data.map((x: { id: string }) => x.id)).toEqual([serverId]);
  });

  it("answers 404 SERVER_NOT_FOUND for an unknown or malformed id", async () => {
    for (const bad of ["0123456789abcdef01234567", "nope"]) {
      const r = await s.api("GET", `/servers/${bad}`);
      expect([r.status, r.body.code]).toEqual([404, "SERVER_NOT_FOUND"]);
    }
  });
});

describe("create with the SDK's body", () => {
  it("places the tenant on server_id and returns container_image, color, autostart and the server", async () => {
    const r = await s.api("POST", `/projects/${project}/containers`, {
      server_id: serverId,
      name: "sdk-shaped",
      container_image: "mini",
      color: "abc",
      autostart: true,
      comment: "made like the SDK does",
      ssh_public_key: null,
      ai: false,
      hoody_kit: false,
      dev_kit: false,
      kvm: false,
      cache: false,
      bypass_prespawn: true,
      realm_ids: [],
      environment_vars: { PLAN: "pro" },
    });
    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({
      name: "sdk-shaped",
      container_image: "mini",
      template: "mini",
      color: "#AABBCC",
      autostart: true,
      server_id: serverId,
      server_name: os.hostname(),
      project_id: project,
      project_alias: "servers",
      comment: "made like the SDK does",
      status: "running",
      ai: false,
      hoody_kit: false,
      dev_kit: false,
      kvm: false,
      ssh_public_key: null,
    });
    expect(await lxcState(r.body.data.id)).toBe("RUNNING");
    // The server counts what runs on it.
    expect((await s.api("GET", `/servers/${serverId}`)).body.data.containers).toBe(1);
    // comment: null clears it, color changes (normalised), both as the SDK sends them.
    const u = await s.api("PATCH", `/containers/${r.body.data.id}`, { comment: null, color: "#0f0" });
    expect(u.body.data).toMatchObject({ comment: null, color: "#00FF00" });
    expect((await s.api("GET", `/containers/${r.body.data.id}`)).body.data).toMatchObject({ comment: null, color: "#00FF00", server_id: serverId });
  });

  it("refuses an unknown server_id, differing container_image/template and features it does not offer, creating nothing", async () => {
    const before = (await subvolumes()).length;
    const count = async () => (await s.api("GET", `/projects/${project}`)).body.data.container_count;
    const had = await count();
    const unknown = await s.api("POST", `/projects/${project}/containers`, { server_id: "0123456789abcdef01234567", container_image: "mini" });
    expect([unknown.status, unknown.body.code]).toEqual([404, "SERVER_NOT_FOUND"]);
    const both = await s.api("POST", `/projects/${project}/containers`, { container_image: "mini", template: "starter" });
    expect([both.status, both.body.code]).toEqual([422, "VALIDATION_ERROR"]);
    for (const field of ["hoody_kit", "dev_kit", "ai", "kvm", "cache"]) {
      const r = await s.api("POST", `/projects/${project}/containers`, { server_id: serverId, container_image: "mini", [field]: true });
      expect([r.status, r.body.code], field).toEqual([422, "FEATURE_NOT_OFFERED"]);
      expect(r.body.message).toContain(field);
      expect(r.body.data).toEqual([expect.objectContaining({ field, instancePath: `/${field}` })]);
    }
    // Two key lines in one field would be two keys: refused, like anything that is not one OpenSSH key line.
    const key = await s.api("POST", `/projects/${project}/containers`, { container_image: "mini", ssh_public_key: `${SSH_KEY}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBogus extra` });
    expect([key.status, key.body.code, key.body.data[0].instancePath]).toEqual([422, "VALIDATION_ERROR", "/ssh_public_key"]);
    expect(await count()).toBe(had);
    expect((await subvolumes()).length).toBe(before);
    // The same body without the refused fields is accepted (the refusals above were about them).
    const ok = await s.api("POST", `/projects/${project}/containers`, { server_id: serverId, container_image: "mini", template: "mini", start: false });
    expect(ok.status).toBe(201);
    expect(await s.api("DELETE", `/containers/${ok.body.data.id}`).then((d) => d.status)).toBe(200);
  });

  it("writes ssh_public_key as root's authorized_keys when the tenant runs: a stopped one gets it at its start, a copy keeps it", async () => {
    const keyFile = async (id: string) => {
      const r = await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", "cat /root/.ssh/authorized_keys 2>/dev/null || echo NONE"] });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return String(r.body.data.stdout).trim();
    };
    const c = await s.api("POST", `/projects/${project}/containers`, { container_image: "mini", ssh_public_key: SSH_KEY, autostart: false });
    expect([c.status, c.body.data.status, c.body.data.ssh_public_key]).toEqual([201, "stopped", SSH_KEY]);
    expect((await s.api("POST", `/containers/${c.body.data.id}/start`)).status).toBe(200);
    expect(await keyFile(c.body.data.id)).toBe(SSH_KEY);
    const copy = await s.api("POST", `/containers/${c.body.data.id}/copy`, { target_project_id: project });
    expect([copy.status, copy.body.data.ssh_public_key]).toEqual([201, SSH_KEY]);
    expect(await keyFile(copy.body.data.id)).toBe(SSH_KEY);
    // Removed while stopped: the file goes at the next start (the copy, as the control, keeps its key).
    expect((await s.api("POST", `/containers/${c.body.data.id}/stop`)).status).toBe(200);
    expect((await s.api("PATCH", `/containers/${c.body.data.id}`, { ssh_public_key: null })).body.data.ssh_public_key).toBeNull();
    expect((await s.api("POST", `/containers/${c.body.data.id}/start`)).status).toBe(200);
    expect(await keyFile(c.body.data.id)).toBe("NONE");
    expect(await keyFile(copy.body.data.id)).toBe(SSH_KEY);
    for (const id of [c.body.data.id, copy.body.data.id]) expect((await s.api("DELETE", `/containers/${id}`)).status).toBe(200);
  });

  it("honours autostart at a host boot: autostart=true tenants come back, autostart=false ones stay stopped", async () => {
    const mk = async (name: string, autostart: boolean) => (await s.api("POST", `/projects/${project}/containers`, { name, container_image: "mini", autostart, start: true })).body.data;
    const on = await mk("boot-on", true);
    const never = await mk("boot-never", false);
    const off = await mk("boot-off", true);
    expect([on.autostart, never.autostart, on.status, never.status]).toEqual([true, false, "running", "running"]);
    // Changing autostart alone does not restart a running tenant.
    const pid = await initPid(off.id);
    const patched = await s.api("PATCH", `/containers/${off.id}`, { autostart: false });
    expect(patched.body.data).toMatchObject({ autostart: false, restarted: false });
    expect(await initPid(off.id)).toBe(pid);
    const all = [on.id, never.id, off.id];
    for (const id of all) await engineOf(id);
    // A boot as the daemon sees it: it is gone, every tenant is dead, then it starts again.
    const boot = async () => {
      await s.host.killDaemon();
      for (const id of all) await s.host.lxc("lxc-stop", await engineOf(id), "-k");
      expect(await Promise.all(all.map(lxcState))).toEqual(["STOPPED", "STOPPED", "STOPPED"]);
      await s.host.startDaemon();
    };
    await boot();
    expect(await Promise.all(all.map(lxcState))).toEqual(["RUNNING", "STOPPED", "STOPPED"]);
    expect((await s.api("GET", `/containers/${never.id}`)).body.data).toMatchObject({ status: "stopped", autostart: false });
    // Turned back on and started, it comes back at the next boot too.
    expect((await s.api("PATCH", `/containers/${off.id}`, { autostart: true })).body.data.autostart).toBe(true);
    expect((await s.api("POST", `/containers/${off.id}/start`)).status).toBe(200);
    await boot();
    expect(await Promise.all(all.map(lxcState))).toEqual(["RUNNING", "STOPPED", "RUNNING"]);
  });
});

describe("projects", () => {
  it("stores color and answers user_id; refuses realms", async () => {
    const p = (await s.api("GET", `/projects/${project}`)).body.data;
    expect(p).toMatchObject({ alias: "servers", color: "#00AAFF", is_default: false, realm_ids: [] });
    expect(p.user_id).toMatch(HEX24);
    expect((await s.api("PUT", `/projects/${project}`, { alias: "servers", color: "#123456" })).body.data.color).toBe("#123456");
    const realm = await s.api("POST", "/projects", { alias: "realmed", realm_ids: ["r1"] });
    expect([realm.status, realm.body.code]).toEqual([422, "FEATURE_NOT_OFFERED"]);
    const bad = await s.api("POST", "/projects", { alias: "badcolor", color: "#12345" });
    expect([bad.status, bad.body.code]).toEqual([422, "VALIDATION_ERROR"]);
  });

  it("sorts and pages projects.list by sort_by and sort_order", async () => {
    for (const alias of ["sort-m", "sort-z", "sort-a"]) expect((await s.api("POST", "/projects", { alias })).status).toBe(201);
    const aliases = async (q: string) => (await s.api("GET", `/projects?${q}`)).body.data.projects.map((p: { alias: string }) => p.alias).filter((a: string) => a.startsWith("sort-"));
    expect(await aliases("sort_by=alias&sort_order=asc&limit=100")).toEqual(["sort-a", "sort-m", "sort-z"]);
    expect(await aliases("sort_by=alias&sort_order=desc&limit=100")).toEqual(["sort-z", "sort-m", "sort-a"]);
    // Creation order, newest first (the default is oldest first).
    expect(await aliases("sort_by=created_at&sort_order=desc&limit=100")).toEqual(["sort-a", "sort-z", "sort-m"]);
    expect(await aliases("limit=100")).toEqual(["sort-m", "sort-z", "sort-a"]);
    const all = (await s.api("GET", "/projects?sort_by=alias&limit=100")).body.data.projects.map((p: { alias: string }) => p.alias);
    const page2 = await s.api("GET", "/projects?sort_by=alias&limit=1&page=2");
    expect(page2.body.data.projects.map((p: { alias: string }) => p.alias)).toEqual([all[1]]);
    expect(page2.body.data.pagination).toMatchObject({ page: 2, limit: 1, total: all.length });
    expect((await s.api("GET", "/projects?sort_by=color")).body.code).toBe("VALIDATION_ERROR");
    expect((await s.api("GET", "/projects?realm_id=r1")).body.code).toBe("FEATURE_NOT_OFFERED");
  });

  it("deletes a project with its containers: each erased with a receipt, gone from LXC and the pool", async () => {
    const p = (await s.api("POST", "/projects", { alias: "doomed" })).body.data.id;
    const ids: string[] = [];
    for (const name of ["doomed-1", "doomed-2"]) ids.push((await s.api("POST", `/projects/${p}/containers`, { name, container_image: "mini" })).body.data.id);
    await s.api("POST", `/containers/${ids[0]}/snapshots`, { alias: "before" });
    const token = (await s.api("POST", "/tokens", { name: "doomed-token", project_id: p })).body.data;
    // Live control: they exist where the checks below look.
    for (const id of ids) expect(await lxcState(id)).toBe("RUNNING");
    const vols = await subvolumes();
    for (const id of ids) expect(vols.some((l) => l.endsWith(`tenants/${engineNames.get(id)}`))).toBe(true);

    const d = await s.api("DELETE", `/projects/${p}?include_deleted_items=true`);
    expect(d.status).toBe(200);
    expect(d.body.data.deleted).toMatchObject({ containers: 2, permissions: 0, aliases: 0, tokens: 1 });
    expect(d.body.data.deleted_items.containers).toEqual([
      { id: ids[0], name: "doomed-1" },
      { id: ids[1], name: "doomed-2" },
    ]);
    const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts;
    for (const [i, id] of ids.entries()) {
      const r = receipts.find((x: { receipt_id: string }) => x.receipt_id === d.body.data.receipts[i]);
      expect(r).toMatchObject({ container_id: id, project_id: p });
      expect(await lxcState(id)).toBe("GONE");
    }
    const after = await subvolumes();
    for (const id of ids) expect(after.some((l) => l.includes(`/${engineNames.get(id)}`))).toBe(false);
    expect((await s.api("GET", `/projects/${p}`)).status).toBe(404);
    expect((await s.api("GET", "/containers", undefined, { token: token.token })).body.code).toBe("INVALID_TOKEN");
    // Without include_deleted_items the list is left out; an empty project deletes as before.
    const e = (await s.api("POST", "/projects", { alias: "empty" })).body.data.id;
    const de = await s.api("DELETE", `/projects/${e}`);
    expect(de.body.data.deleted.containers).toBe(0);
    expect(de.body.data.deleted_items).toBeUndefined();
  });

  it("stops at an erasure that fails: the project stays with what remains, the answer says what was erased", async () => {
    const p = (await s.api("POST", "/projects", { alias: "stuck" })).body.data.id;
    const first = (await s.api("POST", `/projects/${p}/containers`, { name: "stuck-1", container_image: "mini" })).body.data.id;
    const second = (await s.api("POST", `/projects/${p}/containers`, { name: "stuck-2", container_image: "mini" })).body.data.id;
    // A stray mount inside the second tenant's filesystem: the daemon refuses to erase under it.
    await engineOf(first);
    const mnt = path.join(s.host.poolPath, "tenants", await engineOf(second), "stray-mount");
    await fs.mkdir(mnt);
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "stray", mnt]);
    let mounted = true;
    try {
      const d = await s.api("DELETE", `/projects/${p}`);
      expect(d.status).toBeGreaterThanOrEqual(500);
      expect(d.body.code).toBe("PROJECT_DELETE_INCOMPLETE");
      expect(d.body.data.erased.map((x: { id: string }) => x.id)).toEqual([first]);
      expect(d.body.data.failed.id).toBe(second);
      expect(d.body.data.remaining).toBe(1);
      expect(await lxcState(first)).toBe("GONE");
      expect(await lxcState(second)).not.toBe("GONE");
      const kept = await s.api("GET", `/projects/${p}`);
      expect([kept.status, kept.body.data.container_count]).toEqual([200, 1]);
      const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts;
      expect(receipts.some((r: { container_id: string }) => r.container_id === first)).toBe(true);
      expect(receipts.some((r: { container_id: string }) => r.container_id === second)).toBe(false);
      await execa("umount", [mnt]);
      mounted = false;
      const again = await s.api("DELETE", `/projects/${p}`);
      expect([again.status, again.body.data.deleted.containers]).toEqual([200, 1]);
      expect(await lxcState(second)).toBe("GONE");
    } finally {
      if (mounted) await execa("umount", [mnt], { reject: false });
    }
  });
});

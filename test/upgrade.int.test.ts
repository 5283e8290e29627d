// An install of the previous release, with running tenants, upgraded in place by this release's
// `npm run up` (issue 14: public ids became 24 hex). The previous release is commit 1c2c837, the
// last before the ids changed: its tree (git archive) runs its own `bin/hoody-up.ts` on a test data
// dir (own pool, ports, nft table, uid slice: TestHost.prepare, never /var/lib/hoody), its own web
// server makes the tenants through its HTTP API, and then this tree's `bin/hoody-up.ts` runs on the
// same data dir. Tenants must keep their init processes, old ids must still answer, and every
// tenant's data must be there under its new id.
// (`npm run up` is `setup-host.sh && tsx bin/hoody-up.ts`; setup-host.sh only installs packages and
// npm dependencies that npm test's own setup already installed, so both runs start at hoody-up.ts,
// as the restarts test does.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { TEST_CACHE_DIR, TestHost, freePort, httpGet, waitFor } from "../testkit/host-harness.js";

const ROOT = path.resolve(import.meta.dirname, "..");
/** The last release whose ids were `p`/`c` + 10 characters. */
const PREVIOUS = "1c2c837";
const HEX24 = /^[0-9a-f]{24}$/;

/**
 * The previous release's tree, with node_modules, kept under the test cache (its dashboard build,
 * made by its own `up`, is reused by later runs). node_modules is a hard-linked copy of this
 * checkout's when the lock files match (a symlink would put Next's module paths outside its root),
 * else its own `npm ci`.
 */
async function previousRelease(): Promise<string> {
  const dir = path.join(TEST_CACHE_DIR, "releases", PREVIOUS);
  if (await fs.stat(path.join(dir, ".hoody-release-ready")).catch(() => null)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  const commit = await execa("git", ["rev-parse", "--verify", `${PREVIOUS}^{commit}`], { cwd: ROOT, reject: false });
  if (commit.exitCode !== 0) throw new Error(`the upgrade test needs commit ${PREVIOUS} (the previous release) in this clone's history: ${commit.stderr}`);
  await execa("sh", ["-c", `git archive ${PREVIOUS} | tar -x -C '${tmp}'`], { cwd: ROOT });
  const [oldLock, lock] = await Promise.all([fs.readFile(path.join(tmp, "package-lock.json"), "utf8"), fs.readFile(path.join(ROOT, "package-lock.json"), "utf8")]);
  if (oldLock === lock) await execa("cp", ["-al", path.join(ROOT, "node_modules"), path.join(tmp, "node_modules")]);
  else await execa("npm", ["ci", "--no-audit", "--no-fund"], { cwd: tmp, stdio: "inherit" });
  await fs.writeFile(path.join(tmp, ".hoody-release-ready"), `${PREVIOUS}\n`);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
  return dir;
}

/** Status logs as either release answers them (a bare list, or `{logs, pagination}` as the SDK reads it). */
const logList = (data: any): any[] => (Array.isArray(data) ? data : data.logs);

/** lxc-info's init pid of a tenant by its engine name (0 when stopped). */
const initPid = async (h: TestHost, engineName: string) => Number((await h.lxc("lxc-info", engineName, "-pH")).stdout.trim() || 0);

describe("upgrading an install of the previous release in place", () => {
  let h: TestHost;
  let oldTree = "";
  let env: Record<string, string> = {};
  let token = "";
  const up = (tree: string, dist: string) =>
    execa(process.execPath, ["--import", "tsx", path.join(tree, "bin", "hoody-up.ts")], { cwd: tree, env: { ...env, HOODY_NEXT_DIST: dist }, reject: false, timeout: 900_000, all: true });
  const api = async (method: string, p: string, body?: unknown, auth = token) => {
    const r = await fetch(`http://127.0.0.1:${env.HOODY_PORT}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };

  // What the previous release made, by its ids.
  let project = "";
  let projectToken = "";
  const old: Record<"app" | "copy" | "sleeper" | "erased", any> = { app: null, copy: null, sleeper: null, erased: null };
  const pidsBefore: Record<string, number> = {};
  let logsBefore = 0;
  let upgraded: { exitCode?: number; all?: string } = {};

  beforeAll(async () => {
    oldTree = await previousRelease();
    h = await TestHost.prepare();
    env = { ...(process.env as Record<string, string>), ...h.env, HOODY_PORT: String(await freePort()), HOODY_ROUTER_PORT: String(await freePort()) };

    const first = await up(oldTree, ".next-upgrade");
    expect(first.exitCode, first.all).toBe(0);
    token = (await fs.readFile(path.join(h.dir, "admin-token"), "utf8")).trim();
    project = (await api("POST", "/projects", { alias: "before-upgrade" })).body.data.id;
    projectToken = (await api("POST", "/tokens", { name: "project-scoped", project_id: project })).body.data.token;
    const create = async (body: Record<string, unknown>) => {
      const r = await api("POST", `/projects/${project}/containers`, { template: "mini", ...body });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.data;
    };
    old.app = await create({ name: "keeps-running", environment_vars: { PLAN: "pro" } });
    expect((await api("POST", `/containers/${old.app.id}/snapshots`, { alias: "nightly" })).status).toBe(201);
    expect((await api("POST", `/containers/${old.app.id}/firewall/ingress`, { action: "allow", protocol: "tcp", destination_port: "9000", description: "kept" })).status).toBe(201);
    expect((await api("POST", `/containers/${old.app.id}/restart`)).status).toBe(200);
    old.copy = (await api("POST", `/containers/${old.app.id}/copy`, { target_project_id: project, name: "its-copy" })).body.data;
    old.sleeper = await create({ name: "sleeps", autostart: false });
    old.erased = await create({ name: "erased-later", environment_vars: { SECRET: "gone-after-erase" } });
    expect((await api("PUT", "/scripts/stripe-webhook/settings", { project_id: project })).status).toBe(200);
    for (const c of Object.values(old)) expect(c.id).toMatch(/^c[a-z0-9]{10}$/);
    expect(project).toMatch(/^p[a-z0-9]{10}$/);

    for (const c of [old.app, old.copy, old.erased])
      await waitFor(
        () =>
          httpGet(`http://${c.ip}:8080/`).then(
            (r) => r.status === 200,
            () => false,
          ),
        30_000,
      );
    // The previous release's engine names are its public ids.
    for (const c of Object.values(old)) pidsBefore[c.id] = await initPid(h, c.id);
    logsBefore = logList((await api("GET", `/containers/${old.app.id}/status-logs`)).body.data).length;

    upgraded = await up(ROOT, process.env.HOODY_NEXT_DIST ?? ".next-test");
  });

  afterAll(async () => {
    // Whichever release's services run now: down stops them by their pid files in the data dir.
    if (h) await execa(process.execPath, ["--import", "tsx", path.join(ROOT, "bin", "hoody-down.ts")], { cwd: ROOT, env, reject: false });
    await h?.stop();
  });

  it("this release's up migrates the database and restarts its services; every tenant keeps its init process", async () => {
    expect(upgraded.exitCode, upgraded.all).toBe(0);
    expect(upgraded.all).toMatch(/dashboard: started \(restarted: code changed\)/);
    expect(upgraded.all).toMatch(/host daemon: started \(restarted: code changed\)/);
    for (const c of Object.values(old)) expect(await initPid(h, c.id), c.name).toBe(pidsBefore[c.id]);
    expect(pidsBefore[old.app.id]).toBeGreaterThan(0);
    expect(pidsBefore[old.sleeper.id]).toBe(0);
    for (const c of [old.app, old.copy, old.erased]) expect((await httpGet(`http://${c.ip}:8080/`)).status).toBe(200);
  });

  it("old ids still answer (an alias of the row, not a redirect); new ids are 24 hex and the engine name is the old id", async () => {
    const p = await api("GET", `/projects/${project}`);
    expect(p.status).toBe(200);
    expect(p.body.data.id).toMatch(HEX24);
    for (const c of Object.values(old)) {
      const r = await api("GET", `/containers/${c.id}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.data).toMatchObject({ name: c.name, engine_name: c.id, project_id: p.body.data.id, ip: c.ip, url: c.url });
      expect(r.body.data.id).toMatch(HEX24);
      // The new id is stamped with the creation time, as new ids are.
      expect(Math.abs(parseInt(r.body.data.id.slice(0, 8), 16) - Math.floor(Date.parse(c.created_at) / 1000))).toBeLessThanOrEqual(1);
    }
    expect((await api("GET", `/containers/${old.app.id}`)).body.data.status).toBe("running");
    expect((await api("GET", `/containers/${old.sleeper.id}`)).body.data.status).toBe("stopped");
    const listed = (await api("GET", `/projects/${project}/containers?limit=100`)).body.data.containers;
    expect(listed).toHaveLength(4);
    for (const c of listed) expect(c.id).toMatch(HEX24);
    // Control: an id of the old shape that never existed is still not found.
    expect((await api("GET", "/containers/c0000000000")).body.code).toBe("CONTAINER_NOT_FOUND");
  });

  it("env, snapshots, firewall rules, status logs, audit entries, the copy's source and tokens survive under the new ids", async () => {
    const app = (await api("GET", `/containers/${old.app.id}`)).body.data;
    const id = app.id;
    expect((await api("GET", `/containers/${id}/env`)).body.data.environment_vars).toMatchObject({ PLAN: "pro" });
    expect((await api("GET", `/containers/${id}/snapshots`)).body.data.snapshots.map((s: any) => s.alias)).toEqual(["nightly"]);
    expect((await api("GET", `/containers/${id}/firewall/rules`)).body.data.ingress).toContainEqual(expect.objectContaining({ destination_port: "9000", description: "kept" }));
    const logs = logList((await api("GET", `/containers/${id}/status-logs?limit=100`)).body.data);
    expect(logs.length).toBe(logsBefore);
    expect(logs.some((l: any) => l.metadata?.operation === "restart")).toBe(true);
    const audit = (await api("GET", `/audit?target=container:${id}&limit=100`)).body.data.entries.map((e: any) => e.action);
    expect(audit).toEqual(expect.arrayContaining(["container.create", "snapshot.create", "firewall.add", "container.restart"]));
    // The audit filter by an old id finds the same entries.
    expect((await api("GET", `/audit?target=container:${old.app.id}&limit=100`)).body.data.entries.map((e: any) => e.action)).toEqual(
      (await api("GET", `/audit?target=container:${id}&limit=100`)).body.data.entries.map((e: any) => e.action),
    );
    expect((await api("GET", `/containers/${old.copy.id}`)).body.data.source_container_id).toBe(id);
    // The project's token (made before the upgrade) sees its project under the new id.
    const scoped = await api("GET", "/containers?limit=100", undefined, projectToken);
    expect(scoped.status).toBe(200);
    expect(scoped.body.data.containers.map((c: any) => c.id).sort()).toEqual((await api("GET", `/projects/${project}/containers?limit=100`)).body.data.containers.map((c: any) => c.id).sort());
    // The exec script's project setting follows the project.
    const scripts = (await api("GET", "/scripts")).body.data.scripts;
    expect(scripts.find((x: any) => x.name === "stripe-webhook").settings.project_id).toBe(app.project_id);
  });

  it("calls by an old id reach the engine by its engine name: exec, stop and start, snapshot restore", async () => {
    const exec = await api("POST", `/containers/${old.app.id}/exec`, { command: ["/bin/sh", "-c", "echo $PLAN"] });
    expect(exec.body.data?.stdout, JSON.stringify(exec.body)).toBe("pro\n");
    expect((await api("POST", `/containers/${old.sleeper.id}/start`)).status).toBe(200);
    expect(await initPid(h, old.sleeper.id)).toBeGreaterThan(0);
    expect((await api("POST", `/containers/${old.sleeper.id}/stop`)).status).toBe(200);
    expect((await h.lxc("lxc-info", old.sleeper.id, "-sH")).stdout.trim()).toBe("STOPPED");
    expect((await api("PUT", `/containers/${old.app.id}/snapshots/nightly`)).status).toBe(200);
    expect((await api("GET", `/containers/${old.app.id}`)).body.data.status).toBe("running");
    // A container made now has a 24-hex id and an engine name of the engine's own shape.
    const fresh = await api("POST", `/projects/${project}/containers`, { template: "mini", name: "after-upgrade" });
    expect(fresh.status).toBe(201);
    expect(fresh.body.data.id).toMatch(HEX24);
    expect(fresh.body.data.engine_name).toMatch(/^c[a-z0-9]{10}$/);
  });

  it("erasing a migrated container by its old id removes its alias too, and the receipt says so", async () => {
    const newId = (await api("GET", `/containers/${old.erased.id}`)).body.data.id;
    const del = await api("DELETE", `/containers/${old.erased.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.data.container_id).toBe(newId);
    expect(del.body.data.erased.database).toContain("1 old id alias(es)");
    expect((await api("GET", `/containers/${old.erased.id}`)).body.code).toBe("CONTAINER_NOT_FOUND");
    expect((await api("GET", `/containers/${newId}`)).body.code).toBe("CONTAINER_NOT_FOUND");
    const db = new Database(path.join(h.dir, "hoody.db"), { readonly: true });
    try {
      expect(db.prepare("SELECT * FROM id_aliases WHERE old_id = ? OR new_id = ?").all(old.erased.id, newId)).toEqual([]);
      const audit = JSON.stringify(db.prepare("SELECT * FROM audit_log").all());
      expect(audit).not.toContain(newId);
      expect(audit).not.toContain(old.erased.id);
      // Control: the other migrated containers keep their aliases.
      expect(db.prepare("SELECT count(*) AS n FROM id_aliases WHERE kind = 'container'").get()).toEqual({ n: 3 });
    } finally {
      db.close();
    }
    expect((await execa("btrfs", ["subvolume", "list", h.poolPath])).stdout).not.toContain(old.erased.id);
  });
});

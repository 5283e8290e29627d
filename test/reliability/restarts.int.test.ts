// Restarting any part of Hoody leaves every running tenant running (the same init process, not a
// restarted one), and stopped tenants stopped: the host daemon (graceful and kill -9), the web server
// (graceful and kill -9), and `npm run up` run again on a system that is up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { TestStack } from "../../testkit/stack-harness.js";
import { TestHost, freePort, httpGet, waitFor } from "../../testkit/host-harness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Each tenant's init pid per lxc-info (0 when stopped; LXC knows it by its engine name): a restarted tenant gets a new one. */
async function initPids(h: TestHost, tenants: { id: string; engine_name: string }[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tenants) out[t.id] = Number((await h.lxc("lxc-info", t.engine_name, "-pH")).stdout.trim() || 0);
  return out;
}

describe("restarting the stack's parts", () => {
  let s: TestStack;
  const ids: string[] = [];
  const made: { id: string; engine_name: string }[] = [];
  let stoppedId = "";
  let stoppedEngine = "";

  beforeAll(async () => {
    s = await TestStack.create();
    const project = (await s.api("POST", "/projects", { alias: "restarts" })).body.data.id;
    for (const name of ["one", "two", "three"]) {
      const r = await s.api("POST", `/projects/${project}/containers`, { name, template: "mini" });
      expect(r.status).toBe(201);
      ids.push(r.body.data.id);
      made.push(r.body.data);
    }
    const sleeper = (await s.api("POST", `/projects/${project}/containers`, { name: "sleeper", template: "mini", autostart: false })).body.data;
    stoppedId = sleeper.id;
    stoppedEngine = sleeper.engine_name;
  });
  afterAll(async () => {
    await s?.stop();
  });

  const expectUnchanged = async (before: Record<string, number>) => {
    expect(await initPids(s.host, made)).toEqual(before);
    expect((await s.host.lxc("lxc-info", stoppedEngine, "-sH")).stdout.trim()).toBe("STOPPED");
    for (const id of ids) {
      const c = (await s.api("GET", `/containers/${id}`)).body.data;
      expect(c.status).toBe("running");
      expect((await waitFor(() => httpGet(`http://${c.ip}:8080/`).catch(() => null))).status).toBe(200);
    }
    expect((await s.api("GET", `/containers/${stoppedId}`)).body.data.status).toBe("stopped");
  };

  it("host daemon: a graceful restart and a kill -9 leave tenants running with the same init", async () => {
    const before = await initPids(s.host, made);
    expect(Object.values(before).every((p) => p > 0)).toBe(true);
    const daemon = s.host.daemon!;
    const exited = new Promise((r) => daemon.once("exit", r));
    daemon.kill("SIGTERM");
    await exited;
    await s.host.startDaemon();
    await expectUnchanged(before);
    await s.host.killDaemon();
    await s.host.startDaemon();
    await expectUnchanged(before);
  });

  it("host daemon killed between a start's hook and its detach: the next one detaches the host's copy of the tenant's /proc", async () => {
    const before = await initPids(s.host, made);
    const engine = made[0]!.engine_name;
    const point = path.join(s.host.dir, "proc", engine);
    const stage = `${point}.stage`;
    const mounted = async (p: string) => (await execa("findmnt", ["-rn", "-M", p], { reject: false })).exitCode === 0;
    await s.host.killDaemon();
    // What the hook leaves on the host until the daemon's detach: a procfs of the tenant's pid
    // namespace at the point, and the hook's scratch tmpfs at the stage.
    await fs.mkdir(stage, { recursive: true });
    await execa("mount", ["-t", "tmpfs", "-o", "size=16k,mode=700", "hoody-stage", stage]);
    await execa("nsenter", ["--target", String(before[made[0]!.id]), "--pid", "--", "mount", "-t", "proc", "proc", point]);
    expect(await mounted(point)).toBe(true);
    expect(await mounted(stage)).toBe(true);
    await s.host.startDaemon();
    expect(await mounted(point)).toBe(false);
    expect(await mounted(stage)).toBe(false);
    // The tenant keeps its own /proc (a copy, not the host's): its init is still pid 1 there.
    expect((await s.host.lxc("lxc-attach", engine, "--", "cat", "/proc/1/cmdline")).stdout).toContain("init");
    await expectUnchanged(before);
  });

  it("web server: a kill -9 and a restart leave tenants running; the reconciler repairs nothing", async () => {
    const before = await initPids(s.host, made);
    await s.killWeb();
    await s.startWeb();
    await expectUnchanged(before);
    const rec = await s.api("POST", "/reconcile");
    expect(rec.status).toBe(200);
    expect(JSON.stringify(rec.body.data)).not.toMatch(/"(removed|failed|repaired)":\[[^\]]/);
  });
});

describe("npm run up, run again", () => {
  let h: TestHost;
  let env: Record<string, string>;
  const upScript = (name: string) => execa(process.execPath, ["--import", "tsx", path.join(ROOT, "bin", name)], { cwd: ROOT, env, reject: false, timeout: 600_000, all: true });

  beforeAll(async () => {
    h = await TestHost.prepare();
    // The test build npm test made, so up finds a current dashboard build instead of making .next.
    env = {
      ...(process.env as Record<string, string>),
      ...h.env,
      HOODY_PORT: String(await freePort()),
      HOODY_ROUTER_PORT: String(await freePort()),
      HOODY_NEXT_DIST: process.env.HOODY_NEXT_DIST ?? ".next-test",
    };
  });
  afterAll(async () => {
    if (env) await upScript("hoody-down.ts");
    await h?.stop();
  });

  it("starts everything once; a second run changes nothing and every tenant keeps its init", async () => {
    const first = await upScript("hoody-up.ts");
    expect(first.exitCode, first.all).toBe(0);
    expect(first.all).toContain("Hoody is up.");
    const token = (await fs.readFile(path.join(h.dir, "admin-token"), "utf8")).trim();
    const api = (method: string, p: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${env.HOODY_PORT}/api/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.json() as Promise<any>);
    const project = (await api("POST", "/projects", { alias: "up-again" })).data.id;
    const made: { id: string; engine_name: string; ip: string }[] = [];
    for (const template of ["mini", "starter"]) made.push((await api("POST", `/projects/${project}/containers`, { template })).data);
    await waitFor(
      async () =>
        (
          await Promise.all(
            made.map((c) =>
              httpGet(`http://${c.ip}:8080/`).then(
                (r) => r.status === 200,
                () => false,
              ),
            ),
          )
        ).every(Boolean),
      30_000,
    );
    const before = await initPids(h, made);
    const servicePids = async () => Object.fromEntries(await Promise.all(["hostd", "web", "router"].map(async (n) => [n, await fs.readFile(path.join(h.dir, "run", `${n}.pid`), "utf8")])));
    const servicesBefore = await servicePids();

    const second = await upScript("hoody-up.ts");
    expect(second.exitCode, second.all).toBe(0);
    expect(second.all).not.toMatch(/restarted|building the dashboard/);
    expect(await servicePids()).toEqual(servicesBefore);
    expect(await initPids(h, made)).toEqual(before);
    for (const c of made) expect((await httpGet(`http://${c.ip}:8080/`)).status).toBe(200);
  });
});

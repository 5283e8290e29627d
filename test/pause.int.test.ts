// Pause and resume on the real stack: the kernel's freezer holds the tenant's processes (a counter
// its loop writes stops, and moves again after the resume), the router answers 503 TENANT_PAUSED
// instead of waking it, the idle stopper leaves it alone, a stop of a paused tenant works, and every
// transition is checked, logged and audited.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestStack } from "../testkit/stack-harness.js";
import { waitFor } from "../testkit/host-harness.js";

let s: TestStack;
let project: string;

beforeAll(async () => {
  s = await TestStack.create({ templates: ["mini"] });
  await s.startRouter();
  project = (await s.api("POST", "/projects", { alias: "pause" })).body.data.id;
});
afterAll(async () => {
  if (s && process.env.HOODY_TEST_VERBOSE) console.log(s.routerLog);
  await s?.stop();
});

const create = async (name: string, body: Record<string, unknown> = {}) => {
  const r = await s.api("POST", `/projects/${project}/containers`, { template: "mini", name, idle_timeout_s: 0, ...body });
  expect(r.status).toBe(201);
  return r.body.data as { id: string; engine_name: string; status: string };
};
const op = (id: string, name: string) => s.api("POST", `/containers/${id}/${name}`);
const status = async (id: string) => (await s.api("GET", `/containers/${id}`)).body.data.status as string;

/** The tenant's container cgroup in the unified tree (all of /sys/fs/cgroup on pure v2), read as the kernel reports it. */
const unifiedRoot = fs.existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
const cgroupEvents = (engineName: string) => fs.readFileSync(`${unifiedRoot}/hoody.tenants/${engineName}/payload/cgroup.events`, "utf8");

async function initPid(engineName: string): Promise<number> {
  const pid = Number((await s.host.lxc("lxc-info", engineName, "-pH")).stdout.trim());
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** The value the tenant's loop last wrote, read from the host through its init's root (works while frozen). */
const counter = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/root/ramdisk/counter`, "utf8").trim() || "0");

/** How much the counter moved in `ms`: the same window for the paused check and its live control. */
async function advanceOver(pid: number, ms: number): Promise<number> {
  const a = counter(pid);
  await new Promise((r) => setTimeout(r, ms));
  return counter(pid) - a;
}

describe("pause and resume", () => {
  it("freezes the tenant's processes in place, refuses its URL with TENANT_PAUSED, and resumes it", async () => {
    const c = await create("frosty");
    const engineName = c.engine_name; // what LXC and the cgroup tree call it
    const ok = await waitFor(async () => ((await s.viaRouter("frosty")).status === 200 ? true : null), 20_000);
    expect(ok).toBe(true);
    // A loop in the tenant that counts every 50 ms into its ramdisk; its pipes closed so exec returns at once.
    const loop = await s.api("POST", `/containers/${c.id}/exec`, {
      command: ["/bin/sh", "-c", "(i=0; while :; do i=$((i+1)); echo $i > /ramdisk/counter; sleep 0.05; done) </dev/null >/dev/null 2>&1 &"],
      timeout: 10,
    });
    expect(loop.status).toBe(200);
    const pid = await initPid(engineName);
    await waitFor(() => fs.existsSync(`/proc/${pid}/root/ramdisk/counter`) && counter(pid) > 0, 10_000);
    // Live control before: the probe moves.
    expect(await advanceOver(pid, 1000)).toBeGreaterThan(5);
    expect(cgroupEvents(engineName)).toMatch(/^frozen 0$/m);

    const paused = await op(c.id, "pause");
    expect(paused.status).toBe(200);
    // The SDK's ApiContainersManageResponse: {error?: boolean, operation, container_id, project_id, message, status}.
    expect(paused.body.data).toMatchObject({ operation: "pause", container_id: c.id, project_id: project, status: "paused", error: false });
    expect(typeof paused.body.data.message).toBe("string");
    // The kernel says the whole container cgroup is frozen (every task stopped), not only that it was asked.
    expect(cgroupEvents(engineName)).toMatch(/^frozen 1$/m);
    expect(await advanceOver(pid, 1000)).toBe(0);
    expect(await status(c.id)).toBe("paused");

    // The router does not wake or resume it: 503 with a stable code and no Retry-After (it is deliberate).
    const html = await s.viaRouter("frosty");
    expect(html.status).toBe(503);
    expect(html.headers["x-hoody-router"]).toBe("TENANT_PAUSED");
    expect(html.headers["retry-after"]).toBeUndefined();
    const json = await s.viaRouter("frosty", "/", { headers: { accept: "application/json" } });
    expect(json.status).toBe(503);
    expect(JSON.parse(json.body)).toMatchObject({ statusCode: 503, code: "TENANT_PAUSED" });
    expect(await advanceOver(pid, 300)).toBe(0);
    expect(await status(c.id)).toBe("paused");

    // Lists filter on it as on any engine status.
    const pausedList = (await s.api("GET", `/projects/${project}/containers?status=paused`)).body.data.containers.map((x: { id: string }) => x.id);
    expect(pausedList).toContain(c.id);
    const runningList = (await s.api("GET", `/projects/${project}/containers?status=running`)).body.data.containers.map((x: { id: string }) => x.id);
    expect(runningList).not.toContain(c.id);

    // Transitions a paused tenant does not allow change nothing.
    for (const name of ["pause", "start", "restart"]) {
      const r = await op(c.id, name);
      expect(r.status, name).toBe(409);
      expect(r.body.code, name).toBe("INVALID_STATE_TRANSITION");
    }
    const exec = await s.api("POST", `/containers/${c.id}/exec`, { command: ["/bin/true"], timeout: 5 });
    expect(exec.status).toBe(409);
    expect(cgroupEvents(engineName)).toMatch(/^frozen 1$/m);
    expect(await status(c.id)).toBe("paused");

    const resumed = await op(c.id, "resume");
    expect(resumed.status).toBe(200);
    expect(resumed.body.data).toMatchObject({ operation: "resume", container_id: c.id, status: "running", error: false });
    expect(cgroupEvents(engineName)).toMatch(/^frozen 0$/m);
    // The same processes go on (same init, same loop): the counter moves from where it stopped.
    expect(await initPid(engineName)).toBe(pid);
    expect(await advanceOver(pid, 1000)).toBeGreaterThan(5);
    const after = await s.viaRouter("frosty");
    expect(after.status).toBe(200);
    expect(after.body).toContain("hello from frosty");
    const again = await op(c.id, "resume");
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("INVALID_STATE_TRANSITION");

    // Status logs and the audit log record both transitions.
    const logs = (await s.api("GET", `/containers/${c.id}/status-logs`)).body.data;
    const entries = (Array.isArray(logs) ? logs : logs.logs) as { from_status: string; to_status: string; metadata: { operation?: string } }[];
    expect(entries.filter((e) => e.metadata?.operation === "pause").map((e) => [e.from_status, e.to_status])).toEqual([["running", "paused"]]);
    expect(entries.filter((e) => e.metadata?.operation === "resume").map((e) => [e.from_status, e.to_status])).toEqual([["paused", "running"]]);
    for (const action of ["container.pause", "container.resume"]) {
      const audit = (await s.api("GET", `/audit?action=${action}&target=container:${c.id}`)).body.data.entries as { action: string; result: string }[];
      expect(
        audit.map((e) => [e.action, e.result]),
        action,
      ).toContainEqual([action, "ok"]);
    }
    // The refused pause of a paused tenant is audited as refused.
    const refused = (await s.api("GET", `/audit?action=container.pause&target=container:${c.id}`)).body.data.entries as { result: string }[];
    expect(refused.map((e) => e.result)).toContain("error:INVALID_STATE_TRANSITION");
  });

  it("stops a paused tenant (graceful and forced), and its next run is not frozen", async () => {
    const c = await create("thaw-stop");
    const engineName = c.engine_name;
    for (const stop of ["stop", "force-stop"]) {
      expect((await op(c.id, "pause")).status, stop).toBe(200);
      expect(cgroupEvents(engineName)).toMatch(/^frozen 1$/m);
      const t0 = Date.now();
      const r = await op(c.id, stop);
      expect(r.status, stop).toBe(200);
      expect(r.body.data).toMatchObject({ operation: stop, status: "stopped", error: false });
      // Thawed first, the app handles its SIGTERM: no waiting out the stop timeout (3 s in the harness).
      expect(Date.now() - t0, stop).toBeLessThan(3000);
      expect((await s.host.lxc("lxc-info", engineName, "-sH")).stdout.trim()).toBe("STOPPED");
      const started = await op(c.id, "start");
      expect(started.body.data.status, stop).toBe("running");
      expect(cgroupEvents(engineName)).toMatch(/^frozen 0$/m);
      expect(await waitFor(async () => ((await s.viaRouter("thaw-stop")).status === 200 ? true : null), 20_000)).toBe(true);
    }
  });

  it("the idle stopper never stops a paused tenant", async () => {
    const held = await create("held");
    expect((await op(held.id, "pause")).status).toBe(200);
    expect((await s.api("PATCH", `/containers/${held.id}`, { idle_timeout_s: 1 })).status).toBe(200);
    // Live control, idle for the same time from after the pause: the router stops it.
    const control = await create("idle-control", { idle_timeout_s: 1 });
    await waitFor(async () => (await status(control.id)) === "stopped", 20_000, 200);
    expect(await status(held.id)).toBe("paused");
    expect(cgroupEvents(held.engine_name)).toMatch(/^frozen 1$/m);
    // Resumed, its idle clock starts again and the router stops it like any other idle tenant.
    expect((await op(held.id, "resume")).status).toBe(200);
    await waitFor(async () => (await status(held.id)) === "stopped", 20_000, 200);
  });
});

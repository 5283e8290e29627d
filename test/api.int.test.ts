// The REST API against the running stack: Next.js production build + real host daemon + real
// LXC/BTRFS/nft. Every route is exercised for auth, scoping, validation and success.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { Validator } from "@seriousme/openapi-schema-validator";
import { routes } from "../server/rest/routes";
import { TestStack } from "../testkit/stack-harness.js";
import { httpGet, waitFor } from "../testkit/host-harness.js";

// The same suite runs against the embedded host engine (default) and Incus (`npm run test:incus`
// sets HOODY_TEST_ENGINE=incus: a real incusd of our own, see testkit/incus-harness.ts).
const ENGINE = (process.env.HOODY_TEST_ENGINE ?? "host") as "host" | "incus";
let s: TestStack;
let projectA: string;
let projectB: string;
let tokenB: string;
let c1: any;

const fill = (p: string, ids: Record<string, string>) => p.replace(/\{(\w+)\}/g, (_, k: string) => ids[k] ?? "x");
/** RUNNING / STOPPED as the engine's own tool sees it: lxc-info, or Incus's API. */
async function engineState(id: string): Promise<string> {
  if (!s.incus) return (await s.host.lxc("lxc-info", id, "-sH")).stdout.trim();
  const st = await s.incus.client.get<{ status: string }>(`/1.0/instances/${id}/state`);
  return st.status.toUpperCase();
}
/** Whether the engine's freezer holds the tenant: the kernel's cgroup.events of its container cgroup, or Incus's "Frozen". */
async function engineFrozen(id: string): Promise<boolean> {
  if (!s.incus) {
    const unified = existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
    return /^frozen 1$/m.test(await fs.readFile(`${unified}/hoody.tenants/${id}/payload/cgroup.events`, "utf8"));
  }
  return (await s.incus.client.get<{ status: string }>(`/1.0/instances/${id}/state`)).status === "Frozen";
}
/** Tenant root filesystems the engine holds: BTRFS subvolumes under tenants/, or Incus tenant instances. */
async function engineTenantCount(): Promise<number> {
  if (!s.incus) return (await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout.split("\n").filter((l) => l.includes("tenants/")).length;
  const list = await s.incus.client.get<{ config: Record<string, string> }[]>("/1.0/instances", { recursion: 1 });
  return list.filter((i) => i.config["user.hoody.kind"] === "tenant").length;
}
const probe = (from: string, ip: string) =>
  s.api("POST", `/containers/${from}/exec`, { command: ["/bin/sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} 8080 && echo REACHED || echo BLOCKED`] });

beforeAll(async () => {
  s = await TestStack.create({ engine: ENGINE });
  projectA = (await s.api("POST", "/projects", { alias: "alpha" })).body.data.id;
  projectB = (await s.api("POST", "/projects", { alias: "beta", max_containers: 5 })).body.data.id;
  tokenB = (await s.api("POST", "/tokens", { name: "beta-only", project_id: projectB })).body.data.token;
  const r = await s.api("POST", `/projects/${projectA}/containers`, { name: "acme-corp", template: "mini", environment_vars: { PLAN: "pro" } });
  expect(r.status).toBe(201);
  c1 = r.body.data;
});
afterAll(async () => {
  await s?.stop();
});

describe("auth", () => {
  it("answers 401 MISSING_TOKEN on every route without a token, and INVALID_TOKEN with a bad one", async () => {
    const ids = { id: c1.id, key: "PLAN", name: "snap", direction: "ingress" };
    for (const r of routes) {
      const p = fill(r.path, r.path.startsWith("/projects") ? { ...ids, id: projectA } : r.path.startsWith("/tokens") ? { id: "kaaaaaaaaaa" } : ids);
      const a = await s.api(r.method, p, r.body ? {} : undefined, { token: null });
      expect(a.status, `${r.method} ${p}`).toBe(401);
      expect(a.body.code).toBe("MISSING_TOKEN");
      expect(a.body).toMatchObject({ statusCode: 401, error: "Unauthorized" });
      const b = await s.api(r.method, p, r.body ? {} : undefined, { token: "hdy_not-a-real-token" });
      expect(b.body.code, `${r.method} ${p}`).toBe("INVALID_TOKEN");
    }
  });

  it("refuses a revoked token", async () => {
    const t = (await s.api("POST", "/tokens", { name: "short-lived", project_id: projectA })).body.data;
    expect((await s.api("GET", "/containers", undefined, { token: t.token })).status).toBe(200);
    expect((await s.api("DELETE", `/tokens/${t.id}`)).status).toBe(200);
    const r = await s.api("GET", "/containers", undefined, { token: t.token });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe("TOKEN_REVOKED");
    const listed = (await s.api("GET", "/tokens")).body.data.tokens;
    expect(listed.find((x: any) => x.id === t.id).revoked_at).toBeTruthy();
    expect(JSON.stringify(listed)).not.toContain(t.token);
  });

  it("hides another project's containers behind 404 on every container route", async () => {
    const ids = { id: c1.id, key: "PLAN", name: "snap", direction: "ingress" };
    for (const r of routes.filter((x) => x.path.startsWith("/containers/{id}"))) {
      const a = await s.api(r.method, fill(r.path, ids), r.body ? bodyFor(r.path) : undefined, { token: tokenB });
      expect(a.status, `${r.method} ${r.path}`).toBe(404);
      expect(a.body.code).toMatch(/CONTAINER_NOT_FOUND/);
    }
    const list = await s.api("GET", "/containers", undefined, { token: tokenB });
    expect(list.body.data.containers).toEqual([]);
    expect((await s.api("GET", `/projects/${projectA}`, undefined, { token: tokenB })).status).toBe(404);
    expect((await s.api("POST", "/projects", { alias: "x" }, { token: tokenB })).body.code).toBe("RESOURCE_ACCESS_DENIED");
  });
});

function bodyFor(p: string): unknown {
  if (p.endsWith("/copy")) return { target_project_id: "paaaaaaaaaa" };
  if (p.endsWith("/exec")) return { command: ["true"] };
  if (p.endsWith("/env/{key}")) return { value: "v" };
  if (p.endsWith("/env")) return { A: "b" };
  if (p.endsWith("/alias")) return { alias: "a" };
  if (p.includes("/firewall/{direction}")) return { action: "allow", index: 0 };
  return {};
}

describe("containers", () => {
  it("creates a running tenant with its URL in one call", async () => {
    expect(c1).toMatchObject({ name: "acme-corp", project_id: projectA, template: "mini", status: "running", url: "http://acme-corp.localhost:8080/" });
    expect(c1.environment_vars).toMatchObject({ PLAN: "pro", TENANT_NAME: "acme-corp" });
    expect(await engineState(c1.engine_name)).toBe("RUNNING");
    expect((await httpGet(`http://${c1.ip}:8080/`)).body).toContain("hello from acme-corp");
  });

  it("gives projects and containers 24-hex ids (Hoody's SDK checks them); the engine keeps its own short name", async () => {
    for (const id of [projectA, projectB, c1.id]) expect(id).toMatch(/^[0-9a-f]{24}$/);
    // 4 bytes of creation seconds first: ids sort by creation.
    expect(Math.abs(parseInt(c1.id.slice(0, 8), 16) - Date.parse(c1.created_at) / 1000)).toBeLessThan(5);
    expect(c1.engine_name).toMatch(/^c[a-z0-9]{10}$/);
    // An id of the old shape that is no alias is simply not found; a malformed one too.
    expect((await s.api("GET", "/containers/c0000000000")).body.code).toBe("CONTAINER_NOT_FOUND");
    expect((await s.api("GET", "/projects/p0000000000")).body.code).toBe("PROJECT_NOT_FOUND");
    // The engine name is not an API id: the container is not found by it.
    expect((await s.api("GET", `/containers/${c1.engine_name}`)).body.code).toBe("CONTAINER_NOT_FOUND");
    expect((await s.api("GET", `/containers/${c1.id.toUpperCase()}`)).body.code).toBe("CONTAINER_NOT_FOUND");
    expect((await s.api("GET", `/containers/${c1.id}`)).body.data.id).toBe(c1.id);
  });

  it("gets a container with stats, lists with pagination, sorting and filters", async () => {
    const g = await s.api("GET", `/containers/${c1.id}`);
    expect(g.body.data.stats).toHaveProperty("delta_disk_bytes");
    expect(g.body.data.stats.memory_bytes).toBeGreaterThan(0);
    const extra = await s.api("POST", `/projects/${projectA}/containers`, { template: "mini", autostart: false });
    expect(extra.body.data.status).toBe("stopped");
    const list = await s.api("GET", `/projects/${projectA}/containers?limit=1&sort_by=name&sort_order=asc`);
    expect(list.body.data.pagination).toEqual({ total: 2, page: 1, limit: 1, totalPages: 2 });
    const stopped = await s.api("GET", `/containers?status=stopped`);
    expect(stopped.body.data.containers.map((c: any) => c.id)).toEqual([extra.body.data.id]);
    const st = (await s.api("GET", `/containers/${c1.id}/stats`)).body.data;
    // The SDK's structure, from the engine's cgroup, qgroup and interface counters; ours ride along.
    expect(st).toMatchObject({ id: c1.id, project_id: projectA, project_name: "alpha", status: "running", status_code: 103 });
    expect(st.processes).toBeGreaterThan(0);
    expect(st.pids).toBe(st.processes);
    expect(Date.parse(st.started_at)).toBeGreaterThan(Date.parse(c1.created_at) - 5000);
    expect(Date.parse(st.started_at)).toBeLessThanOrEqual(Date.now());
    expect(st.cpu.usage).toBeGreaterThan(0);
    expect(st.cpu.allocated_time).toBeGreaterThan(0);
    expect(st.cpu.usage_percent).toBeGreaterThanOrEqual(0);
    expect(st.memory.usage).toBeGreaterThan(0);
    expect(st.memory.total).toBeGreaterThanOrEqual(st.memory.usage);
    expect(st.memory.usage_peak).toBeGreaterThanOrEqual(st.memory.usage);
    expect(st.disk.root.total).toBeGreaterThan(0);
    expect(st.disk.root.usage).toBe(st.delta_disk_bytes);
    expect(typeof st.ksm_saved_bytes).toBe("number");
    expect(st.processing_time).toMatch(/^\d+(\.\d+)?ms$/);
    expect(st.network[0]).toMatchObject({ interface: "eth0", addresses: [{ address: c1.ip, family: "inet" }], state: "up" });
    // Counters move with traffic: a request to its app is bytes received and sent.
    const n0 = st.network[0].counters;
    await httpGet(`http://${c1.ip}:8080/`);
    const n1 = (await s.api("GET", `/containers/${c1.id}/stats`)).body.data.network[0].counters;
    expect(n1.bytes_received).toBeGreaterThan(n0.bytes_received);
    expect(n1.bytes_sent).toBeGreaterThan(n0.bytes_sent);
    expect(n1.packets_received).toBeGreaterThan(n0.packets_received);
    const stStopped = (await s.api("GET", `/containers/${extra.body.data.id}/stats`)).body.data;
    expect(stStopped).toMatchObject({ status: "stopped", status_code: 102, processes: 0, memory: { usage: 0 } });
    expect((await s.api("DELETE", `/containers/${extra.body.data.id}`)).status).toBe(200);
    expect((await s.api("GET", `/containers?limit=101`)).status).toBe(422);
  });

  it("rejects bad bodies with 422 and changes nothing", async () => {
    const before = (await s.api("GET", "/containers")).body.data.pagination.total;
    const bad: unknown[] = [
      { name: "../etc/passwd", template: "mini" },
      { name: "a;rm -rf /", template: "mini" },
      { name: "$(reboot)", template: "mini" },
      { name: "ünïcødé-name", template: "mini" },
      { name: "ab", template: "mini" },
      { template: "../mini" },
      { template: "mini", environment_vars: { "BAD KEY": "x" } },
      { template: "mini", environment_vars: { HOODY_X: "x" } },
      { template: "mini", environment_vars: { BIG: "x".repeat(1024 * 1024) } },
      { template: "mini", environment_vars: { A: 5 } },
      { template: "mini", environment_vars: "nope" },
      { template: "mini", autostart: "yes" },
      { template: "mini", limits: { memory_mib: 1 } },
      { template: "mini", unknown_field: 1 },
      [],
      "string",
    ];
    for (const b of bad) {
      const r = await s.api("POST", `/projects/${projectA}/containers`, b);
      expect(r.status, JSON.stringify(b).slice(0, 80)).toBe(422);
      expect(r.body.code).toMatch(/^[A-Z_]+$/);
    }
    const codes = await Promise.all([
      s.api("POST", `/projects/${projectA}/containers`, { template: "mini", environment_vars: { "BAD KEY": "x" } }),
      s.api("POST", `/projects/${projectA}/containers`, { template: "mini", environment_vars: { HOODY_X: "x" } }),
    ]);
    expect(codes.map((c) => c.body.code)).toEqual(["INVALID_ENV_KEY", "RESERVED_ENV_PREFIX"]);
    const invalidJson = await s.api("POST", `/projects/${projectA}/containers`, undefined, { raw: "{not json" });
    expect([invalidJson.status, invalidJson.body.code]).toEqual([422, "INVALID_JSON"]);
    const notFoundTpl = await s.api("POST", `/projects/${projectA}/containers`, { template: "nope" });
    expect(notFoundTpl.status).toBe(404);
    expect((await s.api("GET", "/containers/..%2F..%2Fetc")).status).toBe(404);
    expect((await s.api("GET", "/containers")).body.data.pagination.total).toBe(before);
    expect(await engineTenantCount()).toBe(before);
  });

  it("replays an idempotent create and refuses the key with another body", async () => {
    const key = `key-${Date.now()}`;
    const body = { template: "mini", name: "idem-one" };
    const a = await s.api("POST", `/projects/${projectA}/containers`, body, { headers: { "idempotency-key": key } });
    const b = await s.api("POST", `/projects/${projectA}/containers`, body, { headers: { "idempotency-key": key } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.data.id).toBe(a.body.data.id);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const c = await s.api("POST", `/projects/${projectA}/containers`, { ...body, name: "idem-two" }, { headers: { "idempotency-key": key } });
    expect([c.status, c.body.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"]);
    // Answers with secrets are never stored for replay: the token's secret is not in the database.
    const tok = await s.api("POST", "/tokens", { name: "idem-token" }, { headers: { "idempotency-key": `tok-${key}` } });
    expect(tok.status).toBe(201);
    const again = await s.api("POST", "/tokens", { name: "idem-token" }, { headers: { "idempotency-key": `tok-${key}` } });
    expect([again.status, again.body.code]).toEqual([409, "IDEMPOTENT_ANSWER_NOT_STORED"]);
    const raw = await execa("grep", ["-c", "-a", tok.body.data.token, path.join(s.host.dir, "hoody.db")], { reject: false });
    expect(raw.stdout.trim()).toBe("0");
    await s.api("DELETE", `/tokens/${tok.body.data.id}`);
    const named = (await s.api("GET", `/containers?search=idem`)).body.data.containers;
    expect(named.length).toBe(1);
    await s.api("DELETE", `/containers/${a.body.data.id}`);
  });

  it("changes env and the running tenant sees it (via exec); PUT/DELETE one key", async () => {
    const u = await s.api("PATCH", `/containers/${c1.id}`, { environment_vars: { PLAN: "enterprise", SEATS: "10" } });
    expect(u.status).toBe(200);
    expect(u.body.data.restarted).toBe(true);
    // The restarted init writes env.txt a moment after the answer: poll for it.
    const envTxt = async () => (await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "cat /tmp/www/env.txt"] })).body.data.stdout as string;
    const seen = await waitFor(async () => ((await envTxt()).includes("SEATS=10") ? envTxt() : null));
    expect(seen).toContain("PLAN=enterprise");
    expect(seen).toContain("SEATS=10");
    expect((await s.api("PUT", `/containers/${c1.id}/env/SEATS`, { value: "20", restart: false })).body.data).toMatchObject({ restarted: false });
    expect((await s.api("PUT", `/containers/${c1.id}`, { environment_vars: { SEATS: null } })).status).toBe(200);
    expect((await s.api("GET", `/containers/${c1.id}/env`)).body.data.environment_vars).not.toHaveProperty("SEATS");
    // The SDK's bulk set (a flat map) follows Hoody: no restart; new exec sessions see it at once, the app at its next start.
    const bulk = await s.api("PUT", `/containers/${c1.id}/env`, { FEATURE: "x" });
    expect(bulk.body.data).toMatchObject({ environment_vars: { FEATURE: "x" }, synced: true, restarted: false });
    expect((await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo $FEATURE"] })).body.data.stdout.trim()).toBe("x");
    expect(await envTxt()).not.toContain("FEATURE=x");
    const unset = await s.api("DELETE", `/containers/${c1.id}/env/FEATURE`);
    expect(unset.body.data).toMatchObject({ restarted: false, synced: true });
    expect(unset.body.data.environment_vars).not.toHaveProperty("FEATURE");
    // Idempotent, as Hoody documents it.
    expect((await s.api("DELETE", `/containers/${c1.id}/env/FEATURE`)).status).toBe(200);
    expect((await s.api("PUT", `/containers/${c1.id}/env/bad-key`, { value: "1" })).body.code).toBe("INVALID_ENV_KEY");
    expect((await s.api("PUT", `/containers/${c1.id}/env/HOODY_A`, { value: "1" })).body.code).toBe("RESERVED_ENV_PREFIX");
    const after = await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo $PLAN"] });
    expect(after.body.data.stdout.trim()).toBe("enterprise");
  });

  it("runs operations with state checks and logs the transitions", async () => {
    expect((await s.api("POST", `/containers/${c1.id}/start`)).body.code).toBe("INVALID_STATE_TRANSITION");
    const stop = await s.api("POST", `/containers/${c1.id}/stop`);
    expect(stop.body.data).toMatchObject({ operation: "stop", container_id: c1.id, project_id: projectA, status: "stopped", error: false });
    expect(await engineState(c1.engine_name)).toBe("STOPPED");
    expect((await s.api("POST", `/containers/${c1.id}/start`)).body.data.status).toBe("running");
    expect((await s.api("POST", `/containers/${c1.id}/restart`)).body.data.status).toBe("running");
    expect((await s.api("POST", `/containers/${c1.id}/force-stop`)).body.data.status).toBe("stopped");
    await s.api("POST", `/containers/${c1.id}/start`);
    const { logs, pagination } = (await s.api("GET", `/containers/${c1.id}/status-logs?limit=100`)).body.data;
    expect(logs.map((l: any) => l.to_status)).toEqual(expect.arrayContaining(["running", "stopped"]));
    expect(logs[0]).toMatchObject({ container_id: c1.id, id: expect.any(String), transition_time: expect.any(String) });
    expect(logs.some((l: any) => l.metadata?.operation === "force-stop")).toBe(true);
    // Newest first by default; page/limit/sort as the SDK sends them.
    expect(logs[0].metadata?.operation).toBe("start");
    expect(pagination).toEqual({ total: logs.length, page: 1, limit: 100, totalPages: 1 });
    const times = logs.map((l: any) => l.transition_time);
    expect(times).toEqual([...times].sort().reverse());
    const asc = (await s.api("GET", `/containers/${c1.id}/status-logs?page=2&limit=2&sort_by=transition_time&sort_order=asc`)).body.data;
    expect(asc.logs.map((l: any) => l.id)).toEqual(
      [...logs]
        .reverse()
        .slice(2, 4)
        .map((l: any) => l.id),
    );
    expect(asc.pagination).toEqual({ total: logs.length, page: 2, limit: 2, totalPages: Math.ceil(logs.length / 2) });
    const byStatus = (await s.api("GET", `/containers/${c1.id}/status-logs?sort_by=to_status&sort_order=asc&limit=100`)).body.data.logs.map((l: any) => l.to_status);
    expect(byStatus).toEqual([...byStatus].sort());
    expect((await s.api("GET", `/containers/${c1.id}/status-logs?sort_by=nope`)).status).toBe(422);
  });

  it("pauses and resumes through the engine's freezer, only from the states that allow it", async () => {
    const id = c1.engine_name; // the freezer is the engine's: it knows c1 by its engine name
    expect((await s.api("POST", `/containers/${c1.id}/resume`)).body.code).toBe("INVALID_STATE_TRANSITION");
    expect(await engineFrozen(id)).toBe(false);
    const p = await s.api("POST", `/containers/${c1.id}/pause`);
    expect(p.body.data).toMatchObject({ operation: "pause", container_id: c1.id, project_id: projectA, status: "paused", error: false });
    expect(await engineFrozen(id)).toBe(true);
    expect((await s.api("GET", `/containers/${c1.id}`)).body.data.status).toBe("paused");
    for (const op of ["start", "restart", "pause"]) expect((await s.api("POST", `/containers/${c1.id}/${op}`)).body.code, op).toBe("INVALID_STATE_TRANSITION");
    expect(await engineFrozen(id)).toBe(true);
    const r = await s.api("POST", `/containers/${c1.id}/resume`);
    expect(r.body.data).toMatchObject({ operation: "resume", status: "running", error: false });
    expect(await engineFrozen(id)).toBe(false);
    expect((await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo thawed"] })).body.data.stdout).toBe("thawed\n");
    const logs = (await s.api("GET", `/containers/${c1.id}/status-logs`)).body.data;
    const entries = (Array.isArray(logs) ? logs : logs.logs) as { from_status: string; to_status: string }[];
    expect(entries.map((l) => `${l.from_status}>${l.to_status}`)).toEqual(expect.arrayContaining(["running>paused", "paused>running"]));
    // A paused tenant can be stopped (thawed first) and started again, unfrozen.
    expect((await s.api("POST", `/containers/${c1.id}/pause`)).body.data.status).toBe("paused");
    expect((await s.api("POST", `/containers/${c1.id}/stop`)).body.data).toMatchObject({ operation: "stop", status: "stopped", error: false });
    expect(await engineState(id)).toBe("STOPPED");
    expect((await s.api("POST", `/containers/${c1.id}/start`)).body.data.status).toBe("running");
    expect(await engineFrozen(id)).toBe(false);
  });

  it("execs with exit codes and timeouts", async () => {
    const r = await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"] });
    expect(r.body.data).toMatchObject({ exit_code: 3, stdout: "out\n", stderr: "err\n", timed_out: false });
    const t0 = Date.now();
    const t = await s.api("POST", `/containers/${c1.id}/exec`, { command: ["sleep", "10"], timeout: 1 });
    expect(t.body.data.timed_out).toBe(true);
    // The answer does not wait for the command that outlived its timeout.
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await s.api("POST", `/containers/${c1.id}/exec`, { command: "ls" })).status).toBe(422);
  });
});

describe("snapshots and copies", () => {
  it("snapshots with alias and expiry, restores, copies from a named snapshot carrying its data", async () => {
    await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo v1 > /data/state"] });
    const snap = await s.api("POST", `/containers/${c1.id}/snapshots`, { alias: "golden", expiry: 7 });
    expect(snap.status).toBe(201);
    expect(snap.body.data).toMatchObject({ container_id: c1.id, project_id: projectA, snapshot: { alias: "golden", stateful: false } });
    expect(snap.body.data.snapshot.name).toMatch(/^snap-\d{8}-\d{6}/);
    expect(snap.body.data.snapshot.expires_at).toBeTruthy();
    await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo v2 > /data/state"] });
    const again = await s.api("POST", `/containers/${c1.id}/snapshots`, { alias: "golden" });
    expect(again.body.data.replaced).toEqual([snap.body.data.snapshot.name]);
    const listed = (await s.api("GET", `/containers/${c1.id}/snapshots`)).body.data;
    expect(listed).toMatchObject({ container_id: c1.id, project_id: projectA, snapshot_count: 1 });
    expect(listed.snapshots.map((x: any) => x.alias)).toEqual(["golden"]);
    expect(listed.snapshots[0].size).toBeGreaterThanOrEqual(0);
    const v2name = again.body.data.snapshot.name;
    await s.api("POST", `/containers/${c1.id}/exec`, { command: ["/bin/sh", "-c", "echo v3 > /data/state"] });
    const restored = await s.api("PUT", `/containers/${c1.id}/snapshots/golden`);
    expect(restored.status).toBe(200);
    expect(restored.body.data).toMatchObject({ success: true, message: expect.any(String), snapshot: { name: v2name, alias: "golden" }, container: { id: c1.id, status: "running" } });
    expect(restored.body.data.snapshot.last_used_at).toBeTruthy();
    expect((await s.api("POST", `/containers/${c1.id}/exec`, { command: ["cat", "/data/state"] })).body.data.stdout).toBe("v2\n");
    const copy = await s.api("POST", `/containers/${c1.id}/copy`, { target_project_id: projectB, name: "acme-copy", source_snapshot: v2name });
    expect(copy.status).toBe(201);
    expect(copy.body.data).toMatchObject({ project_id: projectB, source_container_id: c1.id, status: "running", copy_firewall_rules: false, copy_network_rules: false });
    expect((await s.api("POST", `/containers/${copy.body.data.id}/exec`, { command: ["cat", "/data/state"] }, { token: tokenB })).body.data.stdout).toBe("v2\n");
    // A template copies too (the seed's POST /containers/$TEMPLATE/copy).
    const fromTpl = await s.api("POST", `/containers/mini/copy`, { target_project_id: projectB }, { token: tokenB });
    expect(fromTpl.status).toBe(201);
    expect(fromTpl.body.data.template).toBe("mini");
    expect((await s.api("PUT", `/containers/${c1.id}/snapshots/${v2name}/alias`, { alias: "renamed" })).body.data).toMatchObject({
      container_id: c1.id,
      project_id: projectA,
      snapshot: { name: v2name, alias: "renamed" },
    });
    // alias: null clears it (the SDK's way); the snapshot is then found by its name only.
    expect((await s.api("PUT", `/containers/${c1.id}/snapshots/renamed/alias`, { alias: null })).body.data.snapshot).toMatchObject({ name: v2name, alias: null });
    expect((await s.api("DELETE", `/containers/${c1.id}/snapshots/renamed`)).status).toBe(404);
    const gone = await s.api("DELETE", `/containers/${c1.id}/snapshots/${v2name}`);
    expect(gone.body.data).toMatchObject({ container_id: c1.id, project_id: projectA, snapshot_name: v2name });
    expect((await s.api("PATCH", `/containers/${c1.id}/snapshots/nope`)).status).toBe(404);
    for (const id of [copy.body.data.id, fromTpl.body.data.id]) await s.api("DELETE", `/containers/${id}`);
  });
});

describe("firewall", () => {
  it("blocks a port, then allows it, applied at once; duplicates and resets", async () => {
    const b = (await s.api("POST", `/projects/${projectA}/containers`, { template: "mini", name: "fw-target" })).body.data;
    // Its app answers from inside it first, so a BLOCKED below is the firewall, not a slow start.
    await waitFor(async () => (await probe(b.id, "127.0.0.1")).body.data.stdout.includes("REACHED"), 20_000);
    expect((await probe(c1.id, b.ip)).body.data.stdout).toContain("BLOCKED");
    const add = await s.api("POST", `/containers/${b.id}/firewall/ingress`, { action: "allow", protocol: "tcp", destination_port: "8080", source: `${c1.ip}/32`, description: "from acme" });
    expect(add.status).toBe(200);
    expect(add.body.data.ingress.at(-1)).toMatchObject({ action: "allow", source: `${c1.ip}/32`, direction: "ingress" });
    expect((await probe(c1.id, b.ip)).body.data.stdout).toContain("REACHED");
    // A repeat (description and state aside) changes nothing and names the rule it repeats, with 200 as the SDK types it.
    const dup = await s.api("POST", `/containers/${b.id}/firewall/ingress`, { action: "allow", protocol: "tcp", destination_port: "8080", source: `${c1.ip}/32`, description: "again" });
    expect(dup.status).toBe(200);
    expect(dup.body.data).toMatchObject({ duplicate: true, duplicate_of: { direction: "ingress", index: 1 }, description: "from acme", source: `${c1.ip}/32` });
    expect((await s.api("GET", `/containers/${b.id}/firewall/rules`)).body.data.rule_count).toBe(2);
    // The SDK's toggle: the rule named by its fields gets the state.
    const off = await s.api("PATCH", `/containers/${b.id}/firewall/ingress`, { state: "disabled", source: `${c1.ip}/32`, destination_port: "8080" });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ direction: "ingress", new_state: "disabled", updated: { source: `${c1.ip}/32`, state: "disabled" } });
    expect((await probe(c1.id, b.ip)).body.data.stdout).toContain("BLOCKED");
    const idx = add.body.data.ingress.length - 1;
    // Ours: by index.
    expect((await s.api("PATCH", `/containers/${b.id}/firewall/ingress`, { index: idx, state: "enabled" })).body.data).toMatchObject({ new_state: "enabled", index: idx });
    expect((await probe(c1.id, b.ip)).body.data.stdout).toContain("REACHED");
    // Fields that name no rule, or none at all: refused, nothing changes.
    const none = await s.api("PATCH", `/containers/${b.id}/firewall/ingress`, { state: "disabled", destination_port: "9999", protocol: "tcp" });
    expect([none.status, none.body.code]).toEqual([404, "RULE_NOT_FOUND"]);
    expect((await s.api("PATCH", `/containers/${b.id}/firewall/ingress`, { state: "disabled" })).body.code).toBe("RULE_FILTER_REQUIRED");
    expect((await s.api("DELETE", `/containers/${b.id}/firewall/ingress`, {})).body.code).toBe("RULE_FILTER_REQUIRED");
    expect((await probe(c1.id, b.ip)).body.data.stdout).toContain("REACHED");
    // The SDK's remove: first match by fields.
    const del = await s.api("DELETE", `/containers/${b.id}/firewall/ingress`, { source: `${c1.ip}/32` });
    expect(del.body.data).toMatchObject({ direction: "ingress", removed_count: 1, removed: [{ source: `${c1.ip}/32` }], rule_count: 1 });
    expect((await probe(c1.id, b.ip)).body.data.stdout).toContain("BLOCKED");
    // source_port and ICMP fields are stored and answered; {all: true} removes every egress rule.
    await s.api("POST", `/containers/${b.id}/firewall/egress`, { action: "drop", protocol: "udp", destination_port: "53", source_port: "1024-65535", description: "no dns" });
    const icmp = await s.api("POST", `/containers/${b.id}/firewall/egress`, { action: "drop", protocol: "icmp4", icmp_type: "8", icmp_code: "0", description: "no ping" });
    expect(icmp.body.data.egress.map((r: any) => [r.source_port, r.icmp_type, r.icmp_code])).toEqual([
      ["1024-65535", undefined, undefined],
      [undefined, "8", "0"],
    ]);
    if (!s.incus) {
      const nft = (await execa("nft", ["list", "table", "inet", s.host.env.HOODY_NFT_TABLE!])).stdout;
      expect(nft).toMatch(/udp sport 1024-65535 udp dport 53 drop/);
      expect(nft).toMatch(/icmp type echo-request icmp code net-unreachable drop/);
    }
    for (const [body, code] of [
      [{ action: "drop", protocol: "tcp", icmp_type: "8" }, "INVALID_FIREWALL_RULE"],
      [{ action: "drop", protocol: "icmp4", icmp_code: "0" }, "INVALID_FIREWALL_RULE"],
      [{ action: "drop", protocol: "udp", source: "10.0.0.1" }, "INVALID_FIREWALL_RULE"],
    ] as const) {
      const r = await s.api("POST", `/containers/${b.id}/firewall/egress`, body);
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([422, code]);
    }
    const wipe = await s.api("DELETE", `/containers/${b.id}/firewall/egress`, { all: true });
    expect(wipe.body.data).toMatchObject({ removed_count: 2, egress: [] });
    await s.api("POST", `/containers/${b.id}/firewall/egress`, { action: "drop", protocol: "udp", destination_port: "53" });
    const reset = await s.api("POST", `/containers/${b.id}/firewall/reset`);
    expect(reset.body.data).toMatchObject({ rule_count: 1, max_rules: 100, egress: [], rules: { egress: [] } });
    const badRule = await s.api("POST", `/containers/${b.id}/firewall/ingress`, { action: "allow", protocol: "tcp", destination_port: "1; flush ruleset" });
    expect([badRule.status, badRule.body.code]).toEqual([422, "INVALID_FIREWALL_RULE"]);
    await s.api("DELETE", `/containers/${b.id}`);
  });
});

describe("projects, templates, tokens, audit", () => {
  it("manages projects and enforces max_containers", async () => {
    const p = await s.api("POST", "/projects", { alias: "tiny", max_containers: 0 });
    expect(p.status).toBe(201);
    const r = await s.api("POST", `/projects/${p.body.data.id}/containers`, { template: "mini" });
    expect([r.status, r.body.code]).toEqual([409, "PROJECT_CONTAINER_LIMIT"]);
    expect((await s.api("PUT", `/projects/${p.body.data.id}`, { alias: "tiny2" })).body.data.alias).toBe("tiny2");
    expect((await s.api("PATCH", `/projects/${p.body.data.id}`, { max_containers: null })).body.data.max_containers).toBeNull();
    expect((await s.api("GET", `/projects`)).body.data.projects.length).toBeGreaterThanOrEqual(3);
    // A trailing slash is the same route, answered directly (no 308 round trip).
    const slashed = await fetch(`${s.url}/api/v1/projects/?limit=2`, { headers: { authorization: `Bearer ${s.adminToken}` }, redirect: "manual" });
    expect(slashed.status).toBe(200);
    expect(((await slashed.json()) as { data: { pagination: { limit: number } } }).data.pagination.limit).toBe(2);
    expect((await s.api("DELETE", `/projects/${p.body.data.id}`)).status).toBe(200);
    expect((await s.api("GET", `/projects/${p.body.data.id}`)).status).toBe(404);
  });

  it("lists, builds and promotes templates", async () => {
    const list = (await s.api("GET", "/templates")).body.data.templates;
    expect(list.map((t: any) => t.name)).toContain("mini");
    expect((await s.api("POST", "/templates", { recipe: "mini" })).status).toBe(201);
    expect((await s.api("POST", "/templates", { recipe: "nope" })).status).toBe(422);
    const promoted = await s.api("POST", "/templates/promote", { container_id: c1.id, name: "acme-golden" });
    expect(promoted.status).toBe(201);
    expect(promoted.body.data.name).toBe("acme-golden");
    expect((await s.api("POST", "/templates/promote", { container_id: c1.id, name: "not-allowed" }, { token: tokenB })).status).toBe(403);
  });

  it("records an audit log without secrets", async () => {
    const a = (await s.api("GET", "/audit?limit=100")).body.data;
    expect(a.entries.length).toBeGreaterThan(5);
    expect(JSON.stringify(a)).not.toContain("enterprise");
    expect(JSON.stringify(a)).not.toContain(s.adminToken);
    expect(a.entries.some((e: any) => e.action === "container.update" && e.result === "ok")).toBe(true);
    // Events about a tenant, its creation included, are found by its target.
    const own = (await s.api("GET", `/audit?target=container:${c1.id}&limit=100`)).body.data.entries;
    expect(own.find((e: any) => e.action === "container.create")).toMatchObject({ result: "ok", target: `container:${c1.id}`, detail: { container_id: c1.id, project_id: projectA } });
    // A create that failed made no container: it is recorded against the project.
    const full = (await s.api("POST", "/projects", { alias: "full", max_containers: 0 })).body.data.id;
    expect((await s.api("POST", `/projects/${full}/containers`, { template: "mini" })).status).toBe(409);
    const refused = (await s.api("GET", `/audit?target=project:${full}`)).body.data.entries;
    expect(refused.map((e: any) => [e.action, e.result])).toEqual([["container.create", "error:PROJECT_CONTAINER_LIMIT"]]);
    expect((await s.api("GET", "/audit", undefined, { token: tokenB })).status).toBe(403);
    const rec = await s.api("POST", "/reconcile");
    expect(rec.body.data).toMatchObject({ removedOrphans: [], markedFailed: [] });
  });
});

describe("GDPR delete", () => {
  it("erases the tenant from disk and database, keeps only a receipt; a second DELETE is 404", async () => {
    const marker = `marker-${Date.now()}-zq`;
    const secret = `secret-value-${Date.now()}-qz`;
    const t = (await s.api("POST", `/projects/${projectA}/containers`, { template: "mini", name: "gdpr-subject", environment_vars: { SECRET_THING: secret } })).body.data;
    await s.api("POST", `/containers/${t.id}/exec`, { command: ["/bin/sh", "-c", `echo ${marker} > /data/marker`] });
    await s.api("POST", `/containers/${t.id}/snapshots`, { alias: "before-erase" });
    await s.api("PATCH", `/containers/${t.id}`, { environment_vars: { OTHER: "x" } });
    // Its address as a whole token of an nft listing (an element of the source set or flow counts).
    const addressIn = async () => !s.incus && new RegExp(`[^\\d.]${t.ip.replace(/\./g, "\\.")}[^\\d./]`).test((await execa("nft", ["list", "table", "inet", s.host.env.HOODY_NFT_TABLE!])).stdout);
    if (!s.incus) expect(await addressIn()).toBe(true); // the control: the probe sees a live tenant
    const del = await s.api("DELETE", `/containers/${t.id}`);
    expect(del.status).toBe(200);
    expect(del.body.data).toMatchObject({ container_id: t.id, project_id: projectA });
    expect(del.body.data.erased.host.join("\n")).toMatch(/snapshot/);
    expect((await s.api("DELETE", `/containers/${t.id}`)).body.code).toBe("CONTAINER_NOT_FOUND");
    if (s.incus) {
      // Nothing left in Incus: no instance, no snapshot, no volume, no ACL, no nft rule for its address.
      await expect(s.incus.client.get(`/1.0/instances/${t.engine_name}`)).rejects.toThrow(/not found/i);
      await expect(s.incus.client.get(`/1.0/network-acls/hoody-${t.engine_name}`)).rejects.toThrow(/not found/i);
      expect(JSON.stringify(await s.incus.client.get(`/1.0/storage-pools/${s.incus.pool}/volumes`))).not.toContain(t.engine_name);
      expect((await execa("nft", ["list", "table", "inet", "incus"])).stdout).not.toContain(`${t.ip} `);
    } else {
      // Nothing on disk: no subvolume, no lxc dir, no firewall entry.
      expect((await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout).not.toContain(t.engine_name);
      await expect(fs.stat(path.join(s.host.lxcPath, t.engine_name))).rejects.toThrow();
      expect(await addressIn()).toBe(false);
    }
    // Nothing in the database but the receipt.
    const db = new Database(path.join(s.host.dir, "hoody.db"), { readonly: true });
    try {
      for (const table of ["containers", "env_vars", "snapshots", "firewall_rules", "status_logs", "idempotency_keys"]) {
        const rows = db.prepare(`SELECT * FROM ${table}`).all();
        expect(JSON.stringify(rows), table).not.toContain(t.id);
        expect(JSON.stringify(rows), table).not.toContain(t.engine_name);
      }
      const audit = JSON.stringify(db.prepare("SELECT * FROM audit_log").all());
      expect(audit).not.toContain(t.id);
      expect(audit).not.toContain(t.engine_name);
      expect(audit).not.toContain("gdpr-subject");
      const receipts = db.prepare("SELECT * FROM erasure_receipts WHERE container_id = ?").all(t.id);
      expect(receipts.length).toBe(1);
    } finally {
      db.close();
    }
    // Not even in the database file's free pages or WAL, the logs, or anywhere in the data dir.
    const grep = await execa("grep", ["-r", "-l", "-a", "-e", secret, "-e", marker, s.host.dir], { reject: false });
    expect(grep.stdout).toBe("");
    const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts;
    expect(receipts.some((r: any) => r.container_id === t.id)).toBe(true);
  });
});

describe("OpenAPI", () => {
  it("is a valid OpenAPI 3.1 document covering every route", async () => {
    const res = await fetch(`${s.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    for (const r of routes) expect(doc.paths[r.path]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();
  });

  it("answers unknown routes and wrong methods with the envelope", async () => {
    expect((await s.api("GET", "/nope")).body).toMatchObject({ statusCode: 404, code: "ROUTE_NOT_FOUND" });
    expect((await s.api("DELETE", "/containers")).body).toMatchObject({ statusCode: 405, code: "METHOD_NOT_ALLOWED" });
    const health = await fetch(`${s.url}/api/health`);
    expect(health.status).toBe(200);
  });
});

describe("restart safety", () => {
  it("keeps tenants running across a web server kill and restart; the reconciler finds nothing to repair", async () => {
    await s.killWeb();
    expect(await engineState(c1.engine_name)).toBe("RUNNING");
    await s.startWeb();
    const g = await s.api("GET", `/containers/${c1.id}`);
    expect(g.body.data.status).toBe("running");
    await waitFor(() => httpGet(`http://${c1.ip}:8080/`).catch(() => null));
  });
});

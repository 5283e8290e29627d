// The tenant router on the real stack: Host-routed proxying, scale to zero, WebSockets, errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TestStack } from "../testkit/stack-harness.js";
import { waitFor } from "../testkit/host-harness.js";

let s: TestStack;
let project: string;

beforeAll(async () => {
  s = await TestStack.create({ templates: ["mini", "starter"], poolSizeMiB: 4096 });
  await s.startRouter();
  project = (await s.api("POST", "/projects", { alias: "router" })).body.data.id;
});
afterAll(async () => {
  if (s && process.env.HOODY_TEST_VERBOSE) console.log(s.routerLog);
  await s?.stop();
});

const create = async (body: Record<string, unknown>) => {
  const r = await s.api("POST", `/projects/${project}/containers`, body);
  expect(r.status).toBe(201);
  return r.body.data;
};

describe("tenant router", () => {
  it("serves each tenant's own content at its URL, with forwarding headers", async () => {
    const a = await create({ template: "starter", name: "shop-one", idle_timeout_s: 0 });
    const b = await create({ template: "starter", name: "shop-two", idle_timeout_s: 0 });
    expect(a.url).toBe("http://shop-one.localhost:8080/");
    // 201 means the container runs, not that its app listens yet (the router waits for that; a
    // direct request does not): post the note once the app takes it.
    await waitFor(
      () =>
        fetch(`http://${a.ip}:8080/api/notes`, { method: "POST", body: "note of one" }).then(
          (r) => r.ok,
          () => false,
        ),
      20_000,
    );
    const pa = await waitFor(async () => (await s.viaRouter("shop-one")).body || null, 20_000);
    expect(pa).toContain("Hello from shop-one");
    const pb = await waitFor(async () => ((await s.viaRouter("shop-two")).status === 200 ? s.viaRouter("shop-two") : null), 20_000);
    expect(pb.body).toContain("Hello from shop-two");
    expect((await s.viaRouter("shop-one", "/api/notes")).body).toContain("note of one");
    expect((await s.viaRouter("shop-two", "/api/notes")).body).not.toContain("note of one");
    const post = await s.viaRouter("shop-two", "/api/notes", { method: "POST", body: "via router", headers: { "content-type": "text/plain" } });
    expect(post.status, post.body).toBe(201);
    const info = JSON.parse((await s.viaRouter("shop-one", "/api/info")).body);
    expect(info.tenant).toBe("shop-one");
    expect(info.forwarded).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-host": `shop-one.localhost:${s.routerPort}` });
    void b;
  });

  it("answers 404 for an unknown host and the router's own health without counting it", async () => {
    const r = await s.viaRouter("nobody-here");
    expect(r.status).toBe(404);
    expect(r.body).toContain("No tenant is called nobody-here");
    const j = await s.viaRouter("nobody-here", "/", { headers: { accept: "application/json" } });
    expect(JSON.parse(j.body)).toMatchObject({ statusCode: 404, code: "UNKNOWN_TENANT" });
    expect((await s.viaRouter("bad_label!")).status).toBe(404);
    const h = await fetch(`${s.routerUrl}/.hoody/health`);
    expect(h.status).toBe(200);
  });

  it("counts requests per tenant and exposes them in the API", async () => {
    const c = (await s.api("GET", `/containers?search=shop-one`)).body.data.containers[0];
    await waitFor(async () => (await s.api("GET", `/containers/${c.id}`)).body.data.requests_total >= 3, 10_000, 200);
    expect((await s.api("GET", `/containers/${c.id}`)).body.data.last_request_at).toBeTruthy();
  });

  it("wakes a stopped tenant on the first request, once for 20 concurrent requests", async () => {
    const t = await create({ template: "mini", name: "sleepy", autostart: false, idle_timeout_s: 0 });
    expect((await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim()).toBe("STOPPED");
    const answers = await Promise.all(Array.from({ length: 20 }, () => s.viaRouter("sleepy")));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers.every((a) => a.body.includes("hello from sleepy"))).toBe(true);
    const logs = (await s.api("GET", `/containers/${t.id}/status-logs?sort_order=asc&limit=100`)).body.data.logs;
    const wakes = logs.filter((l: any) => l.to_status === "running" && String(l.metadata?.cause ?? "").startsWith("router"));
    expect(wakes.length).toBe(1);
    expect((await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim()).toBe("RUNNING");
  });

  it("stops a tenant idle past its timeout, and the next request wakes it again", async () => {
    const t = await create({ template: "mini", name: "idler", idle_timeout_s: 2 });
    expect((await s.viaRouter("idler")).status).toBe(200);
    await waitFor(async () => (await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim() === "STOPPED", 20_000, 200);
    // The router writes the status log right after the stop returns: wait for that write too.
    await waitFor(async () => (await s.api("GET", `/containers/${t.id}/status-logs?sort_order=asc&limit=100`)).body.data.logs.at(-1)?.to_status === "stopped", 10_000, 100);
    const logs = (await s.api("GET", `/containers/${t.id}/status-logs?sort_order=asc&limit=100`)).body.data.logs;
    expect(logs.at(-1)).toMatchObject({ to_status: "stopped" });
    expect(String(logs.at(-1).metadata.cause)).toMatch(/idle/);
    expect((await s.viaRouter("idler")).body).toContain("hello from idler");
  });

  it("never answers 502 from a stale lookup: a request right after an API stop re-reads the state", async () => {
    const t = await create({ template: "mini", name: "stopped-by-api", idle_timeout_s: 0 });
    const burst = () => Promise.all(Array.from({ length: 20 }, () => s.viaRouter("stopped-by-api", "/", { headers: { accept: "application/json" } })));
    // The router now holds the tenant as running and ready (cached for a second).
    expect((await s.viaRouter("stopped-by-api")).status).toBe(200);
    // A stop that lets requests wake it: the 20 requests that follow at once find it stopped behind
    // the router's cached "running", and wake it.
    expect((await s.api("POST", `/containers/${t.id}/stop`, { wake_on_request: true })).status).toBe(200);
    expect((await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim()).toBe("STOPPED");
    const woken = await burst();
    expect(woken.filter((a) => a.status === 502).map((a) => a.body)).toEqual([]);
    expect(woken.map((a) => a.status)).toEqual(Array(20).fill(200));
    // A plain stop suspends: the same burst gets the truth (503 TENANT_SUSPENDED), never a 502, and
    // the tenant stays stopped until it is started.
    expect((await s.api("POST", `/containers/${t.id}/stop`)).body.data.status).toBe("stopped");
    const refused = await burst();
    expect(refused.filter((a) => a.status === 502).map((a) => a.body)).toEqual([]);
    expect(refused.map((a) => `${a.status} ${JSON.parse(a.body).code}`)).toEqual(Array(20).fill("503 TENANT_SUSPENDED"));
    expect((await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim()).toBe("STOPPED");
    expect((await s.api("GET", `/containers/${t.id}`)).body.data.suspended).toBe(true);
    expect((await s.api("POST", `/containers/${t.id}/start`)).status).toBe(200);
    expect((await s.api("GET", `/containers/${t.id}`)).body.data.suspended).toBe(false);
    expect((await s.viaRouter("stopped-by-api")).body).toContain("hello from stopped-by-api");
  });

  it("passes WebSocket upgrades through (echo)", async () => {
    const ws = new WebSocket(`${s.routerUrl.replace("http", "ws")}/ws/echo`, { headers: { host: `shop-one.localhost:${s.routerPort}` } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on("open", () => ws.send("ping through the router"));
      ws.on("message", (m) => resolve(String(m)));
      ws.on("error", reject);
    });
    ws.close();
    expect(reply).toBe("ping through the router");
  });

  it("answers 502 when the app does not answer", async () => {
    const t = await create({ template: "mini", name: "broken-app", idle_timeout_s: 0 });
    expect((await s.viaRouter("broken-app")).status).toBe(200);
    // The app port now refuses the host (first match wins): running, but not answering.
    const fw = await s.api("PATCH", `/containers/${t.id}/firewall/ingress`, { index: 0, action: "reject" });
    expect(fw.status).toBe(200);
    const r = await s.viaRouter("broken-app", "/", { headers: { accept: "application/json" } });
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).code).toBe("UPSTREAM_ERROR");
  });
});

// /metrics on the fake engine: a series per tenant from the last sample (no second collection),
// host and pool series, the API's histogram and errors labelled by route template and code (never
// a raw path), and who may scrape.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCaller } from "../api/root";
import { OperatorAuth } from "../core/auth";
import { fakeCore, SYSTEM, type FakeCore } from "../core/fake-core";
import { parseMetrics, series } from "../../testkit/metrics";
import { metricsRefusal } from "./access";
import { hoodyMetrics, recordApiRequest, scrape } from "./registry";

let h: FakeCore;
beforeEach(async () => {
  h = await fakeCore();
});
afterEach(() => h.close());

describe("scrape", () => {
  it("carries one series per tenant and reuses the last stats sample", async () => {
    const a = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "alpha" });
    const b = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "bravo" });
    await h.core.lifecycle.operation(SYSTEM, b.id, "stop");
    await h.core.stats.sample();
    const before = h.engine.script.callsOf("stats").length;
    const m = parseMetrics((await scrape(h.core)).body);
    expect(h.engine.script.callsOf("stats").length).toBe(before);
    for (const c of [a, b]) {
      expect(series(m, "hoody_tenant_info", { id: c.id, engine_name: c.engine_name, project: "acme" })).toHaveLength(1);
      expect(series(m, "hoody_tenant_requests_total", { id: c.id })).toHaveLength(1);
    }
    expect(series(m, "hoody_tenant_state", { id: a.id })[0]?.labels?.state).toBe("running");
    expect(series(m, "hoody_tenant_state", { id: b.id })[0]?.labels?.state).toBe("stopped");
    expect(series(m, "hoody_tenant_memory_bytes")).toHaveLength(2);
    expect(series(m, "hoody_tenants", { status: "running" })[0]?.value).toBe("1");
    expect(Number(series(m, "hoody_pool_size_bytes")[0]?.value)).toBeGreaterThan(0);
    // Dedup is not measured yet: the family is declared, without series.
    expect(series(m, "hoody_tenant_dedup_saved_bytes")).toEqual([]);
    // An erased tenant's series go at the next scrape.
    await h.core.erasure.deleteContainer(SYSTEM, b.id);
    const after = parseMetrics((await scrape(h.core)).body);
    expect(series(after, "hoody_tenant_info").map((s) => s.labels?.id)).toEqual([a.id]);
  });

  it("collects fresh stats when the last sample is too old (or there is none)", async () => {
    await h.core.provisioning.create(SYSTEM, h.projectId, { name: "alpha" });
    const before = h.engine.script.callsOf("stats").length;
    await scrape(h.core);
    expect(h.engine.script.callsOf("stats").length).toBe(before + 1);
  });

  it("labels API requests by route template and error code", async () => {
    recordApiRequest("GET", "/containers/{id}", 404, "CONTAINER_NOT_FOUND", 0.002);
    recordApiRequest("BREW", "unmatched", 404, "ROUTE_NOT_FOUND", 0.001);
    recordApiRequest("GET", "/projects", 200, null, 0.01);
    const text = await hoodyMetrics().registry.metrics();
    const m = parseMetrics(text);
    expect(series(m, "hoody_api_errors_total", { route: "/containers/{id}", code: "CONTAINER_NOT_FOUND", status: "404", method: "GET" })).toHaveLength(1);
    expect(series(m, "hoody_api_errors_total", { route: "unmatched", method: "OTHER" })).toHaveLength(1);
    expect(series(m, "hoody_api_errors_total", { route: "/projects" })).toEqual([]);
    expect(text).toMatch(/hoody_api_request_duration_seconds_count\{method="GET",route="\/projects",status="200"\} \d+/);
  });
});

describe("tRPC calls", () => {
  it("are recorded under trpc:<procedure> with the status and Hoody's code", async () => {
    const c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "alpha" });
    const caller = createCaller({ core: h.core, auth: new OperatorAuth(h.db), actor: SYSTEM, sessionCookie: null });
    await caller.containers.get({ id: c.id });
    await expect(caller.containers.get({ id: "0123456789abcdef01234567" })).rejects.toThrow();
    const text = await hoodyMetrics().registry.metrics();
    expect(series(parseMetrics(text), "hoody_api_errors_total", { route: "trpc:containers.get", status: "404", code: "CONTAINER_NOT_FOUND", method: "GET" })).toHaveLength(1);
    expect(text).toMatch(/hoody_api_request_duration_seconds_count\{method="GET",route="trpc:containers.get",status="200"\} [1-9]/);
  });
});

describe("who may scrape", () => {
  const token = "metrics-token-0123456789";
  it("with a token: that bearer token, from anywhere", () => {
    expect(metricsRefusal(token, "203.0.113.5", { authorization: `Bearer ${token}` })).toBeNull();
    expect(metricsRefusal(token, "127.0.0.1", {})?.code).toBe("METRICS_TOKEN_REQUIRED");
    expect(metricsRefusal(token, "127.0.0.1", { authorization: "Bearer wrong" })?.status).toBe(401);
    expect(metricsRefusal(token, "127.0.0.1", { authorization: `Bearer ${token}x` })?.status).toBe(401);
  });
  it("without: loopback peers only, and not when a proxy relays someone else", () => {
    for (const peer of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.53"]) expect(metricsRefusal(undefined, peer, {})).toBeNull();
    for (const peer of ["10.77.0.2", "::ffff:10.0.0.1", "fe80::1", undefined]) expect(metricsRefusal(undefined, peer, {})?.code).toBe("METRICS_LOOPBACK_ONLY");
    expect(metricsRefusal(undefined, "127.0.0.1", { "x-forwarded-for": "203.0.113.5" })?.status).toBe(403);
  });
});

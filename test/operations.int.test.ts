// Issue 17 (operations) against a real stack: /metrics parsed by a Prometheus text-format parser
// with a series per tenant, who may scrape (loopback by default, else its own token), and the
// stats history surviving a kill -9 and restart of the web server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import path from "node:path";
import { execa } from "execa";
import { parseMetrics, series } from "../testkit/metrics.js";
import { TestStack } from "../testkit/stack-harness.js";

let s: TestStack;
const ids: string[] = [];
const TOKEN = "scrape-token-for-the-operations-test";

const scrapeMetrics = (headers: Record<string, string> = {}) => fetch(`${s.url}/metrics`, { headers });

/** Polls until `check` holds: the sampler writes on its own clock, so wait for the rows themselves. */
async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await get();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await get();
  }
  return last;
}

beforeAll(async () => {
  s = await TestStack.create({ webEnv: { HOODY_STATS_SAMPLE_MS: "1000" } });
  const project = (await s.api("POST", "/projects", { alias: "ops" })).body.data.id;
  for (const name of ["ops-one", "ops-two"]) {
    const r = await s.api("POST", `/projects/${project}/containers`, { name, container_image: "mini" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    ids.push(r.body.data.id);
  }
  const stopped = await s.api("POST", `/containers/${ids[1]}/stop`);
  expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
});

afterAll(async () => {
  await s?.stop();
});

describe("/metrics", () => {
  it("parses as Prometheus text with a series per tenant, host and pool series, and API latency by route template", async () => {
    // Traffic for the API series: an answer and an error, on routes with ids in their paths.
    expect((await s.api("GET", `/containers/${ids[0]}`)).status).toBe(200);
    expect((await s.api("GET", "/containers/0123456789abcdef01234567")).status).toBe(404);
    // A scrape serves the sampler's last sample, and a tenant's state label is the engine's state in
    // it: wait for one taken after the create and the stop (one begun before the stop shows ops-two
    // running; an engine that never reports the stop fails here).
    await until(
      "a sample with the running tenant, taken after the other one stopped",
      async () => parseMetrics(await (await scrapeMetrics()).text()),
      (m) => series(m, "hoody_tenant_memory_bytes", { id: ids[0]! }).length === 1 && series(m, "hoody_tenant_state", { id: ids[1]!, state: "stopped" }).length === 1,
      45_000,
    );
    const res = await scrapeMetrics();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = parseMetrics(text);
    for (const id of ids) {
      expect(series(m, "hoody_tenant_info", { id, project: "ops" }), id).toHaveLength(1);
      expect(series(m, "hoody_tenant_state", { id }), id).toHaveLength(1);
    }
    expect(series(m, "hoody_tenant_state", { id: ids[0]!, state: "running" })).toHaveLength(1);
    expect(series(m, "hoody_tenant_state", { id: ids[1]!, state: "stopped" }), JSON.stringify(series(m, "hoody_tenant_state", { id: ids[1]! }))).toHaveLength(1);
    expect(Number(series(m, "hoody_tenant_memory_bytes", { id: ids[0]! })[0]?.value)).toBeGreaterThan(0);
    expect(Number(series(m, "hoody_tenant_pids", { id: ids[0]! })[0]?.value)).toBeGreaterThan(0);
    // The pool's size as statfs(2) tells it (stat -f: blocks × block size).
    const [blocks, bsize] = (await execa("stat", ["-f", "-c", "%b %s", s.host.poolPath])).stdout.trim().split(" ").map(Number);
    expect(Number(series(m, "hoody_pool_size_bytes")[0]?.value)).toBe(blocks! * bsize!);
    expect(series(m, "hoody_api_errors_total", { route: "/containers/{id}", status: "404", code: "CONTAINER_NOT_FOUND" })).toHaveLength(1);
    expect(text).toMatch(/hoody_api_request_duration_seconds_count\{method="GET",route="\/containers\/\{id\}",status="200"\} [1-9]/);
    // Route labels are templates: no id of any request made its way into an API series.
    const apiLines = text.split("\n").filter((l) => l.startsWith("hoody_api_"));
    expect(apiLines.length).toBeGreaterThan(0);
    expect(apiLines.filter((l) => /[0-9a-f]{24}/.test(l))).toEqual([]);
  });

  it("answers loopback clients only by default: a request a proxy relays for someone else is refused", async () => {
    expect((await scrapeMetrics()).status).toBe(200);
    const relayed = await scrapeMetrics({ "x-forwarded-for": "203.0.113.9" });
    expect(relayed.status).toBe(403);
    expect((await relayed.json()).code).toBe("METRICS_LOOPBACK_ONLY");
    expect((await fetch(`${s.url}/metrics`, { method: "POST" })).status).toBe(405);
  });
});

describe("after a restart of the web server", () => {
  it("the stats history is still there, and /metrics asks for its own token once one is set", async () => {
    const history = () => s.api("GET", `/containers/${ids[0]}/stats/history?range=1h`).then((r) => r.body.data as { at: string; memory: number }[]);
    const before = await until("two 15 s samples", history, (h) => h.length >= 2, 45_000);
    expect(before.every((p) => p.memory > 0)).toBe(true);
    // The rows are in the database file itself (read by SQLite, not by the server).
    const db = new Database(path.join(s.host.dir, "hoody.db"), { readonly: true });
    const rows = db.prepare("SELECT count(*) AS n FROM stats_samples WHERE container_id = ? AND res = 15").get(ids[0]) as { n: number };
    db.close();
    expect(rows.n).toBeGreaterThanOrEqual(2);
    // Unknown range: the error envelope.
    expect((await s.api("GET", `/containers/${ids[0]}/stats/history?range=1y`)).body.code).toBe("VALIDATION_ERROR");

    await s.killWeb();
    s.webEnv.HOODY_METRICS_TOKEN = TOKEN;
    await s.startWeb();
    const after = await history();
    const atsAfter = new Set(after.map((p) => p.at));
    expect(before.map((p) => p.at).filter((at) => !atsAfter.has(at))).toEqual([]);
    expect((await s.api("GET", `/containers/${ids[0]}/stats/history?range=30d`)).body.data.length).toBeGreaterThanOrEqual(1);

    const none = await scrapeMetrics();
    expect(none.status).toBe(401);
    expect((await none.json()).code).toBe("METRICS_TOKEN_REQUIRED");
    expect((await scrapeMetrics({ authorization: "Bearer not-the-metrics-token" })).status).toBe(401);
    // An API token is not the metrics token.
    expect((await scrapeMetrics({ authorization: `Bearer ${s.adminToken}` })).status).toBe(401);
    const ok = await scrapeMetrics({ authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    const m = parseMetrics(await ok.text());
    expect(
      series(m, "hoody_tenant_info")
        .map((x) => x.labels?.id)
        .sort(),
    ).toEqual([...ids].sort());
  });
});

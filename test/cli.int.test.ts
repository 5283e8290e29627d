// The hoody CLI as a real client of the running API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { execa } from "execa";
import { TestStack } from "../testkit/stack-harness.js";
import { waitFor } from "../testkit/host-harness.js";

let s: TestStack;
const cli = (...args: string[]) => execa(path.resolve(import.meta.dirname, "../bin/hoody.js"), ["--url", s.url, "--token", s.adminToken, ...args], { reject: false });

beforeAll(async () => {
  s = await TestStack.create();
});
afterAll(async () => {
  await s?.stop();
});

describe("hoody CLI", () => {
  it("creates a project and a container, sets env, execs, snapshots and erases it", async () => {
    const p = JSON.parse((await cli("--json", "projects", "create", "cli-project")).stdout);
    const c = JSON.parse((await cli("--json", "containers", "create", p.id, "--name", "cli-tenant", "--env", "PLAN=basic")).stdout);
    expect(c).toMatchObject({ name: "cli-tenant", status: "running", environment_vars: { PLAN: "basic" } });
    const list = await cli("containers", "list", "--project", p.id);
    expect(list.stdout).toMatch(/cli-tenant\s.*running/);
    expect((await cli("containers", "env", c.id, "set", "PLAN=pro")).exitCode).toBe(0);
    // The restarted init writes env.txt a moment after the answer: poll for it.
    const ex = await waitFor(async () => {
      const r = await cli("containers", "exec", c.id, "--", "cat", "/tmp/www/env.txt");
      return r.stdout.includes("PLAN=pro") ? r : null;
    });
    expect(ex.stdout).toContain("PLAN=pro");
    const fail = await cli("containers", "exec", c.id, "--", "sh", "-c", "exit 7");
    expect(fail.exitCode).toBe(7);
    expect((await cli("snapshots", "create", c.id, "--alias", "first")).exitCode).toBe(0);
    expect((await cli("snapshots", "list", c.id)).stdout).toContain("first");
    const rm = await cli("containers", "rm", c.id);
    expect(rm.stdout).toContain(`erased container ${c.id}`);
    const again = await cli("containers", "get", c.id);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("CONTAINER_NOT_FOUND");
    expect((await cli("projects", "rm", p.id)).exitCode).toBe(0);
  });

  it("sets and shows a template's warm pool, and the capacity left; a bad size is a usage error", async () => {
    const set = await cli("templates", "pool", "mini", "1");
    expect(set.stdout).toContain("warm pool of mini: size 1");
    const pools = await waitFor(async () => {
      const r = JSON.parse((await cli("--json", "templates", "pools")).stdout) as { pools: { template: string; size: number; ready: number }[] };
      return r.pools.find((p) => p.template === "mini" && p.ready === 1) ? r : null;
    }, 60_000);
    expect(pools.pools.find((p) => p.template === "mini")).toMatchObject({ size: 1, ready: 1 });
    const cap = JSON.parse((await cli("templates", "capacity")).stdout);
    expect(cap.uid_ranges.used).toBeGreaterThanOrEqual(1);
    expect(cap.warm_pool.find((w: { template: string }) => w.template === "mini")).toMatchObject({ size: 1 });
    expect((await cli("templates", "pool", "mini", "65")).exitCode).toBe(2);
    expect((await cli("templates", "pool", "mini", "default")).stdout).toContain("size 0 (default)");
  });

  it("reports usage errors with exit 2 and API errors with their code", async () => {
    expect((await cli("containers", "frobnicate")).exitCode).toBe(2);
    const bad = await execa(path.resolve(import.meta.dirname, "../bin/hoody.js"), ["--url", s.url, "--token", "hdy_nope", "projects", "list"], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("INVALID_TOKEN");
  });
});

describe("dedup over the API and the CLI", () => {
  it("refuses bad input and project tokens with the error envelope and starts nothing; the operator runs it and reads the accounting", async () => {
    const runs = async () => (await s.api("GET", "/dedup")).body.data.runs.length as number;
    const before = await runs();
    for (const body of [{ deadline_s: 0 }, { deadline_s: "soon" }, { deadline_s: 86_401 }, { deadline: 10 }]) {
      const r = await s.api("POST", "/dedup", body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body).toMatchObject({ statusCode: 422, code: "VALIDATION_ERROR" });
    }
    const p = (await s.api("POST", "/projects", { alias: "dedup-cli" })).body.data.id;
    const member = (await s.api("POST", "/tokens", { name: "dedup-member", project_id: p })).body.data.token;
    for (const [method, body] of [
      ["POST", {}],
      ["GET", undefined],
    ] as const) {
      const r = await s.api(method, "/dedup", body, { token: member });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe("RESOURCE_ACCESS_DENIED");
    }
    expect(await runs()).toBe(before);
    // Control: the operator's CLI runs one and waits for it.
    const ran = await cli("dedup", "run", "--deadline", "300", "--wait");
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/: completed, saved /);
    expect(await runs()).toBe(before + 1);
    const st = await cli("dedup", "status");
    expect(st.stdout).toMatch(/saved by dedup \(all runs\): /);
    expect(st.stdout).toMatch(/RUN\s+TRIGGER\s+STATE/);
    const usage = await cli("dedup", "run", "--deadline", "0");
    expect(usage.exitCode).toBe(2);
  });
});

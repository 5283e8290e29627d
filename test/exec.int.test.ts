// Exec scripts on the running stack: Stripe-signed webhooks (signed with Stripe's own test-header
// helper), the signup redirect, and scripts that throw or hang.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import path from "node:path";
import Stripe from "stripe";
import { execa } from "execa";
import { TestStack } from "../testkit/stack-harness.js";
import { waitFor } from "../testkit/host-harness.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCRIPTS = path.join(ROOT, "test-results", `scripts-${process.pid}`);
const WHSEC = "whsec_test_" + "x".repeat(24);
const stripe = new Stripe("sk_test_unused");
let s: TestStack;
let project: string;

async function exec(p: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return fetch(`${s.url}/exec/${p}`, { method: init.method ?? "POST", headers: init.headers, body: init.body, redirect: "manual" });
}

function signed(event: object, timestamp?: number) {
  const payload = JSON.stringify(event);
  return { body: payload, headers: { "content-type": "application/json", "stripe-signature": stripe.webhooks.generateTestHeaderString({ payload, secret: WHSEC, timestamp }) } };
}

const checkout = (id: string, customer: string) => ({
  id,
  object: "event",
  type: "checkout.session.completed",
  data: { object: { object: "checkout.session", customer, metadata: { plan: "pro" }, customer_details: { name: "Acme Inc" } } },
});

beforeAll(async () => {
  await fs.mkdir(SCRIPTS, { recursive: true });
  for (const f of ["stripe-webhook.ts", "signup.ts"]) await fs.copyFile(path.join(ROOT, "scripts", f), path.join(SCRIPTS, f));
  await fs.writeFile(path.join(SCRIPTS, "boom.ts"), `export default function () { throw new Error("boom on purpose"); }\n`);
  await fs.writeFile(path.join(SCRIPTS, "forever.ts"), `export default async function () { for (;;) {} }\n`);
  await fs.writeFile(path.join(SCRIPTS, "never-loads.ts"), `for (;;) {}\nexport default () => new Response("unreachable");\n`);
  s = await TestStack.create({ webEnv: { HOODY_SCRIPTS_DIR: SCRIPTS, HOODY_SCRIPT_TIMEOUT_MS: "8000", HOODY_SCRIPT_LOAD_TIMEOUT_MS: "12000", HOODY_ERASE_SWEEP_MS: "500" } });
  await s.startRouter();
  project = (await s.api("POST", "/projects", { alias: "billing" })).body.data.id;
  for (const script of ["stripe-webhook", "signup"]) {
    expect((await s.api("PUT", `/scripts/${script}/settings`, { project_id: project, TEMPLATE: "mini", GRACE_SECONDS: "8" })).status).toBe(200);
  }
  // The operator sets the secret with the CLI; it is shown masked from then on.
  const cli = await execa(path.join(ROOT, "bin/hoody.js"), ["--url", s.url, "--token", s.adminToken, "scripts", "secrets", "set", "stripe-webhook", `STRIPE_WEBHOOK_SECRET=${WHSEC}`], {
    reject: false,
  });
  expect(cli.exitCode).toBe(0);
  expect(cli.stdout).toMatch(/^STRIPE_WEBHOOK_SECRET=/);
  expect(cli.stdout).not.toContain("x".repeat(10));
});
afterAll(async () => {
  await s?.stop();
  await fs.rm(SCRIPTS, { recursive: true, force: true });
});

const tenants = async () =>
  (await s.api("GET", `/projects/${project}/containers?limit=100`)).body.data.containers as { id: string; engine_name: string; name: string; status: string; url: string; suspended: boolean }[];

describe("stripe-webhook.ts", () => {
  it("provisions one running tenant on checkout.session.completed; its URL answers", async () => {
    const r = await exec("stripe-webhook", signed(checkout("evt_1", "cus_ACME1")));
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body).toMatchObject({ received: true, replayed: false });
    expect(body.url).toMatch(/^http:\/\/cus-acme1\.localhost:/);
    const list = await tenants();
    expect(list.map((t) => t.name)).toEqual(["cus-acme1"]);
    expect(list[0]!.status).toBe("running");
    const page = await s.viaRouter("cus-acme1");
    expect(page.status).toBe(200);
    expect(page.body).toContain("hello from");
    const env = (await s.api("GET", `/containers/${list[0]!.id}/env`)).body.data.environment_vars;
    expect(env).toMatchObject({ STRIPE_CUSTOMER: "cus_ACME1", PLAN: "pro" });
  });

  it("does nothing new for a replayed event", async () => {
    const r = await exec("stripe-webhook", signed(checkout("evt_1", "cus_ACME1")));
    expect((await r.json()).replayed).toBe(true);
    expect((await tenants()).length).toBe(1);
  });

  it("rejects a bad signature and a stale timestamp, creating nothing", async () => {
    const forged = signed(checkout("evt_2", "cus_EVIL"));
    forged.headers["stripe-signature"] = forged.headers["stripe-signature"].replace(/v1=[0-9a-f]{4}/, "v1=0000");
    expect((await exec("stripe-webhook", forged)).status).toBe(400);
    const stale = signed(checkout("evt_3", "cus_OLD"), Math.floor(Date.now() / 1000) - 3600);
    expect((await exec("stripe-webhook", stale)).status).toBe(400);
    expect((await exec("stripe-webhook", { body: JSON.stringify(checkout("evt_4", "cus_X")), headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await tenants()).map((t) => t.name)).toEqual(["cus-acme1"]);
  });

  it("stops the tenant on customer.subscription.deleted", async () => {
    const r = await exec("stripe-webhook", signed({ id: "evt_5", object: "event", type: "customer.subscription.deleted", data: { object: { object: "subscription", customer: "cus_ACME1" } } }));
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ action: "stopped", erase_after_s: 8 });
    const t = (await tenants())[0]!;
    expect(t.status).toBe("stopped");
    expect(t.suspended).toBe(true);
    expect((await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim()).toBe("STOPPED");
    // Suspended, not just stopped: a visitor to its URL cannot wake it during the grace period.
    const visit = await s.viaRouter(t.name, "/", { headers: { accept: "application/json" } });
    expect([visit.status, JSON.parse(visit.body).code]).toEqual([503, "TENANT_SUSPENDED"]);
    expect((await s.host.lxc("lxc-info", t.engine_name, "-sH")).stdout.trim()).toBe("STOPPED");
    // After the grace period the tenant is erased, with a receipt.
    await waitFor(async () => (await s.api("GET", `/containers/${t.id}`)).status === 404, 30_000, 500);
    const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts;
    expect(receipts.find((x: { container_id: string }) => x.container_id === t.id)?.requested_by).toBe("system:grace-period");
  });
});

describe("signup.ts and the runner", () => {
  it("answers 303 to the new tenant's URL, which answers", async () => {
    const r = await exec("signup", { body: "name=new-customer", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status).toBe(303);
    const location = r.headers.get("location")!;
    expect(location).toMatch(/^http:\/\/new-customer\.localhost:\d+\/$/);
    const page = await waitFor(async () => {
      const a = await s.viaRouter("new-customer");
      return a.status === 200 ? a : null;
    }, 20_000);
    expect(page.body).toContain("hello from new-customer");
    expect((await exec("signup", { body: JSON.stringify({ name: "../etc" }), headers: { "content-type": "application/json" } })).status).toBe(400);
  });

  it("answers 500 for a script that throws and 504 for one that never answers; the server keeps serving", async () => {
    const boom = await exec("boom", { method: "GET" });
    expect(boom.status).toBe(500);
    expect((await boom.json()).message).toContain("boom on purpose");
    const forever = await exec("forever", { method: "GET" });
    expect(forever.status).toBe(504);
    expect((await forever.json()).message).toMatch(/did not answer within 8000 ms/);
    // A script that hangs while loading meets the load limit instead.
    const neverLoads = await exec("never-loads", { method: "GET" });
    expect(neverLoads.status).toBe(504);
    expect((await neverLoads.json()).message).toMatch(/did not load within 12000 ms/);
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
    expect((await exec("nope", { method: "GET" })).status).toBe(404);
  });

  it("picks up a new file without a restart and logs every run", async () => {
    await fs.writeFile(path.join(SCRIPTS, "hello.ts"), `export default (req: Request, ctx: { params: Record<string, string> }) => new Response("hi " + new URL(req.url).pathname);\n`);
    const r = await exec("hello", { method: "GET" });
    expect(await r.text()).toBe("hi /exec/hello");
    const runs = (await s.api("GET", "/scripts")).body.data;
    expect(runs.scripts.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(["stripe-webhook", "signup", "hello"]));
    const statuses = runs.runs.map((x: { script: string; status: number }) => `${x.script}:${x.status}`);
    expect(statuses).toEqual(expect.arrayContaining(["boom:500", "forever:504", "stripe-webhook:400", "stripe-webhook:200", "signup:303"]));
    expect(JSON.stringify(runs)).not.toContain(WHSEC);
  });
});

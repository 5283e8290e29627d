// Auth against the whole real stack: every REST route with a revoked token and with project-scoped
// tokens (another project's resources; admin-only routes), every dashboard page and every tRPC
// procedure without a session, the session cookie's flags and lifetime, sign-in failures and their
// throttle, and, after all of it, no token, password or script secret in any log or file.
// (Missing and malformed tokens on every route: test/api.int.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { appRouter } from "../../server/api/root";
import { routes, type Route } from "../../server/rest/routes";
import { SAME_ORIGIN_HEADER, SAME_ORIGIN_VALUE } from "../../server/web/guards";
import { waitFor } from "../../testkit/host-harness.js";
import { TestStack } from "../../testkit/stack-harness.js";
import { compareFingerprints, envelopeProblems, fingerprint, makeFixture, send, validBodyFor, type Fixture } from "./fuzz-kit.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
// A small global budget so the throttle test need not spend a hundred scrypt checks.
const MAX_PER_CLIENT = 10;
const MAX_GLOBAL = 25;

let s: TestStack;
let daemonLog = "";
let fx: Fixture;
/** The one server (this box) the fixture's containers run on. */
let server: string;
/** Every secret the suite handles; none may appear in any log or file (hashes only). */
const secrets = new Map<string, string>();
const SCRIPT_SECRET = `whsec_${Math.random().toString(36).slice(2)}${Date.now()}`;

const SCRIPTS = path.join(os.tmpdir(), `hoody-auth-scripts-${process.pid}`);

beforeAll(async () => {
  // An exec script that shows and logs every header it is handed.
  await fs.mkdir(SCRIPTS, { recursive: true });
  await fs.writeFile(
    path.join(SCRIPTS, "echo-headers.ts"),
    `export default async function (req: Request, ctx: { log: (...a: unknown[]) => void }) {\n  const h = [...req.headers.entries()];\n  ctx.log("headers", JSON.stringify(h));\n  return Response.json(h);\n}\n`,
  );
  s = await TestStack.create({ webEnv: { HOODY_SIGNIN_MAX_PER_CLIENT: String(MAX_PER_CLIENT), HOODY_SIGNIN_MAX_GLOBAL: String(MAX_GLOBAL), HOODY_SCRIPTS_DIR: SCRIPTS } });
  s.host.daemon!.stdout!.on("data", (d) => (daemonLog += d));
  s.host.daemon!.stderr!.on("data", (d) => (daemonLog += d));
  await s.startRouter();
  fx = await makeFixture(s, "auth");
  server = (await s.api("GET", "/servers")).body.data[0].id;
  const put = await s.api("PUT", "/scripts/stripe-webhook/secrets", { STRIPE_WEBHOOK_SECRET: SCRIPT_SECRET });
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
  secrets.set("admin token", s.adminToken);
  secrets.set("operator password", s.adminPassword);
  secrets.set("project A token", fx.tokenA.token);
  secrets.set("project B token", fx.tokenB.token);
  secrets.set("revoked token", fx.revoked.token);
  secrets.set("script secret", SCRIPT_SECRET);
});
afterAll(async () => {
  await s?.stop();
  await fs.rm(SCRIPTS, { recursive: true, force: true });
});

const fill = (r: Route, ids: Record<string, string>) => r.path.replace(/\{(\w+)\}/g, (_, k: string) => ids[k]!);
/** Project A's resources, for each route's parameters. */
const idsOfA = (r: Route) => ({
  id: r.path.startsWith("/projects") ? fx.projectA : r.path.startsWith("/tokens") ? fx.tokenA.id : r.path.startsWith("/servers") ? server : fx.cA,
  name: fx.snapA,
  key: "PLAN",
  direction: "ingress",
  script: "stripe-webhook",
  template: "mini",
});

/** A body the route accepts, aimed at project A. */
function validBody(r: Route): unknown {
  return r.body ? validBodyFor(r, fx, { tag: "auth", envKey: "X", command: ["true"] }) : undefined;
}

/** Routes only an admin token may use, whatever the project. */
const ADMIN_ONLY = new Set([
  "POST /projects",
  "DELETE /projects/{id}",
  "POST /templates",
  "POST /templates/promote",
  "GET /tokens",
  "POST /tokens",
  "DELETE /tokens/{id}",
  "GET /audit",
  "GET /scripts",
  "PUT /scripts/{script}/secrets",
  "PUT /scripts/{script}/settings",
  "POST /reconcile",
  "POST /projects/{id}/containers/import",
  "GET /warm-pool",
  "PUT /warm-pool/{template}",
  "GET /capacity",
  "GET /dedup",
  "POST /dedup",
]);
/** Reads a project token may make: answers scoped to its own project. */
const SCOPED_LISTS = new Set(["GET /projects", "GET /containers", "GET /templates", "GET /erasure-receipts"]);
/** Where tenants run: any token reads them (create takes server_id), each counting only the containers it can see. */
const SERVERS = new Set(["GET /servers", "GET /servers/{id}"]);
const key = (r: Route) => `${r.method} ${r.path}`;

describe("REST: revoked and project-scoped tokens on every route", () => {
  it("classifies every route (a new route must be placed in one of the sets or under a project resource)", () => {
    for (const r of routes) {
      const k = key(r);
      const scoped = r.path.startsWith("/projects/{id}") || r.path.startsWith("/containers/{id}");
      expect(ADMIN_ONLY.has(k) || SCOPED_LISTS.has(k) || SERVERS.has(k) || scoped, k).toBe(true);
    }
  });

  it("a revoked token gets 401 TOKEN_REVOKED on every route, with valid bodies, and nothing changes", async () => {
    const before = await fingerprint(s);
    for (const r of routes) {
      const a = await s.api(r.method, fill(r, idsOfA(r)), validBody(r), { token: fx.revoked.token });
      expect([a.status, a.body.code], key(r)).toEqual([401, "TOKEN_REVOKED"]);
    }
    expect(await compareFingerprints(s, before, await fingerprint(s))).toEqual([]);
  });

  it("project B's token: 403 on admin-only routes, 404 on project A's resources, lists without A; nothing changes", async () => {
    const before = await fingerprint(s);
    for (const r of routes) {
      const a = await s.api(r.method, fill(r, idsOfA(r)), validBody(r), { token: fx.tokenB.token });
      const where = `${key(r)} → ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`;
      if (ADMIN_ONLY.has(key(r))) {
        expect([a.status, a.body.code], where).toEqual([403, "RESOURCE_ACCESS_DENIED"]);
      } else if (SCOPED_LISTS.has(key(r))) {
        expect(a.status, where).toBe(200);
        for (const other of [fx.cA, fx.projectA, fx.tokenA.id]) expect(JSON.stringify(a.body), where).not.toContain(other);
      } else if (SERVERS.has(key(r))) {
        expect(a.status, where).toBe(200);
        // B's one container, not A's too (the admin's count below is the control).
        const counts = (Array.isArray(a.body.data) ? a.body.data : [a.body.data]).map((x: { id: string; containers: number }) => [x.id, x.containers]);
        expect(counts, where).toEqual([[server, 1]]);
      } else {
        expect(a.status, where).toBe(404);
        expect(a.body.code, where).toMatch(r.path.startsWith("/projects") ? /^PROJECT_NOT_FOUND$/ : /^CONTAINER_NOT_FOUND$/);
      }
    }
    // A template copied into another project, and B's own lists: nothing of A, only B.
    const copy = await s.api("POST", "/containers/mini/copy", { target_project_id: fx.projectA }, { token: fx.tokenB.token });
    expect([copy.status, copy.body.code]).toEqual([404, "PROJECT_NOT_FOUND"]);
    const list = await s.api("GET", "/containers", undefined, { token: fx.tokenB.token });
    expect(list.body.data.containers.map((c: { id: string }) => c.id)).toEqual([fx.cB]);
    expect((await s.api("GET", "/projects", undefined, { token: fx.tokenB.token })).body.data.projects.map((p: { id: string }) => p.id)).toEqual([fx.projectB]);
    // Control for the servers' counts: the admin sees both projects' containers there.
    expect((await s.api("GET", `/servers/${server}`)).body.data.containers).toBe(2);
    expect(await compareFingerprints(s, before, await fingerprint(s))).toEqual([]);
  });

  it("project A's own token cannot use admin-only routes on its own project either", async () => {
    const before = await fingerprint(s);
    for (const r of routes.filter((x) => ADMIN_ONLY.has(key(x)))) {
      const a = await s.api(r.method, fill(r, idsOfA(r)), validBody(r), { token: fx.tokenA.token });
      expect([a.status, a.body.code], key(r)).toEqual([403, "RESOURCE_ACCESS_DENIED"]);
    }
    // It can read its own container (the token works; the 403s above are scope, not a broken token).
    expect((await s.api("GET", `/containers/${fx.cA}`, undefined, { token: fx.tokenA.token })).status).toBe(200);
    expect(await compareFingerprints(s, before, await fingerprint(s))).toEqual([]);
  });
});

// ------------------------------------------------------------------ dashboard and tRPC

/** Dashboard pages from the file system: every page.tsx under app/(dash), route groups and private folders dropped. */
async function dashboardPages(): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, segs: string[]): Promise<void> {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory() && !e.name.startsWith("_")) await walk(path.join(dir, e.name), /^\(.*\)$/.test(e.name) ? segs : [...segs, e.name]);
      else if (e.name === "page.tsx") out.push(`/${segs.join("/")}`);
    }
  }
  await walk(path.join(ROOT, "app/(dash)"), []);
  return out.sort();
}

async function signIn(headers: Record<string, string> = {}): Promise<{ status: number; setCookie: string[]; body: any; headers: Headers }> {
  const res = await fetch(`${s.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ password: s.adminPassword }) });
  return { status: res.status, setCookie: res.headers.getSetCookie(), body: await res.json(), headers: res.headers };
}
const cookieValue = (setCookie: string[]) => /^hoody_session=([^;]*)/.exec(setCookie.find((c) => c.startsWith("hoody_session=")) ?? "")?.[1] ?? "";

/** tRPC over HTTP as the dashboard calls it (superjson, its same-origin header): queries by GET, mutations by POST. */
async function trpc(name: string, type: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const input = encodeURIComponent(JSON.stringify({ json: {} }));
  const res =
    type === "query"
      ? await fetch(`${s.url}/api/trpc/${name}?input=${input}`, { headers })
      : await fetch(`${s.url}/api/trpc/${name}`, {
          method: "POST",
          headers: { "content-type": "application/json", [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE, ...headers },
          body: JSON.stringify({ json: {} }),
        });
  return { status: res.status, json: await res.json().catch(() => null) };
}
const procedures = () =>
  Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures).map(([name, p]) => ({ name, type: p._def.type }));

describe("dashboard and tRPC without a session", () => {
  it("redirects every dashboard page to /login without a session, with a forged cookie, an API token, or an expired session", async () => {
    const pages = (await dashboardPages()).map((p) => p.replace("[id]", fx.cA));
    expect(pages).toEqual(expect.arrayContaining(["/", "/tenants", "/tokens", "/settings", "/audit", `/tenants/${fx.cA}`]));
    // An expired session: a real one, aged in the database.
    const expired = cookieValue((await signIn()).setCookie);
    const db = new Database(path.join(s.host.dir, "hoody.db"));
    try {
      const { createHash } = await import("node:crypto");
      db.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").run(new Date(Date.now() - 1000).toISOString(), createHash("sha256").update(expired).digest("hex"));
    } finally {
      db.close();
    }
    const variants: [string, Record<string, string>][] = [
      ["no cookie", {}],
      ["forged cookie", { cookie: "hoody_session=forged-session-value" }],
      ["empty cookie", { cookie: "hoody_session=" }],
      ["API token instead", { authorization: `Bearer ${s.adminToken}` }],
      ["expired session", { cookie: `hoody_session=${expired}` }],
    ];
    for (const page of pages) {
      for (const [what, headers] of variants) {
        const res = await fetch(`${s.url}${page}`, { headers, redirect: "manual" });
        const where = `${page} (${what}) → ${res.status} ${res.headers.get("location")}`;
        expect([303, 307, 308], where).toContain(res.status);
        expect(new URL(res.headers.get("location")!, s.url).pathname, where).toBe("/login");
        // Nothing of the tenant (its name, its env) rides along with the redirect.
        const text = await res.text();
        for (const leak of ["auth-a1", "TENANT_NAME", fx.projectA]) expect(text, where).not.toContain(leak);
      }
    }
    // With the session, the same pages render.
    const cookie = `hoody_session=${cookieValue((await signIn()).setCookie)}`;
    for (const page of pages) expect((await fetch(`${s.url}${page}`, { headers: { cookie }, redirect: "manual" })).status, page).toBe(200);
  });

  it("answers UNAUTHORIZED on every tRPC procedure but auth.me without a session, a forged cookie or an API token", async () => {
    const procs = procedures();
    expect(procs.length).toBeGreaterThan(30);
    const before = await fingerprint(s);
    for (const { name, type } of procs) {
      for (const headers of [{}, { cookie: "hoody_session=forged" }, { authorization: `Bearer ${s.adminToken}` }] as Record<string, string>[]) {
        const a = await trpc(name, type, headers);
        const where = `${name} ${JSON.stringify(headers).slice(0, 40)} → ${a.status} ${JSON.stringify(a.json).slice(0, 200)}`;
        if (name === "auth.me") {
          expect(a.json?.result?.data?.json, where).toEqual({ signedIn: false });
          continue;
        }
        expect(a.status, where).toBe(401);
        expect(a.json?.error?.json?.data?.code, where).toBe("UNAUTHORIZED");
      }
    }
    expect(await compareFingerprints(s, before, await fingerprint(s))).toEqual([]);
    // The same call with a session works (the 401s above are the session check, not a broken call).
    const cookie = `hoody_session=${cookieValue((await signIn()).setCookie)}`;
    const list = await trpc("projects.list", "query", { cookie });
    expect(list.status).toBe(200);
  });
});

// ------------------------------------------------------------------ sign-in, cookies, throttle

describe("sign-in and the session cookie", () => {
  it("sets an HttpOnly, SameSite=Lax, Path=/ cookie with a 7-day expiry; Secure behind https; a fresh value each time", async () => {
    const a = await signIn({ cookie: "hoody_session=attacker-chosen" });
    expect(a.status).toBe(200);
    const c = a.setCookie.find((x) => x.startsWith("hoody_session="))!;
    const attrs = c.split(";").map((x) => x.trim());
    expect(attrs).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax"]));
    expect(attrs).not.toContain("Secure");
    const value = cookieValue(a.setCookie);
    expect(value).not.toBe("attacker-chosen");
    expect(Buffer.from(value, "base64url").length).toBeGreaterThanOrEqual(32);
    const expires = Date.parse(attrs.find((x) => x.startsWith("Expires="))!.slice(8));
    expect(Math.abs(expires - (Date.now() + 7 * 86400_000))).toBeLessThan(120_000);
    expect(a.body.data.expires_at).toBeTruthy();
    expect(JSON.stringify(a.body)).not.toContain(value);
    const https = await signIn({ "x-forwarded-proto": "https" });
    expect(
      https.setCookie
        .find((x) => x.startsWith("hoody_session="))!
        .split(";")
        .map((x) => x.trim()),
    ).toContain("Secure");
    expect(cookieValue(https.setCookie)).not.toBe(value);
    // The database keeps the session's hash, not the cookie. (-e: a base64url value may begin with "-",
    // which grep would take for an option: no count at all, one run in 64.)
    const raw = await execa("grep", ["-c", "-a", "-e", value, path.join(s.host.dir, "hoody.db")], { reject: false });
    expect(raw.stdout.trim()).toBe("0");
  });

  it("signs out: the cookie is cleared and the session no longer works", async () => {
    const value = cookieValue((await signIn()).setCookie);
    const cookie = `hoody_session=${value}`;
    expect((await trpc("projects.list", "query", { cookie })).status).toBe(200);
    // A cross-site form post (the cookie rides along, the dashboard's header does not) signs nobody out.
    const forged = await fetch(`${s.url}/api/auth/logout`, { method: "POST", headers: { cookie, origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" } });
    expect([forged.status, (await forged.json()).code]).toEqual([403, "CROSS_SITE_REQUEST"]);
    expect((await trpc("projects.list", "query", { cookie })).status).toBe(200);
    const out = await fetch(`${s.url}/api/auth/logout`, { method: "POST", headers: { cookie, [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE } });
    expect(out.status).toBe(200);
    const cleared = out.headers.getSetCookie().find((x) => x.startsWith("hoody_session="))!;
    expect(cleared).toMatch(/^hoody_session=;/);
    expect(cleared).toMatch(/Max-Age=0/);
    expect((await trpc("projects.list", "query", { cookie })).status).toBe(401);
    expect((await fetch(`${s.url}/tenants`, { headers: { cookie }, redirect: "manual" })).status).toBe(307);
  });

  it("never hands the operator's session cookie to an exec script (nor into its logged output)", async () => {
    const value = cookieValue((await signIn()).setCookie);
    secrets.set("session cookie", value);
    const res = await fetch(`${s.url}/exec/echo-headers`, { headers: { cookie: `theme=dark; hoody_session=${value}; lang=en` } });
    expect(res.status).toBe(200);
    const seen = JSON.stringify(await res.json());
    expect(seen).not.toContain(value);
    expect(seen).toContain("theme=dark; lang=en");
    const runs = JSON.stringify((await s.api("GET", "/scripts")).body.data.runs);
    expect(runs).toContain("theme=dark");
    expect(runs).not.toContain(value);
    // Nor a Hoody API token sent along; a script's own Authorization scheme reaches it.
    const withToken = await fetch(`${s.url}/exec/echo-headers`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    expect(JSON.stringify(await withToken.json())).not.toContain(s.adminToken);
    const own = await fetch(`${s.url}/exec/echo-headers`, { headers: { authorization: "Basic c2NyaXB0OnVzZXI=" } });
    expect(JSON.stringify(await own.json())).toContain("Basic c2NyaXB0OnVzZXI=");
    const missing = await send(s.port, "GET", "/exec/no-such-script");
    expect(envelopeProblems(missing)).toEqual([]);
    expect([missing.status, missing.json.code]).toEqual([404, "SCRIPT_NOT_FOUND"]);
  });

  it("refuses a wrong or malformed password in the error envelope", async () => {
    const bodies: [string, string][] = [
      ['{"password":"not-the-password"}', "INVALID_CREDENTIALS"],
      ['{"password":""}', "VALIDATION_ERROR"],
      ['{"password":123}', "VALIDATION_ERROR"],
      ["{not json", "VALIDATION_ERROR"],
      [`{"password":"${"p".repeat(500)}"}`, "VALIDATION_ERROR"],
      [`{"password":"${s.adminPassword}","extra":1}`, "VALIDATION_ERROR"],
    ];
    for (const [body, code] of bodies) {
      const a = await send(s.port, "POST", "/api/auth/login", { "content-type": "application/json", "x-forwarded-for": "198.51.100.7" }, body);
      expect(envelopeProblems(a), body).toEqual([]);
      expect(a.json.code, body).toBe(code);
      expect(a.headers["set-cookie"], body).toBeUndefined();
    }
  });

  it("throttles failed sign-ins per client and in total: 429 with Retry-After, even for the right password", async () => {
    const attempt = (ip: string, password: string) => send(s.port, "POST", "/api/auth/login", { "content-type": "application/json", "x-forwarded-for": ip }, JSON.stringify({ password }));
    // 198.51.100.7 spent one failure in the previous test.
    for (let i = 1; i < MAX_PER_CLIENT; i++) expect((await attempt("198.51.100.7", `wrong-${i}`)).json.code).toBe("INVALID_CREDENTIALS");
    const locked = await attempt("198.51.100.7", s.adminPassword);
    expect(envelopeProblems(locked)).toEqual([]);
    expect([locked.status, locked.json.code]).toEqual([429, "SIGN_IN_THROTTLED"]);
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(800);
    expect(locked.headers["set-cookie"]).toBeUndefined();
    // Another client still signs in.
    expect((await attempt("198.51.100.8", s.adminPassword)).status).toBe(200);
    // Those clients were named by a proxy on loopback (trusted by default). A client that talks to the
    // web server itself (from 127.0.0.2) cannot name itself: a new forged X-Forwarded-For per try
    // still counts against its own address, and so does X-Real-IP or Forwarded.
    const direct = (i: number, password: string) =>
      send(
        s.port,
        "POST",
        "/api/auth/login",
        { "content-type": "application/json", "x-forwarded-for": `192.0.2.${i}`, "x-real-ip": `192.0.2.${i}`, forwarded: `for=192.0.2.${i}` },
        JSON.stringify({ password }),
        { localAddress: "127.0.0.2" },
      );
    for (let i = 0; i < MAX_PER_CLIENT; i++) expect((await direct(i, `wrong-direct-${i}`)).json.code).toBe("INVALID_CREDENTIALS");
    const directLocked = await direct(99, s.adminPassword);
    expect([directLocked.status, directLocked.json.code]).toEqual([429, "SIGN_IN_THROTTLED"]);
    // A guessing run spread over many addresses behind the proxy spends the global budget: then everyone waits.
    let n = 2 * MAX_PER_CLIENT;
    for (let i = 0; n < MAX_GLOBAL; i++, n++) expect((await attempt(`203.0.113.${i}`, "guess")).json.code).toBe("INVALID_CREDENTIALS");
    const global = await attempt("198.51.100.9", s.adminPassword);
    expect([global.status, global.json.code]).toEqual([429, "SIGN_IN_THROTTLED"]);
    // Refusals are counted in the audit log (one row per window, test/reliability/hostile/web.ts), without the passwords tried.
    const audit = await waitFor(async () => {
      const text = JSON.stringify((await s.api("GET", "/audit?action=operator.sign_in&limit=100")).body.data.entries);
      return /"SIGN_IN_THROTTLED":\d+/.test(text) ? text : null;
    });
    expect(audit).toContain('"INVALID_CREDENTIALS":');
    expect(audit).not.toContain("wrong-1");
  });
});

// ------------------------------------------------------------------ nothing secret is logged

describe("tokens and secrets are never logged or stored in clear", () => {
  it("finds no token, password or script secret in the web, router or host daemon logs, or the data dir", async () => {
    // Make noise first: a failing request with a token, a tenant with a secret-looking env value, an exec.
    await s.api("GET", "/containers/cnotthere00", undefined, { token: fx.tokenA.token });
    const scriptsView = await s.api("GET", "/scripts");
    expect(JSON.stringify(scriptsView.body)).not.toContain(SCRIPT_SECRET);
    expect((await s.viaRouter("auth-a1", "/")).status).toBe(200);
    const logs: [string, string][] = [
      ["web log", s.webLog],
      ["router log", s.routerLog],
      ["host daemon output", daemonLog],
    ];
    const found: string[] = [];
    for (const [what, secret] of secrets) {
      for (const [where, text] of logs) if (text.includes(secret)) found.push(`${what} in the ${where}`);
      // Every file of the data dir except the pool and its image (tenants' own disks): the database with its WAL
      // and free pages, LXC configs, logs. The admin-token/-password files are where `npm run up`
      // hands them to the operator (checked for mode 0600 below); script secrets must be kept to
      // be handed to scripts, in the database only.
      const grep = await execa("grep", ["-r", "-l", "-a", "-F", "-D", "skip", "--exclude-dir=pool", "--exclude=pool.img", "-e", secret, s.host.dir], { reject: false });
      const files = grep.stdout
        .split("\n")
        .filter(Boolean)
        .map((f) => path.relative(s.host.dir, f))
        .filter((f) => !["admin-token", "admin-password"].includes(f))
        .filter((f) => !(what === "script secret" && /^hoody\.db(-wal)?$/.test(f)));
      for (const f of files) found.push(`${what} in ${f}`);
    }
    expect(found).toEqual([]);
    // The search itself works: it finds what is meant to be there.
    const control = await execa("grep", ["-r", "-l", "-a", "-F", "-D", "skip", "--exclude-dir=pool", "--exclude=pool.img", "-e", s.adminToken, "-e", SCRIPT_SECRET, s.host.dir], { reject: false });
    const hits = control.stdout.split("\n").map((f) => path.relative(s.host.dir, f));
    expect(hits).toContain("admin-token");
    expect(
      hits.some((f) => /^hoody\.db(-wal)?$/.test(f)),
      hits.join(" "),
    ).toBe(true);
    for (const f of ["admin-token", "admin-password"]) expect((await fs.stat(path.join(s.host.dir, f))).mode & 0o777, f).toBe(0o600);
    // The audit log holds no secret either (it is also served by the API).
    const audit = JSON.stringify((await s.api("GET", "/audit?limit=100")).body.data);
    for (const [what, secret] of secrets) expect(audit.includes(secret), what).toBe(false);
  });
});

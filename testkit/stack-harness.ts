// A whole Hoody for HTTP tests: a TestHost (own pool, daemon, nft table) plus the production Next.js
// build (.next-test, made by `npm run build:test`) serving the API on a free port against its own
// SQLite database. stop() ends the server (its process group) and removes everything.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { TestHost, freePort } from "./host-harness.js";
import { IncusTestDaemon } from "./incus-harness.js";

const ROOT = path.resolve(import.meta.dirname, "..");
/** The production build the stack serves; HOODY_NEXT_DIST lets parallel work use a build of its own. */
const NEXT_DIST = process.env.HOODY_NEXT_DIST ?? ".next-test";

/** SIGKILL a detached child's whole process group (by its pid, never by name) and wait for it. */
async function killGroup(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
  await exited;
}

export interface ApiAnswer<T = any> {
  status: number;
  headers: Headers;
  body: { statusCode: number; message: string; data: T; code?: string; error?: string };
}

export class TestStack {
  private web: ChildProcess | null = null;
  private routerProc: ChildProcess | null = null;
  webLog = "";
  routerLog = "";
  routerPort = 0;
  webEnv: Record<string, string> = {};
  /** Settings both the web server and the router get (a domain, Caddy's ports). */
  sharedEnv: Record<string, string> = {};
  /** Where the web server listens; "0.0.0.0" as `npm run up` does, for tests that must not reach it from a tenant. */
  bindHost = "127.0.0.1";
  /** engine "incus": the throwaway incusd the web server drives (HOODY_ENGINE=incus); the host daemon then only lends its data dir. */
  incus: IncusTestDaemon | null = null;
  private constructor(
    readonly host: TestHost,
    readonly port: number,
    readonly adminToken: string,
    readonly adminPassword: string,
  ) {}

  static async create(
    opts: {
      poolSizeMiB?: number;
      templates?: string[];
      port?: number;
      routerPort?: number;
      subnet16?: boolean;
      uidRanges?: number;
      webEnv?: Record<string, string>;
      hostEnv?: Record<string, string>;
      engine?: "host" | "incus";
      bindHost?: string;
      env?: Record<string, string>;
    } = {},
  ): Promise<TestStack> {
    await fs.stat(path.join(ROOT, NEXT_DIST, "BUILD_ID")).catch(() => {
      throw new Error(`no ${NEXT_DIST} build: run \`npm run build:test\` (npm test does)`);
    });
    const host = await TestHost.create(opts);
    let incus: IncusTestDaemon | null = null;
    if (opts.engine === "incus") {
      try {
        incus = await IncusTestDaemon.start();
        for (const t of opts.templates ?? ["mini"]) await incus.importTemplate(t as "mini" | "starter");
      } catch (e) {
        await incus?.stop().catch(() => undefined);
        await host.stop().catch(() => undefined);
        throw e;
      }
    } else for (const t of opts.templates ?? ["mini"]) await host.client.buildTemplate(t);
    const adminToken = `hdy_${randomBytes(24).toString("base64url")}`;
    const adminPassword = randomBytes(12).toString("base64url");
    await fs.writeFile(path.join(host.dir, "admin-token"), adminToken + "\n", { mode: 0o600 });
    await fs.writeFile(path.join(host.dir, "admin-password"), adminPassword + "\n", { mode: 0o600 });
    const stack = new TestStack(host, opts.port ?? (await freePort()), adminToken, adminPassword);
    if (opts.routerPort) stack.routerPort = opts.routerPort;
    // No scheduled dedup unless a test asks for it: a run would compete with the test for the disk.
    // Custom domains resolve through a file of the test's own (empty: nothing resolves), never through an outside DNS server.
    const resolveFile = path.join(host.dir, "resolve-hosts");
    await fs.writeFile(resolveFile, "");
    stack.sharedEnv = opts.env ?? {};
    stack.webEnv = { HOODY_DEDUP_INTERVAL_MIN: "0", HOODY_RESOLVE_FILE: resolveFile, ...incus?.env, ...opts.env, ...opts.webEnv };
    stack.incus = incus;
    stack.bindHost = opts.bindHost ?? "127.0.0.1";
    // A web server that does not come up must not leave the daemon, pool and table behind.
    await stack.startWeb().catch(async (e) => {
      await stack.stop().catch(() => undefined);
      throw e;
    });
    return stack;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The web server's process id (0 when it is not running): its /proc entry shows what requests cost it. */
  get webPid(): number {
    return this.web?.pid ?? 0;
  }

  async startWeb(): Promise<void> {
    // No warm pool unless a test sets one (webEnv or PUT /warm-pool): members made in the background
    // would change what every other suite counts (tenants, addresses, chains).
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "server/web/main.ts"), "-p", String(this.port), "-H", this.bindHost], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...this.host.env,
        HOODY_NEXT_DIST: NEXT_DIST,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        HOODY_ROUTER_PORT: String(this.routerPort || 8080),
        HOODY_DOMAIN: "localhost",
        HOODY_WARM_POOL_DEFAULT: "0",
        ...this.webEnv,
      },
    });
    this.web = child;
    child.stdout!.on("data", (d) => (this.webLog += d));
    child.stderr!.on("data", (d) => (this.webLog += d));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`web exited ${child.exitCode}: ${this.webLog}`);
      const ok = await fetch(`${this.url}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok && /\[core\] reconcil/.test(this.webLog)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`web did not come up: ${this.webLog}`);
  }

  get routerUrl(): string {
    return `http://127.0.0.1:${this.routerPort}`;
  }

  /** The tenant router as its own process (as `npm run up` runs it), sweeping idle tenants every 300 ms. */
  async startRouter(): Promise<void> {
    this.routerPort ||= await freePort();
    const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "server/router/main.ts")], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...this.host.env, HOODY_ROUTER_PORT: String(this.routerPort), HOODY_ROUTER_HOST: this.bindHost, HOODY_DOMAIN: "localhost", HOODY_IDLE_SWEEP_MS: "300", ...this.sharedEnv },
    });
    this.routerProc = child;
    child.stdout!.on("data", (d) => (this.routerLog += d));
    child.stderr!.on("data", (d) => (this.routerLog += d));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`router exited ${child.exitCode}: ${this.routerLog}`);
      if (
        await fetch(`${this.routerUrl}/.hoody/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`router did not come up: ${this.routerLog}`);
  }

  /** A request to a tenant through the router, by its URL label. */
  viaRouter(label: string, p = "/", init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: this.routerPort, path: p, method: init.method ?? "GET", headers: { host: `${label}.localhost:${this.routerPort}`, ...init.headers }, agent: false },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(init.body);
    });
  }

  /** Stops the router and the web server (the daemon and tenants stay): the stack's services make way for others. */
  async stopServices(): Promise<void> {
    await killGroup(this.routerProc);
    this.routerProc = null;
    await this.killWeb();
  }

  /** kill -9 the web server's process group, as a crash would. */
  async killWeb(): Promise<void> {
    await killGroup(this.web);
    this.web = null;
  }

  async api<T = any>(method: string, p: string, body?: unknown, opts: { token?: string | null; headers?: Record<string, string>; raw?: string } = {}): Promise<ApiAnswer<T>> {
    const token = opts.token === undefined ? this.adminToken : opts.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers };
    let payload: string | undefined = opts.raw;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
    const res = await fetch(`${this.url}/api/v1${p}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { raw: text };
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  async stop(opts: { erase?: boolean } = {}): Promise<void> {
    await killGroup(this.routerProc);
    await this.killWeb();
    try {
      await this.incus?.stop();
    } finally {
      await this.host.stop(opts);
    }
  }
}

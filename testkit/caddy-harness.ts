// A real Caddy in front of a TestStack, as `npm run up` configures it for a public domain, but on
// loopback high ports with Caddy's internal CA: the config comes from the same generator, the
// router and the web server get the same settings. Names under the test domain are resolved to
// loopback by the client (curl --resolve, chromium --host-resolver-rules); nothing touches
// /etc/hosts or the system trust store. stop() ends Caddy (by its pid) and removes its files.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { execa } from "execa";
import { caddyAdmin, caddyCommand, caddyPaths, ensureProxySecret, writeCaddyConfig } from "../server/caddy/caddy.js";
import { freePort, waitFor } from "./host-harness.js";
import { TestStack } from "./stack-harness.js";

export interface CurlAnswer {
  exitCode: number;
  status: number;
  headers: string;
  body: string;
  stderr: string;
}

type CurlOptions = { headers?: Record<string, string>; method?: string; data?: string; cacert?: string | null };

export class CaddyStack {
  private caddy: ChildProcess | null = null;
  caddyLog = "";

  private constructor(
    readonly stack: TestStack,
    readonly domain: string,
    readonly httpsPort: number,
    readonly httpPort: number,
    /** A hosts-format file the web server checks custom domains against (HOODY_RESOLVE_FILE). */
    readonly resolveFile: string,
  ) {}

  get dashboardHost(): string {
    return `hoody.${this.domain}`;
  }

  get files() {
    return caddyPaths(this.stack.host.dir);
  }

  static async create(opts: { templates?: string[] } = {}): Promise<CaddyStack> {
    const domain = `h${randomBytes(3).toString("hex")}.hoody-test.dev`;
    const [httpsPort, httpPort] = [await freePort(), await freePort()];
    const resolveDir = await fs.mkdtemp("/tmp/hoody-resolve-");
    const resolveFile = path.join(resolveDir, "hosts");
    await fs.writeFile(resolveFile, "");
    const env = {
      HOODY_DOMAIN: domain,
      HOODY_HTTPS_PORT: String(httpsPort),
      HOODY_HTTP_PORT: String(httpPort),
      HOODY_TLS_ISSUER: "internal",
      HOODY_PUBLIC_IPS: "127.0.0.1",
      HOODY_RESOLVE_FILE: resolveFile,
    };
    const stack = await TestStack.create({ templates: opts.templates, env });
    const c = new CaddyStack(stack, domain, httpsPort, httpPort, resolveFile);
    try {
      await stack.startRouter();
      await c.startCaddy();
    } catch (e) {
      await c.stop().catch(() => undefined);
      throw e;
    }
    return c;
  }

  private async startCaddy(): Promise<void> {
    const dir = this.stack.host.dir;
    const p = caddyPaths(dir);
    writeCaddyConfig(
      {
        domain: this.domain,
        dashboardHost: this.dashboardHost,
        httpPort: this.httpPort,
        httpsPort: this.httpsPort,
        routerAddress: `127.0.0.1:${this.stack.routerPort}`,
        webAddress: `127.0.0.1:${this.stack.port}`,
        proxySecret: ensureProxySecret(dir),
        adminSocket: p.adminSocket,
        storageDir: p.storageDir,
        accessLog: p.accessLog,
        issuer: { kind: "internal" },
        bindHost: "127.0.0.1",
      },
      p.configFile,
    );
    const cmd = caddyCommand(dir);
    const child = spawn(cmd.command, cmd.args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...cmd.env } });
    this.caddy = child;
    child.stdout!.on("data", (d) => (this.caddyLog += d));
    child.stderr!.on("data", (d) => (this.caddyLog += d));
    // Caddy ends only at stop(): an exit before it is reported with its log, so a test that then
    // fails on a refused connection says why (a signal, a panic) instead of only "ECONNREFUSED".
    child.once("exit", (code, signal) => {
      if (this.caddy === child) console.error(`[caddy] exited early (code ${code}, signal ${signal}); its log ends:\n${this.caddyLog.slice(-4000)}`);
    });
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`caddy exited ${child.exitCode}: ${this.caddyLog}`);
        return (await caddyAdmin(p.adminSocket, "GET", "/config/").catch(() => ({ status: 0 }))).status === 200;
      },
      20_000,
      50,
    );
    // The internal CA's root exists once Caddy has started its PKI app.
    await waitFor(
      () =>
        fs.stat(p.rootCert).then(
          () => true,
          () => false,
        ),
      10_000,
      50,
    );
  }

  /** The public URL of a name under the test domain (or any name) on Caddy's HTTPS port. */
  url(host: string, p = "/"): string {
    return `https://${host}:${this.httpsPort}${p}`;
  }

  /**
   * curl as a client on the internet would use it: the name resolved to loopback, Caddy's root as
   * the only trusted CA (unless `cacert: null`), no certificate check turned off.
   */
  async curl(url: string, opts: CurlOptions = {}): Promise<CurlAnswer> {
    const first = await this.curlOnce(url, opts);
    if (first.exitCode !== 60 || !first.stderr.includes("certificate is not yet valid")) return first;
    // Caddy's internal CA starts a leaf at the instant it signs it (ACME CAs backdate theirs), and
    // OpenSSL checks it against time(2), which is the clock as of the last tick: up to a few ms
    // behind clock_gettime. A name's first request, which has Caddy issue the leaf during the
    // handshake, therefore fails when the signing falls in the first ms of a second. Only that
    // case is retried: the leaf on disk must be that fresh, and the retry waits until time(2) is
    // past its start; any other "not yet valid" is returned as it came.
    const host = new URL(url).hostname;
    const pem = await fs.readFile(path.join(this.files.storageDir, "certificates", "local", host, `${host}.crt`), "utf8").catch(() => "");
    const notBefore = pem ? new X509Certificate(pem).validFrom : "";
    const startMs = notBefore ? Date.parse(notBefore) : Number.NaN;
    if (!(Date.now() - startMs < 5_000)) return first;
    await waitFor(() => Date.now() >= startMs + 50, 5_000, 10);
    console.log(`[caddy] ${host}: the first request met a leaf that starts at ${notBefore} in the same tick (time(2) lags clock_gettime); asked again`);
    return this.curlOnce(url, opts);
  }

  private async curlOnce(url: string, opts: CurlOptions): Promise<CurlAnswer> {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    const args = ["-sS", "--max-time", "30", "--resolve", `${u.hostname}:${port}:127.0.0.1`, "-D", "-", "-o", "-", "-w", "\n%{http_code}"];
    const cacert = opts.cacert === undefined ? this.files.rootCert : opts.cacert;
    if (cacert) args.push("--cacert", cacert);
    if (opts.method) args.push("-X", opts.method);
    if (opts.data !== undefined) args.push("--data-binary", opts.data);
    for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
    args.push(url);
    // Headers and body both on stdout (-D - then -o -; curl 7.88 crashes writing headers to /dev/stderr here).
    const r = await execa("curl", args, { reject: false, stripFinalNewline: false });
    const lines = r.stdout.split("\n");
    const status = Number(lines.pop());
    const text = lines.join("\n");
    const cut = text.indexOf("\r\n\r\n");
    const [headers, body] = cut < 0 ? ["", text] : [text.slice(0, cut).replace(/\r/g, ""), text.slice(cut + 4)];
    return { exitCode: r.exitCode ?? -1, status, body, headers, stderr: r.stderr };
  }

  /** A request straight to the router (no Caddy), with any Host header (fetch cannot set one). */
  viaRouter(host: string, p = "/", headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: this.stack.routerPort, path: p, headers: { host, ...headers }, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  /** Points a name at this box in the web server's resolver (as an A record would). */
  async pointName(name: string, address = "127.0.0.1"): Promise<void> {
    await fs.appendFile(this.resolveFile, `${address} ${name}\n`);
  }

  async stop(): Promise<void> {
    const child = this.caddy;
    this.caddy = null; // before the kill: its exit is not an early one
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    }
    try {
      await this.stack.stop();
    } finally {
      await fs.rm(path.dirname(this.resolveFile), { recursive: true, force: true });
    }
  }
}

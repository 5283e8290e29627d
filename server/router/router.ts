// The tenant router: http://<label>.<domain>:<port>/ → the tenant's IP and app port. Streams bodies,
// keeps connections alive, passes WebSocket upgrades (http-proxy-3 does the HTTP work; nothing here
// parses HTTP). Scale to zero: a request for a stopped tenant wakes it (once, however many requests
// arrive together) and waits until its app port accepts; a tenant idle past its timeout is stopped.
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { Readable, type Duplex } from "node:stream";
import { createProxyServer } from "http-proxy-3";
import type { Core, RouteTarget } from "../core/core";
import { hostName } from "../shared/hostnames";
import { dropForwarding, normalizeAddress } from "../web/forwarded";
import { sendProblem } from "./pages";

/** How long a request waits for a running tenant's app to start listening before a 502. */
const READY_WAIT_MS = 5_000;

/** Upstream errors that mean "nothing took the connection": no byte of the request reached the app. */
const CONNECT_FAILURES = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ECONNREFUSED"]);

export interface RouterOptions {
  domain: string;
  /** Longest a request waits for a woken tenant's app port. */
  wakeTimeoutMs: number;
  /** How often idle tenants are looked for. */
  idleSweepMs: number;
  /** Upstream timeout for a proxied request (no bytes for this long: 502/504). */
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
  /** How long a host → target lookup is trusted. */
  cacheMs: number;
  /**
   * Caddy in front: the secret it sends in PROXY_HEADER, and the port clients reached it on. Only a
   * loopback peer that presents the secret may tell the router the client's address and scheme.
   */
  proxy?: { secret: string; publicPort: number };
}

/** The header Caddy sets (and the router removes) to show a request came through it. */
export const PROXY_HEADER = "x-hoody-proxy";

export const DEFAULT_ROUTER_OPTIONS: RouterOptions = {
  domain: "localhost",
  wakeTimeoutMs: 20_000,
  idleSweepMs: 5_000,
  upstreamTimeoutMs: 120_000,
  maxBodyBytes: 64 * 1024 * 1024,
  cacheMs: 1_000,
};

interface Activity {
  lastAt: number;
  active: number;
}

export class TenantRouter {
  readonly server: http.Server;
  // Upstream connections are kept alive and reused: a new TCP connection per request overflows small
  // app listen backlogs under load (measured: 1 s SYN-retry p99s without it).
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32, timeout: 60_000 });
  // xfwd off: it appends to the client's own X-Forwarded-* and keeps Forwarded/X-Real-IP (setForwarding replaces them).
  private readonly proxy = createProxyServer({ xfwd: false, ws: true, proxyTimeout: 0, timeout: 0, agent: this.agent });
  private readonly cache = new Map<string, { at: number; target: RouteTarget | null }>();
  private readonly waking = new Map<string, Promise<void>>();
  private readonly activity = new Map<string, Activity>();
  /** Tenants whose app port has accepted since the router last saw it refuse. */
  private readonly ready = new Set<string>();
  private pending = new Map<string, { n: number; lastAt: string }>();
  private timers: NodeJS.Timeout[] = [];
  readonly startedAt = Date.now();

  constructor(
    private readonly core: Core,
    private readonly opts: RouterOptions = DEFAULT_ROUTER_OPTIONS,
  ) {
    this.server = http.createServer({ requestTimeout: opts.upstreamTimeoutMs, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => void this.onRequest(req, res));
    this.server.on("upgrade", (req, socket, head) => void this.onUpgrade(req, socket, head));
    // Before any other listener: every request and upgrade the tenant gets carries the router's own forwarding headers.
    const forwarding = (req: http.IncomingMessage) => setForwarding(req, opts.proxy);
    this.server.prependListener("request", forwarding);
    this.server.prependListener("upgrade", forwarding);
  }

  listen(port: number, host = "0.0.0.0"): Promise<void> {
    this.timers.push(setInterval(() => void this.sweepIdle(), this.opts.idleSweepMs));
    this.timers.push(setInterval(() => this.flushCounters(), 2_000));
    for (const t of this.timers) t.unref();
    return new Promise((resolve) => this.server.listen(port, host, resolve));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.flushCounters();
    this.proxy.close();
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async target(host: string): Promise<RouteTarget | null> {
    const hit = this.cache.get(host);
    // A refusal is never answered from the cache: the operator may have just lifted the suspension, resumed it or opened the port.
    if (hit && Date.now() - hit.at < this.opts.cacheMs && !hit.target?.suspended && hit.target?.status !== "paused" && hit.target?.portOpen !== false) return hit.target;
    const target = await this.core.routing.routeHost(host, this.opts.domain);
    this.cache.set(host, { at: Date.now(), target });
    return target;
  }

  private touch(id: string, delta: number): void {
    const a = this.activity.get(id) ?? { lastAt: Date.now(), active: 0 };
    a.lastAt = Date.now();
    a.active += delta;
    this.activity.set(id, a);
  }

  private count(id: string): void {
    const p = this.pending.get(id) ?? { n: 0, lastAt: "" };
    p.n += 1;
    p.lastAt = new Date().toISOString();
    this.pending.set(id, p);
  }

  private flushCounters(): void {
    if (!this.pending.size) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.core.routing.recordRequests(batch);
    } catch (e) {
      console.error(`[router] could not record counters: ${(e as Error).message}`);
    }
  }

  /** Starts a stopped tenant once, however many requests wait for it, and waits for its app port. */
  private wake(t: RouteTarget): Promise<void> {
    let p = this.waking.get(t.id);
    if (!p) {
      p = (async () => {
        try {
          await this.core.routing.setRunning(t.id, true, "router: request for a stopped tenant");
          for (const [label, v] of this.cache) if (v.target?.id === t.id) this.cache.delete(label);
          await waitForPort(t.ip!, t.appPort, this.opts.wakeTimeoutMs);
          this.touch(t.id, 0);
        } finally {
          this.waking.delete(t.id);
        }
      })();
      this.waking.set(t.id, p);
    }
    return p;
  }

  /** Resolves the route; answers the problem itself and returns null when there is none. */
  private async route(req: http.IncomingMessage, res: http.ServerResponse | null): Promise<RouteTarget | null> {
    const label = hostName(req.headers.host);
    const fail = (status: number, detail: string, code: string) => {
      if (res) sendProblem(req, res, status, detail, code);
      return null;
    };
    if (!label) return fail(404, `No tenant answers at ${req.headers.host ?? "(no Host header)"}.`, "UNKNOWN_HOST");
    const t = await this.target(label);
    if (!t?.ip) return fail(404, `No tenant is called ${label}.`, "UNKNOWN_TENANT");
    if (!t.portOpen) return fail(403, `Port ${t.port} of this tenant is closed to the router by its firewall; allow it from "host" to open ${label}.`, "PORT_NOT_OPEN");
    if (t.status === "deleting") return fail(410, `${label} is being deleted.`, "TENANT_GONE");
    if (t.status === "failed" || t.status === "creating") return fail(503, `${label} is ${t.status}.`, "TENANT_UNAVAILABLE");
    // Pausing is deliberate, like a suspension: a request does not resume the tenant.
    const paused = () => fail(503, `${label} is paused by its operator; requests do not resume it.`, "TENANT_PAUSED");
    if (t.status === "paused") return paused();
    const suspended = () => fail(503, `${label} is suspended by its operator; requests do not start it.`, "TENANT_SUSPENDED");
    if (t.status !== "running" && t.suspended) return suspended();
    if (t.status !== "running") {
      try {
        await this.wake(t);
        this.ready.add(t.id);
      } catch (e) {
        // Suspended or paused between the lookup and the wake: the core refused to start it.
        if ((e as { code?: string }).code === "TENANT_SUSPENDED") return suspended();
        if ((e as { code?: string }).code === "TENANT_PAUSED") return paused();
        return fail(503, `${label} did not start in time: ${(e as Error).message}. Try again in a moment.`, "WAKE_TIMEOUT");
      }
    } else if (!this.ready.has(t.id)) {
      // Running but not known to listen (just created, or it refused last time): wait a little
      // rather than answer 502 while the app is still starting. The waiting request is activity:
      // the idle sweep must not stop the tenant under it.
      this.touch(t.id, +1);
      try {
        await waitForPort(t.ip, t.appPort, READY_WAIT_MS);
        this.ready.add(t.id);
      } catch {
        return fail(502, `${label} is running but its app does not accept connections on port ${t.appPort}.`, "UPSTREAM_ERROR");
      } finally {
        this.touch(t.id, -1);
      }
    }
    return t;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      // The platform's own health checks: answered here, never counted as tenant traffic.
      if (req.url?.startsWith("/.hoody/tls-ask?") && this.fromCaddyItself(req)) return await this.answerAsk(req, res);
      if (req.url === "/.hoody/health") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: "ok", uptime_s: Math.round((Date.now() - this.startedAt) / 1000) }));
        return;
      }
      const len = Number(req.headers["content-length"] ?? 0);
      if (len > this.opts.maxBodyBytes) return sendProblem(req, res, 413, `Bodies are limited to ${this.opts.maxBodyBytes} bytes.`, "BODY_TOO_LARGE");
      const t = await this.route(req, res);
      if (!t) return;
      this.count(t.id);
      this.touch(t.id, +1);
      res.once("close", () => this.touch(t.id, -1));
      this.forward(req, res, t, false);
    } catch (e) {
      sendProblem(req, res, 502, `Routing failed: ${(e as Error).message}`, "ROUTER_ERROR");
    }
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, t: RouteTarget, retry: boolean): void {
    // A retry has no body to send (only bodyless requests are retried): an empty stream, since the
    // request's own stream was consumed by the first try.
    const body = retry ? { buffer: Readable.from([]) } : {};
    this.proxy.web(
      req,
      res,
      { target: `http://${t.ip}:${t.port}`, proxyTimeout: this.opts.upstreamTimeoutMs, ...body },
      (err) => void this.onUpstreamError(req, res, t, err as NodeJS.ErrnoException, retry),
    );
  }

  /**
   * The app could not be reached. The lookup may be stale (the tenant was stopped since it was
   * cached): re-read the tenant's state before answering, and if it no longer runs, route the
   * request again, which wakes it. Only a request with no body is sent again; one whose body was
   * already consumed is told the truth and to retry.
   */
  private async onUpstreamError(req: http.IncomingMessage, res: http.ServerResponse, t: RouteTarget, err: NodeJS.ErrnoException, retried: boolean): Promise<void> {
    const label = hostName(req.headers.host) ?? "";
    this.cache.delete(label);
    this.ready.delete(t.id);
    const code = err.code ?? err.message;
    try {
      if (!retried && !res.headersSent && CONNECT_FAILURES.has(code)) {
        const now = await this.target(label);
        if (now?.id === t.id && now.status !== "running") {
          if (hasBody(req)) {
            void this.route(req, null).catch(() => undefined);
            return sendProblem(req, res, 503, `${label} was stopped while this request was on its way; it is starting again. Send the request again.`, "TENANT_RESTARTING");
          }
          const again = await this.route(req, res);
          if (again) this.forward(req, res, again, true);
          return;
        }
      }
      sendProblem(req, res, 502, `The app did not answer (${code}).`, "UPSTREAM_ERROR");
    } catch (e) {
      sendProblem(req, res, 502, `Routing failed: ${(e as Error).message}`, "ROUTER_ERROR");
    }
  }

  private async onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    try {
      const t = await this.route(req, null);
      if (!t) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.count(t.id);
      this.touch(t.id, +1);
      socket.once("close", () => this.touch(t.id, -1));
      this.proxy.ws(req, socket, head, { target: `http://${t.ip}:${t.port}` }, () => socket.destroy());
    } catch {
      socket.destroy();
    }
  }

  /**
   * Caddy's on-demand TLS asks here before it gets a certificate for a name. Only Caddy's TLS module
   * itself asks: a loopback peer with no proxy header (a client's request that Caddy proxies carries
   * the header, and is then a request for the tenant like any other).
   */
  private fromCaddyItself(req: http.IncomingMessage): boolean {
    const peer = normalizeAddress(req.socket.remoteAddress ?? "");
    return (peer === "127.0.0.1" || peer === "::1") && !(req as { viaCaddy?: boolean }).viaCaddy && !!this.opts.proxy;
  }

  private async answerAsk(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const name = hostName(new URL(req.url ?? "/", "http://ask").searchParams.get("domain") ?? "");
    const ok = !!name && (await this.core.routing.tlsAllowed(name));
    res.writeHead(ok ? 200 : 403, { "content-type": "text/plain" }).end(ok ? "ok\n" : "no certificate for this name\n");
  }

  /** Stops running tenants whose last request is older than their idle timeout (open connections keep them up). */
  async sweepIdle(): Promise<string[]> {
    const stopped: string[] = [];
    for (const tenant of await this.core.routing.idleStates()) {
      const { id, timeoutS } = tenant;
      // A paused tenant is never stopped for idleness, and its idle clock restarts at its resume.
      if (tenant.state === "paused") this.activity.set(id, { lastAt: Date.now(), active: this.activity.get(id)?.active ?? 0 });
      if (tenant.state !== "running" || timeoutS === null || timeoutS === undefined) continue;
      // A tenant the router has not seen yet starts its idle clock now.
      if (!this.activity.has(id)) this.activity.set(id, { lastAt: Date.now(), active: 0 });
      const a = this.activity.get(id)!;
      if (a.active > 0 || this.waking.has(id) || Date.now() - a.lastAt < timeoutS * 1000) continue;
      try {
        await this.core.routing.setRunning(id, false, `router: idle for ${timeoutS}s`);
        // A request that arrived during the stop holds this entry (it will wake the tenant): keep its count.
        if (this.activity.get(id)?.active === 0) this.activity.delete(id);
        this.ready.delete(id);
        stopped.push(id);
      } catch (e) {
        console.error(`[router] could not stop idle ${id}: ${(e as Error).message}`);
      }
    }
    if (stopped.length) this.cache.clear();
    return stopped;
  }
}

/** Whether a request carries a body (which a retry could not send again). */
function hasBody(req: http.IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/**
 * What a tenant is told about the client is only what the router knows itself: a client's own
 * X-Forwarded-*, Forwarded or X-Real-IP could name any address, host or scheme to the tenant's app.
 * The port is the one this connection came in on (the router's, not the default 80).
 */
export function setForwarding(req: http.IncomingMessage, proxy?: RouterOptions["proxy"]): void {
  const viaCaddy = fromCaddy(req, proxy);
  const client = viaCaddy ? firstForwarded(req.headers["x-forwarded-for"]) : null;
  const proto = viaCaddy && req.headers["x-forwarded-proto"] === "https" ? "https" : null;
  dropForwarding(req.headers);
  // The secret is between Caddy and the router: a tenant never sees it.
  delete req.headers[PROXY_HEADER];
  (req as { viaCaddy?: boolean }).viaCaddy = viaCaddy;
  req.headers["x-forwarded-for"] = client ?? normalizeAddress(req.socket.remoteAddress ?? "");
  req.headers["x-forwarded-proto"] = proto ?? ((req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
  req.headers["x-forwarded-port"] = String(viaCaddy && proxy ? proxy.publicPort : (req.socket.localPort ?? ""));
  if (req.headers.host) req.headers["x-forwarded-host"] = req.headers.host;
}

/**
 * Whether a request came through Caddy: a loopback peer (Caddy runs on this box) that presents the
 * shared secret. Loopback alone is not enough, since any local process (or a tenant allowed to reach
 * the host) can connect from there; the secret is known to Caddy's config and the router only.
 */
export function fromCaddy(req: http.IncomingMessage, proxy: RouterOptions["proxy"]): boolean {
  if (!proxy) return false;
  const peer = normalizeAddress(req.socket.remoteAddress ?? "");
  if (peer !== "127.0.0.1" && peer !== "::1") return false;
  const given = Buffer.from(String(req.headers[PROXY_HEADER] ?? ""));
  const want = Buffer.from(proxy.secret);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The client Caddy saw: the first entry of its X-Forwarded-For. */
function firstForwarded(value: string | string[] | undefined): string | null {
  const first = String(value ?? "")
    .split(",")[0]
    ?.trim();
  return first ? normalizeAddress(first) : null;
}

/**
 * Resolves once host:port accepts a TCP connection; rejects after timeoutMs. Tried every 5 ms for
 * the first half second (an app that is starting binds in tens of ms: a 25 ms step added 12 ms on
 * average to a claimed tenant's first byte), every 25 ms after (a refused try is one SYN and RST).
 */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.once("connect", () => done(true));
      s.once("error", () => done(false));
      s.setTimeout(500, () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, Date.now() - started < 500 ? 5 : 25));
  }
}

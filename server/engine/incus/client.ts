// A thin typed client of the Incus REST API (https://linuxcontainers.org/incus/docs/main/rest-api/):
// the local unix socket through node:http, or a remote member/cluster over HTTPS with a client
// certificate. Background operations are waited on (/1.0/operations/<id>/wait) and their failure
// is thrown; /1.0/events is a websocket. No state beyond the endpoint: safe to share.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import WebSocket from "ws";
import type { IncusEvent, IncusOperation, IncusResponse } from "./types";

export interface IncusEndpoint {
  /** Local unix socket, e.g. /var/lib/incus/unix.socket. */
  socketPath?: string;
  /** Remote: https://member:8443 (a cluster answers on every member). */
  url?: string;
  /** PEM client certificate and key (trusted by the cluster: `incus config trust add-certificate`). */
  cert?: string;
  key?: string;
  /** PEM CA or the server's own certificate; unset: the system CAs. */
  ca?: string;
  /** Incus project the engine works in (default: "default"). */
  project?: string;
}

export class IncusApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "IncusApiError";
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export class IncusClient {
  private readonly agent: http.Agent;
  private readonly tls: { cert?: string; key?: string; ca?: string };
  readonly project: string;

  constructor(readonly endpoint: IncusEndpoint) {
    if (!endpoint.socketPath && !endpoint.url) throw new Error("Incus endpoint: a socket path or an https URL is needed");
    this.project = endpoint.project ?? "default";
    this.tls = { cert: endpoint.cert, key: endpoint.key, ca: endpoint.ca };
    this.agent = endpoint.url ? new https.Agent({ keepAlive: true, maxSockets: 16, ...this.tls, rejectUnauthorized: true }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Reads the endpoint's PEM files (HOODY_INCUS_CERT / _KEY / _CA are paths). */
  static fromFiles(e: { socketPath?: string; url?: string; certFile?: string; keyFile?: string; caFile?: string; project?: string }): IncusClient {
    const read = (f?: string) => (f ? fs.readFileSync(f, "utf8") : undefined);
    return new IncusClient({ socketPath: e.socketPath, url: e.url, cert: read(e.certFile), key: read(e.keyFile), ca: read(e.caFile), project: e.project });
  }

  private path(p: string, query: Query = {}, project = true): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    if (project && this.project !== "default" && !q.has("project")) q.set("project", this.project);
    const s = q.toString();
    return s ? `${p}${p.includes("?") ? "&" : "?"}${s}` : p;
  }

  /** One HTTP exchange; answers the parsed envelope (or raw text for non-JSON answers). */
  raw(
    method: string,
    p: string,
    opts: { query?: Query; body?: unknown; stream?: Readable; headers?: Record<string, string>; timeoutMs?: number; project?: boolean } = {},
  ): Promise<{ status: number; body: string }> {
    const fullPath = this.path(p, opts.query, opts.project ?? true);
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...opts.headers };
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const base = { method, path: fullPath, headers, agent: this.agent, timeout: opts.timeoutMs ?? 120_000 };
      const onRes = (res: http.IncomingMessage) => {
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (buf += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: buf }));
        res.on("error", reject);
      };
      let req: http.ClientRequest;
      if (this.endpoint.url) {
        const u = new URL(this.endpoint.url);
        req = https.request({ ...base, host: u.hostname, port: u.port || 8443, ...this.tls }, onRes);
      } else {
        req = http.request({ ...base, socketPath: this.endpoint.socketPath }, onRes);
      }
      req.on("timeout", () => req.destroy(new Error(`Incus ${method} ${p} timed out`)));
      req.on("error", reject);
      if (opts.stream) {
        opts.stream.on("error", (e) => req.destroy(e));
        opts.stream.pipe(req);
      } else req.end(payload);
    });
  }

  /** A call answering the envelope's metadata; an async answer is waited on to its end. */
  async call<T = unknown>(method: string, p: string, opts: Parameters<IncusClient["raw"]>[2] = {}): Promise<T> {
    const { status, body } = await this.raw(method, p, opts);
    let env: IncusResponse<T>;
    try {
      env = JSON.parse(body) as IncusResponse<T>;
    } catch {
      throw new IncusApiError(status, `Incus ${method} ${p}: not JSON (HTTP ${status}): ${body.slice(0, 200)}`, p);
    }
    if (env.type === "error") throw new IncusApiError(env.error_code || status, env.error || `HTTP ${status}`, p);
    if (env.type === "async") {
      const op = await this.wait(env.operation ?? (env.metadata as unknown as IncusOperation).id);
      return op as unknown as T;
    }
    return env.metadata;
  }

  /** Waits for a background operation; throws its error if it failed. */
  async wait(operation: string, timeoutS = 600): Promise<IncusOperation> {
    const id = operation.replace(/^\/1\.0\/operations\//, "").split("?")[0]!;
    const op = await this.call<IncusOperation>("GET", `/1.0/operations/${encodeURIComponent(id)}/wait`, { query: { timeout: timeoutS }, timeoutMs: (timeoutS + 10) * 1000 });
    if (op.status_code >= 400 || op.status === "Failure" || op.err) throw new IncusApiError(op.status_code || 500, op.err || `operation ${op.description} failed`, `/1.0/operations/${id}`);
    return op;
  }

  get<T = unknown>(p: string, query?: Query) {
    return this.call<T>("GET", p, { query });
  }
  post<T = unknown>(p: string, body: unknown, query?: Query) {
    return this.call<T>("POST", p, { body, query });
  }
  put<T = unknown>(p: string, body: unknown, query?: Query) {
    return this.call<T>("PUT", p, { body, query });
  }
  patch<T = unknown>(p: string, body: unknown, query?: Query) {
    return this.call<T>("PATCH", p, { body, query });
  }
  delete<T = unknown>(p: string, query?: Query) {
    return this.call<T>("DELETE", p, { query });
  }

  /** The events stream (lifecycle, operation, logging); `close()` ends it. Reconnects are the caller's. */
  events(types: ("lifecycle" | "operation" | "logging")[], onEvent: (e: IncusEvent) => void, onClose?: (err?: Error) => void): { close(): void } {
    const p = this.path("/1.0/events", { type: types.join(",") });
    let ws: WebSocket;
    if (this.endpoint.url) {
      const u = new URL(this.endpoint.url);
      ws = new WebSocket(`wss://${u.host}${p}`, { ...this.tls });
    } else {
      ws = new WebSocket(`ws+unix://${this.endpoint.socketPath}:${p}`);
    }
    ws.on("message", (data) => {
      try {
        onEvent(JSON.parse(String(data)) as IncusEvent);
      } catch {
        // A frame we cannot parse is not an event.
      }
    });
    ws.on("error", (e) => onClose?.(e));
    ws.on("close", () => onClose?.());
    return { close: () => ws.close() };
  }

  close(): void {
    this.agent.destroy();
  }
}

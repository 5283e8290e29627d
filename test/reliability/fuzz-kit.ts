// Shared by the fuzz and auth suites: their fixture and a valid body for each route, raw HTTP
// requests (any path bytes, duplicate headers), the error-envelope check, the "nothing changed"
// fingerprint of the whole stack, and the host daemon's command trace (HOODY_SYS_TRACE).
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { expect } from "vitest";
import type { Route } from "../../server/rest/routes";
import type { TestStack } from "../../testkit/stack-harness.js";

export interface Fixture {
  projectA: string;
  projectB: string;
  cA: string;
  cB: string;
  snapA: string;
  tokenA: { id: string; token: string };
  tokenB: { id: string; token: string };
  revoked: { id: string; token: string };
}

/**
 * Project A with a running container (extra create fields: `containerA`) and its snapshot "golden",
 * project B with a stopped one, a token for each project and a revoked admin token; names start with `tag`.
 */
export async function makeFixture(s: TestStack, tag: string, containerA: Record<string, unknown> = {}): Promise<Fixture> {
  const ok = <T = any>(a: { status: number; body: { data: T } }): T => {
    expect(a.status, JSON.stringify(a.body)).toBeLessThan(300);
    return a.body.data;
  };
  const projectA = ok(await s.api("POST", "/projects", { alias: `${tag}-a` })).id;
  const projectB = ok(await s.api("POST", "/projects", { alias: `${tag}-b` })).id;
  const cA = ok(await s.api("POST", `/projects/${projectA}/containers`, { name: `${tag}-a1`, template: "mini", ...containerA })).id;
  const cB = ok(await s.api("POST", `/projects/${projectB}/containers`, { name: `${tag}-b1`, template: "mini", autostart: false })).id;
  const snapA = ok(await s.api("POST", `/containers/${cA}/snapshots`, { alias: "golden" })).snapshot.name;
  const tokenA = ok(await s.api("POST", "/tokens", { name: `${tag}-a`, project_id: projectA }));
  const tokenB = ok(await s.api("POST", "/tokens", { name: `${tag}-b`, project_id: projectB }));
  const revoked = ok(await s.api("POST", "/tokens", { name: `${tag}-revoked`, project_id: null }));
  ok(await s.api("DELETE", `/tokens/${revoked.id}`));
  return { projectA, projectB, cA, cB, snapA, tokenA, tokenB, revoked };
}

/** A body route r accepts, aimed at project A; undefined for a route this table does not know. */
export function validBodyFor(r: Route, fx: Fixture, o: { tag: string; envKey: string; command: string[] }): unknown {
  const p = r.path;
  if (p === "/projects") return { alias: `${o.tag}-new` };
  if (p === "/projects/{id}") return { alias: `${o.tag}-renamed` };
  if (p === "/projects/{id}/containers") return { template: "mini" };
  if (p === "/containers/{id}") return { environment_vars: { [o.envKey]: "1" }, restart: false };
  if (p.endsWith("/copy")) return { target_project_id: fx.projectA };
  if (p.endsWith("/exec")) return { command: o.command };
  if (p.endsWith("/env/{key}")) return { value: "1", restart: false };
  if (p.endsWith("/env")) return { [o.envKey]: "1" };
  if (p.endsWith("/snapshots")) return { alias: `${o.tag}-snap` };
  if (p.endsWith("/alias")) return { alias: `${o.tag}-alias` };
  if (p.endsWith("/firewall/{direction}"))
    return r.method === "POST" ? { action: "allow", protocol: "tcp", destination_port: "81" } : r.method === "PATCH" ? { index: 0, state: "disabled" } : { index: 0 };
  if (p.endsWith("/domains")) return { hostname: `${o.tag.toLowerCase().replace(/[^a-z0-9-]/g, "") || "x"}.customer.example` };
  if (p.endsWith("/backup-schedule")) return { every_hours: 24, keep: 2 };
  if (p === "/warm-pool/{template}") return { size: 0 };
  if (p === "/dedup") return { deadline_s: 1 };
  if (p === "/templates") return { recipe: "mini", name: `${o.tag}-tpl` };
  if (p === "/templates/promote") return { container_id: fx.cA, name: `${o.tag}-promoted` };
  if (p === "/tokens") return { name: `${o.tag}-token`, project_id: fx.projectA };
  if (p.startsWith("/scripts/")) return { [o.envKey]: "1" };
  return undefined;
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
  /** Size of the request line and headers sent: past 16 KiB Node itself answers 431. */
  requestHeadBytes: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** An answer as the tests look at it: its text, and its JSON when it is JSON. */
export function rawAnswer(status: number, headers: http.IncomingHttpHeaders, text: string, requestHeadBytes = 0): RawAnswer {
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status, headers, text, json, requestHeadBytes };
}

/** One request through Node's client: the path is sent as given (percent-encoding is the caller's). */
export function send(port: number, method: string, rawPath: string, headers: Record<string, string | string[]> = {}, body?: string | Buffer, opts: { localAddress?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    // Framed explicitly: Node sends a DELETE's body unframed, which the server reads as a second request.
    const framed = body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
    // maxHeaderSize: Next's 308 for a '\\' path repeats the whole (long) URL in two headers.
    // A local address of its own (e.g. 127.0.0.2) makes the request come from another peer; kept-alive sockets are the agent's.
    const req = http.request(
      { host: "127.0.0.1", port, method, path: rawPath, headers: framed, maxHeaderSize: 256 * 1024, ...(opts.localAddress ? { localAddress: opts.localAddress, agent: false } : { agent }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const requestHeadBytes = method.length + rawPath.length + 64 + Object.entries(framed).reduce((n, [k, v]) => n + [v].flat().reduce((m, x) => m + k.length + String(x).length + 4, 0), 0);
          resolve(rawAnswer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString("utf8"), requestHeadBytes));
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout ${method} ${rawPath.slice(0, 200)}`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Bytes straight onto a socket, for what Node's client refuses to send (raw NUL, UTF-8, bad framing). */
export function sendRaw(port: number, bytes: Buffer | string, timeoutMs = 15_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const done = () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    };
    sock.setTimeout(timeoutMs, () => sock.destroy());
    sock.on("data", (c) => chunks.push(c));
    sock.on("close", done);
    sock.on("error", () => undefined);
    sock.write(bytes);
  });
}

/** The engine states a refusal may legitimately answer with a 503 (documented, with Retry-After). */
export const DOCUMENTED_503 = new Set(["ENGINE_UNAVAILABLE", "CAPACITY_EXHAUSTED"]);

/** Problems with an answer that is meant to be Hoody's error envelope (empty list = fine). */
export function envelopeProblems(a: RawAnswer): string[] {
  const p: string[] = [];
  if (a.status >= 500 && !(a.status === 503 && DOCUMENTED_503.has(a.json?.code))) p.push(`status ${a.status}`);
  if (!a.json || typeof a.json !== "object") return [...p, `not JSON: ${a.text.slice(0, 200)}`];
  if (a.json.statusCode !== a.status) p.push(`statusCode ${a.json.statusCode} != ${a.status}`);
  if (a.status >= 400) {
    if (typeof a.json.code !== "string" || !/^[A-Z][A-Z0-9_]*$/.test(a.json.code)) p.push(`no stable code: ${JSON.stringify(a.json).slice(0, 200)}`);
    if (typeof a.json.error !== "string" || typeof a.json.message !== "string") p.push("error/message missing");
    if (!/^application\/json/.test(String(a.headers["content-type"]))) p.push(`content-type ${a.headers["content-type"]}`);
  }
  return p;
}

// ------------------------------------------------------------------ the stack's fingerprint

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex").slice(0, 16);

async function walk(root: string, skip: (rel: string) => boolean, hashContent: (rel: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  async function rec(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) {
        out.push(`${r}/`);
        await rec(r);
      } else if (e.isFile() && hashContent(r)) {
        out.push(`${r} ${sha(await fs.readFile(path.join(root, r)))}`);
      } else {
        out.push(r);
      }
    }
  }
  await rec("");
  return out;
}

export interface Fingerprint {
  parts: Record<string, string>;
  /** Highest audit_log id: rows after it are compared by result only (refusals may be audited). */
  auditMax: number;
}

/**
 * Everything a request could change: the database rows (read-only handle), the pool's subvolumes,
 * the nft table, the tenants' veths, every tenant's run state, the lxcpath and the data dir tree.
 * Left out, on purpose: api_tokens.last_used_at (every authenticated request sets it), the
 * stats history (the web server's sampler writes it on its own clock, whatever the requests do) and
 * the audit log, which records refused mutations as `error:<CODE>`; compareFingerprints checks that
 * every audit row added meanwhile is such a refusal.
 */
export async function fingerprint(s: TestStack): Promise<Fingerprint> {
  const parts: Record<string, string> = {};
  const db = new Database(path.join(s.host.dir, "hoody.db"), { readonly: true, fileMustExist: true });
  let auditMax = 0;
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    for (const { name } of tables) {
      if (name === "stats_samples") continue;
      if (name === "audit_log") {
        auditMax = (db.prepare("SELECT max(id) AS m FROM audit_log").get() as { m: number | null }).m ?? 0;
        continue;
      }
      let rows = db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all() as Record<string, unknown>[];
      if (name === "api_tokens") rows = rows.map(({ last_used_at: _, ...r }) => r);
      if (name === "sqlite_sequence") rows = rows.filter((r) => r.name !== "audit_log");
      parts[`db:${name}`] = JSON.stringify(rows);
    }
  } finally {
    db.close();
  }
  const subvols = await execa("btrfs", ["subvolume", "list", s.host.poolPath]);
  // Templates' spares come and go after creates, in the background (server/host/spares.ts): not state a request changes.
  parts.subvolumes = subvols.stdout
    .replace(/ gen \d+/g, "")
    .split("\n")
    .filter((l) => !/ path spares\//.test(l))
    .join("\n");
  const nft = await execa("nft", ["list", "table", "inet", s.host.env.HOODY_NFT_TABLE!]);
  parts.nft = nft.stdout.replace(/counter packets \d+ bytes \d+/g, "counter");
  const links = await execa("ip", ["-o", "link", "show"]);
  const prefix = s.host.env.HOODY_VETH_PREFIX!;
  parts.veths = links.stdout
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n.startsWith(prefix))
    .sort()
    .join(" ");
  const tenants = (await fs.readdir(s.host.lxcPath).catch(() => [] as string[])).sort();
  const states: string[] = [];
  for (const t of tenants) states.push(`${t}=${(await s.host.lxc("lxc-info", t, "-sH")).stdout.trim()}`);
  parts.states = states.join(" ");
  // Generated config and decisions are hashed; console logs grow on their own and are listed by name.
  parts.lxc = (
    await walk(
      s.host.lxcPath,
      () => false,
      (r) => /(^|\/)(config|hoody\.json)$/.test(r),
    )
  ).join("\n");
  parts.dataDir = (
    await walk(
      s.host.dir,
      (r) => r === "pool" || r === "lxc" || r === "pool.img",
      (r) => !/^hoody\.db/.test(r) && !/\.log$/.test(r) && !/^run\//.test(r),
    )
  ).join("\n");
  return { parts, auditMax };
}

/** Differences between two fingerprints, plus audit rows after `before` that are not refusals. */
export async function compareFingerprints(s: TestStack, before: Fingerprint, after: Fingerprint): Promise<string[]> {
  const diffs: string[] = [];
  for (const k of new Set([...Object.keys(before.parts), ...Object.keys(after.parts)])) {
    const a = before.parts[k] ?? "";
    const b = after.parts[k] ?? "";
    if (a !== b) diffs.push(`${k} changed:\n  before: ${a.slice(0, 1500)}\n  after:  ${b.slice(0, 1500)}`);
  }
  const db = new Database(path.join(s.host.dir, "hoody.db"), { readonly: true, fileMustExist: true });
  try {
    // Refusals: a failed call's row ("error:<code>"), or the window row that counts refused sign-ins
    // ("refused"), which is flushed a second after the refusals, so possibly during a later probe.
    // The delta browser's reads and exports are audited by design (looking at a tenant's files is processing).
    const rows = db
      .prepare("SELECT * FROM audit_log WHERE id > ? AND result NOT LIKE 'error:%' AND result != 'refused' AND action NOT IN ('changes.list', 'changes.content', 'container.export')")
      .all(before.auditMax);
    if (rows.length) diffs.push(`audit rows that are not refusals: ${JSON.stringify(rows).slice(0, 2000)}`);
  } finally {
    db.close();
  }
  return diffs;
}

// ------------------------------------------------------------------ the daemon's command trace

/** Reads HOODY_SYS_TRACE lines appended since the last read. */
export class TraceReader {
  private offset = 0;
  constructor(readonly file: string) {}
  async next(): Promise<string[]> {
    const buf = await fs.readFile(this.file).catch(() => Buffer.alloc(0));
    const fresh = buf.subarray(this.offset).toString("utf8");
    this.offset = buf.length;
    return fresh.split("\n").filter(Boolean);
  }
}

// Hostile clients of the web server and the router (issue 20, items 6 and 12–16), against the real
// stack: the production build, the host daemon and the router. Each attack is paired with a control
// that shows the probe reaches what it attacks (a small body is read, the same mutation with proof of
// origin runs, the tenant sees the headers it is sent, …).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { appRouter } from "../../../server/api/root";
import { SAME_ORIGIN_HEADER, SAME_ORIGIN_VALUE } from "../../../server/web/guards";
import { waitFor } from "../../../testkit/host-harness.js";
import { TestStack } from "../../../testkit/stack-harness.js";
import { compareFingerprints, envelopeProblems, fingerprint, rawAnswer, send, sendRaw, type RawAnswer } from "../fuzz-kit.js";

const EXEC_RUNNING = 2;
const EXEC_QUEUED = 2;
const MAX_PER_CLIENT = 5;
const MB = 1024 * 1024;

let s: TestStack;
const SCRIPTS = path.join(os.tmpdir(), `hoody-hostile-web-scripts-${process.pid}`);

/** A TCP service the `gate` script calls: it holds every call until the test lets it go. */
const gate = {
  server: http.createServer(),
  held: [] as http.ServerResponse[],
  arrived: 0,
  inFlight: 0,
  maxInFlight: 0,
  release(): void {
    for (const res of this.held.splice(0)) res.end("released");
  },
};
gate.server.on("request", (_req, res) => {
  gate.arrived++;
  gate.maxInFlight = Math.max(gate.maxInFlight, ++gate.inFlight);
  res.on("close", () => gate.inFlight--);
  gate.held.push(res);
});

beforeAll(async () => {
  await fs.mkdir(SCRIPTS, { recursive: true });
  await fs.writeFile(path.join(SCRIPTS, "echo.ts"), `export default async function (req: Request) {\n  return Response.json({ bytes: (await req.arrayBuffer()).byteLength });\n}\n`);
  await fs.writeFile(
    path.join(SCRIPTS, "gate.ts"),
    `export default async function (_req: Request, ctx: { settings: Record<string, string> }) {\n  const r = await fetch("http://127.0.0.1:" + ctx.settings.GATE_PORT + "/");\n  return new Response(await r.text());\n}\n`,
  );
  await new Promise<void>((r) => gate.server.listen(0, "127.0.0.1", r));
  s = await TestStack.create({
    webEnv: {
      HOODY_SCRIPTS_DIR: SCRIPTS,
      HOODY_EXEC_CONCURRENCY: String(EXEC_RUNNING),
      HOODY_EXEC_QUEUE: String(EXEC_QUEUED),
      HOODY_SIGNIN_MAX_PER_CLIENT: String(MAX_PER_CLIENT),
      HOODY_SIGNIN_MAX_GLOBAL: "1000",
    },
  });
  await s.startRouter();
  const put = await s.api("PUT", "/scripts/gate/settings", { GATE_PORT: String((gate.server.address() as { port: number }).port) });
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
});
afterAll(async () => {
  gate.release();
  gate.server.closeAllConnections();
  gate.server.close();
  await s?.stop();
  await fs.rm(SCRIPTS, { recursive: true, force: true });
});

const signInBody = (password: string) => JSON.stringify({ password });
async function sessionCookie(): Promise<string> {
  const a = await send(s.port, "POST", "/api/auth/login", { "content-type": "application/json" }, signInBody(s.adminPassword));
  expect(a.status, a.text).toBe(200);
  return String([a.headers["set-cookie"]].flat()[0]).split(";")[0]!;
}

// ------------------------------------------------------------------ item 6: bodies bounded while they stream

/** VmRSS of a process, in bytes. */
async function rss(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

interface Streamed extends RawAnswer {
  /** Bytes the client got to write before the answer came (the server stops reading, TCP pushes back). */
  sent: number;
}

/** Streams up to `total` bytes (chunked, or with the size declared) and stops writing as soon as the answer arrives. */
function streamBody(p: string, headers: Record<string, string>, total: number, declare = false): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const framing = declare ? { "content-length": String(total) } : { "transfer-encoding": "chunked" };
    const req = http.request({ host: "127.0.0.1", port: s.port, method: "POST", path: p, headers: { ...headers, ...framing }, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ ...rawAnswer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString("utf8")), sent });
        req.destroy();
      });
      res.on("error", reject);
    });
    // Writing into a connection the server closed after answering fails (EPIPE): expected then.
    req.on("error", (e) => !answered && reject(e));
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe("item 6: request bodies are bounded while they stream", () => {
  const HUGE = 700 * MB;
  const targets: [string, string, Record<string, string>][] = [
    ["sign-in", "/api/auth/login", { "content-type": "application/json" }],
    ["an exec script", "/exec/echo", { "content-type": "application/json" }],
  ];

  it("control: small bodies are read and answered by sign-in and the exec script", async () => {
    const ok = await send(s.port, "POST", "/api/auth/login", { "content-type": "application/json" }, signInBody(s.adminPassword));
    expect(ok.status).toBe(200);
    const echoed = await send(s.port, "POST", "/exec/echo", { "content-type": "application/json" }, "x".repeat(1000));
    expect([echoed.status, echoed.json]).toEqual([200, { bytes: 1000 }]);
    // Under the exec limit (1 MiB) streamed in chunks: read whole.
    const near = await streamBody("/exec/echo", {}, MB - 256 * 1024);
    expect([near.status, near.json]).toEqual([200, { bytes: MB - 256 * 1024 }]);
  });

  for (const [what, p, headers] of targets) {
    it(`a 700 MB chunked body to ${what}: 413 PAYLOAD_TOO_LARGE early, web server RSS grows ≤ 20 MB`, async () => {
      const pid = s.webPid;
      expect(pid).toBeGreaterThan(0);
      const before = await rss(pid);
      const a = await streamBody(p, headers, HUGE);
      const after = await rss(pid);
      expect(after - before, `RSS ${Math.round(before / MB)} → ${Math.round(after / MB)} MB`).toBeLessThanOrEqual(20 * MB);
      expect(envelopeProblems(a)).toEqual([]);
      expect([a.status, a.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
      // The answer came while the client was still sending: it never had to send the 700 MB.
      expect(a.sent, `sent ${Math.round(a.sent / MB)} MB`).toBeLessThan(64 * MB);
      // A declared size over the limit is refused before a byte of the body is read.
      const declared = await streamBody(p, headers, HUGE, true);
      expect([declared.status, declared.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    });
  }

  it("tRPC and REST stop at their limits with the same envelope and code", async () => {
    const cookie = await sessionCookie();
    const trpc = await streamBody("/api/trpc/host.reconcile", { "content-type": "application/json", cookie, [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE }, 64 * MB);
    expect(envelopeProblems(trpc)).toEqual([]);
    expect([trpc.status, trpc.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const rest = await streamBody("/api/v1/projects", { "content-type": "application/json", authorization: `Bearer ${s.adminToken}` }, 64 * MB);
    expect([rest.status, rest.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    // Control: the server still answers normally afterwards.
    expect((await s.api("GET", "/projects")).status).toBe(200);
  });
});

// ------------------------------------------------------------------ item 12: exec scripts admitted

/** Node processes running exec scripts (children of the web server). */
async function scriptProcesses(): Promise<number> {
  const { stdout } = await execa("ps", ["--ppid", String(s.webPid), "-o", "args="], { reject: false });
  return stdout.split("\n").filter((l) => l.includes("server/exec/child.ts")).length;
}

describe("item 12: exec scripts run at most N at once, then a bounded queue, then 429", () => {
  it(`8 parallel anonymous calls: ${EXEC_RUNNING} run, ${EXEC_QUEUED} wait, the rest get 429 with Retry-After; all admitted ones finish`, async () => {
    const answers: (RawAnswer | null)[] = Array(8).fill(null);
    const calls = answers.map(async (_, i) => {
      const r = await fetch(`${s.url}/exec/gate`, { method: "POST", body: "{}" });
      answers[i] = rawAnswer(r.status, Object.fromEntries(r.headers), await r.text());
      return answers[i];
    });
    // The probe is live: scripts do run side by side, up to the limit.
    await waitFor(() => gate.arrived >= EXEC_RUNNING, 60_000);
    const refused = await waitFor(() => {
      const r = answers.filter((a): a is RawAnswer => a !== null);
      return r.length >= 8 - EXEC_RUNNING - EXEC_QUEUED ? r : null;
    }, 60_000);
    // While the gate holds the running two, the queued ones have not started: two script processes, not eight.
    expect(gate.arrived).toBe(EXEC_RUNNING);
    expect(await scriptProcesses()).toBe(EXEC_RUNNING);
    for (const a of refused) {
      expect(envelopeProblems(a)).toEqual([]);
      expect([a.status, a.json.code]).toEqual([429, "TOO_MANY_REQUESTS"]);
      expect(Number(a.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    // Let every run finish as it arrives: the queued ones then run, never more than the limit at once.
    const releaser = setInterval(() => gate.release(), 20);
    try {
      const all = await Promise.all(calls);
      const ok = all.filter((a) => a.status === 200);
      expect(ok.map((a) => a.text)).toEqual(Array(EXEC_RUNNING + EXEC_QUEUED).fill("released"));
    } finally {
      clearInterval(releaser);
    }
    expect(gate.arrived).toBe(EXEC_RUNNING + EXEC_QUEUED);
    expect(gate.maxInFlight).toBe(EXEC_RUNNING);
  });
});

// ------------------------------------------------------------------ item 13: CSRF on tRPC mutations

function multipart(fields: Record<string, string>): { body: string; type: string } {
  const boundary = "----hoodyHostile7MA4YWxkTrZu0gW";
  const body =
    Object.entries(fields)
      .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
      .join("") + `--${boundary}--\r\n`;
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}
const mutations = () =>
  Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures)
    .filter(([, p]) => p._def.type === "mutation")
    .map(([name]) => name);

describe("item 13: tRPC mutations need proof of same origin", () => {
  it("a cross-site form post (multipart, foreign Origin, the session cookie) runs no mutation: 403 CROSS_SITE_REQUEST; the dashboard's call runs", async () => {
    const cookie = await sessionCookie();
    const names = mutations();
    expect(names).toContain("host.reconcile");
    const form = multipart({ name: "x" });
    const before = await fingerprint(s);
    for (const name of names) {
      for (const [what, headers, body] of [
        ["cross-site form", { cookie, origin: "http://evil.example", "content-type": form.type }, form.body],
        ["form, no Origin", { cookie, "content-type": form.type }, form.body],
        ["text/plain JSON", { cookie, origin: "http://evil.example", "content-type": "text/plain" }, JSON.stringify({ json: {} })],
        ["header, foreign Origin", { cookie, origin: "http://evil.example", "content-type": "application/json", [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE }, JSON.stringify({ json: {} })],
      ] as [string, Record<string, string>, string][]) {
        const a = await send(s.port, "POST", `/api/trpc/${name}`, headers, body);
        const where = `${name} (${what}) → ${a.status} ${a.text.slice(0, 200)}`;
        expect(envelopeProblems(a), where).toEqual([]);
        expect([a.status, a.json.code], where).toEqual([403, "CROSS_SITE_REQUEST"]);
      }
    }
    expect(await compareFingerprints(s, before, await fingerprint(s))).toEqual([]);
    // Control: the same input-less mutation as the dashboard sends it (its header, its own Origin) runs.
    const own = await send(
      s.port,
      "POST",
      "/api/trpc/host.reconcile",
      { cookie, origin: s.url, "content-type": "application/json", [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE },
      JSON.stringify({ json: null }),
    );
    expect(own.status, own.text).toBe(200);
    expect(own.json.result.data.json).toHaveProperty("removedOrphans");
    // … and so does one that changes state, which the refused attempts above did not.
    const token = await send(
      s.port,
      "POST",
      "/api/trpc/tokens.create",
      { cookie, origin: s.url, "content-type": "application/json", [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE },
      JSON.stringify({ json: { name: "hostile-web-control", project_id: null } }),
    );
    expect(token.status, token.text).toBe(200);
    expect(JSON.stringify((await s.api("GET", "/tokens")).body.data)).toContain("hostile-web-control");
  });
});

// ------------------------------------------------------------------ item 14: security headers, Host

describe("item 14: security headers and served Host names", () => {
  const paths = ["/login", "/api/health", "/api/v1/projects", "/api/trpc/auth.me", "/exec/echo", "/"];

  it("answers other Host names (DNS rebinding) with 421 UNKNOWN_HOST; its own with the page", async () => {
    for (const p of paths) {
      for (const headers of [{ host: "rebind.attacker.test" }, { host: `evil.example:${s.port}` }, { host: `127.0.0.1:${s.port}`, "x-forwarded-host": "rebind.attacker.test" }] as Record<
        string,
        string
      >[]) {
        const a = await send(s.port, "GET", p, headers);
        const where = `${p} ${JSON.stringify(headers)} → ${a.status}`;
        expect(envelopeProblems(a), where).toEqual([]);
        expect([a.status, a.json.code], where).toEqual([421, "UNKNOWN_HOST"]);
      }
      // Control: the names it serves.
      for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `[::1]:${s.port}`]) expect((await send(s.port, "GET", p, { host })).status, `${p} ${host}`).not.toBe(421);
    }
    expect((await send(s.port, "GET", "/login", { host: `localhost:${s.port}` })).status).toBe(200);
    // A WebSocket upgrade for another name is refused the same way.
    const up = await sendRaw(
      s.port,
      `GET /api/health HTTP/1.1\r\nHost: rebind.attacker.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(up.status).toBe(421);
    expect(up.text).toContain("UNKNOWN_HOST");
  });

  it("sends CSP with frame-ancestors 'none', nosniff and a Referrer-Policy on pages, API answers, errors and scripts", async () => {
    const cookie = await sessionCookie();
    for (const p of [...paths, "/tenants", "/api/v1/nope"]) {
      const a = await send(s.port, "GET", p, { cookie });
      const where = `${p} → ${a.status}`;
      expect(a.headers["content-security-policy"], where).toMatch(/frame-ancestors 'none'/);
      expect(a.headers["content-security-policy"], where).toMatch(/default-src 'self'/);
      expect(a.headers["x-content-type-options"], where).toBe("nosniff");
      expect(a.headers["referrer-policy"], where).toBe("same-origin");
    }
    // The dashboard page the CSP guards is the real one (its scripts come from this origin).
    const page = await send(s.port, "GET", "/tenants", { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<script src="\/_next\/static\//);
  });
});

// ------------------------------------------------------------------ item 15: the router's forwarding headers

describe("item 15: the router sets its own forwarding headers", () => {
  it("a tenant sees the client's socket address, the router's scheme, host and port, never the client's own forwarding headers", async () => {
    const project = (await s.api("POST", "/projects", { alias: "hostile-web-fwd" })).body.data.id;
    const c = await s.api("POST", `/projects/${project}/containers`, { name: "hw-fwd", template: "mini", idle_timeout_s: 0 });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    // A CGI script in the tenant's httpd prints the request headers it was given (HTTP_*).
    // (mini links few applets: chmod and printf are called through busybox itself; Node wants CRLF headers.)
    const cgi =
      "mkdir -p /tmp/www/cgi-bin && echo '#!/bin/sh' > /tmp/www/cgi-bin/env && echo '/bin/busybox printf \"Content-Type: text/plain\\r\\n\\r\\n\"; env' >> /tmp/www/cgi-bin/env && /bin/busybox chmod 755 /tmp/www/cgi-bin/env";
    const ex = await s.api("POST", `/containers/${c.body.data.id}/exec`, { command: ["sh", "-c", cgi] });
    expect([ex.status, ex.body.data?.exit_code], JSON.stringify(ex.body)).toEqual([200, 0]);
    const forged = {
      "x-forwarded-for": "203.0.113.66",
      "x-forwarded-host": "bank.example",
      "x-forwarded-proto": "https",
      "x-forwarded-port": "443",
      forwarded: "for=203.0.113.66;proto=https;host=bank.example",
      "x-real-ip": "203.0.113.66",
      "x-probe": "reaches-the-tenant",
    };
    let last = "";
    const r = await waitFor(async () => {
      const a = await s.viaRouter("hw-fwd", "/cgi-bin/env", { headers: forged });
      last = `${a.status} ${a.body
        .replace(/<[^>]*>/g, " ")
        .replace(/\s+/g, " ")
        .slice(0, 600)}`;
      return a.status === 200 && a.body.includes("HTTP_X_PROBE") ? a : null;
    }, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}; last answer: ${last}`);
    });
    const env = Object.fromEntries(
      r.body
        .split("\n")
        .filter((l) => l.startsWith("HTTP_"))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    // Control: the tenant sees the request's headers (a client header passes through).
    expect(env.HTTP_X_PROBE).toBe("reaches-the-tenant");
    expect(env).toMatchObject({
      HTTP_X_FORWARDED_FOR: "127.0.0.1",
      HTTP_X_FORWARDED_PROTO: "http",
      HTTP_X_FORWARDED_HOST: `hw-fwd.localhost:${s.routerPort}`,
      HTTP_X_FORWARDED_PORT: String(s.routerPort),
    });
    expect(env).not.toHaveProperty("HTTP_FORWARDED");
    expect(env).not.toHaveProperty("HTTP_X_REAL_IP");
    expect(r.body).not.toContain("203.0.113.66");
    expect(r.body).not.toContain("bank.example");
  });
});

// ------------------------------------------------------------------ item 16: sign-in content type, refusals counted

describe("item 16: sign-in takes JSON only and counts refusals instead of auditing each", () => {
  const auditRows = () => {
    const db = new Database(path.join(s.host.dir, "hoody.db"), { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const refusedCounts = async (): Promise<Record<string, number>> => {
    const entries = (await s.api("GET", "/audit?action=operator.sign_in&limit=100")).body.data.entries as { result: string; detail: { counts: Record<string, number> } | null }[];
    const out: Record<string, number> = {};
    for (const e of entries.filter((x) => x.result === "refused")) for (const [k, v] of Object.entries(e.detail!.counts)) out[k] = (out[k] ?? 0) + v;
    return out;
  };

  it("refuses non-JSON sign-ins with 415, even with the right password; JSON signs in", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]) {
      const a = await send(s.port, "POST", "/api/auth/login", type ? { "content-type": type } : {}, signInBody(s.adminPassword));
      expect(envelopeProblems(a), type).toEqual([]);
      expect([a.status, a.json.code], type).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
      expect(a.headers["set-cookie"], type).toBeUndefined();
    }
    const ok = await send(s.port, "POST", "/api/auth/login", { "content-type": "application/json; charset=utf-8" }, signInBody(s.adminPassword));
    expect(ok.status).toBe(200);
  });

  it("500 refused attempts (401, 422, 415, 429) add at most one audit row per window, with their counts; a sign-in still adds its own", async () => {
    const counted = await refusedCounts();
    const rowsBefore = auditRows();
    const attempt = (ip: string, type: string, body: string) => send(s.port, "POST", "/api/auth/login", { "content-type": type, "x-forwarded-for": ip }, body);
    const sent: Record<string, number> = {};
    const note = (a: RawAnswer) => (sent[a.json.code] = (sent[a.json.code] ?? 0) + 1);
    for (let i = 0; i < 500; i++) {
      const kind = i % 4;
      // 25 clients, 20 attempts each, every kind in turn: 10 wrong passwords each, past the budget of 5.
      const ip = `198.51.100.${i % 25}`;
      if (kind === 0) note(await attempt(ip, "application/json", signInBody(`wrong-${i}`)));
      else if (kind === 1) note(await attempt(ip, "application/json", "{not json"));
      else if (kind === 2) note(await attempt(ip, "text/plain", signInBody(`wrong-${i}`)));
      else note(await attempt(ip, "application/json", signInBody(`wrong-${i}`)));
    }
    // 500 refusals, and the audit log has at most one row more for them (two when the run crossed a window boundary).
    expect(auditRows() - rowsBefore).toBeLessThanOrEqual(2);
    // The probe reached every refusal the issue names, the throttle included.
    expect(Object.keys(sent).sort()).toEqual(["INVALID_CREDENTIALS", "SIGN_IN_THROTTLED", "UNSUPPORTED_MEDIA_TYPE", "VALIDATION_ERROR"]);
    // The counts arrive (they are written once a second), and they are all there (earlier tests' refusals
    // may still be on their way, hence at least).
    const expected = Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, v + (counted[k] ?? 0)]));
    let now: Record<string, number> = {};
    await waitFor(async () => {
      now = await refusedCounts();
      return Object.entries(expected).every(([k, v]) => (now[k] ?? 0) >= v);
    }, 15_000).catch((e) => {
      throw new Error(`${(e as Error).message}: counted ${JSON.stringify(now)}, expected at least ${JSON.stringify(expected)}`);
    });
    // Still one row once they are written: the counts went into it, not into rows of their own.
    expect(auditRows() - rowsBefore).toBeLessThanOrEqual(2);
    // Control: audit rows are written: a successful sign-in adds its own.
    await sessionCookie();
    expect(auditRows() - rowsBefore).toBeGreaterThanOrEqual(1);
    const ok = (await s.api("GET", "/audit?action=operator.sign_in&limit=5")).body.data.entries as { result: string }[];
    expect(ok[0]!.result).toBe("ok");
  });
});

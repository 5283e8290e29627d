// Bad input, property-based (fast-check), against the whole real stack (production build, host
// daemon, LXC, BTRFS, nft). Every route of the table gets hostile path params, queries, headers and
// bodies. Each generated request is one the API must refuse (or a read), so after every batch the
// stack's fingerprint (database rows, subvolumes, nft table, veths, tenant states, lxcpath, data
// dir) must be unchanged, every answer must be the error envelope with a stable code and no 5xx,
// and no byte of the fuzz marker may reach the host daemon (HOODY_SYS_TRACE: its requests and argv).
// Seeded: HOODY_FUZZ_SEED=<n> replays a run; the seed is printed at the start and on failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { appRouter } from "../../server/api/root";
import { routes, type Route } from "../../server/rest/routes";
import { SAME_ORIGIN_HEADER, SAME_ORIGIN_VALUE } from "../../server/web/guards";
import { TestStack } from "../../testkit/stack-harness.js";
import { compareFingerprints, envelopeProblems, fingerprint, makeFixture, send, sendRaw, TraceReader, validBodyFor, type Fingerprint, type Fixture, type RawAnswer } from "./fuzz-kit.js";

const SEED = Number(process.env.HOODY_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Scales every property's number of runs (the default keeps the file around 2-3 minutes on 2 cores). */
const SCALE = Number(process.env.HOODY_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** In every hostile value; must never reach the daemon. Upper case and '-' make it no valid id or env key. */
const MARK = `ZZFUZZ-${randomBytes(3).toString("hex")}`;

let s: TestStack;
let trace: TraceReader;
const traceFile = path.join(os.tmpdir(), `hoody-fuzz-trace-${process.pid}-${Date.now()}.jsonl`);
let fx: Fixture;

beforeAll(async () => {
  console.log(`[fuzz] seed ${SEED} (HOODY_FUZZ_SEED=${SEED} replays), marker ${MARK}`);
  process.env.HOODY_SYS_TRACE = traceFile; // the host daemon TestStack spawns inherits it
  s = await TestStack.create();
  delete process.env.HOODY_SYS_TRACE;
  trace = new TraceReader(traceFile);
  fx = await makeFixture(s, "fuzz", { environment_vars: { PLAN: "pro" } });
  const rule = await s.api("POST", `/containers/${fx.cA}/firewall/egress`, { action: "drop", protocol: "udp", destination_port: "53" });
  expect(rule.status, JSON.stringify(rule.body)).toBeLessThan(300);
  await trace.next();
});
afterAll(async () => {
  await s?.stop();
  await fs.rm(traceFile, { force: true });
});

// ------------------------------------------------------------------ what gets generated

/** The fixture's valid value for each path parameter (project A's resources). */
function validParams(r: Route): Record<string, string> {
  const id = r.path.startsWith("/projects") ? fx.projectA : r.path.startsWith("/tokens") ? fx.tokenA.id : fx.cA;
  return { id, name: fx.snapA, key: "PLAN", direction: "egress", script: "signup", template: "mini" };
}

/** A body the route would accept (and act on): only ever sent with something else that must refuse it. */
function validBody(r: Route): unknown {
  return validBodyFor(r, fx, { tag: "fuzz", envKey: "FUZZ", command: ["/bin/sh", "-c", `echo ${MARK}`] }) ?? {};
}

const isRead = (r: Route) => r.method === "GET";
const bodyRoutes = routes.filter((r) => r.body);
const recordBody = (r: Route) => r.path.endsWith("/env") || r.path.startsWith("/scripts/");

// Pieces that make a value hostile; each has a byte no path parameter accepts.
/** Bytes no path parameter's pattern accepts: every hostile value ends with at least one. */
const STRICT = [";", "|", "&&", "$(id)", "`id`", "'", '"', " ", "\0", "\n", "\t", "*", "?", "#", "<script>", "{", "~", "=", "%", "\\", "é", "😀", "\u202e"];
const HOSTILE = [
  "../",
  "../../../../etc/passwd",
  "..\\..\\",
  "%2e%2e%2f",
  "..%2f",
  "%252e%252e%252f",
  "\0",
  "%00",
  "\u202e",
  "é",
  "😀",
  "\ufeff",
  ";",
  "|",
  "&&",
  "$(id)",
  "`id`",
  "'",
  '"',
  " ",
  "\n",
  "\r\n",
  "*",
  "?",
  "#",
  "<script>",
  "{",
  "[",
  "~",
  "=",
  "%",
  "%zz",
  "\\",
  "\t",
  "/",
];
// The forms a hostile value is put into a URL: encoded (reaches the param as is), raw (the URL
// parser may normalise it: traversal), double-encoded.
type Form = "encoded" | "raw" | "double";
const hostileValue = fc
  .record({
    before: fc.array(fc.constantFrom(...HOSTILE), { minLength: 0, maxLength: 3 }),
    after: fc.array(fc.constantFrom(...STRICT), { minLength: 1, maxLength: 3 }),
    noise: fc.string({ maxLength: 12, unit: "grapheme" }),
    long: fc.oneof(fc.constant(0), fc.integer({ min: 90, max: 6000 })),
    form: fc.constantFrom<Form>("encoded", "encoded", "raw", "double"),
  })
  .map(({ before, after, noise, long, form }) => ({ value: before.join("") + MARK + noise + "x".repeat(long) + after.join(""), form }));

/** Into the URL: raw keeps '/', '\' and '.' (and %xx sequences) for the parser, escaping only what cannot go on the wire. */
function encodeParam(v: { value: string; form: Form }): string {
  if (v.form === "encoded") return encodeURIComponent(v.value);
  if (v.form === "double") return encodeURIComponent(encodeURIComponent(v.value));
  // raw: the segment holding MARK stays last (the tail has no separators), so normalisation cannot
  // drop it; '?' and '#' are always escaped so nothing becomes a query or fragment.
  const i = v.value.indexOf(MARK);
  const head = v.value.slice(0, i);
  const tail = v.value.slice(i).replace(/[/\\]/g, "~");
  const esc = (x: string, keep: RegExp) => [...x].map((ch) => (keep.test(ch) ? ch : encodeURIComponent(ch))).join("");
  return esc(head, /[A-Za-z0-9/\\.%_-]/) + esc(tail, /[A-Za-z0-9.%_-]/);
}

const junkText = fc.string({ maxLength: 40, unit: "binary" });
/** Header values Node lets on the wire (latin1, no CR/LF). */
const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }).map((x) => x.replace(/[^\t\x20-\x7e]/g, "")),
  fc.integer({ min: 256, max: 2500 }).map((n) => "h".repeat(n)),
  fc.constantFrom("\t", " ", "é", MARK, `${MARK}\t;$(id)`),
);
const junkHeaders = fc.dictionary(
  fc.constantFrom("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "cookie", "accept", "origin", "x-hoody-project", "x-http-method-override", "x-fuzz"),
  headerValue,
  { maxKeys: 4 },
);
/** Always invalid: outside 1-255 printable ASCII (Node trims surrounding blanks: "" is invalid too). */
const junkIdempotencyKey = fc.oneof(
  fc.constantFrom(" ", "\t", "a b", "é", `${MARK} x`),
  fc.integer({ min: 256, max: 3000 }).map((n) => "k".repeat(n)),
);
const badContentType = fc.constantFrom(
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonp",
  "application/xml",
  "text/json",
  "json",
  "*/*",
  "application/octet-stream",
  `${MARK}/json`,
);

/** A JSON-ish value with the things that break parsers and validators. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53 + 1, "", MARK, "__proto__", "../../etc/passwd", "$(reboot)", "a\nb", "a\0b"),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 30, unit: "binary" }),
    fc.integer({ min: 1, max: 70_000 }).map((n) => MARK + "y".repeat(n)),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "name", "template", "alias", "command", MARK), tie("v"), { maxKeys: 4 }),
  ),
})).v;

const deepNesting = fc
  .integer({ min: 1, max: 3000 })
  .chain((d) => fc.constantFrom("[", '{"a":').map((open) => (open === "[" ? "[".repeat(d) + "]".repeat(d) : '{"a":'.repeat(d) + "1" + "}".repeat(d))));
const PROTO_KEYS = ["__proto__", "constructor", "prototype", "__defineGetter__", "hasOwnProperty", "toString", "valueOf"];
/** Keys no record-shaped body accepts (env keys and script value names). */
const BAD_KEYS = ["bad key", "a;b", "../x", "", "1abc", "x-y", `${MARK}`, "HOODY_X", "é", "a\0b", "a\nb"];

/** HOODY_ is reserved for env keys only; script settings and secrets may use it. */
const badKeys = (r: Route) => (r.path.startsWith("/scripts/") ? BAD_KEYS.filter((k) => k !== "HOODY_X") : BAD_KEYS);

/** A body the route must refuse: never a valid one, whatever the schema. */
function invalidBody(r: Route): fc.Arbitrary<{ ct?: string; raw: string | Buffer; why: string }> {
  const valid = validBody(r) as Record<string, unknown>;
  const json = (why: string) => (v: unknown) => ({ raw: JSON.stringify(v), why });
  return fc
    .oneof(
      // Not JSON at all (ends in the marker: never valid), or JSON behind a BOM.
      junkText.map((t) => ({ raw: `{${t}${MARK}`, why: "invalid JSON" })),
      fc.constant({ raw: "\ufeff" + JSON.stringify(valid), why: "BOM" }),
      fc.constant({ raw: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), why: "non-UTF-8" }),
      // The right body with the wrong media type.
      badContentType.map((ct) => ({ ct, raw: JSON.stringify(valid), why: `content-type ${ct}` })),
      // The wrong JSON type.
      fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.string({ maxLength: 20 }), fc.array(hostileJson, { maxLength: 3 })).map(json("wrong type")),
      deepNesting.map((raw) => ({ raw, why: "deep nesting" })),
      // The right shape plus hostile values and keys, with one key that no schema of this route accepts.
      fc
        .tuple(
          fc.dictionary(fc.constantFrom(...Object.keys(valid), ...PROTO_KEYS), hostileJson, { maxKeys: 5 }),
          fc.constantFrom(...(recordBody(r) ? badKeys(r) : [...PROTO_KEYS, MARK])),
          hostileJson,
          fc.boolean(),
        )
        .map(([extra, poison, pv, stringly]) => {
          // Prototype keys as own JSON members (what JSON.parse makes of them), not as a prototype.
          const members = [...Object.entries(valid), ...Object.entries(extra)].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v ?? null)}`);
          const poisonValue = recordBody(r) && stringly ? JSON.stringify("v") : JSON.stringify(pv ?? null);
          members.splice(members.length ? 1 % members.length : 0, 0, `${JSON.stringify(poison)}:${poisonValue}`);
          return { raw: `{${members.join(",")}}`, why: `poison key ${JSON.stringify(poison).slice(0, 40)}` };
        }),
      // Every field of the right name with the wrong type.
      fc.constant(null).map(() => ({ raw: JSON.stringify(Object.fromEntries(Object.keys(valid).map((k) => [k, { [MARK]: [1] }]))), why: "wrong field types" })),
    )
    .filter((b) => !(b.why === "wrong field types" && Object.keys(valid).length === 0));
}

/** Bogus Authorization forms; never one that authenticates. */
const badAuth = fc.oneof(
  fc.constant<string | string[] | undefined>(undefined),
  fc.constantFrom("", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Token abc", "bearer", "Bearer hdy_", "Bearer\thdy_x y", `Bearer ${MARK}`, "Digest username=admin"),
  fc.string({ maxLength: 80 }).map((x) => `Bearer hdy_${x.replace(/[^\x21-\x7e]/g, "")}`),
  fc.integer({ min: 1000, max: 4000 }).map((n) => `Bearer ${"A".repeat(n)}`),
  fc.constant("revoked").map(() => `Bearer ${fx.revoked.token}`),
  fc.constant("revoked-lower").map(() => `bearer ${fx.revoked.token}`),
  // The admin token mangled, and a bogus header first with the admin's second (Node keeps the first).
  fc.constantFrom("suffix", "prefix", "case").map((m) => `Bearer ${m === "suffix" ? s.adminToken + "x" : m === "prefix" ? "x" + s.adminToken : s.adminToken.toUpperCase()}`),
  fc.constant("dup").map(() => [`Bearer ${fx.revoked.token}`, `Bearer ${s.adminToken}`]),
);

// ------------------------------------------------------------------ checking answers

interface Sent {
  method: string;
  path: string;
  why: string;
  answer: RawAnswer;
}
let batch: Sent[] = [];

async function fire(method: string, rawPath: string, headers: Record<string, string | string[]>, body: string | Buffer | undefined, why: string): Promise<RawAnswer> {
  const answer = await send(s.port, method, `/api/v1${rawPath}`, headers, body);
  batch.push({ method, path: rawPath, why, answer });
  // The fuzz speaks from loopback, a trusted proxy: a forwarded Host the web server does not serve is
  // refused before any route (421, test/reliability/hostile/web.ts). The route is then fuzzed without it.
  if (answer.status === 421 && headers["x-forwarded-host"] !== undefined) {
    expect([envelopeProblems(answer), answer.json.code], `${method} ${rawPath.slice(0, 200)} x-forwarded-host ${JSON.stringify(headers["x-forwarded-host"])}`).toEqual([[], "UNKNOWN_HOST"]);
    const { "x-forwarded-host": _, ...rest } = headers;
    return fire(method, rawPath, rest, body, why);
  }
  return answer;
}

/** The request reached the API (not escaped /api/v1 by URL normalisation), judged as the server's URL parser does. */
function reachesApi(rawPath: string): boolean {
  try {
    return new URL(`/api/v1${rawPath}`, "http://h").pathname.startsWith("/api/v1/");
  } catch {
    return false;
  }
}

/**
 * Answers given before our handler runs: Node's 431 for a request head over 16 KiB; for paths that
 * are not (or not yet) API paths, a 404 page (or proxy.ts's 400) when normalisation took the path
 * out of /api/v1, a 308 to the normalised path for '\\' or '//'.
 */
function preRouting(a: RawAnswer, rawPath: string): boolean {
  // Node's own limit on the request head (16 KiB), before any code of ours: an empty 431.
  if (a.status === 431 && a.requestHeadBytes > 16 * 1024 - 256) return true;
  if (/\\|\/\//.test(rawPath) && a.status === 308 && typeof a.headers.location === "string") return true;
  // Outside /api: Next's 404 page, or proxy.ts's plain 400 for malformed percent-encoding.
  return !reachesApi(rawPath) && (a.status === 404 || a.status === 400);
}

/** A refusal: no 5xx, 4xx, Hoody's envelope with a stable code (or Next's 404 page for a path that left /api/v1). */
function expectRefused(a: RawAnswer, method: string, rawPath: string, why: string, codes?: RegExp): void {
  const where = `${method} /api/v1${rawPath.slice(0, 300)} (${why}) → ${a.status} ${a.text.slice(0, 300)}`;
  if (!a.json && preRouting(a, rawPath)) return;
  expect(envelopeProblems(a), where).toEqual([]);
  expect(a.status, where).toBeGreaterThanOrEqual(400);
  expect(a.status, where).toBeLessThan(500);
  if (codes) expect(a.json.code, where).toMatch(codes);
}

/** An operator session cookie ("hoody_session=…"), signed in with the password, for the tRPC routes. */
async function operatorSession(): Promise<string> {
  const login = await send(s.port, "POST", "/api/auth/login", { "content-type": "application/json" }, JSON.stringify({ password: s.adminPassword }));
  return String(login.headers["set-cookie"]).split(";")[0]!;
}

/** Nothing reached the daemon carrying the marker, and nothing changed since `before`. */
async function expectUnchanged(before: Fingerprint): Promise<void> {
  const leaked = (await trace.next()).filter((l) => l.toUpperCase().includes(MARK.toUpperCase()));
  expect(leaked, "fuzz input reached the host daemon").toEqual([]);
  const diffs = await compareFingerprints(s, before, await fingerprint(s));
  if (diffs.length) {
    const succeeded = batch.filter((b) => b.answer.status < 400).map((b) => `${b.method} ${b.path.slice(0, 200)} (${b.why}) → ${b.answer.status}`);
    expect.fail(`the stack changed:\n${diffs.join("\n")}\nrequests that were not refused:\n${succeeded.join("\n")}`);
  }
}

async function property<T>(arb: fc.Arbitrary<T>, numRuns: number, check: (v: T) => Promise<void>): Promise<void> {
  batch = [];
  const before = await fingerprint(s);
  await fc.assert(fc.asyncProperty(arb, check), { seed: SEED, numRuns, endOnFailure: true });
  await expectUnchanged(before);
}

const fill = (r: Route, params: Record<string, string>) => r.path.replace(/\{(\w+)\}/g, (_, k: string) => params[k]!);
/** Routes by their "METHOD /path" name, so a counterexample prints short. */
const byName = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
const routeArb = (list: Route[]) =>
  fc.constantFrom(...list.map((r) => `${r.method} ${r.path}`)).map((n) => Object.assign(Object.create(byName.get(n)!) as Route, { [fc.toStringMethod]: () => JSON.stringify(n) }));

// ------------------------------------------------------------------ the properties

describe("fuzzed API: every route refuses hostile input and nothing changes", () => {
  it("hostile path parameters (traversal, %2e%2e, NUL, unicode, very long, shell metacharacters) on every route", async () => {
    const withParams = routes.filter((r) => r.path.includes("{"));
    const arb = fc.record({
      r: routeArb(withParams),
      hostile: hostileValue,
      which: fc.nat(),
      body: fc.boolean(),
      headers: junkHeaders,
    });
    await property(arb, runs(1600), async ({ r, hostile, which, body, headers }) => {
      const names = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const target = names[which % names.length]!;
      const params = { ...validParams(r), [target]: encodeParam(hostile) };
      const p = fill(r, params);
      const payload = r.body && body ? JSON.stringify(validBody(r)) : undefined;
      const a = await fire(r.method, p, { ...headers, authorization: `Bearer ${s.adminToken}`, ...(payload && { "content-type": "application/json" }) }, payload, `${target}=${hostile.form}`);
      expectRefused(a, r.method, p, `${r.method} ${r.path} ${target} ${hostile.form}`);
    });
  });

  it("hostile bodies (invalid JSON, wrong types, extra and prototype keys, deep nesting, huge values, wrong media types) on every route with a body", async () => {
    const arb = routeArb(bodyRoutes).chain((r) =>
      fc.record({ r: fc.constant(r), b: invalidBody(r), headers: junkHeaders, idem: fc.option(fc.string({ minLength: 1, maxLength: 40 }).map((k) => k.replace(/[^\x21-\x7e]/g, "k"))) }),
    );
    await property(arb, runs(2000), async ({ r, b, headers, idem }) => {
      const p = fill(r, validParams(r));
      const h: Record<string, string> = { ...headers, authorization: `Bearer ${s.adminToken}`, "content-type": b.ct ?? "application/json" };
      if (idem !== null && r.method === "POST") h["idempotency-key"] = `${MARK}-${idem}`;
      const a = await fire(r.method, p, h, b.raw, b.why);
      // A body the schema refuses carries the route's own code (firewall: INVALID_FIREWALL_RULE), else VALIDATION_ERROR.
      const invalid = r.invalidBodyCode ?? "VALIDATION_ERROR";
      expectRefused(a, r.method, p, `${r.method} ${r.path}: ${b.why}`, new RegExp(`^(${invalid}|INVALID_JSON|UNSUPPORTED_MEDIA_TYPE|INVALID_ENV_KEY|RESERVED_ENV_PREFIX|PAYLOAD_TOO_LARGE)$`));
    });
  });

  it("junk Idempotency-Key on every POST refuses before anything runs, valid bodies included", async () => {
    const posts = routes.filter((r) => r.method === "POST");
    await property(fc.record({ r: routeArb(posts), key: junkIdempotencyKey }), runs(300), async ({ r, key }) => {
      const p = fill(r, validParams(r));
      const payload = r.body ? JSON.stringify(validBody(r)) : undefined;
      const a = await fire("POST", p, { authorization: `Bearer ${s.adminToken}`, "idempotency-key": key, ...(payload && { "content-type": "application/json" }) }, payload, "junk idempotency key");
      expectRefused(a, "POST", p, `POST ${r.path} key ${JSON.stringify(key.slice(0, 20))}`, /^INVALID_IDEMPOTENCY_KEY$/);
    });
  });

  it("bogus, revoked and duplicated Authorization on every route, with valid bodies: 401", async () => {
    await property(fc.record({ r: routeArb(routes), auth: badAuth, headers: junkHeaders }), runs(1000), async ({ r, auth, headers }) => {
      const p = fill(r, validParams(r));
      const payload = r.body ? JSON.stringify(validBody(r)) : undefined;
      const h: Record<string, string | string[]> = { ...headers, ...(payload && { "content-type": "application/json" }) };
      if (auth !== undefined) h.authorization = auth;
      const a = await fire(r.method, p, h, payload, `auth ${JSON.stringify(auth)?.slice(0, 40)}`);
      expectRefused(a, r.method, p, `${r.method} ${r.path} auth ${JSON.stringify(auth)?.slice(0, 60)}`, /^(MISSING_TOKEN|INVALID_TOKEN|TOKEN_REVOKED)$/);
      expect(a.status).toBe(401);
    });
  });

  it("another project's token on every route with project A's ids and valid bodies: refused, or a read that shows nothing of A", async () => {
    await property(fc.record({ r: routeArb(routes), headers: junkHeaders }), runs(600), async ({ r, headers }) => {
      const p = fill(r, validParams(r));
      const payload = r.body ? JSON.stringify(validBody(r)) : undefined;
      const a = await fire(r.method, p, { ...headers, authorization: `Bearer ${fx.tokenB.token}`, ...(payload && { "content-type": "application/json" }) }, payload, "project B's token");
      const where = `${r.method} ${p} → ${a.status} ${a.text.slice(0, 300)}`;
      expect(envelopeProblems(a), where).toEqual([]);
      if (a.status < 400) {
        expect(isRead(r) && !r.path.includes("{"), `${where}: only list reads without ids may answer`).toBe(true);
        for (const secret of [fx.cA, fx.projectA, fx.tokenA.id]) expect(a.text, where).not.toContain(secret);
      } else {
        expect([403, 404], where).toContain(a.status);
      }
    });
  });

  it("reads with fuzzed queries, params and headers: an answer or an envelope, never a 5xx, never a change", async () => {
    const reads = routes.filter(isRead);
    const queryPair = fc.tuple(
      fc.constantFrom("page", "limit", "sort_by", "sort_order", "status", "template", "search", "action", "target", "actor", "__proto__", "constructor", "page[]", MARK),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom("-1", "0", "1e309", "NaN", "Infinity", "0x10", "1.5", "99999999999999999999", "desc", "running", "mini", "'; DROP TABLE containers; --", "%", "%00", MARK),
        fc.integer({ min: 200, max: 5000 }).map((n) => "q".repeat(n)),
      ),
    );
    const arb = fc.record({
      r: routeArb(reads),
      q: fc.array(queryPair, { maxLength: 5 }),
      hostile: fc.option(hostileValue, { freq: 3 }),
      headers: junkHeaders,
      token: fc.constantFrom("admin", "A", "B"),
    });
    await property(arb, runs(1000), async ({ r, q, hostile, headers, token }) => {
      const names = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const params = validParams(r);
      if (hostile && names.length) params[names[0]!] = encodeParam(hostile);
      const qs = q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
      const p = fill(r, params) + (qs ? `?${qs}` : "");
      const bearer = token === "admin" ? s.adminToken : token === "A" ? fx.tokenA.token : fx.tokenB.token;
      const a = await fire("GET", p, { ...headers, authorization: `Bearer ${bearer}` }, undefined, "read");
      if (!a.json && preRouting(a, p)) return;
      // A download (the export's tar) answers with the file itself; its refusals are envelopes.
      if (r.download && a.status === 200) {
        expect(a.headers["content-type"]).toBe("application/octet-stream");
        return;
      }
      expect(envelopeProblems(a), `GET ${p.slice(0, 300)} → ${a.status} ${a.text.slice(0, 300)}`).toEqual([]);
    });
  });
});

describe("fuzzed tRPC: the dashboard's API, signed in", () => {
  it("malformed and hostile inputs on every procedure: a 4xx (or a read), never a 5xx, nothing changes", async () => {
    const cookie = await operatorSession();
    expect(cookie).toMatch(/^hoody_session=.+/);
    const procs = Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures)
      // The one input-less mutation (reconcile) has nothing to refuse.
      .filter(([name]) => name !== "host.reconcile")
      .map(([name, p]) => `${p._def.type} ${name}`);
    const hostileInput = fc.dictionary(fc.constantFrom(...PROTO_KEYS, MARK), hostileJson, { minKeys: 1, maxKeys: 4 });
    const raw = fc.oneof(
      junkText.map((t) => `{${t}${MARK}`),
      hostileInput.map((v) => JSON.stringify({ json: v })),
      hostileJson.map((v) => JSON.stringify(v)),
      hostileInput.map((v) => JSON.stringify({ json: v, meta: { values: { ["__proto__"]: ["Date"], [MARK]: ["undefined"], "json.__proto__": ["map"] } } })),
      deepNesting.map((d) => `{"json":${d}}`),
    );
    await property(fc.record({ proc: fc.constantFrom(...procs), raw, batchCall: fc.boolean() }), runs(400), async ({ proc, raw, batchCall }) => {
      const [type, name] = proc.split(" ") as [string, string];
      const p = batchCall ? `/api/trpc/${name}?batch=1` : `/api/trpc/${name}`;
      const body = batchCall ? `{"0":${raw}}` : raw;
      // A query's input rides in the URL: past Node's 16 KiB head limit the socket is reset, not answered.
      fc.pre(type !== "query" || encodeURIComponent(body).length < 12_000);
      const a =
        type === "query"
          ? await send(s.port, "GET", `${p}${batchCall ? "&" : "?"}input=${encodeURIComponent(body)}`, { cookie })
          : await send(s.port, "POST", p, { cookie, "content-type": "application/json", [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE }, body);
      batch.push({ method: type, path: p, why: raw.slice(0, 80), answer: a });
      const where = `${type} ${name} ${raw.slice(0, 200)} → ${a.status} ${a.text.slice(0, 300)}`;
      expect(a.status, where).toBeLessThan(500);
      expect(a.json, where).not.toBeNull();
      if (type === "mutation") expect(a.status, where).toBeGreaterThanOrEqual(400);
    });
  });
});

describe("fuzzed framing: what Node's client would not send", () => {
  it("raw bytes, bad framing, oversized bodies and headers: no 5xx, refusals carry the envelope, nothing changes", async () => {
    batch = [];
    const before = await fingerprint(s);
    const auth = `Authorization: Bearer ${s.adminToken}\r\n`;
    const head = (method: string, p: string, extra = "") => `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}${extra}Connection: close\r\n`;
    const create = `/api/v1/projects/${fx.projectA}/containers`;
    const valid = JSON.stringify({ template: "mini", name: "fuzz-raw" });
    const tooLarge = (st: number, text: string) => {
      expect(st).toBe(413);
      expect(text).toContain("PAYLOAD_TOO_LARGE");
    };
    const cases: { name: string; bytes: Buffer | string; expect: (st: number, text: string) => void }[] = [
      { name: "raw NUL in the path", bytes: head("GET", `/api/v1/containers/c\0${MARK}`) + "\r\n", expect: (st) => expect(st).toBe(400) },
      {
        name: "raw UTF-8 in the path",
        bytes: Buffer.concat([Buffer.from(`GET /api/v1/containers/${MARK}`), Buffer.from("é😀", "utf8"), Buffer.from(` HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`)]),
        expect: (st) => expect(st).toBeLessThan(500),
      },
      { name: "raw space in the path", bytes: head("DELETE", `/api/v1/containers/${fx.cA} x`) + "\r\n", expect: (st) => expect(st).toBe(400) },
      { name: "absolute-form URL to another host", bytes: head("DELETE", `http://evil.example/api/v1/containers/${fx.cA}${MARK}`) + "\r\n", expect: (st) => expect(st).toBeLessThan(500) },
      {
        name: "two Content-Length headers",
        bytes: head("POST", create, `Content-Type: application/json\r\nContent-Length: ${valid.length}\r\nContent-Length: 2\r\n`) + "\r\n" + valid,
        expect: (st) => expect(st).toBe(400),
      },
      {
        name: "Content-Length and Transfer-Encoding (smuggling shape)",
        bytes: head("POST", create, `Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n`) + `\r\n0\r\n\r\nPOST ${create} HTTP/1.1\r\n\r\n`,
        expect: (st) => expect(st).toBe(400),
      },
      {
        name: "obs-fold header",
        bytes: head("POST", create, `Content-Type: application/json\r\nX-Fuzz: a\r\n  folded ${MARK}\r\nContent-Length: 1\r\n`) + "\r\n{",
        expect: (st) => expect(st).toBeLessThan(500),
      },
      {
        name: "header block over 16 KiB",
        bytes: head("POST", create, `X-Fuzz: ${"h".repeat(20_000)}\r\nContent-Type: application/json\r\nContent-Length: ${valid.length}\r\n`) + "\r\n" + valid,
        expect: (st) => expect(st).toBe(431),
      },
      { name: "Content-Length over the body limit", bytes: head("POST", create, `Content-Type: application/json\r\nContent-Length: ${3 * 1024 * 1024}\r\n`) + "\r\n{", expect: tooLarge },
      {
        name: "chunked body over the body limit",
        bytes:
          head("POST", create, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
          `\r\n${(3 * 1024 * 1024).toString(16)}\r\n{"template":"${"x".repeat(3 * 1024 * 1024 - 15)}"}\r\n0\r\n\r\n`,
        expect: tooLarge,
      },
      {
        name: "a body shorter than its Content-Length, then close",
        bytes: head("POST", create, `Content-Type: application/json\r\nContent-Length: ${valid.length + 10}\r\n`) + "\r\n" + valid,
        expect: (st) => expect(st).toBeLessThan(500),
      },
      {
        name: "method override headers do not turn a GET into a DELETE",
        bytes: head("GET", `/api/v1/containers/${fx.cA}`, "X-HTTP-Method-Override: DELETE\r\nX-Method-Override: DELETE\r\n") + "\r\n",
        expect: (st) => expect(st).toBe(200),
      },
      { name: "unknown method", bytes: head("PROPFIND", `/api/v1/containers/${fx.cA}`) + "\r\n", expect: (st) => expect(st).toBeLessThan(500) },
    ];
    for (const c of cases) {
      // "shorter than its Content-Length": the server waits for the rest; we close after a moment.
      const r = await sendRaw(s.port, c.bytes, c.name.startsWith("a body shorter") ? 1500 : 15_000);
      const where = `${c.name} → ${r.status} ${r.text.slice(0, 400)}`;
      if (r.status !== 0) expect(r.status, where).not.toBeGreaterThanOrEqual(500);
      try {
        c.expect(r.status, r.text);
      } catch (e) {
        throw new Error(`${where}\n${(e as Error).message}`);
      }
    }
    await expectUnchanged(before);
  });

  it("exec-script paths with traversal never run a file outside scripts/", async () => {
    batch = [];
    const before = await fingerprint(s);
    const paths = [
      "/exec/..%2Fpackage",
      "/exec/%2e%2e/server/core/auth",
      "/exec/..%252f..%252fserver%252fhost%252fmain",
      "/exec/signup%00.ts",
      "/exec/.%2e/.%2e/bin/hoody",
      "/exec/signup/..%2F..%2Fserver%2Fhost%2Fmain",
      `/exec/${MARK}%3B%20id`,
      "/exec/_private",
      "/exec/.hidden",
    ];
    for (const p of paths) {
      const a = await send(s.port, "POST", p, { "content-type": "application/json" }, "{}");
      expect(a.status, `${p} → ${a.status} ${a.text.slice(0, 200)}`).toBe(404);
      if (a.json) expect([envelopeProblems(a), a.json.code], p).toEqual([[], "SCRIPT_NOT_FOUND"]);
    }
    await expectUnchanged(before);
  });

  it("prototype keys in record bodies never set a prototype or a hidden env var", async () => {
    // Signed in first: the session is the one change the fingerprint must not see.
    const cookie = await operatorSession();
    batch = [];
    const before = await fingerprint(s);
    const envBefore = (await s.api("GET", `/containers/${fx.cA}/env`)).body.data.environment_vars;
    const cases: [string, string, string][] = [
      ["PUT", `/containers/${fx.cA}/env`, '{"__proto__":{"polluted":"yes"}}'],
      ["PUT", `/containers/${fx.cA}/env`, '{"__proto__":"x"}'],
      ["PUT", `/containers/${fx.cA}/env`, '{"environment_vars":{"__proto__":"x"},"restart":true}'],
      ["PUT", `/containers/${fx.cA}/env`, '{"constructor":{"prototype":{"polluted":"yes"}}}'],
      ["PATCH", `/containers/${fx.cA}`, '{"environment_vars":{"__proto__":null}}'],
      ["POST", `/projects/${fx.projectA}/containers`, '{"template":"mini","environment_vars":{"__proto__":"x"}}'],
      ["PUT", "/scripts/signup/secrets", '{"__proto__":"x"}'],
    ];
    for (const [method, p, raw] of cases) {
      const a = await fire(method, p, { authorization: `Bearer ${s.adminToken}`, "content-type": "application/json" }, raw, "proto key");
      expectRefused(a, method, p, raw, /^(INVALID_ENV_KEY|VALIDATION_ERROR)$/);
    }
    // The dashboard's tRPC refuses them the same way (superjson and zod would drop the key silently).
    for (const input of [
      { id: fx.cA, environment_vars: { ["__proto__"]: "x" } },
      { id: fx.cA, environment_vars: { PLAN: "x" }, ["__proto__"]: { polluted: "yes" } },
    ]) {
      // A computed ["__proto__"] key is an own property, so JSON.stringify writes it.
      const raw = `{"json":${JSON.stringify(input)}}`;
      const a = await send(s.port, "POST", "/api/trpc/containers.update", { cookie, "content-type": "application/json", [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE }, raw);
      batch.push({ method: "mutation", path: "/api/trpc/containers.update", why: "proto key", answer: a });
      expect([a.status, a.json?.error?.json?.data?.hoodyCode], `${raw} → ${a.text.slice(0, 300)}`).toEqual([422, "VALIDATION_ERROR"]);
    }
    const env = await s.api("GET", `/containers/${fx.cA}/env`);
    expect(env.body.data.environment_vars).toEqual(envBefore);
    expect(Object.getPrototypeOf(env.body.data.environment_vars)).toBe(Object.prototype);
    // A later, unrelated answer shows no inherited property on plain objects.
    const list = await s.api("GET", "/containers?limit=1");
    expect(JSON.stringify(list.body)).not.toContain("polluted");
    await expectUnchanged(before);
  });
});

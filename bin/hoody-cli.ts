// `hoody`: a command-line client of the REST API (/api/v1). It talks HTTP only (fetch) and imports
// nothing from server/ but types, so it behaves exactly like any other API client would.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { ContainerView, ProjectView } from "../server/core/core";

// ------------------------------------------------------------------ usage

const USAGE: Record<string, string> = {
  main: `Usage: hoody [--url URL] [--token TOKEN] [--json] <command> ...

Commands:
  projects     list, create, get and delete projects
  containers   create, copy, list, inspect, start/stop, pause/resume, erase containers; env vars; exec
  snapshots    list, create, restore and delete a container's snapshots
  tokens       list, create and revoke API tokens (admin)
  scripts      exec scripts: list, and set their secrets and settings (admin)

Global options:
  --url URL      API base URL (env HOODY_URL; default http://localhost:3000)
  --token TOKEN  API token (env HOODY_TOKEN; else the file $HOODY_DATA_DIR/admin-token,
                 HOODY_DATA_DIR defaulting to /var/lib/hoody)
  --json         print the response's raw "data" as JSON
  -h, --help     show help (hoody <command> --help for a command's)

Errors print "error CODE: message" on stderr and exit 1; usage errors exit 2.`,

  projects: `Usage:
  hoody projects list [--page N] [--limit N]
  hoody projects create <alias> [--max N]     N: the most containers it may hold
  hoody projects get <project-id>
  hoody projects rm <project-id> [--erase-containers]
                                              without the flag the project must be empty`,

  containers: `Usage:
  hoody containers create <project-id> [--template T] [--name N] [--env K=V ...] [--no-start] [--url-only]
  hoody containers copy <source-id-or-template> --project <project-id> [--name N] [--snapshot S]
                        [--copy-firewall] [--env K=V ...] [--no-start] [--url-only]
  hoody containers list [--project ID] [--status S] [--template T] [--search Q] [--page N] [--limit N]
  hoody containers get <id>
  hoody containers start|stop|restart|force-stop|pause|resume <id>
  hoody containers rm <id>                            erase it and all its data; prints the receipt
  hoody containers env <id>                           list its env vars
  hoody containers env <id> set K=V [K=V ...] [--no-restart]
  hoody containers env <id> unset K [K ...] [--no-restart]
  hoody containers exec <id> [--timeout SECONDS] -- <cmd> [args...]

  create/copy print the container as JSON (--url-only: just its URL); --template defaults to mini;
  --name defaults to a random one. Status is one of creating, running, paused, stopped, failed, deleting.
  Env changes restart a running container unless --no-restart. exec prints the command's stdout
  and stderr and exits with its exit code (124 if it timed out; --timeout 1-600, default 30).`,

  snapshots: `Usage:
  hoody snapshots list <container-id>
  hoody snapshots create <container-id> [alias] [--alias A] [--expiry DAYS]
  hoody snapshots restore <container-id> <name-or-alias>
  hoody snapshots rm <container-id> <name-or-alias>

  The server names snapshots (snap-YYYYMMDD-HHMMSS); an alias is your name for one, and
  reusing an alias replaces the snapshot it named. --expiry: delete it after DAYS days.`,

  tokens: `Usage:
  hoody tokens list
  hoody tokens create <name> [--project ID]    the secret is printed once, on stdout
  hoody tokens revoke <token-id>

  A token with --project sees only that project; without, it is an admin token.`,

  scripts: `Usage:
  hoody scripts list                                   scripts, settings, masked secrets, recent runs
  hoody scripts secrets set <script> KEY=VALUE ...     values are never shown again (masked)
  hoody scripts secrets unset <script> KEY ...
  hoody scripts settings set <script> KEY=VALUE ...    e.g. project_id=6650f1c2a1b2c3d4e5f60718 TEMPLATE=starter
  hoody scripts settings unset <script> KEY ...`,
};

// ------------------------------------------------------------------ errors

class UsageError extends Error {
  constructor(
    message: string,
    readonly topic: string = "main",
  ) {
    super(message);
  }
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly data: unknown = null,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------ arguments

/** Every option of every command; each command says which of them it accepts. */
const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  max: { type: "string" },
  page: { type: "string" },
  limit: { type: "string" },
  template: { type: "string" },
  name: { type: "string" },
  env: { type: "string", multiple: true },
  "no-start": { type: "boolean" },
  "erase-containers": { type: "boolean" },
  "url-only": { type: "boolean" },
  project: { type: "string" },
  snapshot: { type: "string" },
  "copy-firewall": { type: "boolean" },
  status: { type: "string" },
  search: { type: "string" },
  "no-restart": { type: "boolean" },
  timeout: { type: "string" },
  alias: { type: "string" },
  expiry: { type: "string" },
} as const;
type OptionName = keyof typeof OPTIONS;
const GLOBAL: OptionName[] = ["url", "token", "json", "help"];

interface Values {
  url?: string;
  token?: string;
  json?: boolean;
  help?: boolean;
  max?: string;
  page?: string;
  limit?: string;
  template?: string;
  name?: string;
  env?: string[];
  "no-start"?: boolean;
  "erase-containers"?: boolean;
  "url-only"?: boolean;
  project?: string;
  snapshot?: string;
  "copy-firewall"?: boolean;
  status?: string;
  search?: string;
  "no-restart"?: boolean;
  timeout?: string;
  alias?: string;
  expiry?: string;
}

interface Invocation {
  values: Values;
  /** Positionals after the group and subcommand. */
  args: string[];
  /** What followed a literal `--` (exec's command), or null. */
  tail: string[] | null;
  topic: string;
  name: string;
}

function parse(argv: string[]): { values: Values; positionals: string[]; tail: string[] | null } {
  const dd = argv.indexOf("--");
  const head = dd < 0 ? argv : argv.slice(0, dd);
  const tail = dd < 0 ? null : argv.slice(dd + 1);
  try {
    const { values, positionals } = parseArgs({ args: head, options: OPTIONS, allowPositionals: true, strict: true });
    return { values: values as Values, positionals, tail };
  } catch (e) {
    const group = head.find((a) => Object.hasOwn(USAGE, a) && a !== "main");
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""), group);
  }
}

function allowOnly(inv: Invocation, allowed: OptionName[]): void {
  const ok = new Set<string>([...GLOBAL, ...allowed]);
  for (const k of Object.keys(inv.values)) {
    if (!ok.has(k)) throw new UsageError(`option --${k} does not apply to '${inv.name}'`, inv.topic);
  }
}

function positionals(inv: Invocation, names: string[], optional: string[] = []): string[] {
  const { args } = inv;
  if (args.length < names.length) throw new UsageError(`'${inv.name}' needs ${names.map((n) => `<${n}>`).join(" ")}`, inv.topic);
  if (args.length > names.length + optional.length) throw new UsageError(`unexpected argument '${args[names.length + optional.length]}'`, inv.topic);
  return args;
}

function intOption(inv: Invocation, name: OptionName, min: number, max: number): number | undefined {
  const raw = inv.values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`, inv.topic);
  }
  return Number(raw);
}

/** K=V pairs into a map; the value may be empty and may itself contain '='. */
function envPairs(pairs: string[], topic: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`expected KEY=VALUE, got '${p}'`, topic);
    map[p.slice(0, i)] = p.slice(i + 1);
  }
  return map;
}

// ------------------------------------------------------------------ HTTP

interface Config {
  base: string;
  tokenFlag: string | undefined;
}

function baseUrl(flag: string | undefined): string {
  const raw = (flag ?? process.env.HOODY_URL ?? "http://localhost:3000").trim().replace(/\/+$/, "");
  try {
    new URL(raw);
  } catch {
    throw new UsageError(`invalid URL '${raw}'`);
  }
  return raw.endsWith("/api/v1") ? raw : `${raw}/api/v1`;
}

let cachedToken: string | null = null;
function token(cfg: Config): string {
  if (cachedToken) return cachedToken;
  const given = cfg.tokenFlag ?? process.env.HOODY_TOKEN;
  if (given?.trim()) {
    cachedToken = given.trim();
    return cachedToken;
  }
  const file = path.join(process.env.HOODY_DATA_DIR ?? "/var/lib/hoody", "admin-token");
  let secret: string;
  try {
    secret = readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new ApiError("NO_TOKEN", `no API token: pass --token, set HOODY_TOKEN, or make ${file} readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!secret) throw new ApiError("NO_TOKEN", `${file} is empty`);
  cachedToken = secret;
  return secret;
}

/** Success: {statusCode, message, data}; error: {statusCode, error, message, code, data}. */
interface Envelope {
  statusCode?: number;
  message?: string;
  code?: string;
  error?: string;
  data?: unknown;
}

type Query = Record<string, string | number | undefined>;

/** fetch's network failures are TypeErrors whose cause carries the system error code. */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

/**
 * One API call; answers the envelope's `data` or throws ApiError. A POST carries a fresh
 * Idempotency-Key and is retried once, with the same key, if the network failed (the server
 * then replays the first answer if the first attempt got through); GETs are retried once too.
 * `idempotencyKey: false` opts a POST out of both (see tokens create).
 */
async function call<T>(
  cfg: Config,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  route: string,
  opts: { body?: unknown; query?: Query; idempotencyKey?: boolean } = {},
): Promise<T> {
  const url = new URL(cfg.base + route);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { authorization: `Bearer ${token(cfg)}`, accept: "application/json", "user-agent": "hoody-cli/0.1.0" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const keyed = method === "POST" && opts.idempotencyKey !== false;
  if (keyed) headers["idempotency-key"] = randomUUID();
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const retries = keyed || method === "GET" ? 1 : 0;

  let res: Response | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(url, { method, headers, body });
      break;
    } catch (e) {
      if (attempt >= retries) throw new ApiError("NETWORK_ERROR", `${method} ${url.origin}${url.pathname}: ${networkReason(e)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const text = await res.text();
  let env: Envelope | null = null;
  try {
    env = JSON.parse(text) as Envelope | null;
  } catch {
    env = null;
  }
  if (!res.ok) {
    if (!env || typeof env !== "object") throw new ApiError(`HTTP_${res.status}`, `${res.statusText || "error"}: ${text.slice(0, 300).trim() || "(empty body)"}`, res.status);
    const retryAfter = res.headers.get("retry-after");
    const msg = (env.message ?? env.error ?? res.statusText) + (retryAfter ? ` (retry after ${retryAfter}s)` : "");
    throw new ApiError(env.code ?? `HTTP_${res.status}`, msg, res.status, env.data ?? null);
  }
  if (!env || typeof env !== "object" || !("data" in env)) throw new ApiError("BAD_RESPONSE", `${method} ${url.pathname}: not a Hoody envelope: ${text.slice(0, 200)}`, res.status);
  return env.data as T;
}

const enc = encodeURIComponent;

// ------------------------------------------------------------------ output

const out = (s: string): void => void process.stdout.write(s.endsWith("\n") ? s : s + "\n");
const note = (s: string): void => void process.stderr.write(s + "\n");
const json = (v: unknown): void => out(JSON.stringify(v, null, 2));

function table(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  out([line(headers), ...cells.map(line)].join("\n"));
}

const when = (iso: string | null | undefined) => (iso ? iso.replace(/\.\d+Z$/, "Z") : null);

function bytes(n: number | null | undefined): string | null {
  if (n === null || n === undefined) return null;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  for (; v >= 1024 && u < units.length - 1; u++) v /= 1024;
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

interface Pagination {
  total: number;
  page: number;
  limit: number;
  totalPages: number;
}
function pageNote(p: Pagination | undefined, what: string): void {
  if (p && p.totalPages > 1) note(`page ${p.page} of ${p.totalPages} (${p.total} ${what}); use --page N for more`);
}

// ------------------------------------------------------------------ API shapes (what the CLI reads)

interface Snapshot {
  name: string;
  alias: string | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  size: number | null;
  replaced?: string[];
}
interface Token {
  id: string;
  name: string;
  prefix: string;
  project_id: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface Receipt {
  receipt_id: string;
  container_id: string;
  project_id: string;
  erased_at: string;
  requested_by: string;
  erased: unknown;
}
interface OperationResult {
  operation: string;
  container_id: string;
  status: string;
  message: string;
}
interface EnvResult {
  environment_vars: Record<string, string>;
  restarted?: boolean;
}
interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  truncated: boolean;
}

// ------------------------------------------------------------------ commands

type Handler = (cfg: Config, inv: Invocation) => Promise<void>;

const projects: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, ["page", "limit"]);
    positionals(inv, []);
    const d = await call<{ projects: ProjectView[]; pagination: Pagination }>(cfg, "GET", "/projects", { query: { page: inv.values.page, limit: inv.values.limit } });
    if (inv.values.json) return json(d);
    table(
      ["ID", "ALIAS", "CONTAINERS", "MAX", "CREATED"],
      d.projects.map((p) => [p.id, p.alias, p.container_count, p.max_containers, when(p.created_at)]),
    );
    pageNote(d.pagination, "projects");
  },
  async create(cfg, inv) {
    allowOnly(inv, ["max"]);
    const [alias] = positionals(inv, ["alias"]);
    const max = intOption(inv, "max", 0, 100000);
    json(await call<ProjectView>(cfg, "POST", "/projects", { body: { alias, ...(max !== undefined && { max_containers: max }) } }));
  },
  async get(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["project-id"]);
    json(await call<ProjectView>(cfg, "GET", `/projects/${enc(id!)}`));
  },
  async rm(cfg, inv) {
    allowOnly(inv, ["erase-containers"]);
    const [id] = positionals(inv, ["project-id"]);
    // The API erases a project's containers with it (as Hoody's does): the CLI asks for that in so many words.
    if (!inv.values["erase-containers"]) {
      const p = await call<ProjectView>(cfg, "GET", `/projects/${enc(id!)}`);
      if (p.container_count > 0) throw new ApiError("PROJECT_NOT_EMPTY", `project ${id} has ${p.container_count} container(s); add --erase-containers to erase them (each with its GDPR receipt) and the project`);
    }
    const d = await call<{ id: string; deleted: { containers: number }; receipts: string[] }>(cfg, "DELETE", `/projects/${enc(id!)}`);
    if (inv.values.json) return json(d);
    out(`deleted project ${d.id}${d.deleted.containers ? ` and erased ${d.deleted.containers} container(s) (receipts ${d.receipts.join(", ")})` : ""}`);
  },
};

function printContainer(inv: Invocation, c: ContainerView): void {
  if (inv.values["url-only"] && !inv.values.json) out(c.url);
  else json(c);
}

function printReceipt(r: Receipt): void {
  out(`erased container ${r.container_id} (project ${r.project_id})`);
  out(`receipt:      ${r.receipt_id}`);
  out(`erased at:    ${when(r.erased_at)}`);
  out(`requested by: ${r.requested_by}`);
  if (r.erased && typeof r.erased === "object" && !Array.isArray(r.erased)) {
    for (const [where, what] of Object.entries(r.erased as Record<string, unknown>)) {
      out(`${where}:`);
      for (const item of Array.isArray(what) ? what : [what]) out(`  - ${typeof item === "string" ? item : JSON.stringify(item)}`);
    }
  } else out(`erased: ${JSON.stringify(r.erased)}`);
}

function printEnv(env: Record<string, string>): void {
  const lines = Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
  if (lines.length) out(lines.join("\n"));
}

const operation =
  (op: "start" | "stop" | "restart" | "force-stop" | "pause" | "resume"): Handler =>
  async (cfg, inv) => {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["id"]);
    const d = await call<OperationResult>(cfg, "POST", `/containers/${enc(id!)}/${op}`);
    if (inv.values.json) return json(d);
    out(`${d.container_id}: ${d.message} (status ${d.status})`);
  };

const containers: Record<string, Handler> = {
  async create(cfg, inv) {
    allowOnly(inv, ["template", "name", "env", "no-start", "url-only"]);
    const [projectId] = positionals(inv, ["project-id"]);
    const body = {
      ...(inv.values.template !== undefined && { template: inv.values.template }),
      ...(inv.values.name !== undefined && { name: inv.values.name }),
      ...(inv.values.env && { environment_vars: envPairs(inv.values.env, inv.topic) }),
      ...(inv.values["no-start"] && { autostart: false }),
    };
    printContainer(inv, await call<ContainerView>(cfg, "POST", `/projects/${enc(projectId!)}/containers`, { body }));
  },
  async copy(cfg, inv) {
    allowOnly(inv, ["project", "name", "snapshot", "copy-firewall", "env", "no-start", "url-only"]);
    const [source] = positionals(inv, ["source-id-or-template"]);
    if (!inv.values.project) throw new UsageError("'containers copy' needs --project <project-id>", inv.topic);
    const body = {
      target_project_id: inv.values.project,
      ...(inv.values.name !== undefined && { name: inv.values.name }),
      ...(inv.values.snapshot !== undefined && { source_snapshot: inv.values.snapshot }),
      ...(inv.values["copy-firewall"] && { copy_firewall_rules: true }),
      ...(inv.values.env && { environment_vars: envPairs(inv.values.env, inv.topic) }),
      ...(inv.values["no-start"] && { autostart: false }),
    };
    printContainer(inv, await call<ContainerView>(cfg, "POST", `/containers/${enc(source!)}/copy`, { body }));
  },
  async list(cfg, inv) {
    allowOnly(inv, ["project", "status", "template", "search", "page", "limit"]);
    positionals(inv, []);
    const { project, status, template, search, page, limit } = inv.values;
    const route = project !== undefined ? `/projects/${enc(project)}/containers` : "/containers";
    const d = await call<{ containers: ContainerView[]; pagination: Pagination }>(cfg, "GET", route, { query: { status, template, search, page, limit } });
    if (inv.values.json) return json(d);
    table(
      ["ID", "NAME", "PROJECT", "TEMPLATE", "STATUS", "URL"],
      d.containers.map((c) => [c.id, c.name, c.project_id, c.template, c.status, c.url]),
    );
    pageNote(d.pagination, "containers");
  },
  async get(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["id"]);
    json(await call<ContainerView>(cfg, "GET", `/containers/${enc(id!)}`));
  },
  start: operation("start"),
  stop: operation("stop"),
  restart: operation("restart"),
  "force-stop": operation("force-stop"),
  pause: operation("pause"),
  resume: operation("resume"),
  async rm(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["id"]);
    const r = await call<Receipt>(cfg, "DELETE", `/containers/${enc(id!)}`);
    if (inv.values.json) return json(r);
    printReceipt(r);
  },
  async env(cfg, inv) {
    const [id, action = "list", ...rest] = inv.args;
    if (!id) throw new UsageError("'containers env' needs <id>", inv.topic);
    if (action === "list") {
      allowOnly(inv, []);
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, inv.topic);
      const d = await call<EnvResult>(cfg, "GET", `/containers/${enc(id)}/env`);
      if (inv.values.json) return json(d);
      return printEnv(d.environment_vars);
    }
    if (action !== "set" && action !== "unset") throw new UsageError(`unknown env action '${action}' (list, set or unset)`, inv.topic);
    allowOnly(inv, ["no-restart"]);
    if (!rest.length) throw new UsageError(action === "set" ? "'env set' needs K=V [K=V ...]" : "'env unset' needs K [K ...]", inv.topic);
    const patch: Record<string, string | null> = action === "set" ? envPairs(rest, inv.topic) : Object.fromEntries(rest.map((k) => [k, null]));
    const d = await call<EnvResult>(cfg, "PUT", `/containers/${enc(id)}/env`, { body: { environment_vars: patch, restart: !inv.values["no-restart"] } });
    if (inv.values.json) return json(d);
    printEnv(d.environment_vars);
    if (d.restarted) note(`(${id} was restarted to apply the change)`);
  },
  async exec(cfg, inv) {
    allowOnly(inv, ["timeout"]);
    const [id, ...inline] = inv.args;
    if (!id) throw new UsageError("'containers exec' needs <id> -- <cmd> [args...]", inv.topic);
    const command = [...inline, ...(inv.tail ?? [])];
    if (!command.length) throw new UsageError("'containers exec' needs a command after --", inv.topic);
    const timeout = intOption(inv, "timeout", 1, 600);
    const d = await call<ExecResult>(cfg, "POST", `/containers/${enc(id)}/exec`, { body: { command, ...(timeout !== undefined && { timeout }) } });
    if (inv.values.json) json(d);
    else {
      if (d.stdout) process.stdout.write(d.stdout);
      if (d.stderr) process.stderr.write(d.stderr);
      if (d.truncated) note("hoody: output was truncated to 256 KiB per stream");
      if (d.timed_out) note(`hoody: the command timed out after ${timeout ?? 30}s`);
    }
    process.exitCode = d.timed_out ? 124 : d.exit_code;
  },
};

const snapshots: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["container-id"]);
    const d = await call<{ snapshots: Snapshot[] }>(cfg, "GET", `/containers/${enc(id!)}/snapshots`);
    if (inv.values.json) return json(d);
    table(
      ["NAME", "ALIAS", "CREATED", "EXPIRES", "SIZE"],
      d.snapshots.map((s) => [s.name, s.alias, when(s.created_at), when(s.expires_at), bytes(s.size)]),
    );
  },
  async create(cfg, inv) {
    allowOnly(inv, ["alias", "expiry"]);
    const [id, positionalAlias] = positionals(inv, ["container-id"], ["alias"]);
    if (positionalAlias !== undefined && inv.values.alias !== undefined && positionalAlias !== inv.values.alias) {
      throw new UsageError("give the alias once (as an argument or with --alias)", inv.topic);
    }
    const alias = inv.values.alias ?? positionalAlias;
    const expiry = intOption(inv, "expiry", 1, 3650);
    json(await call<Snapshot>(cfg, "POST", `/containers/${enc(id!)}/snapshots`, { body: { ...(alias !== undefined && { alias }), ...(expiry !== undefined && { expiry }) } }));
  },
  async restore(cfg, inv) {
    allowOnly(inv, []);
    const [id, name] = positionals(inv, ["container-id", "name-or-alias"]);
    const r = await call<{ container: ContainerView }>(cfg, "PUT", `/containers/${enc(id!)}/snapshots/${enc(name!)}`);
    if (inv.values.json) return json(r);
    out(`${r.container.id}: restored ${name} (status ${r.container.status})`);
  },
  async rm(cfg, inv) {
    allowOnly(inv, []);
    const [id, name] = positionals(inv, ["container-id", "name-or-alias"]);
    const d = await call<{ name: string; deleted: boolean }>(cfg, "DELETE", `/containers/${enc(id!)}/snapshots/${enc(name!)}`);
    if (inv.values.json) return json(d);
    out(`deleted snapshot ${d.name}`);
  },
};

const tokens: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const d = await call<{ tokens: Token[] }>(cfg, "GET", "/tokens");
    if (inv.values.json) return json(d);
    table(
      ["ID", "NAME", "PREFIX", "PROJECT", "CREATED", "LAST USED", "STATE"],
      d.tokens.map((t) => [t.id, t.name, t.prefix, t.project_id ?? "(admin)", when(t.created_at), when(t.last_used_at), t.revoked_at ? `revoked ${when(t.revoked_at)}` : "active"]),
    );
  },
  async create(cfg, inv) {
    allowOnly(inv, ["project"]);
    const [name] = positionals(inv, ["name"]);
    // No Idempotency-Key here: the server stores keyed answers for 24 h to replay them, and this
    // answer holds the token's secret, which must not be kept anywhere. Hence no retry either.
    const body = { name, ...(inv.values.project !== undefined && { project_id: inv.values.project }) };
    const d = await call<{ id: string; name: string; project_id: string | null; token: string }>(cfg, "POST", "/tokens", { body, idempotencyKey: false });
    if (inv.values.json) return json(d);
    note(`created token ${d.id} '${d.name}' (${d.project_id ? `project ${d.project_id}` : "admin"}); its secret is shown only now:`);
    out(d.token);
  },
  async revoke(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["token-id"]);
    const d = await call<{ id: string; revoked: boolean }>(cfg, "DELETE", `/tokens/${enc(id!)}`);
    if (inv.values.json) return json(d);
    out(`revoked token ${d.id}`);
  },
};

/** `secrets|settings set|unset <script> ...` → PUT /scripts/{script}/{kind}. */
function scriptValues(kind: "secrets" | "settings"): Handler {
  return async (cfg, inv) => {
    allowOnly(inv, []);
    const [verb, script, ...pairs] = inv.args;
    if ((verb !== "set" && verb !== "unset") || !script || !pairs.length) throw new UsageError(`usage: hoody scripts ${kind} set|unset <script> ...`, "scripts");
    const body: Record<string, string | null> = {};
    for (const p of pairs) {
      if (verb === "unset") body[p] = null;
      else {
        const i = p.indexOf("=");
        if (i < 1) throw new UsageError(`expected KEY=VALUE, got '${p}'`, "scripts");
        body[p.slice(0, i)] = p.slice(i + 1);
      }
    }
    const d = await call<Record<string, Record<string, string>>>(cfg, "PUT", `/scripts/${enc(script)}/${kind}`, { body });
    if (inv.values.json) return json(d);
    for (const [k, v] of Object.entries(d[kind] ?? {})) out(`${k}=${v}`);
  };
}

const scripts: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const d = await call<{ scripts: { name: string; route: string; settings: Record<string, string>; secrets: Record<string, string> }[]; runs: { at: string; script: string; status: number; duration_ms: number }[] }>(cfg, "GET", "/scripts");
    if (inv.values.json) return json(d);
    table(["SCRIPT", "ROUTE", "SETTINGS", "SECRETS"], d.scripts.map((x) => [x.name, x.route, Object.keys(x.settings).join(",") || "-", Object.keys(x.secrets).join(",") || "-"]));
    out("");
    table(["WHEN", "SCRIPT", "STATUS", "MS"], d.runs.slice(0, 20).map((r) => [when(r.at), r.script, String(r.status), String(r.duration_ms)]));
  },
  secrets: scriptValues("secrets"),
  settings: scriptValues("settings"),
};

const GROUPS: Record<string, Record<string, Handler>> = { projects, containers, snapshots, tokens, scripts };

// ------------------------------------------------------------------ main

export async function main(argv: string[]): Promise<number> {
  let topic = "main";
  try {
    const { values, positionals: pos, tail } = parse(argv);
    let [group, sub, ...args] = pos;
    let help = values.help === true;
    if (group === "help") [help, group, sub] = [true, sub, undefined];
    if (sub === "help") help = true;
    if (group !== undefined && !Object.hasOwn(GROUPS, group)) throw new UsageError(`unknown command '${group}'`);
    if (group) topic = group;
    if (help) {
      out(USAGE[topic] ?? USAGE.main!);
      return 0;
    }
    if (!group) {
      note(USAGE.main!);
      return 2;
    }
    const handlers = GROUPS[group]!;
    if (!sub) throw new UsageError(`'${group}' needs a subcommand`, topic);
    const handler = Object.hasOwn(handlers, sub) ? handlers[sub] : undefined;
    if (!handler) throw new UsageError(`unknown command '${group} ${sub}'`, topic);
    if (tail && !(group === "containers" && sub === "exec")) args.push(...tail);
    const cfg: Config = { base: baseUrl(values.url), tokenFlag: values.token };
    await handler(cfg, { values, args, tail: group === "containers" && sub === "exec" ? tail : null, topic, name: `${group} ${sub}` });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      note(`error USAGE: ${e.message}`);
      note(`(see 'hoody ${e.topic === "main" ? "" : `${e.topic} `}--help')`);
      return 2;
    }
    if (e instanceof ApiError) {
      note(`error ${e.code}: ${e.message}`);
      return 1;
    }
    note(`error INTERNAL: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

// A closed pipe (hoody ... | head) ends the output quietly, like any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));

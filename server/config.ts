// The web side's settings (web server, control plane, router, exec scripts, CLI, up/down), from the
// environment: every HOODY_* variable they read is named here once, with its default and type, as
// the host daemon's are in server/host/config.ts. A bad value fails with the variable's name instead
// of becoming NaN somewhere later. Parsed on each call (cheap), so a test or tool that sets the
// environment before it asks gets what it set.
import path from "node:path";
import { z } from "zod";
import { isPublicDomain } from "./shared/hostnames";
import { DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, DEFAULT_STOP_TIMEOUT_S, defaultHostdSocket } from "./shared/defaults";

type Env = Record<string, string | undefined>;

const port = (def: number) => z.coerce.number().int().min(1).max(65535).default(def);
const ms = (def: number) => z.coerce.number().int().positive().default(def);
const optionalInt = z.coerce.number().int().nonnegative().optional();
const optionalText = z.string().min(1).optional();
/** Lists where an empty value means "none" rather than "unset" (HOODY_WEB_HOSTS, HOODY_TRUSTED_PROXIES). */
const EMPTY_MEANS_NONE = new Set(["HOODY_WEB_HOSTS", "HOODY_TRUSTED_PROXIES"]);

export const WebConfigSchema = z.object({
  /** HOODY_DATA_DIR: the database, admin token and password, pid and log files. */
  dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
  /** HOODY_DB_PATH: the SQLite database; unset: hoody.db in the data directory. */
  dbPath: z.string().min(1).optional(),
  /** HOODY_ENGINE: the host daemon (default) or an Incus server or cluster. */
  engine: z.enum(["host", "incus"]).default("host"),
  /** HOODY_HOSTD_SOCKET: the host daemon's socket; unset: run/hostd.sock in the data directory. */
  hostdSocket: z.string().min(1).optional(),
  /** HOODY_DOMAIN: tenants answer at <name>.<domain>. */
  domain: z.string().min(1).default("localhost"),
  /** HOODY_CADDY: "auto" puts Caddy (TLS) in front when HOODY_DOMAIN is a public domain; "off" never. */
  caddy: z.enum(["auto", "off"]).default("auto"),
  /** HOODY_DASHBOARD_HOST: the dashboard's own name behind Caddy; unset: hoody.<domain>. */
  dashboardHost: optionalText,
  /** HOODY_HTTP_PORT / HOODY_HTTPS_PORT: where Caddy listens (80 redirects to 443). */
  httpPort: port(80),
  httpsPort: port(443),
  /** HOODY_TLS_ISSUER: ACME (Let's Encrypt, or HOODY_ACME_CA) or Caddy's own internal CA (tests, private networks). */
  tlsIssuer: z.enum(["acme", "internal"]).default("acme"),
  acmeEmail: optionalText,
  acmeCa: optionalText,
  /** HOODY_TLS_CERT / HOODY_TLS_KEY: a wildcard certificate the operator provides (PEM files) for *.<domain>. */
  tlsCert: optionalText,
  tlsKey: optionalText,
  /** HOODY_PUBLIC_IPS: the addresses a custom domain must resolve to; unset: this machine's non-loopback addresses. */
  publicIps: optionalText,
  /** HOODY_RESOLVE_FILE: a hosts-format file that replaces DNS when custom domains are checked (tests, boxes without DNS). */
  resolveFile: optionalText,
  /** HOODY_PORT: the web server's port as `npm run up` starts it. */
  webPort: port(3000),
  /** PORT: the port server/web/main.ts listens on without -p (Next's convention). */
  listenPort: port(3000),
  /** HOODY_WEB_HOSTS: the names the web server answers for (server/web/guards.ts); unset: loopback and the domain. */
  webHosts: z.string().optional(),
  /** HOODY_TRUSTED_PROXIES: proxies whose forwarding headers count (server/web/forwarded.ts); unset: loopback. */
  trustedProxies: z.string().optional(),
  /** HOODY_ROUTER_PORT / HOODY_ROUTER_HOST: where the tenant router listens; unset host: every address, or loopback behind Caddy. */
  routerPort: port(8080),
  routerHost: optionalText,
  /** HOODY_IDLE_SWEEP_MS: how often the router looks for idle tenants; unset: the router's default. */
  idleSweepMs: z.coerce.number().int().positive().optional(),
  /** HOODY_ERASE_SWEEP_MS: how often grace-period erasures that are due run. */
  eraseSweepMs: ms(30_000),
  /** HOODY_BACKUP_IMPORT_MAX_MIB: the largest backup file an import takes (counted while it streams). */
  backupImportMaxMiB: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  /** HOODY_BACKUP_SWEEP_MS: how often due backup schedules run. */
  backupSweepMs: ms(60_000),
  /**
   * HOODY_DEDUP_INTERVAL_MIN: minutes between scheduled dedup runs (0: none, only on demand);
   * HOODY_DEDUP_DEADLINE_S: the time bound of a scheduled run (the next resumes where it stopped).
   */
  dedupIntervalMin: z.coerce.number().int().nonnegative().default(360),
  dedupDeadlineS: z.coerce.number().int().min(1).max(86_400).default(1800),
  /** HOODY_SCRIPTS_DIR: the exec scripts; unset: scripts/ in the working directory. */
  scriptsDir: z.string().min(1).optional(),
  /** HOODY_SCRIPT_TIMEOUT_MS / _LOAD_TIMEOUT_MS / HOODY_SCRIPT_MEMORY_MIB: bounds of one exec script run. */
  scriptTimeoutMs: ms(30_000),
  scriptLoadTimeoutMs: ms(30_000),
  scriptMemoryMiB: z.coerce.number().int().positive().default(256),
  /** HOODY_CACHE_DIR: downloaded template images (the Incus engine builds its own). */
  cacheDir: z.string().min(1).default(DEFAULT_CACHE_DIR),
  /** HOODY_STOP_TIMEOUT_S: seconds a graceful stop waits (Incus engine; the daemon has its own). */
  stopTimeoutS: z.coerce.number().int().nonnegative().default(DEFAULT_STOP_TIMEOUT_S),
  /** HOODY_SIGNIN_MAX_PER_CLIENT / HOODY_SIGNIN_MAX_GLOBAL: dashboard sign-in attempts allowed per window. */
  signInMaxPerClient: z.coerce.number().int().positive().default(10),
  signInMaxGlobal: z.coerce.number().int().positive().default(100),
  /**
   * HOODY_CREATE_CONCURRENCY / _QUEUE, HOODY_EXEC_CONCURRENCY / _QUEUE: creates and exec scripts
   * running and waiting at once; unset: server/core/limits.ts's defaults.
   */
  createConcurrency: z.coerce.number().int().min(1).optional(),
  createQueue: optionalInt,
  execConcurrency: z.coerce.number().int().min(1).optional(),
  execQueue: optionalInt,
  /**
   * HOODY_METRICS_TOKEN: the bearer token `GET /metrics` asks for (its own, not an API token; at
   * least 16 characters). Unset: /metrics answers loopback clients only (server/metrics/access.ts).
   */
  metricsToken: z.string().min(16, "at least 16 characters").optional(),
  /** HOODY_STATS_SAMPLE_MS: how often the web server samples every tenant's stats for the history and /metrics. */
  statsSampleMs: ms(15_000),
  /** HOODY_FAULT_POINT: tests only; the process kills itself at the named point (server/core/fault.ts). */
  faultPoint: optionalText,
  /** HOODY_NEXT_DIST: the dashboard's build directory (next.config.ts reads it itself: Next loads that file on its own). */
  nextDist: z.string().min(1).default(".next"),
  /** Warm-pool members per template built from a recipe, unless set per template (promoted ones: 0). */
  warmPoolDefault: z.coerce.number().int().min(0).max(64).default(2),
  /** How often the pool refill looks for work (it also runs right after a claim). */
  warmPoolTickMs: ms(2000),
  /** HOODY_ROOT: the project's root, where the Incus engine finds tsx and its image builder. */
  root: z.string().min(1).optional(),
  /** HOODY_INCUS_*: the Incus endpoint (a unix socket, or a URL with client certificate files) and placement. */
  incus: z.object({
    socket: z.string().min(1).default("/var/lib/incus/unix.socket"),
    url: optionalText,
    cert: optionalText,
    key: optionalText,
    ca: optionalText,
    project: optionalText,
    pool: z.string().min(1).default("default"),
    network: z.string().min(1).default("incusbr0"),
    target: optionalText,
    uidBase: optionalInt,
    uidRanges: optionalInt,
  }),
});
export type WebConfig = z.infer<typeof WebConfigSchema>;

/** Which variable each setting comes from, so an error names what to fix. */
const VARS: Record<Exclude<keyof WebConfig, "incus">, string> = {
  dataDir: "HOODY_DATA_DIR",
  dbPath: "HOODY_DB_PATH",
  engine: "HOODY_ENGINE",
  hostdSocket: "HOODY_HOSTD_SOCKET",
  domain: "HOODY_DOMAIN",
  caddy: "HOODY_CADDY",
  dashboardHost: "HOODY_DASHBOARD_HOST",
  httpPort: "HOODY_HTTP_PORT",
  httpsPort: "HOODY_HTTPS_PORT",
  tlsIssuer: "HOODY_TLS_ISSUER",
  acmeEmail: "HOODY_ACME_EMAIL",
  acmeCa: "HOODY_ACME_CA",
  tlsCert: "HOODY_TLS_CERT",
  tlsKey: "HOODY_TLS_KEY",
  publicIps: "HOODY_PUBLIC_IPS",
  resolveFile: "HOODY_RESOLVE_FILE",
  webPort: "HOODY_PORT",
  listenPort: "PORT",
  webHosts: "HOODY_WEB_HOSTS",
  trustedProxies: "HOODY_TRUSTED_PROXIES",
  routerPort: "HOODY_ROUTER_PORT",
  routerHost: "HOODY_ROUTER_HOST",
  idleSweepMs: "HOODY_IDLE_SWEEP_MS",
  eraseSweepMs: "HOODY_ERASE_SWEEP_MS",
  backupImportMaxMiB: "HOODY_BACKUP_IMPORT_MAX_MIB",
  backupSweepMs: "HOODY_BACKUP_SWEEP_MS",
  dedupIntervalMin: "HOODY_DEDUP_INTERVAL_MIN",
  dedupDeadlineS: "HOODY_DEDUP_DEADLINE_S",
  scriptsDir: "HOODY_SCRIPTS_DIR",
  scriptTimeoutMs: "HOODY_SCRIPT_TIMEOUT_MS",
  scriptLoadTimeoutMs: "HOODY_SCRIPT_LOAD_TIMEOUT_MS",
  scriptMemoryMiB: "HOODY_SCRIPT_MEMORY_MIB",
  cacheDir: "HOODY_CACHE_DIR",
  stopTimeoutS: "HOODY_STOP_TIMEOUT_S",
  signInMaxPerClient: "HOODY_SIGNIN_MAX_PER_CLIENT",
  signInMaxGlobal: "HOODY_SIGNIN_MAX_GLOBAL",
  createConcurrency: "HOODY_CREATE_CONCURRENCY",
  createQueue: "HOODY_CREATE_QUEUE",
  execConcurrency: "HOODY_EXEC_CONCURRENCY",
  execQueue: "HOODY_EXEC_QUEUE",
  metricsToken: "HOODY_METRICS_TOKEN",
  statsSampleMs: "HOODY_STATS_SAMPLE_MS",
  faultPoint: "HOODY_FAULT_POINT",
  nextDist: "HOODY_NEXT_DIST",
  warmPoolDefault: "HOODY_WARM_POOL_DEFAULT",
  warmPoolTickMs: "HOODY_WARM_POOL_TICK_MS",
  root: "HOODY_ROOT",
};
const INCUS_VARS: Record<keyof WebConfig["incus"], string> = {
  socket: "HOODY_INCUS_SOCKET",
  url: "HOODY_INCUS_URL",
  cert: "HOODY_INCUS_CERT",
  key: "HOODY_INCUS_KEY",
  ca: "HOODY_INCUS_CA",
  project: "HOODY_INCUS_PROJECT",
  pool: "HOODY_INCUS_POOL",
  network: "HOODY_INCUS_NETWORK",
  target: "HOODY_INCUS_TARGET",
  uidBase: "HOODY_INCUS_UID_BASE",
  uidRanges: "HOODY_INCUS_UID_RANGES",
};

/** An empty variable is unset (a `VAR=` in a unit file or shell), except in the lists above. */
function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === "" && !EMPTY_MEANS_NONE.has(name) ? undefined : v;
}

export function webConfig(env: Env = process.env): WebConfig {
  const pick = (vars: Record<string, string>) => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, read(env, v)]));
  const parsed = WebConfigSchema.safeParse({ ...pick(VARS), incus: pick(INCUS_VARS) });
  if (parsed.success) return parsed.data;
  const bad = parsed.error.issues.map((i) => {
    const [a, b] = i.path as string[];
    const name = (a === "incus" ? INCUS_VARS[b as keyof WebConfig["incus"]] : VARS[a as keyof typeof VARS]) ?? String(a);
    return `${name}=${JSON.stringify(env[name])}: ${i.message}`;
  });
  throw new Error(`invalid setting: ${bad.join("; ")}`);
}

/** The database file: HOODY_DB_PATH, else hoody.db in the data directory. */
export function dbPath(c: WebConfig = webConfig()): string {
  return c.dbPath ?? path.join(c.dataDir, "hoody.db");
}

/** The host daemon's socket: HOODY_HOSTD_SOCKET, else run/hostd.sock in the data directory. */
export function hostdSocket(c: WebConfig = webConfig()): string {
  return c.hostdSocket ?? defaultHostdSocket(c.dataDir);
}

/** Whether Caddy terminates TLS in front of the router and the web server (a public domain, not turned off). */
export function tlsOn(c: WebConfig = webConfig()): boolean {
  return c.caddy !== "off" && isPublicDomain(c.domain);
}

/** The dashboard's host name behind Caddy. */
export function dashboardHost(c: WebConfig = webConfig()): string {
  return c.dashboardHost ?? `hoody.${c.domain}`;
}

/** How tenant URLs look: https on Caddy's port when it is on, else http on the router's. */
export function publicUrl(c: WebConfig = webConfig()): { scheme: "http" | "https"; port: number } {
  return tlsOn(c) ? { scheme: "https", port: c.httpsPort } : { scheme: "http", port: c.routerPort };
}

/** The exec scripts' directory, absolute. */
export function scriptsDir(c: WebConfig = webConfig()): string {
  return path.resolve(c.scriptsDir ?? path.join(process.cwd(), "scripts"));
}

/**
 * What the CLI reads (HOODY_URL, HOODY_TOKEN, HOODY_DATA_DIR) on its own, so a bad server-side
 * setting in a user's shell never stops the client.
 */
export function clientConfig(env: Env = process.env): { url: string; token: string | undefined; dataDir: string } {
  return { url: read(env, "HOODY_URL") ?? "http://localhost:3000", token: read(env, "HOODY_TOKEN"), dataDir: read(env, "HOODY_DATA_DIR") ?? DEFAULT_DATA_DIR };
}

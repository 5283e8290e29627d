// HTTP: one API call with the envelope, auth token, idempotency key and a single retry.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { clientConfig } from "../../server/config";
import { ApiError, UsageError } from "./args";

export interface Config {
  base: string;
  tokenFlag: string | undefined;
}

export function baseUrl(flag: string | undefined): string {
  const raw = (flag ?? clientConfig().url).trim().replace(/\/+$/, "");
  try {
    new URL(raw);
  } catch {
    throw new UsageError(`invalid URL '${raw}'`);
  }
  return raw.endsWith("/api/v1") ? raw : `${raw}/api/v1`;
}

let cachedToken: string | null = null;
export function token(cfg: Config): string {
  if (cachedToken) return cachedToken;
  const given = cfg.tokenFlag ?? clientConfig().token;
  if (given?.trim()) {
    cachedToken = given.trim();
    return cachedToken;
  }
  const file = path.join(clientConfig().dataDir, "admin-token");
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

export type Query = Record<string, string | number | undefined>;

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
export async function call<T>(cfg: Config, method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", route: string, opts: { body?: unknown; query?: Query; idempotencyKey?: boolean } = {}): Promise<T> {
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

export const enc = encodeURIComponent;

// One script run, in its own Node process (spawned by runner.ts with a heap limit and killed at
// its time limit): imports the script, calls its handler with a Web Request and the context, and
// sends the Response back over IPC. A crash or hang here harms nothing but this call.
import { pathToFileURL } from "node:url";
import type { HoodyClient, ScriptContext, ScriptHandler } from "./types";

interface Job {
  file: string;
  method: string;
  url: string;
  headers: [string, string][];
  bodyB64: string | null;
  params: Record<string, string>;
  secrets: Record<string, string>;
  settings: Record<string, string>;
  api: { base: string; token: string | null; projectId: string | null };
}

const send = (msg: unknown) => process.send!(msg);
const pendingOnce = new Map<string, (v: { result: string | null }) => void>();

process.on("message", (msg: { type: string; key?: string; result?: string | null; job?: Job }) => {
  if (msg.type === "job" && msg.job) void run(msg.job);
  else if (msg.type === "once-answer" && msg.key) pendingOnce.get(msg.key)?.({ result: msg.result ?? null });
});

function client(api: Job["api"]): HoodyClient {
  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    if (!api.token) throw new Error("this script has no project: set it with `hoody scripts settings set <script> project_id=<id>`");
    const res = await fetch(`${api.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${api.token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as { data?: unknown; code?: string; message?: string };
    if (!res.ok) throw Object.assign(new Error(`${json.code ?? res.status}: ${json.message ?? "request failed"}`), { status: res.status, code: json.code });
    return json.data as T;
  };
  return {
    request,
    containers: {
      create: (body) => request("POST", `/projects/${api.projectId}/containers`, body),
      find: async (name) => {
        const page = await request<{ containers: { id: string; name: string; url: string; status: string }[] }>(
          "GET",
          `/projects/${api.projectId}/containers?search=${encodeURIComponent(name)}&limit=100`,
        );
        return page.containers.find((c) => c.name === name) ?? null;
      },
      stop: (id) => request("POST", `/containers/${id}/stop`),
      suspend: (id) => request("PATCH", `/containers/${id}`, { suspended: true, restart: false }),
      delete: (id) => request("DELETE", `/containers/${id}`),
      deleteAfter: (id, seconds) => request("PATCH", `/containers/${id}`, { delete_after_s: seconds, restart: false }),
    },
  };
}

async function run(job: Job) {
  const logs: string[] = [];
  let lastKey: string | null = null;
  const ctx: ScriptContext = {
    params: job.params,
    secrets: job.secrets,
    settings: job.settings,
    hoody: client(job.api),
    log: (...args) => logs.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")),
    async runOnce<T>(key: string, fn: () => Promise<T>) {
      lastKey = key;
      const answer = await new Promise<{ result: string | null }>((resolve) => {
        pendingOnce.set(key, resolve);
        send({ type: "once-check", key });
      });
      pendingOnce.delete(key);
      if (answer.result !== null) return { result: JSON.parse(answer.result) as T, replayed: true };
      const result = await fn();
      send({ type: "once-store", key, result: JSON.stringify(result ?? null) });
      return { result, replayed: false };
    },
  };
  try {
    const mod = (await import(pathToFileURL(job.file).href)) as Record<string, unknown>;
    const handler = (mod[job.method] ?? mod.default) as ScriptHandler | undefined;
    if (typeof handler !== "function") {
      send({ type: "result", status: 405, headers: [["content-type", "text/plain"]], bodyB64: Buffer.from(`this script has no ${job.method} handler`).toString("base64"), logs, key: lastKey });
      return;
    }
    send({ type: "loaded" });
    const req = new Request(job.url, { method: job.method, headers: job.headers, body: job.bodyB64 === null ? undefined : Buffer.from(job.bodyB64, "base64") });
    const res = await handler(req, ctx);
    const body = Buffer.from(await res.arrayBuffer());
    send({ type: "result", status: res.status, headers: [...res.headers.entries()], bodyB64: body.toString("base64"), logs, key: lastKey });
  } catch (e) {
    logs.push(`error: ${(e as Error)?.stack ?? String(e)}`);
    send({ type: "error", message: (e as Error)?.message ?? String(e), logs, key: lastKey });
  }
}

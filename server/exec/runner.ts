// Runs exec scripts outside the web server process: one child Node process per call, with a heap
// limit and a time limit. A crash answers 500, a hang 504; either harms nothing else. Each run is
// logged (script, status, duration, run-once key, output). The time limit is the script's own: it
// starts once the script is loaded, so a busy host's slow Node start-up does not eat it; loading
// has its own, separate limit.
import { spawn } from "node:child_process";
import path from "node:path";
import { execAdmission, type Admission } from "../core/admission";
import { SESSION_COOKIE } from "../core/auth";
import { readBody } from "../core/body";
import { BODY_LIMITS } from "../core/limits";
import type { ScriptStore } from "../core/scripts";
import { errorResponse } from "../rest/handler";
import { webConfig } from "../config";
import { resolveScript, type ScriptRoute } from "./files";

export interface RunnerOptions {
  /** Runs at once and waiting; beyond that 429 with Retry-After. */
  admission: Admission;
  /** The handler's budget, from the moment the script is loaded. */
  timeoutMs: number;
  /** Starting Node and importing the script (and what it imports). */
  loadTimeoutMs: number;
  memoryMiB: number;
  maxBodyBytes: number;
}

// Only the /exec route imports this module, so its one admission is the process's.
const settings = webConfig();
export const DEFAULT_RUNNER: RunnerOptions = {
  admission: execAdmission(),
  timeoutMs: settings.scriptTimeoutMs,
  loadTimeoutMs: settings.scriptLoadTimeoutMs,
  memoryMiB: settings.scriptMemoryMiB,
  maxBodyBytes: BODY_LIMITS.exec,
};

const CHILD = path.join(process.cwd(), "server", "exec", "child.ts");
/** run-once keys being worked on now: a concurrent redelivery waits for the first to finish. */
const onceInFlight = new Map<string, Promise<void>>();

/** Hoody's own answers on /exec (not the script's) carry the error envelope's stable code. */
const PROBLEM_CODE: Record<number, string> = { 404: "SCRIPT_NOT_FOUND", 500: "SCRIPT_ERROR", 504: "SCRIPT_TIMEOUT" };
function problem(status: number, message: string): Response {
  return new Response(
    JSON.stringify({
      statusCode: status,
      error: status === 504 ? "Gateway Timeout" : status === 404 ? "Not Found" : "Script Error",
      message,
      code: PROBLEM_CODE[status] ?? "SCRIPT_ERROR",
      data: null,
    }),
    {
      status,
      headers: { "content-type": "application/json" },
    },
  );
}

function withoutHoodyCredentials(headers: [string, string][]): [string, string][] {
  return (
    headers
      .map(([k, v]): [string, string] =>
        k === "cookie"
          ? [
              k,
              v
                .split(";")
                .filter((c) => c.trim().split("=")[0] !== SESSION_COOKIE)
                .join(";")
                .trim(),
            ]
          : [k, v],
      )
      .filter(([k, v]) => k !== "cookie" || v !== "")
      // A Hoody API token is not the script's either (the run has its own); other Authorization schemes are the script's business.
      .filter(([k, v]) => k !== "authorization" || !/^\s*bearer\s+hdy_/i.test(v))
  );
}

export async function handleExec(store: ScriptStore, req: Request, segments: string[], apiBase: string, opts: RunnerOptions = DEFAULT_RUNNER): Promise<Response> {
  const route = await resolveScript(segments);
  if (!route) return problem(404, "no such script");
  try {
    // The body is read (bounded) before a slot is taken: a slow upload must not hold one.
    const body = req.method === "GET" || req.method === "HEAD" ? null : await readBody(req, opts.maxBodyBytes);
    return await opts.admission.run(() => run(store, req, route, body, apiBase, opts));
  } catch (e) {
    return errorResponse(e);
  }
}

/** One run of a script in its own process, from spawn to its answer (and its log entry). */
async function run(store: ScriptStore, req: Request, route: ScriptRoute, body: Buffer | null, apiBase: string, opts: RunnerOptions): Promise<Response> {
  const settings = store.values(route.name, "setting");
  const secrets = store.values(route.name, "secret");
  const projectId = settings.project_id ?? null;
  const token = projectId ? store.mintRunToken(route.name, projectId) : null;
  // The run's token goes with the run, however it ends (a crash of this server: ScriptStore's start-up sweep).
  try {
    const started = performance.now();
    // spawn (not fork): the bundler must not try to resolve the child's path at build time.
    const child = spawn(process.execPath, ["--import", "tsx", `--max-old-space-size=${opts.memoryMiB}`, CHILD], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production" },
      cwd: process.cwd(),
    });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const held = new Set<string>();
    let runKey: string | null = null;
    const onceKey = (k: string) => `${route.name}\0${k}`;

    const answer = await new Promise<Response>((resolve) => {
      let done = false;
      let loaded = false;
      const finish = (r: Response) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        child.kill("SIGKILL");
        resolve(r);
      };
      let timer = setTimeout(() => finish(problem(504, `the script did not load within ${opts.loadTimeoutMs} ms`)), opts.loadTimeoutMs);
      child.on("exit", (code, signal) => finish(problem(500, `the script's process ended (${signal ?? `exit ${code}`})`)));
      child.on("error", (e) => finish(problem(500, `the script could not run: ${e.message}`)));
      child.on("message", async (msg: { type: string; key?: string; result?: string; status?: number; headers?: [string, string][]; bodyB64?: string; logs?: string[]; message?: string }) => {
        if (msg.type === "loaded") {
          // Once only: the script runs in that process and could send "loaded" itself to rearm the timer.
          if (loaded || done) return;
          loaded = true;
          clearTimeout(timer);
          timer = setTimeout(() => finish(problem(504, `the script did not answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
        } else if (msg.type === "once-check" && msg.key) {
          runKey = msg.key;
          const k = onceKey(msg.key);
          while (onceInFlight.has(k)) await onceInFlight.get(k);
          const result = store.onceResult(route.name, msg.key);
          if (result === null) {
            let release!: () => void;
            onceInFlight.set(k, new Promise<void>((r) => (release = r)));
            held.add(k);
            child.once("exit", () => {
              onceInFlight.delete(k);
              release();
            });
          }
          child.send({ type: "once-answer", key: msg.key, result });
        } else if (msg.type === "once-store" && msg.key) {
          store.storeOnce(route.name, msg.key, msg.result ?? "null");
        } else if (msg.type === "result") {
          output += (msg.logs ?? []).join("\n");
          finish(new Response(Buffer.from(msg.bodyB64 ?? "", "base64"), { status: msg.status, headers: msg.headers }));
        } else if (msg.type === "error") {
          output += (msg.logs ?? []).join("\n");
          finish(problem(500, `the script failed: ${msg.message}`));
        }
      });
      child.send({
        type: "job",
        job: {
          file: route.file,
          method: req.method,
          url: req.url,
          // The operator's dashboard session is never the script's to see (or to log into its run output).
          headers: withoutHoodyCredentials([...req.headers.entries()]),
          bodyB64: body ? body.toString("base64") : null,
          params: route.params,
          secrets,
          settings,
          api: { base: apiBase, token: token?.secret ?? null, projectId },
        },
      });
    });
    for (const k of held) onceInFlight.delete(k);
    store.recordRun({ script: route.name, status: answer.status, durationMs: Math.round(performance.now() - started), runKey, output });
    return answer;
  } finally {
    if (token) store.dropToken(token.id);
  }
}

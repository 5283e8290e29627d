// The one wrapper every system command goes through: argument arrays (never a shell string),
// a timeout on every call, and a typed error that carries what ran and what it said.
import { appendFileSync, closeSync, openSync } from "node:fs";
import { execa, type Options as ExecaOptions } from "execa";

/**
 * HOODY_SYS_TRACE=<file>: every command (argv), every script handed to a library and every daemon
 * request is appended as a JSON line, so tests can prove what reached the privileged side (e.g. that
 * no unvalidated input did).
 */
const TRACE_FILE = process.env.HOODY_SYS_TRACE;
export function trace(entry: { argv: readonly string[] } | { rpc: string; body: unknown } | { lib: string; input: string }): void {
  if (TRACE_FILE) appendFileSync(TRACE_FILE, JSON.stringify(entry) + "\n");
}

export class SysError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(`${command} ${args.join(" ")} ${timedOut ? "timed out" : `exited ${exitCode ?? "?"}`}` + (stderr ? `: ${stderr.trim().slice(0, 2000)}` : ""));
    this.name = "SysError";
  }
}

export interface RunOptions {
  /** Milliseconds before the command is killed. */
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Exit codes that are not failures (e.g. 1 for "not found" lookups). */
  okCodes?: readonly number[];
  /** Called between spawn and completion; the spawn itself is synchronous (used for prctl inheritance). */
  aroundSpawn?: <T>(spawn: () => T) => T;
  maxBuffer?: number;
  /** Aborting it kills the command (SIGTERM); the call then fails with a SysError. */
  signal?: AbortSignal;
  /** Keep output byte-exact (exec); system tools' trailing newline is stripped by default. */
  keepFinalNewline?: boolean;
  /**
   * On timeout, stop waiting for the output pipes after this grace period: a grandchild that
   * inherited them (a command left running inside a tenant) must not hold the answer hostage.
   */
  abandonPipesAfterMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export async function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const options: ExecaOptions = {
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    reject: false,
    stripFinalNewline: !opts.keepFinalNewline,
    input: opts.input,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: true,
    maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024,
    // lxc-start -d daemonizes its monitor; it must outlive us (and it does: it re-parents).
    cleanup: true,
    cancelSignal: opts.signal,
  };
  trace({ argv: [command, ...args] });
  const spawn = () => execa(command, [...args], options);
  const subprocess = opts.aroundSpawn ? opts.aroundSpawn(spawn) : spawn();
  let abandon: NodeJS.Timeout | undefined;
  if (opts.abandonPipesAfterMs !== undefined) {
    abandon = setTimeout(
      () => {
        subprocess.stdout?.destroy();
        subprocess.stderr?.destroy();
      },
      (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) + opts.abandonPipesAfterMs,
    );
    abandon.unref();
  }
  const r = await subprocess;
  clearTimeout(abandon);
  const stdout = typeof r.stdout === "string" ? r.stdout : "";
  const stderr = typeof r.stderr === "string" ? r.stderr : "";
  const exitCode = r.exitCode ?? -1;
  const ok = !r.timedOut && r.exitCode !== undefined && (r.exitCode === 0 || (opts.okCodes ?? []).includes(r.exitCode));
  if (!ok) throw new SysError(command, args, r.exitCode, stderr || (r.originalMessage ?? ""), Boolean(r.timedOut));
  return { stdout, stderr, exitCode };
}

/**
 * Starts a long-running service that must outlive the daemon (its own session, output appended to
 * logFile) and returns its pid without waiting for it; `exited` settles if it ends.
 */
export function startDetached(command: string, args: readonly string[], logFile: string): { pid: number; exited: Promise<number> } {
  trace({ argv: [command, ...args] });
  // The file itself, not a pipe through us: the service keeps writing after the daemon is gone.
  const log = openSync(logFile, "a", 0o600);
  try {
    // (execa's types name only fds 3-9; it hands any fd number to the child as is.)
    const fd = log as 3;
    const child = execa(command, [...args], { detached: true, cleanup: false, reject: false, stdin: "ignore", stdout: fd, stderr: fd });
    child.unref();
    return { pid: child.pid!, exited: child.then((r) => r.exitCode ?? -1) };
  } finally {
    closeSync(log);
  }
}

/** Resolves to whether a command exists on PATH (checked once per tool at driver load). */
export async function haveCommand(command: string): Promise<boolean> {
  const r = await run("sh", ["-c", 'command -v "$1"', "sh", command], { okCodes: [1, 127] });
  return r.exitCode === 0;
}

/**
 * Runs a command whose stdout is consumed as it streams (never held whole): each chunk goes to
 * onChunk, awaited, so a slow consumer slows the producer through the pipe. The signal kills it.
 */
export async function runStreaming(command: string, args: readonly string[], onChunk: (chunk: Buffer) => void | Promise<void>, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  trace({ argv: [command, ...args] });
  const child = execa(command, [...args], {
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    reject: false,
    buffer: { stdout: false, stderr: true },
    cancelSignal: opts.signal,
    cleanup: true,
    stdin: "ignore",
  });
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) await onChunk(chunk);
  } catch (e) {
    child.kill("SIGKILL");
    await child;
    throw e;
  }
  const r = await child;
  const stderr = typeof r.stderr === "string" ? r.stderr : "";
  if (r.isCanceled) throw new SysError(command, args, r.exitCode, "canceled", false);
  if (r.timedOut || r.exitCode !== 0) throw new SysError(command, args, r.exitCode, stderr || (r.originalMessage ?? ""), Boolean(r.timedOut));
}

/**
 * A command whose stdin/stdout are streams the caller pipes (btrfs send/receive, tar): no buffering,
 * stderr kept for the error. `done` rejects with a SysError unless it exits 0.
 */
export function runPiped(command: string, args: readonly string[], opts: { stdin?: "pipe" | "ignore"; stdout?: "pipe" | "ignore"; cwd?: string; timeoutMs?: number } = {}) {
  trace({ argv: [command, ...args] });
  const child = execa(command, [...args], {
    buffer: false,
    reject: false,
    stdin: opts.stdin ?? "ignore",
    stdout: opts.stdout ?? "pipe",
    stderr: "pipe",
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 3_600_000,
    cleanup: true,
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const done = child.then((r) => {
    if (r.exitCode !== 0 || r.timedOut) throw new SysError(command, args, r.exitCode, stderr || (r.originalMessage ?? ""), Boolean(r.timedOut));
  });
  return { child, done };
}

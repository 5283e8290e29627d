// The stats shard: a worker thread that reads about half of the tenants (9/16) during a stats
// collection, on the box's other core. A collection of 1,000 running tenants is ten thousand reads of
// cgroup, sysfs and /proc files (3–5 µs of kernel work each) and their parsing, all on the daemon's
// one thread otherwise. Which thread reads a tenant is fixed by its id, so each thread holds its own
// tenants' files open (kernfile.ts) and the held-file budget is split between them. The shard only
// reads: it knows no tenant beyond what a collection sends it (stats-shard.worker.ts).
import { Worker } from "node:worker_threads";
import type { CgroupLayout } from "./drivers/cgroup.js";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { heldKernelFiles } from "./drivers/kernfile.js";
import type { ProbeTenant } from "./stats.js";

/** What the shard is asked: its tenants of one collection (the rest of CollectionReads, as data). */
export interface ShardRequest {
  tenants: ProbeTenant[];
  withStart: boolean;
  swap: boolean;
  /** runningPids() of each tenant, in order, for a collection of the whole fleet. */
  up?: number[][];
  /** When the collection began (ms since the epoch): a whole-fleet one closes /proc files it did not read. */
  startedAt: number;
  /** The pool's filesystem, whose qgroups hold the tenants' bytes. */
  poolUuid: string;
}

export interface ShardSetup {
  layout: CgroupLayout;
  heldBudget: number;
}

/** The shard's probes (PROBE_FIELDS numbers per tenant, in the request's order), or why it has none. */
type Answer = { seq: number; probes?: Float64Array; error?: string };

/** How long the shard may take to boot, and to answer one collection (a whole fleet's share is well under a second). */
const START_TIMEOUT_MS = 60_000;
const ANSWER_TIMEOUT_MS = 30_000;

export class StatsShard {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (p: Float64Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Whether the worker is up: until then, and once it failed, the daemon's thread reads every tenant. */
  ready = false;
  private failed = false;
  /** Settles when the worker has loaded its modules (or could not). */
  readonly started: Promise<void>;
  /** Settles when the thread has ended. */
  readonly exited: Promise<void>;
  private onStart?: (e?: Error) => void;

  private constructor(
    private readonly worker: Worker,
    /** The held-file budget the daemon's thread gave the shard, given back when the shard ends. */
    private readonly budget: number,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.onStart = (e) => (e ? reject(e) : resolve());
    });
    // Awaited by the daemon's start only: no unhandled rejection when nobody waits.
    this.started.catch(() => undefined);
    const bootTimer = setTimeout(() => this.fail(new Error(`did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    worker.on("message", (m: Answer | "ready") => {
      if (m === "ready") {
        clearTimeout(bootTimer);
        this.ready = !this.failed;
        this.onStart?.();
        return;
      }
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      clearTimeout(p.timer);
      if (m.probes) p.resolve(m.probes);
      else p.reject(new Error(m.error ?? "stats shard failed"));
    });
    worker.on("error", (e) => this.fail(e));
    worker.on("messageerror", (e) => this.fail(e));
    this.exited = new Promise((resolve) => {
      worker.on("exit", (code) => {
        clearTimeout(bootTimer);
        this.fail(new Error(`exited ${code}`));
        this.afterExit();
        resolve();
      });
    });
    // The shard never keeps the daemon alive, once started (a daemon awaiting its start must not exit).
    this.started.finally(() => worker.unref()).catch(() => undefined);
  }

  /**
   * Starts the shard's thread with half of the daemon's held-file budget. Its modules are TypeScript,
   * as the daemon's: tsx's loader is registered in the thread first (a worker does not inherit it).
   * It boots (about half a second) while the daemon adopts what is on disk.
   */
  static start(setup: Pick<ShardSetup, "layout">): StatsShard {
    const half = Math.floor(heldKernelFiles.max / 2);
    heldKernelFiles.max -= half;
    const entry = new URL("./stats-shard.worker.ts", import.meta.url).href;
    const boot = `import(${JSON.stringify(tsxEsmApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
    const workerData: ShardSetup = { ...setup, heldBudget: half };
    return new StatsShard(new Worker(boot, { eval: true, workerData }), half);
  }

  /** Whether the tenant is the shard's to read (by a hash of its id: the same at every collection and restart). */
  takes(id: string): boolean {
    return readByShard(id);
  }

  /** The shard's probes of `req.tenants`; rejects when it fails (the caller then reads them itself). */
  collect(req: ShardRequest): Promise<Float64Array> {
    if (this.failed) return Promise.reject(new Error("stats shard is stopped"));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      // A shard that stops answering is stopped: this collection falls back, later ones skip it.
      const timer = setTimeout(() => this.fail(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
      timer.unref();
      this.pending.set(seq, { resolve, reject, timer });
      this.worker.postMessage({ seq, ...req });
    });
  }

  /** Ends the shard's thread; `exited` settles once it has. */
  stop(): Promise<void> {
    this.fail(new Error("stopped"));
    return this.exited;
  }

  /** Stops the shard for good: its pending collections fall back to the daemon's thread. */
  private fail(e: Error): void {
    if (!this.failed && e.message !== "stopped") console.error(`hostd: stats shard stopped (${e.message}); the daemon's thread reads every tenant`);
    this.failed = true;
    this.ready = false;
    this.onStart?.(e);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    void this.worker.terminate();
  }

  /**
   * Once the thread is gone its budget goes back to the daemon's thread, which now reads its tenants.
   * The files it held are closed already: Node closes the fds a worker opened through fs when the
   * worker ends (the unit test checks it), so none is left pinning an exited process or removed cgroup.
   */
  private afterExit(): void {
    heldKernelFiles.max += this.budget;
  }
}

/**
 * tsx's ESM API as a file URL, from its package's own exports map (import.meta.resolve would do, but
 * Vitest's module runner has none).
 */
function tsxEsmApi(): string {
  const packageJson = createRequire(import.meta.url).resolve("tsx/package.json");
  const exported = (JSON.parse(readFileSync(packageJson, "utf8")) as { exports: Record<string, { import: { default: string } }> }).exports["./esm/api"]!;
  return pathToFileURL(path.join(path.dirname(packageJson), exported.import.default)).href;
}

/**
 * The shard's part of the tenants, in sixteenths: a little over half, because the daemon's thread also
 * reads /proc/net/dev and merges the answer (measured at 1,000 running: 476 tenants and those took the
 * daemon's thread 37–42 ms while the shard read its 524 in 28–32 ms).
 */
const SHARD_SIXTEENTHS = 9;

/** Whether the shard's thread reads the tenant: by FNV-1a of its id, in sixteenths. */
export function readByShard(id: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return ((h >>> 0) & 15) < SHARD_SIXTEENTHS;
}

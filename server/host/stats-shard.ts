// The stats shard: a worker thread that reads half of the tenants' kernel files during a stats
// collection, on the box's other core. A collection of 1,000 running tenants is ten thousand reads of
// cgroup, sysfs and /proc files (3–5 µs of kernel work each) and their parsing, all on the daemon's
// one thread otherwise. Which thread reads a tenant is fixed by its id, so each thread holds its own
// tenants' files open (kernfile.ts) and the held-file budget is split between them. The shard only
// reads: it knows no tenant beyond what a collection sends it (stats-shard.worker.ts).
import { Worker } from "node:worker_threads";
import type { CgroupLayout } from "./drivers/cgroup.js";
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

export class StatsShard {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (p: Float64Array) => void; reject: (e: Error) => void }>();
  /** Whether the worker is up: until then, and after it dies, the daemon's thread reads every tenant. */
  ready = false;
  /** Settles when the worker has loaded its modules (or could not). */
  readonly started: Promise<void>;
  private onStart?: (e?: Error) => void;

  private constructor(private readonly worker: Worker) {
    this.started = new Promise((resolve, reject) => {
      this.onStart = (e) => (e ? reject(e) : resolve());
    });
    // Awaited by the daemon's start only: no unhandled rejection when nobody waits.
    this.started.catch(() => undefined);
    worker.on("message", (m: Answer | "ready") => {
      if (m === "ready") {
        this.ready = true;
        this.onStart?.();
        return;
      }
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      if (m.probes) p?.resolve(m.probes);
      else p?.reject(new Error(m.error ?? "stats shard failed"));
    });
    const fail = (e: Error) => {
      if (this.ready) console.error(`hostd: stats shard stopped, its tenants are read by the daemon's thread: ${e.message}`);
      this.ready = false;
      this.onStart?.(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`stats shard exited ${code}`)));
    // The shard never keeps the daemon alive, once started (a daemon awaiting its start must not exit).
    this.started.finally(() => worker.unref()).catch(() => undefined);
  }

  /**
   * Starts the shard's thread with half of the daemon's held-file budget. Its modules are TypeScript,
   * as the daemon's: tsx's loader is registered in the thread first (a worker does not inherit it).
   * It boots (about half a second) while the daemon adopts what is on disk.
   */
  static start(setup: Omit<ShardSetup, "heldBudget">): StatsShard {
    const half = Math.floor(heldKernelFiles.max / 2);
    heldKernelFiles.max -= half;
    const entry = new URL("./stats-shard.worker.ts", import.meta.url).href;
    const boot = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
    const workerData: ShardSetup = { ...setup, heldBudget: half };
    return new StatsShard(new Worker(boot, { eval: true, workerData }));
  }

  /** Whether the tenant is the shard's to read (by a hash of its id: the same at every collection and restart). */
  takes(id: string): boolean {
    return readByShard(id);
  }

  collect(req: ShardRequest): Promise<Float64Array> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, ...req });
    });
  }

  async close(): Promise<void> {
    this.ready = false;
    await this.worker.terminate();
  }
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

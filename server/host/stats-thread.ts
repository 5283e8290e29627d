// The stats collection's second thread. A collection over 1,000 running tenants is some ten thousand
// reads of kernel files (held open, kernfile.ts), each a few microseconds of kernel work: the
// daemon's thread reads half of the tenants while this one reads the other half on the second core.
// The same tenants always go to the same thread, so each thread's held files stay its own; the thread
// holds files and starts of its own (its module instances), with half the held-file budget each.
// Should the thread fail, its half is read by the daemon's thread (stats.ts).
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { CgroupLayout } from "./drivers/cgroup.js";
import type { TenantStats } from "../shared/protocol.js";
import type { CollectionReads, StatsMeta } from "./stats.js";
import { heldFileBudget, heldKernelFiles } from "./drivers/kernfile.js";

export interface StatsJob {
  layout: CgroupLayout;
  /** The pool's uuid: qgroup files are under /sys/fs/btrfs/<uuid>/. */
  uuid: string;
  metas: StatsMeta[];
  read: CollectionReads;
  /** A collection of the whole fleet (after it, /proc files of processes it did not meet are closed). */
  full: boolean;
  startedAt: number;
}

type Reply = { tenants: TenantStats[]; ms: number } | { error: string };

const ROLE = "hoody-stats-thread";

type Done = (r: { tenants: TenantStats[]; ms: number } | null) => void;

/** The thread's code: register tsx's loader (a thread does not inherit the daemon's), then load this module. */
function defaultBoot(): string {
  const tsxApi = import.meta.resolve("tsx/esm/api");
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;
}

export class StatsThread {
  /** `boot`: the thread's code (tests give threads that fail). */
  constructor(private readonly boot: () => string = defaultBoot) {}

  private worker: Worker | null = null;
  private broken = false;
  private served = false;
  /** Jobs posted and not answered yet, oldest first: the thread answers them in order. */
  private readonly pending: Done[] = [];

  /** Whether the thread reads this tenant's stats (about half of the tenants, always the same ones). */
  takes(id: string): boolean {
    return !this.broken && (id.charCodeAt(id.length - 1) & 1) === 1;
  }

  /**
   * Posts the job at once (the thread reads while the caller reads its own half) and answers with
   * the job's tenants' stats in its order and the thread's own reading time; null when the thread
   * failed (the caller reads them itself).
   */
  collect(job: StatsJob): Promise<{ tenants: TenantStats[]; ms: number } | null> {
    const w = this.start();
    if (!w) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.pending.push(resolve);
      try {
        w.postMessage(job);
      } catch (e) {
        this.fail(e as Error);
      }
    });
  }

  private start(): Worker | null {
    if (this.broken) return null;
    if (this.worker) return this.worker;
    try {
      const w = new Worker(this.boot(), { eval: true, workerData: { role: ROLE } });
      // For the thread's whole life, not per job: an 'error' nobody listens to would end the daemon.
      w.on("message", (reply: Reply) => this.answer(reply));
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => this.fail(new Error(`it exited (code ${code})`)));
      // Never what keeps the daemon running.
      w.unref();
      this.worker = w;
      // Two holders of kernel files from now on: the daemon's thread keeps half the budget.
      heldKernelFiles.max = Math.floor(heldFileBudget() / 2);
      return w;
    } catch (e) {
      this.fail(e as Error);
      return null;
    }
  }

  private answer(reply: Reply): void {
    const done = this.pending.shift();
    if ("error" in reply) console.error(`hostd: the stats thread could not read its tenants (the daemon's thread did): ${reply.error}`);
    else if (!this.served) {
      this.served = true;
      console.log(`hostd: the stats thread read its first ${reply.tenants.length} tenant(s)`);
    }
    done?.("error" in reply ? null : reply);
  }

  /** The thread is gone for good: its jobs are answered null (their callers read them), the daemon's thread reads everything. */
  private fail(e: Error): void {
    if (this.broken) return;
    console.error(`hostd: the stats thread failed (the daemon's thread reads every tenant from now on): ${e.message}`);
    this.broken = true;
    const w = this.worker;
    this.worker = null;
    heldKernelFiles.max = heldFileBudget();
    for (const done of this.pending.splice(0)) done(null);
    void w?.terminate().catch(() => undefined);
  }
}

/** The daemon's stats thread, started at the first collection large enough to share. */
export const statsThread = new StatsThread();

async function serveJobs(): Promise<void> {
  const { CgroupReader } = await import("./drivers/cgroup.js");
  const { subvolumeBytesOf } = await import("./drivers/btrfs.js");
  const { heldKernelFiles } = await import("./drivers/kernfile.js");
  const { afterCollection, tenantStats } = await import("./stats.js");
  const readers = new Map<string, InstanceType<typeof CgroupReader>>();
  // Files of tenants that stopped go even when no collection comes.
  setInterval(() => heldKernelFiles.release(), 60_000).unref();
  parentPort!.on("message", (job: StatsJob) => {
    try {
      const t0 = performance.now();
      const cgroups = readers.get(job.layout) ?? new CgroupReader(job.layout);
      readers.set(job.layout, cgroups);
      const r = { cgroups, subvolumeBytes: (id: number, held?: boolean) => subvolumeBytesOf(job.uuid, id, held) };
      const tenants = job.metas.map((m) => tenantStats(r, m, job.read));
      afterCollection(job.full, job.startedAt);
      parentPort!.postMessage({ tenants, ms: performance.now() - t0 } satisfies Reply);
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).message } satisfies Reply);
    }
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) void serveJobs();

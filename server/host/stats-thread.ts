// The stats collection's second thread. A collection over 1,000 running tenants is some ten thousand
// reads of kernel files (held open, kernfile.ts), each a few microseconds of kernel work: the
// daemon's thread reads half of the tenants while this one reads the other half on the second core.
// The same tenants always go to the same thread, so each thread's held files stay its own; the thread
// holds files and starts of its own (its module instances), with half the held-file budget each.
// Should the thread fail, its half is read by the daemon's thread (stats.ts).
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { CgroupLayout } from "./drivers/cgroup.js";
import type { TenantStats } from "../shared/protocol.js";
import type { TenantMeta } from "./meta.js";
import type { CollectionReads } from "./stats.js";

export interface StatsJob {
  layout: CgroupLayout;
  /** The pool's uuid: qgroup files are under /sys/fs/btrfs/<uuid>/. */
  uuid: string;
  metas: TenantMeta[];
  read: CollectionReads;
  /** A collection of the whole fleet (after it, /proc files of processes it did not meet are closed). */
  full: boolean;
  startedAt: number;
}

type Reply = { tenants: TenantStats[]; ms: number } | { error: string };

const ROLE = "hoody-stats-thread";

class StatsThread {
  private worker: Worker | null = null;
  private broken = false;
  private served = false;
  /** One job at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Whether the thread reads this tenant's stats (about half of the tenants, always the same ones). */
  takes(id: string): boolean {
    return !this.broken && (id.charCodeAt(id.length - 1) & 1) === 1;
  }

  /** The job's tenants' stats in its order, with the thread's own reading time; null when the thread failed. */
  collect(job: StatsJob): Promise<{ tenants: TenantStats[]; ms: number } | null> {
    const next = this.queue.then(() => this.run(job));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private run(job: StatsJob): Promise<{ tenants: TenantStats[]; ms: number } | null> {
    const w = this.start();
    if (!w) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (r: { tenants: TenantStats[]; ms: number } | null) => {
        w.off("message", onMessage);
        w.off("error", onError);
        resolve(r);
      };
      const onMessage = (reply: Reply) => {
        if ("error" in reply) console.error(`hostd: the stats thread could not read its tenants (the daemon's thread did): ${reply.error}`);
        else if (!this.served) {
          this.served = true;
          console.log(`hostd: the stats thread read its first ${reply.tenants.length} tenant(s)`);
        }
        done("error" in reply ? null : reply);
      };
      const onError = (e: Error) => {
        console.error(`hostd: the stats thread failed (its tenants are read by the daemon's thread from now on): ${e.message}`);
        this.broken = true;
        this.worker = null;
        done(null);
      };
      w.on("message", onMessage);
      w.on("error", onError);
      w.postMessage(job);
    });
  }

  /** Starts the thread ahead of the first collection that shares (loading it takes about half a second). */
  prepare(): void {
    this.start();
  }

  private start(): Worker | null {
    if (this.broken) return null;
    if (!this.worker) {
      // The daemon runs its TypeScript through tsx, whose loader a thread does not inherit: the
      // thread registers it, then loads this module.
      const tsxApi = import.meta.resolve("tsx/esm/api");
      const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;
      this.worker = new Worker(boot, { eval: true, workerData: { role: ROLE } });
      // Never what keeps the daemon running.
      this.worker.unref();
    }
    return this.worker;
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

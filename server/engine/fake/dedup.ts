// The fake engine's dedup: runs are records a test finishes by hand (finish), so core's
// one-at-a-time, scheduling and accounting views can be tested without duperemove.
import type { DedupRun, DedupStatus } from "../../shared/protocol";
import type { EngineDedup } from "../types";
import type { FakeTenant } from "./model";

export class FakeDedup implements EngineDedup {
  running: DedupRun | null = null;
  runs: DedupRun[] = [];
  /** Per tenant id: bytes its files share with others after a finished run. */
  shared = new Map<string, number>();
  starts: { deadlineS?: number; trigger?: string }[] = [];
  private seq = 0;

  constructor(private readonly tenants: Map<string, FakeTenant>) {}

  async start(opts: { deadlineS?: number; trigger?: "manual" | "schedule" }): Promise<{ run: DedupRun; started: boolean }> {
    this.starts.push(opts);
    if (this.running) return { run: this.running, started: false };
    this.running = {
      id: `dd${++this.seq}`,
      trigger: opts.trigger ?? "manual",
      startedAt: new Date().toISOString(),
      finishedAt: null,
      state: "running",
      deadlineS: opts.deadlineS ?? 1800,
      poolUsedBeforeBytes: 1 << 30,
      poolUsedAfterBytes: null,
      savedBytes: null,
      message: null,
    };
    return { run: this.running, started: true };
  }

  /** Ends the run in flight: it gave back savedBytes. */
  finish(savedBytes: number, state: DedupRun["state"] = "completed"): void {
    if (!this.running) throw new Error("no dedup run in flight");
    const r = { ...this.running, state, finishedAt: new Date().toISOString(), poolUsedAfterBytes: (1 << 30) - savedBytes, savedBytes };
    this.runs.unshift(r);
    this.running = null;
  }

  async status(): Promise<DedupStatus> {
    const done = this.runs.some((r) => r.state === "completed");
    const tenants = [...this.tenants.values()].map((t) => {
      const shared = this.shared.get(t.id) ?? 0;
      return { id: t.id, qgroupBytes: t.deltaBytes, referencedBytes: t.deltaBytes + shared, exclusiveBytes: t.deltaBytes, sharedBytes: shared };
    });
    return {
      available: true,
      reason: null,
      running: this.running,
      runs: [...(this.running ? [this.running] : []), ...this.runs],
      totalSavedBytes: this.runs.reduce((s, r) => s + Math.max(0, r.savedBytes ?? 0), 0),
      accounting: done ? { measuredAt: new Date().toISOString(), tenants, referencedBytes: tenants.reduce((s, t) => s + t.referencedBytes, 0), poolDataBytes: 1 << 30, orphanQgroupBytes: 0 } : null,
    };
  }
}

// Persisted stats history (table stats_samples): every sample lands in a 15-second row (kept a
// day) and is folded into a 5-minute row (kept a month), so the tenant page's charts survive a
// restart of the web server and can show a month. One transaction of prepared statements per
// sample of every tenant: at 1,000 tenants that is 2,000 small upserts every 15 s.
import { z } from "zod";
import type { Db } from "../db/client";

export const HISTORY_RES = { fine: 15, coarse: 300 } as const;
/** How long each resolution is kept, in seconds. */
export const HISTORY_KEEP = { fine: 86_400, coarse: 30 * 86_400 } as const;

export const HistoryRange = z.enum(["1h", "1d", "30d"]);
export type HistoryRange = z.infer<typeof HistoryRange>;

/** What a range reads: which rows, how far back, and the width of one chart point (a few hundred points each). */
const RANGES: Record<HistoryRange, { res: number; span: number; step: number }> = {
  "1h": { res: HISTORY_RES.fine, span: 3_600, step: 15 },
  "1d": { res: HISTORY_RES.fine, span: 86_400, step: 120 },
  "30d": { res: HISTORY_RES.coarse, span: 30 * 86_400, step: 3_600 },
};

export interface HistorySample {
  containerId: string;
  delta: number;
  memory: number;
  ksm: number;
  cpu: number;
}

export interface HistoryPoint {
  at: string;
  delta: number;
  memory: number;
  ksm: number;
  cpu: number;
}

export class StatsHistory {
  private readonly fine;
  private readonly coarse;
  private readonly prune;
  private readonly read;

  constructor(db: Db) {
    const c = db.$client;
    this.fine = c.prepare(
      `INSERT OR REPLACE INTO stats_samples (container_id, res, at, n, delta_bytes, memory_bytes, ksm_bytes, cpu_ns)
       VALUES (@containerId, ${HISTORY_RES.fine}, @bucket, 1, @delta, @memory, @ksm, @cpu)`,
    );
    // A running mean over the samples of the bucket; a size and a counter keep their last value.
    this.coarse = c.prepare(
      `INSERT INTO stats_samples (container_id, res, at, n, delta_bytes, memory_bytes, ksm_bytes, cpu_ns)
       VALUES (@containerId, ${HISTORY_RES.coarse}, @bucket, 1, @delta, @memory, @ksm, @cpu)
       ON CONFLICT (container_id, res, at) DO UPDATE SET
         memory_bytes = (memory_bytes * n + excluded.memory_bytes) / (n + 1),
         ksm_bytes = (ksm_bytes * n + excluded.ksm_bytes) / (n + 1),
         delta_bytes = excluded.delta_bytes, cpu_ns = excluded.cpu_ns, n = n + 1`,
    );
    this.prune = c.prepare("DELETE FROM stats_samples WHERE res = ? AND at < ?");
    this.read = c.prepare<[{ step: number; id: string; res: number; since: number }], { b: number; delta: number; memory: number; ksm: number; cpu: number }>(
      `SELECT at - at % @step AS b, max(delta_bytes) AS delta, CAST(avg(memory_bytes) AS INTEGER) AS memory,
              CAST(avg(ksm_bytes) AS INTEGER) AS ksm, max(cpu_ns) AS cpu
       FROM stats_samples WHERE container_id = @id AND res = @res AND at >= @since GROUP BY b ORDER BY b`,
    );
    this.record = c.transaction((samples: HistorySample[], now: number) => {
      const fineBucket = Math.floor(now / HISTORY_RES.fine) * HISTORY_RES.fine;
      const coarseBucket = Math.floor(now / HISTORY_RES.coarse) * HISTORY_RES.coarse;
      for (const s of samples) {
        const row = { containerId: s.containerId, delta: Math.round(s.delta), memory: Math.round(s.memory), ksm: Math.round(s.ksm), cpu: Math.round(s.cpu) };
        this.fine.run({ ...row, bucket: fineBucket });
        this.coarse.run({ ...row, bucket: coarseBucket });
      }
      this.prune.run(HISTORY_RES.fine, now - HISTORY_KEEP.fine);
      this.prune.run(HISTORY_RES.coarse, now - HISTORY_KEEP.coarse);
    });
  }

  /** Records one sample of every tenant taken at `now` (unix seconds) and drops what is past its retention. */
  readonly record: (samples: HistorySample[], now: number) => void;

  /** A tenant's history over a range, oldest first, one point per step of the range. */
  points(containerId: string, range: HistoryRange, now: number): HistoryPoint[] {
    const r = RANGES[range];
    return this.read
      .all({ step: r.step, id: containerId, res: r.res, since: now - r.span })
      .map((p) => ({ at: new Date(p.b * 1000).toISOString(), delta: p.delta, memory: p.memory, ksm: p.ksm, cpu: p.cpu }));
  }
}

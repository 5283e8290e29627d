// Refusals an anonymous client can cause at will (a wrong password, a malformed or throttled sign-in)
// are counted, not audited one row each: per action and time window one audit row holds the counts
// by code, so a flood grows numbers in one row instead of the database. Counts are written at most
// once per flush interval (and when the process asks, e.g. before it stops).

export type TallyWriter = (action: string, windowStart: Date, counts: Record<string, number>) => void;

export class AuditTally {
  /** action → window start (ms) → code → count not yet written. */
  private pending = new Map<string, Map<number, Map<string, number>>>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly write: TallyWriter,
    readonly windowMs = 15 * 60_000,
    readonly flushMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(action: string, code: string): void {
    const start = this.now() - (this.now() % this.windowMs);
    const windows = this.pending.get(action) ?? new Map<number, Map<string, number>>();
    const counts = windows.get(start) ?? new Map<string, number>();
    counts.set(code, (counts.get(code) ?? 0) + 1);
    windows.set(start, counts);
    this.pending.set(action, windows);
    if (!this.timer && this.flushMs > 0) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref?.();
    }
  }

  /** Writes what was counted since the last flush. A failed write keeps nothing (counts are best effort, never a reason to fail a request). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const pending = this.pending;
    this.pending = new Map();
    for (const [action, windows] of pending) {
      for (const [start, counts] of windows) {
        try {
          this.write(action, new Date(start), Object.fromEntries(counts));
        } catch (e) {
          console.error(`[audit] could not record ${action} counts: ${(e as Error).message}`);
        }
      }
    }
  }
}

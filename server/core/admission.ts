// Admission control for expensive engine work (creates): at most `running` at once, at most `queued`
// waiting in order; anything beyond is refused at once with 429 TOO_MANY_REQUESTS and a Retry-After
// estimated from recent durations. A burst is shed early and clearly instead of piling up in the
// host daemon until clients time out (a timed-out create is a lost create).
import { type WebConfig, webConfig } from "../config";
import { CoreError } from "./errors";
import { CREATE_ADMISSION_DEFAULTS, EXEC_ADMISSION_DEFAULTS } from "./limits";

export class Admission {
  private active = 0;
  private waiting: (() => void)[] = [];
  /** Moving average of one admitted operation's duration (ms). */
  private avgMs = 200;

  constructor(
    readonly what: string,
    readonly maxRunning: number,
    readonly maxQueued: number,
  ) {}

  get load(): { running: number; queued: number } {
    return { running: this.active, queued: this.waiting.length };
  }

  /** Seconds until a slot is likely free: the queue ahead drained at the current parallelism. */
  retryAfterS(): number {
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * this.avgMs) / Math.max(1, this.maxRunning) / 1000));
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxRunning) {
      if (this.waiting.length >= this.maxQueued) {
        const retry = this.retryAfterS();
        throw new CoreError(
          429,
          "TOO_MANY_REQUESTS",
          `too many ${this.what} in progress (${this.active} running, ${this.waiting.length} queued); retry in ${retry} s`,
          { running: this.active, queued: this.waiting.length, retry_after_s: retry },
          { "Retry-After": String(retry) },
        );
      }
      // The slot is handed over by the finishing operation (active stays counted).
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.avgMs = this.avgMs * 0.8 + (performance.now() - t0) * 0.2;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export function createAdmission(c: WebConfig = webConfig()): Admission {
  return new Admission("creates", c.createConcurrency ?? CREATE_ADMISSION_DEFAULTS.running, c.createQueue ?? CREATE_ADMISSION_DEFAULTS.queued);
}

/** Exec scripts: each run is a Node process, and anyone may call /exec, so they are admitted like creates. */
export function execAdmission(c: WebConfig = webConfig()): Admission {
  return new Admission("exec scripts", c.execConcurrency ?? EXEC_ADMISSION_DEFAULTS.running, c.execQueue ?? EXEC_ADMISSION_DEFAULTS.queued);
}

// The fake engine's test controls, apart from the engine itself: every call recorded, failures
// injected before or after a call's effect, and a call held mid-way. Tests reach them as
// `fake.script`; the engine runs each of its methods through `run`.
import { fail, unavailable, type FakeCall, type FakeFailure, type FakeMethod, type Hold, type Injected } from "./model";

export class FakeScript {
  /** Every call in order, with its arguments (what the engine was asked). */
  readonly calls: FakeCall[] = [];
  private readonly failures = new Map<FakeMethod, Injected[]>();
  private readonly holds = new Map<FakeMethod, Hold>();

  /**
   * The next call of `method` fails with `failure` (queued: several calls fail in order). `after`:
   * its effect happens first; `skip`: that many calls succeed before it.
   */
  failNext(method: FakeMethod, failure: FakeFailure, opts: { message?: string; after?: boolean; skip?: number } = {}): void {
    const q = this.failures.get(method) ?? [];
    q.push({ failure, message: opts.message, after: opts.after ?? false, skip: opts.skip ?? 0 });
    this.failures.set(method, q);
  }

  /**
   * Holds the next call of `method` after its effect, before it answers: `reached` resolves when the
   * call is held there, `release()` lets it answer. For windows such as "tenant made, row not yet written".
   */
  hold(method: FakeMethod): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const releaseP = new Promise<void>((r) => (release = r));
    this.holds.set(method, { reached, release: releaseP });
    return { reached: reachedP, release };
  }

  /** The calls of one method, their arguments only. */
  callsOf(method: FakeMethod): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /**
   * Runs a method's effect under the controls: records the call, throws an injected failure before
   * or after the effect, and waits while a hold is set.
   */
  async run<T>(method: FakeMethod, args: unknown[], effect: () => T | Promise<T>): Promise<T> {
    this.calls.push({ method, args });
    // Engines answer asynchronously: callers must not rely on a synchronous effect.
    await Promise.resolve();
    const queue = this.failures.get(method);
    const head = queue?.[0];
    const injected = head && head.skip-- <= 0 ? queue!.shift() : undefined;
    const raise = (i: Injected): never => {
      if (i.failure === "UNAVAILABLE") throw unavailable(i.message);
      return fail(i.failure, i.message ?? `injected ${i.failure} on ${method}`);
    };
    if (injected && !injected.after) raise(injected);
    const result = await effect();
    const hold = this.holds.get(method);
    if (hold) {
      this.holds.delete(method);
      hold.reached();
      await hold.release;
    }
    if (injected) raise(injected);
    return result;
  }
}

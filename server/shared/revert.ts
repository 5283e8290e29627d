// A revert list (as in Incus's shared/revert), used by both engines: each step of a multi-step
// operation registers how to undo itself; on failure the undo steps run in reverse, on success they
// are dropped.
export class Revert {
  private steps: { label: string; undo: () => unknown }[] = [];

  add(label: string, undo: () => unknown): void {
    this.steps.push({ label, undo });
  }

  /** Undo everything registered so far, newest first. Errors are collected, never thrown. */
  async fail(): Promise<string[]> {
    const errors: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (e) {
        errors.push(`${step.label}: ${(e as Error).message}`);
      }
    }
    this.steps = [];
    return errors;
  }

  success(): void {
    this.steps = [];
  }

  /** Runs fn; on any throw reverts and rethrows (with revert errors attached). */
  static async run<T>(fn: (revert: Revert) => Promise<T>): Promise<T> {
    const revert = new Revert();
    try {
      const result = await fn(revert);
      revert.success();
      return result;
    } catch (e) {
      const errors = await revert.fail();
      if (errors.length && e instanceof Error) e.message += ` (revert problems: ${errors.join("; ")})`;
      throw e;
    }
  }
}

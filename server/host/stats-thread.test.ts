import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { heldFileBudget, heldKernelFiles } from "./drivers/kernfile.js";
import { StatsThread, type StatsJob } from "./stats-thread.js";

const job: StatsJob = { layout: "v2", uuid: "none", metas: [], read: { net: new Map(), withStart: false, swap: false }, full: false, startedAt: Date.now() };

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The daemon's own boot (stats-thread.ts), with tsx's ESM API found from its package's exports: under
 * Vitest import.meta.resolve is not there (the daemon runs under tsx, where it is; host-engine's
 * integration test runs the daemon's own).
 */
function realBoot(): string {
  const pkg = createRequire(import.meta.url).resolve("tsx/package.json");
  const api = pathToFileURL(path.join(path.dirname(pkg), JSON.parse(readFileSync(pkg, "utf8")).exports["./esm/api"].import.default)).href;
  const self = pathToFileURL(path.join(import.meta.dirname, "stats-thread.ts")).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(self)}); });`;
}

describe("StatsThread", () => {
  it("reads a job on the thread (the real module, through tsx) and halves the daemon thread's file budget meanwhile", async () => {
    const t = new StatsThread(realBoot);
    expect(await t.collect(job)).toEqual({ tenants: [], ms: expect.any(Number) });
    expect(heldKernelFiles.max).toBe(Math.floor(heldFileBudget() / 2));
    expect(t.takes("c0000000001")).toBe(true);
    expect(t.takes("c0000000002")).toBe(false);
  });

  it("a thread that fails with no job in flight leaves the process running; its tenants go back to the daemon's thread", async () => {
    // It answers its job, then fails between jobs: without a listener for the thread's whole life,
    // that 'error' would end the process (an 'error' event nobody listens to is thrown).
    const t = new StatsThread(
      () =>
        "const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => { parentPort.postMessage({ tenants: [], ms: 0 }); setTimeout(() => { throw new Error('boom'); }, 20); });",
    );
    expect(await t.collect(job)).toEqual({ tenants: [], ms: 0 });
    expect(t.takes("c0000000001")).toBe(true);
    await until(() => !t.takes("c0000000001"));
    expect(heldKernelFiles.max).toBe(heldFileBudget());
    expect(await t.collect(job)).toBeNull();
  });

  it("a thread that exits without an error answers its pending jobs null instead of leaving them waiting", async () => {
    const t = new StatsThread(() => "require('node:worker_threads').parentPort.on('message', () => process.exit(0));");
    const [a, b] = await Promise.all([t.collect(job), t.collect(job)]);
    expect([a, b]).toEqual([null, null]);
    expect(t.takes("c0000000001")).toBe(false);
  });
});

// Changes: latency of the delta browser (GET /api/v1/containers/{id}/changes) for a tenant that
// wrote `files` files (100 directories), through the REST API: a cold listing (a fresh snapshot,
// `btrfs send --no-data`, its replay and the sizes) after every small write, the cached answer of an
// idle tenant, and a drill into one directory reusing the listing; plus the latency of other daemon
// calls (tenants.get) while a cold listing runs, which must stay small: a listing never holds the
// tenant's lock past its snapshot nor stalls the daemon's event loop.
import type { TestStack } from "../../testkit/stack-harness.js";
import { log, summarize, type Summary } from "../lib/util.js";

export interface ChangesBenchResult {
  scenario: "changes";
  files: number;
  write_s: number;
  /** Whole API round trip of a listing computed afresh. */
  cold_ms: Summary;
  /** What the daemon reported for that computation. */
  compute_ms: Summary;
  cached_ms: Summary;
  drill_ms: Summary;
  /** tenants.get round trips over the daemon socket while cold listings ran. */
  other_calls_during_ms: Summary;
  listed: { added: number; bytes: number };
}

export async function changesLatency(stack: TestStack, project: string, opts: { files: number; repeats: number }): Promise<ChangesBenchResult> {
  const dirs = Math.max(1, Math.min(100, Math.floor(opts.files / 10)));
  const per = Math.ceil(opts.files / dirs);
  const r = await stack.api("POST", `/projects/${project}/containers`, { template: "mini", name: `bch${process.pid}` });
  if (r.status !== 201) throw new Error(`changes: create: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  const id: string = r.body.data.id;
  const eng: string = r.body.data.engine_name;
  const sh = async (script: string, timeout = 600) => {
    const x = await stack.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", script], timeout });
    if (x.status !== 200 || x.body.data.exit_code !== 0) throw new Error(`changes: exec: ${JSON.stringify(x.body).slice(0, 300)}`);
  };
  try {
    log(`changes: writing ${dirs * per} files in ${dirs} directories`);
    const w0 = performance.now();
    await sh(`mkdir -p /data/many && cd /data/many && for d in $(seq ${dirs}); do mkdir d$d; for j in $(seq ${per}); do echo $j > d$d/f$j; done; done`);
    const writeS = (performance.now() - w0) / 1000;
    const list = (q: string) => stack.api("GET", `/containers/${id}/changes?${q}`);
    const cold: number[] = [];
    const compute: number[] = [];
    const cached: number[] = [];
    const drill: number[] = [];
    const during: number[] = [];
    let listed = { added: 0, bytes: 0 };
    for (let i = 0; i < opts.repeats; i++) {
      // A write moves the tenant's generation: the next listing is computed afresh.
      await sh(`echo ${i} > /data/bump`);
      let running = true;
      const probe = (async () => {
        while (running) {
          const t = performance.now();
          await stack.host.client.call("tenants.get", { id: eng });
          during.push(performance.now() - t);
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      const t0 = performance.now();
      const c = await list("path=/");
      cold.push(performance.now() - t0);
      running = false;
      await probe;
      if (c.status !== 200) throw new Error(`changes: list: ${c.status} ${JSON.stringify(c.body).slice(0, 300)}`);
      compute.push(c.body.data.compute_ms);
      listed = { added: c.body.data.entry.totals.added, bytes: c.body.data.entry.totals.bytes };
    }
    for (let i = 0; i < Math.max(3, opts.repeats * 3); i++) {
      const t0 = performance.now();
      const c = await list("path=/");
      cached.push(performance.now() - t0);
      if (!c.body.data.cached) log("changes: a listing of the idle tenant was not cached (it wrote something)");
      const t1 = performance.now();
      await list(`path=/data/many/d${1 + (i % dirs)}&max_age=600`);
      drill.push(performance.now() - t1);
    }
    const result: ChangesBenchResult = {
      scenario: "changes",
      files: dirs * per,
      write_s: Math.round(writeS * 10) / 10,
      cold_ms: summarize(cold),
      compute_ms: summarize(compute),
      cached_ms: summarize(cached),
      drill_ms: summarize(drill),
      other_calls_during_ms: summarize(during.length ? during : [0]),
      listed,
    };
    log(
      `changes: ${result.files} files: cold ${result.cold_ms.median} ms (daemon ${result.compute_ms.median} ms), cached ${result.cached_ms.median} ms, drill ${result.drill_ms.median} ms, other calls p99 ${result.other_calls_during_ms.p99} ms`,
    );
    return result;
  } finally {
    await stack.api("DELETE", `/containers/${id}`).catch(() => undefined);
  }
}

// Dedup: N tenants hold the same set of files (a package tree) plus some bytes of their own; one
// dedup run (POST /api/v1/dedup) gives back the duplicates. Measured with the pool's own figures
// (statfs used bytes) before the writes, after them and after the run; the run's time per GiB of
// tenant data; a second run with nothing new (what the hash file saves); and the API's create
// latency (a `mini` tenant, create → running) without and during the run, which runs at idle I/O
// priority.
//
// The files are written into the tenants' trees from the host, owned by each tenant's root:
// identical bytes need one generator, and `mini` has no interpreter to be one.
import fs from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { TestStack } from "../../testkit/stack-harness.js";
import { log, MiB, round, summarize, type Summary } from "../lib/util.js";

export interface DedupResult {
  scenario: "dedup";
  options: DedupOptions;
  tenants: number;
  pool_growth_mib: number;
  duplicated_mib: number;
  saved_mib: number;
  reclaimed_pct: number;
  run: { state: string; seconds: number; tenant_data_gib: number; s_per_gib: number };
  rerun: { state: string; seconds: number };
  create_ms_idle: Summary;
  create_ms_during: Summary | null;
  creates_during: number;
}

export interface DedupOptions {
  template: string;
  n: number;
  sharedMiB: number;
  files: number;
  ownMiB: number;
  creates: number;
}

async function poolUsed(stack: TestStack): Promise<number> {
  await stack.host.client.call("host.stats", { sync: true, ids: [] });
  const st = await fs.statfs(stack.host.poolPath);
  return (st.blocks - st.bfree) * st.bsize;
}

async function waitRun(stack: TestStack, id: string): Promise<{ state: string }> {
  for (;;) {
    const st = (await stack.api("GET", "/dedup")).body.data;
    const r = st.running?.id === id ? null : st.runs.find((x: { id: string }) => x.id === id);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}

export async function dedupScenario(stack: TestStack, project: string, opts: DedupOptions): Promise<DedupResult> {
  await stack.host.client.buildTemplate(opts.template);
  const made: string[] = [];
  const create = async (template: string, name: string) => {
    const t0 = performance.now();
    const r = await stack.api("POST", `/projects/${project}/containers`, { template, name });
    if (r.status !== 201) throw new Error(`dedup: create: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    made.push(r.body.data.id);
    return { ms: performance.now() - t0, engine: r.body.data.engine_name as string };
  };
  log(`dedup: ${opts.n} ${opts.template} tenants, ${opts.sharedMiB} MiB in ${opts.files} files alike + ${opts.ownMiB} MiB own`);
  try {
    const engines: string[] = [];
    for (let i = 0; i < opts.n; i++) engines.push((await create(opts.template, `dd${process.pid}x${i}`)).engine);
    const shared = Array.from({ length: opts.files }, () => randomBytes(Math.round((opts.sharedMiB * MiB) / opts.files)));
    const u0 = await poolUsed(stack);
    for (const eng of engines) {
      const t = await stack.host.client.call("tenants.get", { id: eng });
      const root = path.join(stack.host.poolPath, "tenants", eng, "opt/pkg");
      await fs.mkdir(root, { recursive: true });
      const files = [...shared.map((b, i) => [`lib${i}.so`, b] as const), ["own.bin", randomBytes(opts.ownMiB * MiB)] as const];
      for (const [name, bytes] of files) {
        await fs.writeFile(path.join(root, name), bytes);
        await fs.chown(path.join(root, name), t.uidBase, t.uidBase);
      }
    }
    const u1 = await poolUsed(stack);

    const idle: number[] = [];
    for (let i = 0; i < opts.creates; i++) idle.push((await create("mini", `ddi${process.pid}x${i}`)).ms);
    const t0 = performance.now();
    const started = await stack.api("POST", "/dedup", { deadline_s: 3600 });
    if (started.status !== 202) throw new Error(`dedup: start: ${started.status} ${JSON.stringify(started.body).slice(0, 300)}`);
    const runId: string = started.body.data.run.id;
    const during: number[] = [];
    let running = true;
    const watcher = waitRun(stack, runId).then((r) => {
      running = false;
      return { ...r, seconds: (performance.now() - t0) / 1000 };
    });
    for (let i = 0; i < opts.creates && running; i++) {
      const c = await create("mini", `ddd${process.pid}x${i}`);
      if (running) during.push(c.ms);
    }
    const done = await watcher;
    const u2 = await poolUsed(stack);
    const r0 = performance.now();
    const again = await stack.api("POST", "/dedup", { deadline_s: 3600 });
    const rerun = await waitRun(stack, again.body.data.run.id);
    const rerunS = (performance.now() - r0) / 1000;

    const duplicated = (opts.n - 1) * opts.sharedMiB * MiB;
    const dataGiB = (opts.n * (opts.sharedMiB + opts.ownMiB) * MiB) / 1024 ** 3;
    const result: DedupResult = {
      scenario: "dedup",
      options: opts,
      tenants: opts.n,
      pool_growth_mib: round((u1 - u0) / MiB),
      duplicated_mib: round(duplicated / MiB),
      saved_mib: round((u1 - u2) / MiB),
      reclaimed_pct: round(((u1 - u2) / duplicated) * 100, 1),
      run: { state: done.state, seconds: round(done.seconds, 2), tenant_data_gib: round(dataGiB, 2), s_per_gib: round(done.seconds / dataGiB, 2) },
      rerun: { state: rerun.state, seconds: round(rerunS, 2) },
      create_ms_idle: summarize(idle),
      create_ms_during: during.length ? summarize(during) : null,
      creates_during: during.length,
    };
    log(
      `dedup: grew ${result.pool_growth_mib} MiB, saved ${result.saved_mib} of ${result.duplicated_mib} MiB duplicated (${result.reclaimed_pct} %) in ${result.run.seconds} s; rerun ${result.rerun.seconds} s`,
    );
    return result;
  } finally {
    for (const id of made) await stack.api("DELETE", `/containers/${id}`).catch(() => undefined);
  }
}

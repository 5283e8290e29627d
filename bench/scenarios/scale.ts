// Scale: a box with many tenants of which a tenth run. On a stack of its own (uid ranges, a /16,
// a large sparse pool) it creates `tenants` stopped `mini` tenants through the API (the create
// latency curve every `curveEvery`), runs `running` `starter` tenants at once, then measures with
// all of them present: API create p50/p99 (against the same probe at 100 tenants), the tenants
// table (page, search, sort) p50/p99, router first byte to a running tenant and wake of a stopped
// one, one stats collection (all tenants, and the running ones only), the router's idle sweep,
// reconcile, the host daemon's start (adoption), `npm run up` on the full box (bin/hoody-up.ts with
// the stack's settings, its services stopped first), memory per running tenant and disk per tenant.
// Progress is printed every `curveEvery`. The stack is removed at the end without erasing tenant by
// tenant (that alone would take hours at 10,000; the pool image goes whole).
// Sizes: HOODY_BENCH_SCALE_TENANTS / HOODY_BENCH_SCALE_RUNNING (default 10,000 / 1,000), or
// --set scale.tenants=… --set scale.running=….
// HOODY_BENCH_SCALE_HOLD=<file>: once every tenant is present (before the probes), writes the stack's
// API URL, admin token, project, data dir and daemon/web pids to <file> and waits until it is
// removed, to look at a full box with other tools (profilers, lxc-start's trace log) by hand.
import { openDb } from "../../server/db/client.js";
import { HostClient } from "../../server/engine/host-client.js";
import { HostEngine } from "../../server/engine/host-engine.js";
import { Core } from "../../server/core/core.js";
import { TestStack } from "../../testkit/stack-harness.js";
import { log, meminfo, memoryNow, round, sleep, summarize, type Summary } from "../lib/util.js";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** Stats collections of each kind measured (the web server samples every 15 s, so all but the first find held files). */
const STATS_SAMPLES = 7;
/** How long the running starters' apps may take to answer before the probes (they boot on two cores). */
const APPS_UP_TIMEOUT_MS = 5 * 60_000;

export interface ScaleOptions {
  tenants: number;
  running: number;
  curveEvery: number;
  /** Creates in flight while filling (the API admits HOODY_CREATE_CONCURRENCY, the rest queue). */
  fillConcurrency: number;
  /** Samples per probe (creates, router requests). */
  samples: number;
  /**
   * Samples per tenants-table query: a p99 needs a few hundred (of 50 the "p99" is the largest one,
   * whichever background tick it met), and they span the web server's 15 s stats sampling.
   */
  listSamples: number;
  poolSizeMiB: number;
}

/** What settle() found and took: dirty and writeback bytes before, and its time. */
export interface Settled {
  dirty_bytes: number;
  ms: number;
}

/**
 * Before a create probe: every dirty page written back (sync: the pool's files and the pool image's
 * pages on the host's filesystem) and the pool's transaction committed. Right after 1,000 apps have
 * started, the box holds tens of MB they wrote; each probe create's commit then waited for that
 * writeback (held full box: create p50 170 ms at the hold, 116-127 ms a minute later, with the
 * same 11,000 tenants and 1,000 running). The probe measures creates at that size, not the
 * aftermath of the mass start (which at_full_after_start keeps), and both probes settle alike.
 */
async function settle(poolPath: string): Promise<Settled> {
  const m = meminfo();
  const t0 = performance.now();
  await execa("sync");
  await execa("btrfs", ["filesystem", "sync", poolPath]);
  return { dirty_bytes: (m.Dirty ?? 0) + (m.Writeback ?? 0), ms: round(performance.now() - t0) };
}

export interface ScaleResult {
  scenario: "scale";
  options: ScaleOptions;
  /** Stopped `mini` creates through the API, per block of curveEvery: median and p99 at that count. */
  create_curve: { tenants: number; median_ms: number; p99_ms: number }[];
  /**
   * Running `mini` creates (start: true) timed at 100 tenants and with all present, each once the box
   * has written back what came before (settle); at_full_after_start: with all present, right after
   * the 1,000 starters' apps answered, before that (what the target was measured on until 2026-12-03).
   */
  create_running_ms: { at_100: Summary; at_full: Summary; at_full_after_start: Summary; ratio_p50: number; settle: { at_100: Settled; at_full: Settled } };
  /** The GDPR erase (DELETE) of each running probe tenant above, at 100 tenants and with all present. */
  erase_ms?: { at_100: Summary; at_full: Summary };
  /** memory_per_running_bytes: the running tenants' cgroups, mean; host_delta_per_running_bytes: MemAvailable before − after, per tenant (noisy on a shared box). */
  run_starter: { n: number; wall_s: number; create_ms: Summary; memory_per_running_bytes: number; host_delta_per_running_bytes: number; apps_up_s?: number; apps_not_answering?: number };
  list_ms: { page: Summary; deep_page: Summary; search: Summary; sort_name: Summary };
  router: { first_byte_running_ms: Summary; wake_stopped_ms: Summary | null; wake_errors: string[] };
  /** Medians of `samples` collections, and the first of each kind. */
  stats: {
    all_collect_ms: number;
    all_roundtrip_ms: number;
    running_only_collect_ms: number;
    running_only_roundtrip_ms: number;
    all_first_collect_ms?: number;
    running_only_first_collect_ms?: number;
    running_only_collect_max_ms?: number;
    samples?: number;
    tenants: number;
    running: number;
  };
  idle_sweep_ms: Summary;
  reconcile_ms: number;
  daemon_start: { wall_ms: number; adopt_ms: number | null };
  /** `npm run up` (bin/hoody-up.ts) on the full box, every service stopped first: until it exits, the services healthy. */
  npm_run_up: { wall_ms: number; adopt_ms: number | null; ok: boolean };
  disk: { pool_used_bytes: number; per_tenant_bytes: number; mean_delta_bytes: number };
  not_measured: Record<string, string>;
}

/** HOODY_BENCH_SCALE_HOLD: the full box, held for a look by hand until the file named there goes. */
async function holdIfAsked(stack: TestStack, project: string): Promise<void> {
  const file = process.env.HOODY_BENCH_SCALE_HOLD;
  if (!file) return;
  const info = { url: stack.url, token: stack.adminToken, project, dir: stack.host.dir, hostPid: stack.host.daemon?.pid ?? 0, webPid: stack.webPid, routerPort: stack.routerPort };
  await fs.writeFile(file, JSON.stringify(info, null, 1) + "\n", { mode: 0o600 });
  log(`scale: held at the full box; remove ${file} to go on`);
  while (
    await fs.stat(file).then(
      () => true,
      () => false,
    )
  )
    await sleep(1000);
}

async function timeN(n: number, fn: (i: number) => Promise<unknown>): Promise<Summary> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    xs.push(performance.now() - t0);
  }
  return summarize(xs);
}

export async function scale(opts: ScaleOptions): Promise<ScaleResult> {
  const stack = await TestStack.create({
    templates: ["mini", "starter"],
    poolSizeMiB: opts.poolSizeMiB,
    subnet16: true,
    uidRanges: opts.tenants + opts.running + 200,
    webEnv: { HOODY_CREATE_QUEUE: "1024" },
    // The router's idle sweep at its production interval (5 s): the test stacks' 300 ms, at 1,000
    // running tenants, kept the router and the daemon sweeping without a pause (load 10 in one run).
    env: { HOODY_IDLE_SWEEP_MS: "5000" },
  });
  try {
    return await measure(stack, opts);
  } finally {
    log("scale: removing the stack (no per-tenant erasure)");
    await stack.stop({ erase: false }).catch((e) => log(`scale cleanup: ${(e as Error).message}`));
  }
}

async function measure(stack: TestStack, opts: ScaleOptions): Promise<ScaleResult> {
  await stack.startRouter();
  const project = (await stack.api("POST", "/projects", { alias: "scale" })).body.data.id as string;
  let made = 0;
  const create = async (body: Record<string, unknown>) => {
    const r = await stack.api("POST", `/projects/${project}/containers`, { idle_timeout_s: 0, ...body });
    if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body.data as { id: string; url: string; engine_name: string; ip: string };
  };
  const stoppedIds: { id: string; label: string }[] = [];
  const curve: ScaleResult["create_curve"] = [];
  let block: number[] = [];
  /** Stopped mini tenants up to `target`, `fillConcurrency` in flight, the curve recorded per block. */
  const fill = async (target: number) => {
    let next = made;
    const worker = async () => {
      while (next < target) {
        const i = next++;
        const t0 = performance.now();
        const c = await create({ template: "mini", name: `scale-${i}`, start: false, autostart: false });
        block.push(performance.now() - t0);
        stoppedIds.push({ id: c.id, label: new URL(c.url).hostname.split(".")[0]! });
        made++;
        if (made % opts.curveEvery === 0) {
          const s = summarize(block);
          curve.push({ tenants: made, median_ms: s.median, p99_ms: s.p99 });
          block = [];
          log(`scale: ${made} tenants (create median ${s.median} ms, p99 ${s.p99} ms)`);
        }
      }
    };
    await Promise.all(Array.from({ length: opts.fillConcurrency }, worker));
  };
  /** Running mini creates, timed, then their erasures (DELETE, one at a time), timed too. */
  const createRunning = async (tag: string) => {
    const ids: string[] = [];
    const s = await timeN(opts.samples, async (i) => ids.push((await create({ template: "mini", name: `probe-${tag}-${i}` })).id));
    const erase = await timeN(ids.length, async (i) => {
      const r = await stack.api("DELETE", `/containers/${ids[i]}`);
      if (r.status !== 200) throw new Error(`erase: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    });
    return { create: s, erase };
  };

  await fill(Math.min(100, opts.tenants));
  const settledAt100 = await settle(stack.host.poolPath);
  const { create: at100, erase: eraseAt100 } = await createRunning("a");
  await fill(opts.tenants);
  if (block.length) curve.push({ tenants: made, ...(({ median, p99 }) => ({ median_ms: median, p99_ms: p99 }))(summarize(block)) });

  log(`scale: running ${opts.running} starter at once`);
  const memBefore = memoryNow().availableBytes;
  const w0 = performance.now();
  const startTimes: number[] = [];
  const running: { id: string; label: string }[] = [];
  let started = 0;
  // "At once": many creates in flight (the API admits HOODY_CREATE_CONCURRENCY and queues the rest).
  await Promise.all(
    Array.from({ length: Math.min(opts.running, 64) }, async () => {
      while (started < opts.running) {
        const i = started++;
        const t0 = performance.now();
        const c = await create({ template: "starter", name: `run-${i}` });
        startTimes.push(performance.now() - t0);
        running.push({ id: c.id, label: new URL(c.url).hostname.split(".")[0]! });
        if (running.length % opts.curveEvery === 0) log(`scale: ${running.length} starter running`);
      }
    }),
  );
  const wall = (performance.now() - w0) / 1000;
  // A create answers once the tenant runs, before its app has started: the probes below measure a
  // box whose 1,000 apps are up (and memory is what they hold), so every one must have answered first.
  // (Their apps boot on two cores after the creates return: about a minute for 1,000.) Those that
  // do not answer yet are asked again until every one has, or APPS_UP_TIMEOUT_MS has passed.
  let notUp = running.map((r) => r.label);
  const u0 = performance.now();
  for (let pass = 0; notUp.length && performance.now() - u0 < APPS_UP_TIMEOUT_MS; pass++) {
    // A pause between passes: the apps still booting need the two cores more than the asking does.
    if (pass) await sleep(1000);
    const asked = notUp;
    notUp = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < asked.length) {
          const label = asked[next++]!;
          const res = await stack.viaRouter(label).catch(() => ({ status: 0 }));
          if (res.status !== 200) notUp.push(label);
        }
      }),
    );
  }
  const appsUpS = round((performance.now() - u0) / 1000);
  log(`scale: every starter answered in ${appsUpS} s (${notUp.length} did not)`);
  const hostDeltaPer = Math.round((memBefore - memoryNow().availableBytes) / Math.max(1, running.length));

  await holdIfAsked(stack, project);
  log("scale: probes with every tenant present");
  const { create: atFullAfterStart } = await createRunning("s");
  const settledAtFull = await settle(stack.host.poolPath);
  log(`scale: settled (${Math.round(settledAtFull.dirty_bytes / 1024)} KiB dirty or under writeback, ${settledAtFull.ms} ms)`);
  const { create: atFull, erase: eraseAtFull } = await createRunning("b");
  const q = (query: string) => async () => {
    const r = await stack.api("GET", `/containers?${query}`);
    if (r.status !== 200) throw new Error(`list ${query}: ${r.status}`);
  };
  const deep = Math.max(1, Math.floor(opts.tenants / 20 / 2));
  const list = {
    page: await timeN(opts.listSamples, q("page=1&limit=20")),
    deep_page: await timeN(opts.listSamples, q(`page=${deep}&limit=20`)),
    search: await timeN(opts.listSamples, (i) => q(`search=scale-${(i * 37) % Math.max(1, opts.tenants)}&limit=20`)()),
    sort_name: await timeN(opts.listSamples, q("sort_by=name&sort_order=asc&limit=20")),
  };
  const firstByte = await timeN(opts.samples, async (i) => {
    const r = await stack.viaRouter(running[i % running.length]!.label);
    if (r.status !== 200) throw new Error(`router: ${r.status}`);
  });
  const wakeErrors: string[] = [];
  const wakes: number[] = [];
  for (const s of stoppedIds.slice(-Math.min(10, stoppedIds.length))) {
    const t0 = performance.now();
    const r = await stack.viaRouter(s.label).catch((e: Error) => ({ status: 0, body: e.message }));
    if (r.status === 200) wakes.push(performance.now() - t0);
    else wakeErrors.push(`${s.label}: ${r.status} ${String(r.body).slice(0, 120)}`);
  }
  const client = stack.host.client;
  // STATS_SAMPLES collections of each kind, as the web server's 15 s sampling makes them: the median,
  // the slowest, and the first apart (the daemon holds a running tenant's files open after its first
  // read, kernfile.ts: the full collections' first finds them open from the daemon's earlier reads,
  // the running-only one's first reads each process's start once). Timed in the daemon (its own
  // slices) and around the call.
  const collect = async (ids?: string[]) => {
    const t = performance.now();
    const r = await client.call("host.stats", ids ? { ids } : {});
    return { r, collectMs: r.host.collectedMs, roundtripMs: performance.now() - t };
  };
  const collections = async (ids?: string[]) => {
    const runs = [];
    for (let i = 0; i < STATS_SAMPLES; i++) runs.push(await collect(ids));
    return { first: runs[0]!, collect: summarize(runs.map((x) => x.collectMs)), roundtrip: summarize(runs.map((x) => x.roundtripMs)) };
  };
  const all = await collections();
  const runningNames = all.first.r.tenants.filter((x) => x.running).map((x) => x.id);
  const only = await collections(runningNames);

  // The router's idle sweep and its cost, through a Core of this process on the stack's database and daemon.
  const core = new Core(openDb(path.join(stack.host.dir, "hoody.db")), new HostEngine(new HostClient(stack.host.env.HOODY_HOSTD_SOCKET!)), {
    domain: "localhost",
    routerPort: 8080,
    maxFirewallRules: 100,
  });
  const sweep = await timeN(Math.min(10, opts.samples), () => core.routing.idleStates());
  const r0 = performance.now();
  const rec = await stack.api("POST", "/reconcile");
  const reconcileMs = performance.now() - r0;
  if (rec.status !== 200) log(`scale: reconcile answered ${rec.status}`);

  log("scale: restarting the host daemon (adoption)");
  await stack.host.killDaemon();
  const before = stack.host.daemonLog.length;
  const d0 = performance.now();
  await stack.host.startDaemon(30 * 60_000);
  const startWall = performance.now() - d0;
  const adopt = /adopted \d+ tenant\(s\) in (\d+) ms/.exec(stack.host.daemonLog.slice(before))?.[1];

  log("scale: `npm run up` on the full box (its services stopped first, as after an update or a crash)");
  const up = await npmRunUp(stack);
  log(`scale: npm run up ${up.ok ? "took" : "FAILED after"} ${round(up.wall_ms)} ms`);

  const runningStats = all.first.r.tenants.filter((x) => x.running);
  const memPer = Math.round(runningStats.reduce((a, x) => a + x.memoryBytes, 0) / Math.max(1, runningStats.length));
  const meanDelta = all.first.r.tenants.reduce((a, x) => a + x.deltaBytes, 0) / Math.max(1, all.first.r.tenants.length);
  return {
    scenario: "scale",
    options: opts,
    create_curve: curve,
    create_running_ms: {
      at_100: at100,
      at_full: atFull,
      at_full_after_start: atFullAfterStart,
      ratio_p50: round(atFull.median / at100.median, 2),
      settle: { at_100: settledAt100, at_full: settledAtFull },
    },
    erase_ms: { at_100: eraseAt100, at_full: eraseAtFull },
    run_starter: {
      n: running.length,
      wall_s: round(wall),
      create_ms: summarize(startTimes),
      memory_per_running_bytes: memPer,
      host_delta_per_running_bytes: hostDeltaPer,
      apps_up_s: appsUpS,
      apps_not_answering: notUp.length,
    },
    list_ms: list,
    router: { first_byte_running_ms: firstByte, wake_stopped_ms: wakes.length ? summarize(wakes) : null, wake_errors: wakeErrors },
    stats: {
      all_collect_ms: all.collect.median,
      all_roundtrip_ms: all.roundtrip.median,
      running_only_collect_ms: only.collect.median,
      running_only_roundtrip_ms: only.roundtrip.median,
      all_first_collect_ms: round(all.first.collectMs),
      running_only_first_collect_ms: round(only.first.collectMs),
      running_only_collect_max_ms: only.collect.max,
      samples: STATS_SAMPLES,
      tenants: all.first.r.tenants.length,
      running: runningNames.length,
    },
    idle_sweep_ms: sweep,
    reconcile_ms: round(reconcileMs),
    daemon_start: { wall_ms: round(startWall), adopt_ms: adopt ? Number(adopt) : null },
    npm_run_up: { wall_ms: round(up.wall_ms), adopt_ms: up.adopt_ms, ok: up.ok },
    disk: {
      pool_used_bytes: all.first.r.host.pool.usedBytes,
      per_tenant_bytes: Math.round(all.first.r.host.pool.usedBytes / Math.max(1, all.first.r.tenants.length)),
      mean_delta_bytes: Math.round(meanDelta),
    },
    not_measured: {},
  };
}

/**
 * `npm run up` on this full box: the stack's router, web server and daemon are stopped, then
 * bin/hoody-up.ts runs with the stack's settings (its data dir, pool, subnet, nft table, ports; no
 * Caddy, no warm pool; the dashboard build is current) and starts them as detached services (systemd
 * is not PID 1 here), timed until it exits (it waits for each service's health check). `npm run
 * down` stops them after, and the stack's own daemon comes back for the scenario's cleanup.
 * (`npm run up` also runs bin/setup-host.sh first, which installs nothing on a set-up box.)
 */
async function npmRunUp(stack: TestStack): Promise<{ wall_ms: number; adopt_ms: number | null; ok: boolean }> {
  await stack.stopServices();
  await stack.host.killDaemon();
  const env = {
    ...process.env,
    ...stack.host.env,
    ...stack.webEnv,
    HOODY_PORT: String(stack.port),
    HOODY_ROUTER_PORT: String(stack.routerPort),
    HOODY_DOMAIN: "localhost",
    HOODY_CADDY: "off",
    HOODY_WARM_POOL_DEFAULT: "0",
    HOODY_NEXT_DIST: process.env.HOODY_NEXT_DIST ?? ".next-test",
  };
  const t0 = performance.now();
  const r = await execa(process.execPath, ["--import", "tsx", "bin/hoody-up.ts"], { cwd: ROOT, env, reject: false, timeout: 30 * 60_000, all: true });
  const wall = performance.now() - t0;
  if (r.exitCode !== 0) log(`scale: npm run up exited ${r.exitCode}: ${String(r.all).slice(-2000)}`);
  const down = await execa(process.execPath, ["--import", "tsx", "bin/hoody-down.ts"], { cwd: ROOT, env, reject: false, all: true });
  if (down.exitCode !== 0) log(`scale: npm run down exited ${down.exitCode}: ${String(down.all).slice(-1000)}`);
  const daemonLog = await fs.readFile(path.join(stack.host.dir, "logs", "hostd.log"), "utf8").catch(() => "");
  const adopted = [...daemonLog.matchAll(/adopted \d+ tenant\(s\) in (\d+) ms/g)].at(-1)?.[1];
  await stack.host.startDaemon(30 * 60_000);
  return { wall_ms: wall, adopt_ms: adopted ? Number(adopted) : null, ok: r.exitCode === 0 };
}

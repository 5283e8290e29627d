// Density: how many tenants of one template run on this box, and what each costs.
// 1. Shared read-only paths on vs off: the same number of tenants from the template (which shares
//    /usr from the template's subvolume: one page cache for all) and from a copy of it promoted with
//    no shared paths (each snapshot has its own inodes, so its own page cache), page cache dropped
//    before each set; memory in use (MemTotal-MemFree) and the tenants' cgroup memory, per tenant.
// 2. Ramp: create and start tenants one by one until `target` run or the box refuses (an error, an
//    app that never answers, or MemAvailable under the safety floor): where and why is reported.
//    Each tenant's delta disk (its qgroup) right after create and after its app's first writes.
// 3. Idle memory per tenant, then KSM on vs off for the same set (KSM scanning sped up for the
//    measurement, `echo 2 > run` to unmerge; the host's KSM settings are restored afterwards).
import { writeFileSync } from "node:fs";
import type { TestStack } from "../../testkit/stack-harness.js";
import { httpGet, waitFor } from "../../testkit/host-harness.js";
import type { TenantInfo } from "../../server/shared/protocol.js";
import { ksmRead, log, memoryNow, percentile, round, sleep, summarize, MiB, type Summary } from "../lib/util.js";
import { statsProbe, type StatsPoint } from "./stats.js";

export interface DensityOptions {
  template: string;
  target: number;
  sharedCompare: number;
  minAvailableBytes: number;
  settleMs: number;
  ksmSettleMs: number;
  statsCheckpoints: number[];
}

export interface DensityResult {
  scenario: "density";
  options: DensityOptions;
  running: number;
  stopped_reason: string | null;
  create_ms: Summary;
  ramp: { tenants: number; create_ms_median: number; mem_available_mib: number; mem_used_mib: number }[];
  delta_at_creation_kib: Summary;
  delta_after_first_writes_kib: Summary;
  memory_per_idle_tenant_mib: { host_used: number; cgroup: number };
  ksm: {
    on: { used_mib: number; pages_sharing: number; pages_shared: number; saved_mib: number; tenants_ksm_profit_mib: number; full_scans: number };
    off: { used_mib: number; pages_sharing: number };
    /** The set's KSM profit (sum of its processes' ksm_process_profit). */
    saving_mib: number;
    saving_per_tenant_mib: number;
    /** Memory in use with KSM off minus on (MemTotal-MemFree): noisy on a shared box. */
    host_used_delta_mib: number;
    settings_restored: boolean;
  };
  shared_paths: {
    tenants_each: number;
    shared_paths: string[];
    on: { used_per_tenant_mib: number; cgroup_per_tenant_mib: number };
    off: { used_per_tenant_mib: number; cgroup_per_tenant_mib: number };
  };
  stats_points: StatsPoint[];
}

const mib = (b: number) => round(b / MiB, 2);

function dropCaches(): void {
  // Page cache only (1): the comparison starts from a cold cache for both sets.
  writeFileSync("/proc/sys/vm/drop_caches", "1");
}

async function waitApp(ip: string, port: number): Promise<void> {
  await waitFor(() => httpGet(`http://${ip}:${port}/`, 2000).then((r) => r.status === 200), 60_000, 10);
}

async function deleteAll(stack: TestStack, ids: string[], parallel = 4): Promise<void> {
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) await stack.host.client.call("tenants.delete", { id });
    }),
  );
}

async function sharedPathsCompare(stack: TestStack, opts: DensityOptions): Promise<DensityResult["shared_paths"]> {
  const c = stack.host.client;
  const tpl = (await c.call("templates.list", {})).find((t) => t.name === opts.template)!;
  const noshare = `${opts.template}-noshare`;
  const src = await c.call("tenants.create", { template: opts.template, start: false });
  try {
    await c.call("templates.promote", { id: src.id, name: noshare, settings: { sharedPaths: [] } });
  } finally {
    await c.call("tenants.delete", { id: src.id });
  }
  const measure = async (template: string) => {
    const ids: string[] = [];
    try {
      dropCaches();
      await sleep(500);
      const before = memoryNow();
      for (let i = 0; i < opts.sharedCompare; i++) {
        const t = await c.call("tenants.create", { template });
        ids.push(t.id);
        await waitApp(t.ip, t.appPort);
      }
      await sleep(opts.settleMs);
      const after = memoryNow();
      const stats = await c.call("host.stats", { ids });
      const cgroup = stats.tenants.reduce((s, t) => s + t.memoryBytes, 0);
      return { used_per_tenant_mib: mib((after.usedBytes - before.usedBytes) / ids.length), cgroup_per_tenant_mib: mib(cgroup / ids.length) };
    } finally {
      await deleteAll(stack, ids);
    }
  };
  try {
    log(`density: shared paths on vs off, ${opts.sharedCompare} tenants each`);
    const on = await measure(opts.template);
    const off = await measure(noshare);
    return { tenants_each: opts.sharedCompare, shared_paths: tpl.settings.sharedPaths, on, off };
  } finally {
    await c.call("templates.delete", { name: noshare });
  }
}

async function ksmOnOff(stack: TestStack, opts: DensityOptions, ids: string[]): Promise<DensityResult["ksm"]> {
  const dir = "/sys/kernel/mm/ksm";
  const saved = { run: ksmRead("run"), pages_to_scan: ksmRead("pages_to_scan"), sleep_millisecs: ksmRead("sleep_millisecs") };
  let restored = false;
  let result: DensityResult["ksm"];
  try {
    writeFileSync(`${dir}/run`, "1");
    writeFileSync(`${dir}/pages_to_scan`, "5000");
    writeFileSync(`${dir}/sleep_millisecs`, "10");
    const scans0 = ksmRead("full_scans");
    const deadline = Date.now() + opts.ksmSettleMs;
    // A page merges once it stayed the same over a whole scan: give it three.
    while (Date.now() < deadline && ksmRead("full_scans") < scans0 + 3) await sleep(250);
    const stats = await stack.host.client.call("host.stats", { ids });
    const on = {
      used_mib: mib(memoryNow().usedBytes),
      pages_sharing: ksmRead("pages_sharing"),
      pages_shared: ksmRead("pages_shared"),
      saved_mib: mib(ksmRead("pages_sharing") * 4096),
      tenants_ksm_profit_mib: mib(stats.tenants.reduce((s, t) => s + t.ksmProfitBytes, 0)),
      full_scans: ksmRead("full_scans") - scans0,
    };
    writeFileSync(`${dir}/run`, "2");
    const unmergeDeadline = Date.now() + 120_000;
    while (Date.now() < unmergeDeadline && ksmRead("pages_sharing") > 0) await sleep(100);
    await sleep(500);
    const off = { used_mib: mib(memoryNow().usedBytes), pages_sharing: ksmRead("pages_sharing") };
    // The saving for this set is what the kernel counts for its processes (ksm_process_profit:
    // merged pages minus KSM's own metadata). The host's memory-in-use difference is reported too,
    // but other work on the box moves it by tens of MiB.
    result = {
      on,
      off,
      saving_mib: on.tenants_ksm_profit_mib,
      saving_per_tenant_mib: round(on.tenants_ksm_profit_mib / ids.length, 2),
      host_used_delta_mib: round(off.used_mib - on.used_mib, 1),
      settings_restored: false,
    };
  } finally {
    writeFileSync(`${dir}/pages_to_scan`, String(saved.pages_to_scan));
    writeFileSync(`${dir}/sleep_millisecs`, String(saved.sleep_millisecs));
    writeFileSync(`${dir}/run`, String(saved.run));
    restored = ksmRead("run") === saved.run && ksmRead("pages_to_scan") === saved.pages_to_scan && ksmRead("sleep_millisecs") === saved.sleep_millisecs;
    log(`density: KSM settings restored (${JSON.stringify(saved)}): ${restored}`);
  }
  return { ...result, settings_restored: restored };
}

/** Leaves the ramp's tenants running (the stats scenario goes on from them); the caller removes them. */
export async function density(stack: TestStack, opts: DensityOptions): Promise<DensityResult> {
  const c = stack.host.client;
  await c.buildTemplate(opts.template);
  const shared = await sharedPathsCompare(stack, opts);

  log(`density: ramp to ${opts.target} running ${opts.template} tenants`);
  dropCaches();
  await sleep(500);
  const baseline = memoryNow();
  const ids: string[] = [];
  const createMs: number[] = [];
  const deltaAtCreation: number[] = [];
  const ramp: DensityResult["ramp"] = [];
  const statsPoints: StatsPoint[] = [];
  let stoppedReason: string | null = null;
  while (ids.length < opts.target) {
    const avail = memoryNow().availableBytes;
    if (avail < opts.minAvailableBytes) {
      stoppedReason = `stopped by the benchmark's safety floor: MemAvailable ${mib(avail)} MiB < ${mib(opts.minAvailableBytes)} MiB`;
      break;
    }
    let t: TenantInfo;
    const t0 = performance.now();
    try {
      t = await c.call("tenants.create", { template: opts.template });
    } catch (e) {
      stoppedReason = `create #${ids.length + 1} refused: ${(e as Error).message.slice(0, 500)}`;
      break;
    }
    createMs.push(performance.now() - t0);
    ids.push(t.id);
    const s = await c.call("host.stats", { ids: [t.id], sync: true });
    deltaAtCreation.push(s.tenants[0]!.deltaBytes);
    try {
      await waitApp(t.ip, t.appPort);
      // The app's first writes: a visit (counter in SQLite) and a note.
      await fetch(`http://${t.ip}:${t.appPort}/api/notes`, { method: "POST", body: "first note", signal: AbortSignal.timeout(5000) }).then((r) => r.text());
    } catch (e) {
      stoppedReason = `tenant #${ids.length} started but its app did not answer: ${(e as Error).message.slice(0, 300)}`;
      break;
    }
    if (ids.length % 25 === 0 || ids.length === opts.target) {
      const m = memoryNow();
      ramp.push({ tenants: ids.length, create_ms_median: round(percentile(createMs.slice(-25), 50)), mem_available_mib: mib(m.availableBytes), mem_used_mib: mib(m.usedBytes) });
      log(`density: ${ids.length} running, MemAvailable ${mib(m.availableBytes)} MiB`);
    }
    if (opts.statsCheckpoints.includes(ids.length)) statsPoints.push(await statsProbe(stack));
  }
  if (!ids.length) throw new Error(`density: no tenant could be created: ${stoppedReason}`);
  const afterWrites = await c.call("host.stats", { ids, sync: true });
  await sleep(opts.settleMs);
  const idle = await c.call("host.stats", { ids });
  const used = memoryNow().usedBytes;
  const running = idle.tenants.filter((t) => t.running).length;
  const ksm = await ksmOnOff(stack, opts, ids);
  return {
    scenario: "density",
    options: opts,
    running,
    stopped_reason: stoppedReason,
    create_ms: summarize(createMs),
    ramp,
    delta_at_creation_kib: summarize(deltaAtCreation.map((b) => b / 1024)),
    delta_after_first_writes_kib: summarize(afterWrites.tenants.map((t) => t.deltaBytes / 1024)),
    memory_per_idle_tenant_mib: {
      host_used: mib((used - baseline.usedBytes) / ids.length),
      cgroup: mib(idle.tenants.reduce((s, t) => s + t.memoryBytes, 0) / ids.length),
    },
    ksm,
    shared_paths: shared,
    stats_points: statsPoints,
  };
}

export { deleteAll };

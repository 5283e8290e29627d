// Turns the result files of a run (bench/results/*.json) into RESULTS.md (Markdown tables, the
// targets met or missed) and SVG charts, and gives README.md its Benchmarks section.
// Usage: tsx bench/report.ts [resultsDir]   (bench/run.ts calls it after a run)
import fs from "node:fs/promises";
import path from "node:path";
import { barChart, lineChart } from "./lib/svg.js";
import type { ProvisionResult } from "./scenarios/provision.js";
import type { WakeResult } from "./scenarios/wake.js";
import type { DensityResult } from "./scenarios/density.js";
import type { StatsResult } from "./scenarios/stats.js";
import type { DeleteResult } from "./scenarios/delete.js";
import type { MetricsResult } from "./scenarios/metrics.js";
import type { ChangesBenchResult } from "./scenarios/changes.js";
import type { ScaleResult } from "./scenarios/scale.js";
import type { DedupResult } from "./scenarios/dedup.js";
import type { BackupResult } from "./scenarios/backup.js";

export interface Meta {
  date: string;
  smoke: boolean;
  machine: { kernel: string; cpus: number; memory_gib: number; lxc: string; btrfs: string; incus: string | null };
  duration_s: number;
  errors: Record<string, string>;
  /** Scenarios run again after this run (`--only … --out DIR`, their JSON copied in): scenario → when and why. */
  reruns?: Record<string, string>;
}

/** "scale (…); dedup (…)" when some scenarios' numbers come from a later run, else "". */
function reruns(m: Meta): string {
  return Object.entries(m.reruns ?? {})
    .map(([k, v]) => `${k} (${v})`)
    .join("; ");
}

export interface Results {
  meta: Meta;
  provision?: ProvisionResult;
  wake?: WakeResult;
  density?: DensityResult;
  stats?: StatsResult;
  delete?: DeleteResult;
  metrics?: MetricsResult;
  changes?: ChangesBenchResult;
  scale?: ScaleResult;
  dedup?: DedupResult;
  backup?: BackupResult;
}

export interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

export async function readResults(dir: string): Promise<Results> {
  const read = async (name: string) => JSON.parse(await fs.readFile(path.join(dir, `${name}.json`), "utf8").catch(() => "null")) ?? undefined;
  return {
    meta: await read("meta"),
    provision: await read("provision"),
    wake: await read("wake"),
    density: await read("density"),
    stats: await read("stats"),
    delete: await read("delete"),
    metrics: await read("metrics"),
    changes: await read("changes"),
    scale: await read("scale"),
    dedup: await read("dedup"),
    backup: await read("backup"),
  };
}

/** The delta browser's target for a tenant with 100,000 changed files (a fresh listing, API round trip). */
const CHANGES_COLD_TARGET_S = 15;
const ms = (v: number | undefined | null) => (v === undefined || v === null ? "n/a" : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`);
const round2 = (v: number) => Math.round(v * 100) / 100;
const x = (v: number | undefined | null) => (v === undefined || v === null ? "n/a" : `${v.toFixed(2)}×`);

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const mini = r.provision?.templates.mini?.contenders;
  if (mini?.hoody) {
    const ratio = mini.hoody.ratio_to_floor?.sequential_median ?? null;
    out.push({
      target: "API create→running, mini: median ≤ 2× the floor",
      measured: `${ms(mini.hoody.sequential_ms.median)} vs floor ${ms(mini.floor?.sequential_ms.median)} = ${x(ratio)} (20-way: ${x(mini.hoody.ratio_to_floor?.concurrent_median)})`,
      met: ratio === null ? null : ratio <= 2,
    });
    const incus = mini.incus?.sequential_ms.median;
    const speedup = incus ? incus / mini.hoody.sequential_ms.median : null;
    out.push({
      target: "API create→running, mini: ≥ 4× faster than Incus",
      measured: incus
        ? `Incus ${ms(incus)} / Hoody ${ms(mini.hoody.sequential_ms.median)} = ${x(speedup)} (20-way: ${x(mini.incus!.concurrent_ms.median / mini.hoody.concurrent_ms.median)})`
        : `not measured: ${r.provision?.skipped.incus ?? "incus contender absent"}`,
      met: speedup === null ? null : speedup >= 4,
    });
  }
  if (r.density) {
    const d = r.density;
    out.push({
      target: `${d.options.target} running ${d.options.template} tenants`,
      measured: `${d.running} running${d.stopped_reason ? ` (stopped: ${d.stopped_reason})` : ""}`,
      met: d.running >= d.options.target && d.options.target >= 500,
    });
    out.push({
      target: "delta disk at creation ≤ 1 MiB each",
      measured: `median ${d.delta_at_creation_kib.median} KiB, max ${d.delta_at_creation_kib.max} KiB (after first writes: median ${d.delta_after_first_writes_kib.median} KiB)`,
      met: d.delta_at_creation_kib.max <= 1024,
    });
    out.push({
      target: "KSM saving reported with KSM on vs off",
      measured: `${d.ksm.saving_mib} MiB for ${d.running} tenants (${d.ksm.saving_per_tenant_mib} MiB each; host memory in use Δ ${d.ksm.host_used_delta_mib} MiB)`,
      met: Number.isFinite(d.ksm.saving_mib),
    });
  }
  if (r.stats) {
    const p = r.stats.points.find((q) => q.tenants === 1000) ?? r.stats.points.at(-1)!;
    out.push({
      target: "stats for 1,000 tenants ≤ 100 ms",
      measured: `${p.tenants} tenants (${p.running} running): collect ${ms(p.collect_ms)}, round trip ${ms(p.roundtrip_ms)}; linear fit R² ${r.stats.fit_roundtrip.r2}`,
      met: p.tenants >= 1000 ? p.roundtrip_ms <= 100 : null,
    });
  }
  if (r.metrics) {
    const m = r.metrics;
    // CPU time, not wall time: a scrape is CPU-bound, and wall time on a shared box mostly measures the other work on it.
    out.push({
      target: "/metrics scrape at 1,000 tenants ≤ 100 ms of CPU",
      measured: `${m.tenants} tenants: CPU ${ms(m.scrape_cpu_ms.median)} (wall median ${ms(m.scrape_ms.median)}, p99 ${ms(m.scrape_ms.p99)}); ${m.series} series, ${Math.round(m.body_bytes / 1024)} KiB`,
      met: m.tenants >= 1000 ? m.scrape_cpu_ms.median <= 100 : null,
    });
  }
  if (r.changes) {
    const c = r.changes;
    out.push({
      target: `changes API, ${c.files.toLocaleString("en")} changed files: a fresh listing ≤ ${CHANGES_COLD_TARGET_S} s`,
      measured: `median ${ms(c.cold_ms.median)} (daemon ${ms(c.compute_ms.median)}); cached ${ms(c.cached_ms.median)}, drill ${ms(c.drill_ms.median)}`,
      met: c.files < 100_000 ? null : c.cold_ms.median <= CHANGES_COLD_TARGET_S * 1000,
    });
    out.push({
      target: "other daemon calls while a listing runs: p99 ≤ 250 ms",
      measured: `tenants.get p99 ${ms(c.other_calls_during_ms.p99)} (median ${ms(c.other_calls_during_ms.median)}, ${c.other_calls_during_ms.n} calls)`,
      met: c.other_calls_during_ms.p99 <= 250,
    });
  }
  for (const [tpl, v] of Object.entries(r.provision?.templates ?? {})) {
    const w = v.warm;
    if (!w) continue;
    out.push({
      target: `warm pool, ${tpl}: create→running median ≤ 0.5× the floor's`,
      measured: `${ms(v.contenders["hoody-warm"]?.sequential_ms.median)} vs floor ${ms(v.contenders.floor?.sequential_ms.median)} = ${x(w.sequential_vs_floor)} (${w.claimed}/${w.creates} creates claimed a member)`,
      met: w.sequential_vs_floor === null ? null : w.sequential_vs_floor <= 0.5,
    });
    out.push({
      target: `warm pool, ${tpl}: ≥ 15× faster than Incus`,
      measured: w.incus_speedup === null ? `not measured: ${r.provision?.skipped.incus ?? "incus contender absent"}` : `${w.incus_speedup}×`,
      met: w.incus_speedup === null ? null : w.incus_speedup >= 15,
    });
    if (tpl === "starter") out.push({ target: "warm pool, starter: create→first byte ≤ 80 ms (0.5× 160 ms)", measured: ms(w.first_byte_ms), met: w.first_byte_ms <= 80 });
    out.push({ target: `warm pool, ${tpl}: memory per waiting member`, measured: `${(w.member_memory_bytes / 1024 / 1024).toFixed(2)} MiB (pool of ${w.size})`, met: null });
  }
  if (r.scale) {
    const c = r.scale;
    const n = c.options.tenants;
    const full = n >= 10_000;
    out.push({
      target: `create p50 with ${n} tenants ≤ 1.2× at 100`,
      measured: `${ms(c.create_running_ms.at_full.median)} vs ${ms(c.create_running_ms.at_100.median)} = ${x(c.create_running_ms.ratio_p50)}`,
      met: full ? c.create_running_ms.ratio_p50 <= 1.2 : null,
    });
    const listP99 = Math.max(c.list_ms.page.p99, c.list_ms.deep_page.p99, c.list_ms.search.p99, c.list_ms.sort_name.p99);
    out.push({ target: `tenants table (page, search, sort) p99 ≤ 100 ms at ${n}`, measured: ms(listP99), met: full ? listP99 <= 100 : null });
    out.push({
      target: `stats for ${c.stats.running} running ≤ 50 ms`,
      measured: `${ms(c.stats.running_only_collect_ms)} in the daemon${c.stats.samples ? `, median of ${c.stats.samples} (first, reading each process's start: ${ms(c.stats.running_only_first_collect_ms ?? 0)}; slowest ${ms(c.stats.running_only_collect_max_ms ?? 0)})` : ""} (all ${c.stats.tenants}: ${ms(c.stats.all_collect_ms)})`,
      met: c.stats.running >= 1000 ? c.stats.running_only_collect_ms <= 50 : null,
    });
    out.push({
      target: `daemon start (adoption of ${n + c.run_starter.n}) ≤ 30 s`,
      measured: `${ms(c.daemon_start.wall_ms)} (adoption ${ms(c.daemon_start.adopt_ms)})`,
      met: full ? c.daemon_start.wall_ms <= 30_000 : null,
    });
  }
  if (r.dedup) {
    const d = r.dedup;
    out.push({
      target: "dedup reclaims ≥ 90 % of the duplicated bytes",
      measured: `${d.saved_mib} of ${d.duplicated_mib} MiB (${d.reclaimed_pct} %) across ${d.tenants} ${d.options.template} tenants, run ${d.run.state} in ${d.run.seconds} s`,
      met: d.reclaimed_pct >= 90,
    });
  }
  if (r.delete)
    out.push({
      target: "GDPR delete is complete",
      measured: `${r.delete.checks_passed}/${r.delete.tenants * r.delete.checks_per_tenant} checks, median ${ms(r.delete.delete_ms.median)}`,
      met: r.delete.complete,
    });
  return out;
}

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function provisionTable(p: ProvisionResult): string {
  const rows: (string | number)[][] = [];
  for (const [template, t] of Object.entries(p.templates)) {
    for (const mode of ["sequential", "concurrent"] as const) {
      for (const [name, c] of Object.entries(t.contenders)) {
        const s = mode === "sequential" ? c.sequential_ms : c.concurrent_ms;
        const ratio = c.ratio_to_floor ? (mode === "sequential" ? c.ratio_to_floor.sequential_median : c.ratio_to_floor.concurrent_median) : null;
        rows.push([
          template,
          mode === "sequential" ? `${p.options.sequential} sequential` : `${p.options.concurrency}-way ×${p.options.rounds}`,
          name,
          ms(s.median),
          ms(s.p99),
          x(ratio),
          mode === "concurrent" ? `${c.concurrent_per_s}/s` : "",
        ]);
      }
    }
    for (const [name, c] of Object.entries(t.contenders)) {
      if (c.first_byte_ms)
        rows.push([
          template,
          name.startsWith("hoody") ? "create → first byte, tenant URL (router)" : "create → first byte, container IP",
          name,
          ms(c.first_byte_ms.median),
          ms(c.first_byte_ms.p99),
          "",
          "",
        ]);
    }
  }
  return table(["template", "run", "contender", "median", "p99", "÷ floor", "throughput"], rows);
}

export function renderMarkdown(r: Results, chartDir: string): string {
  const parts: string[] = [];
  const m = r.meta;
  parts.push(
    `# Benchmark results\n\nRun ${m.date}${m.smoke ? " (SMOKE: tiny counts, numbers meaningless)" : ""} on ${m.machine.cpus} CPUs, ${m.machine.memory_gib} GiB, kernel ${m.machine.kernel}, ${m.machine.lxc}, ${m.machine.btrfs}${m.machine.incus ? `, Incus ${m.machine.incus}` : ""}; ${m.duration_s} s.${reruns(m) ? ` Run again since: ${reruns(m)}.` : ""} Regenerate: \`npm run bench\`.\n`,
  );
  parts.push(
    `## Targets\n\n${table(
      ["target", "measured", "met"],
      targets(r).map((t) => [t.target, t.measured, t.met === null ? "not measured" : t.met ? "**met**" : "**missed**"]),
    )}\n`,
  );
  if (r.provision) {
    const skipped = Object.entries(r.provision.skipped)
      .map(([k, v]) => `${k} skipped: ${v}`)
      .join("; ");
    parts.push(
      `## Provision: create → running\n\nContenders alternate within the run. *hoody* = \`POST /api/v1/projects/{id}/containers\` → 201 running; *floor* = \`btrfs subvolume snapshot\` + the daemon's LXC config + \`lxc-start -d\` by hand; *incus* = \`incus copy\` + \`incus start\` on a BTRFS pool. The web server admits ${r.provision.hoody_create_concurrency} creates at a time and queues the rest (admission control), so in the ${r.provision.options.concurrency}-way runs a Hoody create's latency includes its wait in that queue; the floor and Incus start all ${r.provision.options.concurrency} at once.${skipped ? ` ${skipped}.` : ""}\n\n${provisionTable(r.provision)}\n\n![provision](${chartDir}/provision.svg)\n`,
    );
  }
  if (r.wake) {
    parts.push(
      `## Wake: first byte from a stopped tenant through the router\n\n${table(
        ["template", "n", "wake median", "wake p99", "warm request median"],
        Object.entries(r.wake.templates).map(([t, v]) => [t, r.wake!.n, ms(v.first_byte_ms.median), ms(v.first_byte_ms.p99), ms(v.warm_request_ms.median)]),
      )}\n`,
    );
  }
  if (r.density) {
    const d = r.density;
    parts.push(
      `## Density: \`${d.options.template}\` tenants on one box\n\n` +
        table(
          ["what", "value"],
          [
            ["running tenants", `${d.running} of ${d.options.target}${d.stopped_reason ? ` — stopped: ${d.stopped_reason}` : ""}`],
            ["create → running during the ramp (host engine)", `median ${ms(d.create_ms.median)}, p99 ${ms(d.create_ms.p99)}`],
            ["delta disk at creation (qgroup)", `median ${d.delta_at_creation_kib.median} KiB, max ${d.delta_at_creation_kib.max} KiB`],
            ["delta disk after the app's first writes", `median ${d.delta_after_first_writes_kib.median} KiB, max ${d.delta_after_first_writes_kib.max} KiB`],
            ["memory per idle tenant: host (MemTotal−MemFree delta) / tenant cgroup", `${d.memory_per_idle_tenant_mib.host_used} MiB / ${d.memory_per_idle_tenant_mib.cgroup} MiB`],
            [
              "KSM on vs off, same set",
              `saves ${d.ksm.saving_mib} MiB = ${d.ksm.saving_per_tenant_mib} MiB per tenant (the set's ksm_process_profit after ${d.ksm.on.full_scans} full scans; host pages_sharing ${d.ksm.on.pages_sharing} → ${d.ksm.off.pages_sharing} when off); host memory in use ${d.ksm.on.used_mib} MiB on vs ${d.ksm.off.used_mib} MiB off (Δ ${d.ksm.host_used_delta_mib} MiB, includes other work on the box); host KSM settings restored: ${d.ksm.settings_restored}`,
            ],
            [
              `shared read-only paths (${d.shared_paths.shared_paths.join(", ") || "none"}) on vs off, ${d.shared_paths.tenants_each} tenants each`,
              `host ${d.shared_paths.on.used_per_tenant_mib} vs ${d.shared_paths.off.used_per_tenant_mib} MiB per tenant; cgroup ${d.shared_paths.on.cgroup_per_tenant_mib} vs ${d.shared_paths.off.cgroup_per_tenant_mib} MiB per tenant`,
            ],
          ],
        ) +
        `\n\n![density](${chartDir}/density.svg)\n\n![memory](${chartDir}/memory.svg)\n`,
    );
  }
  if (r.stats) {
    const s = r.stats;
    parts.push(
      `## Stats cost: every tenant's stats in one collection\n\n${table(
        ["tenants", "running", "in-daemon collect", "round trip (JSON over the socket)"],
        s.points.map((p) => [p.tenants, p.running, ms(p.collect_ms), ms(p.roundtrip_ms)]),
      )}\n\n` +
        `Linear fit: collect ${s.fit_collect.ms_per_1000_tenants} ms per 1,000 tenants (R² ${s.fit_collect.r2}); round trip ${s.fit_roundtrip.ms_per_1000_tenants} ms per 1,000 (R² ${s.fit_roundtrip.r2}).${s.stopped_early ? ` Note: ${s.stopped_early}.` : ""}\n\n![stats](${chartDir}/stats.svg)\n`,
    );
  }
  if (r.backup) {
    const b = r.backup;
    const mib = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MiB`;
    parts.push(
      `## Backup and restore\n\n${table(["template", "own data", "template", "backup file", "backup", "restore in place", "import as new", "export (tar)", "checksums"], [[b.template, `${b.data_mib} MiB`, mib(b.template_bytes), mib(b.backup_bytes), ms(b.backup_ms), ms(b.restore_in_place_ms), ms(b.import_ms), `${ms(b.export_ms)}, ${mib(b.export_bytes)}`, b.checksum_ok ? "match" : "DIFFER"]])}\n`,
    );
  }
  if (r.metrics) {
    const m = r.metrics;
    parts.push(
      `## /metrics: one scrape at ${m.tenants} tenants\n\n${table(
        ["measure", "value"],
        [
          [
            "scrape (every tenant, host, pool and API series, rendered)",
            `median ${ms(m.scrape_ms.median)}, p99 ${ms(m.scrape_ms.p99)} over ${m.scrapes}; CPU time median ${ms(m.scrape_cpu_ms.median)}`,
          ],
          ["what it serves", `${m.series} series (${m.tenants_with_series} tenants with stats), ${Math.round(m.body_bytes / 1024)} KiB`],
          ["one stats sample into the persisted history (every 15 s)", `median ${ms(m.history_sample_ms.median)}; ${m.history_rows} rows, database ${Math.round(m.db_bytes / 1024)} KiB`],
        ],
      )}\n\nEngine: ${m.engine}.\n`,
    );
  }
  if (r.delete) {
    const d = r.delete;
    parts.push(
      `## GDPR delete\n\n${table(["template", "tenants", "snapshots each", "median", "p99", "completeness checks"], [[d.template, d.tenants, d.snapshots_each, ms(d.delete_ms.median), ms(d.delete_ms.p99), `${d.checks_passed}/${d.tenants * d.checks_per_tenant}${d.failures.length ? ` — failed: ${d.failures.slice(0, 5).join("; ")}` : ""}`]])}\n`,
    );
  }
  if (r.changes) {
    const c = r.changes;
    parts.push(
      `## Changes API (delta browser)\n\n${table(["files changed", "fresh listing", "in the daemon", "cached", "drill into a directory", "tenants.get while listing (p99)"], [[c.files, `median ${ms(c.cold_ms.median)}, max ${ms(c.cold_ms.max)}`, ms(c.compute_ms.median), ms(c.cached_ms.median), ms(c.drill_ms.median), ms(c.other_calls_during_ms.p99)]])}\n\nThe tenant wrote them in ${c.write_s} s (busybox sh through exec); the listing counted ${c.listed.added} added entries, ${c.listed.bytes} bytes.\n`,
    );
  }
  if (r.scale) {
    const c = r.scale;
    parts.push(
      `## Scale: ${c.options.tenants} tenants, ${c.run_starter.n} running\n\n` +
        table(
          ["what", "value"],
          [
            [
              "API create (running mini) p50 / p99 at 100 → at all",
              `${ms(c.create_running_ms.at_100.median)} / ${ms(c.create_running_ms.at_100.p99)} → ${ms(c.create_running_ms.at_full.median)} / ${ms(c.create_running_ms.at_full.p99)}`,
            ],
            ...(c.create_running_ms.at_full_after_start
              ? [
                  [
                    "same at all, right after the starters' apps answered (before the box wrote back what they wrote)",
                    `${ms(c.create_running_ms.at_full_after_start.median)} / ${ms(c.create_running_ms.at_full_after_start.p99)} (then ${Math.round(c.create_running_ms.settle.at_full.dirty_bytes / 1024)} KiB dirty, written back in ${ms(c.create_running_ms.settle.at_full.ms)})`,
                  ],
                ]
              : []),
            ...(c.erase_ms
              ? [
                  [
                    "GDPR erase (DELETE of a running mini) p50 / p99 at 100 → at all",
                    `${ms(c.erase_ms.at_100.median)} / ${ms(c.erase_ms.at_100.p99)} → ${ms(c.erase_ms.at_full.median)} / ${ms(c.erase_ms.at_full.p99)}`,
                  ],
                ]
              : []),
            [
              "tenants table p50 / p99: first page, deep page, search, sort by name",
              [c.list_ms.page, c.list_ms.deep_page, c.list_ms.search, c.list_ms.sort_name].map((s) => `${ms(s.median)} / ${ms(s.p99)}`).join("; "),
            ],
            ["router first byte, running tenant (p50 / p99)", `${ms(c.router.first_byte_running_ms.median)} / ${ms(c.router.first_byte_running_ms.p99)}`],
            ["router wake of a stopped tenant (p50)", c.router.wake_stopped_ms ? ms(c.router.wake_stopped_ms.median) : `n/a ${c.router.wake_errors.slice(0, 2).join("; ")}`],
            [
              `${c.run_starter.n} starter at once`,
              `${c.run_starter.wall_s} s, create p50 ${ms(c.run_starter.create_ms.median)}, ${(c.run_starter.memory_per_running_bytes / 1024 / 1024).toFixed(1)} MiB per running tenant (its cgroup; host MemAvailable Δ ${(c.run_starter.host_delta_per_running_bytes / 1024 / 1024).toFixed(1)} MiB)`,
            ],
            [
              `stats collection: all / running only (in the daemon${c.stats.samples ? `, median of ${c.stats.samples}; first` : ""})`,
              `${ms(c.stats.all_collect_ms)} / ${ms(c.stats.running_only_collect_ms)}${c.stats.samples ? `; ${ms(c.stats.all_first_collect_ms ?? 0)} / ${ms(c.stats.running_only_first_collect_ms ?? 0)}` : ""}`,
            ],
            ...(c.run_starter.apps_up_s === undefined
              ? []
              : [["every starter's app answering (before the probes)", `${c.run_starter.apps_up_s} s, ${c.run_starter.apps_not_answering} not answering`]]),
            ["router idle sweep (p50 / p99)", `${ms(c.idle_sweep_ms.median)} / ${ms(c.idle_sweep_ms.p99)}`],
            ["reconcile", ms(c.reconcile_ms)],
            ["host daemon start (adoption)", `${ms(c.daemon_start.wall_ms)} (${ms(c.daemon_start.adopt_ms)})`],
            ...(c.npm_run_up
              ? [
                  [
                    "`npm run up` on the full box (services stopped first; adoption)",
                    c.npm_run_up.ok ? `${ms(c.npm_run_up.wall_ms)} (${ms(c.npm_run_up.adopt_ms)})` : `failed after ${ms(c.npm_run_up.wall_ms)}`,
                  ],
                ]
              : []),
            ["disk per tenant (pool used / tenants; mean delta)", `${(c.disk.per_tenant_bytes / 1024).toFixed(0)} KiB; ${(c.disk.mean_delta_bytes / 1024).toFixed(0)} KiB`],
            ...Object.entries(c.not_measured).map(([k, v]) => [k, `not measured: ${v}`]),
          ],
        ) +
        `\n\n![scale](${chartDir}/scale.svg)\n`,
    );
  }
  if (r.dedup) {
    const d = r.dedup;
    const during = d.create_ms_during ? `median ${ms(d.create_ms_during.median)}, p99 ${ms(d.create_ms_during.p99)} (${d.creates_during} creates)` : "run ended before a create";
    parts.push(
      `## Dedup: ${d.tenants} \`${d.options.template}\` tenants with the same ${d.options.sharedMiB} MiB\n\n` +
        table(
          ["what", "value"],
          [
            ["pool growth from the writes (statfs)", `${d.pool_growth_mib} MiB (${d.options.sharedMiB} MiB alike in ${d.options.files} files + ${d.options.ownMiB} MiB own, each)`],
            ["given back by one run", `${d.saved_mib} of ${d.duplicated_mib} MiB duplicated = ${d.reclaimed_pct} %`],
            ["run time", `${d.run.seconds} s for ${d.run.tenant_data_gib} GiB of tenant data = ${d.run.s_per_gib} s/GiB (idle I/O priority, one I/O thread)`],
            ["second run, nothing new (hash file)", `${d.rerun.seconds} s (${d.rerun.state})`],
            ["API create → running (mini) without a run", `median ${ms(d.create_ms_idle.median)}, p99 ${ms(d.create_ms_idle.p99)}`],
            ["API create → running (mini) during the run", during],
          ],
        ) +
        "\n",
    );
  }
  if (Object.keys(m.errors).length)
    parts.push(
      `## Errors\n\n${Object.entries(m.errors)
        .map(([k, v]) => `- ${k}: ${v}`)
        .join("\n")}\n`,
    );
  return parts.join("\n");
}

export function charts(r: Results): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.provision) {
    const groups = Object.entries(r.provision.templates).flatMap(([t, v]) =>
      (["sequential", "concurrent"] as const).map((mode) => ({
        label: `${t}, ${mode === "sequential" ? "sequential" : `${r.provision!.options.concurrency}-way`}`,
        values: r.provision!.contenders.map((c) => ({
          series: c,
          value: v.contenders[c] ? (mode === "sequential" ? v.contenders[c]!.sequential_ms.median : v.contenders[c]!.concurrent_ms.median) : null,
        })),
      })),
    );
    out["provision.svg"] = barChart({ title: "Create → running, median", unit: "milliseconds, lower is better", groups });
  }
  if (r.density) {
    const d = r.density;
    out["density.svg"] = lineChart({
      title: `Ramp to ${d.running} running ${d.options.template} tenants`,
      xLabel: "tenants running",
      yLabel: "create → running, median of 25 (ms)",
      y2Label: "MemAvailable (MiB)",
      series: [
        { name: "create → running (ms, left)", points: d.ramp.map((p) => ({ x: p.tenants, y: p.create_ms_median })) },
        { name: "MemAvailable (MiB, right)", points: d.ramp.map((p) => ({ x: p.tenants, y: p.mem_available_mib })), axis: "right" },
      ],
    });
    out["memory.svg"] = barChart({
      title: `Memory per ${d.options.template} tenant`,
      unit: "MiB per tenant (host memory in use, delta)",
      groups: [
        {
          label: "shared /usr",
          values: [
            { series: "on", value: d.shared_paths.on.used_per_tenant_mib },
            { series: "off", value: d.shared_paths.off.used_per_tenant_mib },
          ],
        },
        {
          label: "KSM",
          values: [
            { series: "on", value: d.memory_per_idle_tenant_mib.host_used },
            { series: "off", value: round2(d.memory_per_idle_tenant_mib.host_used + d.ksm.saving_per_tenant_mib) },
          ],
        },
      ],
    });
  }
  if (r.stats) {
    out["stats.svg"] = lineChart({
      title: "Stats for all tenants: time per collection",
      xLabel: "tenants",
      yLabel: "milliseconds",
      series: [
        { name: "in-daemon collect", points: r.stats.points.map((p) => ({ x: p.tenants, y: p.collect_ms })) },
        { name: "round trip", points: r.stats.points.map((p) => ({ x: p.tenants, y: p.roundtrip_ms })) },
      ],
    });
  }
  if (r.scale?.create_curve.length) {
    out["scale.svg"] = lineChart({
      title: `API create (stopped mini) while filling to ${r.scale.options.tenants} tenants`,
      xLabel: "tenants",
      yLabel: "milliseconds",
      series: [
        { name: "median", points: r.scale.create_curve.map((p) => ({ x: p.tenants, y: p.median_ms })) },
        { name: "p99", points: r.scale.create_curve.map((p) => ({ x: p.tenants, y: p.p99_ms })) },
      ],
    });
  }
  return out;
}

/** Writes RESULTS.md and charts/ into dir; returns the Markdown. */
export async function writeReport(dir: string): Promise<string> {
  const r = await readResults(dir);
  await fs.mkdir(path.join(dir, "charts"), { recursive: true });
  for (const [name, svg] of Object.entries(charts(r))) await fs.writeFile(path.join(dir, "charts", name), svg);
  const md = renderMarkdown(r, "charts");
  await fs.writeFile(path.join(dir, "RESULTS.md"), md);
  return md;
}

/** README's Benchmarks section (between the bench markers): targets, the provision table, charts. */
export function readmeSection(r: Results): string {
  const lines = [
    "<!-- bench:start (written by `npm run bench`; edit bench/report.ts instead) -->",
    `Measured ${r.meta.date.slice(0, 10)} on this machine (${r.meta.machine.cpus} CPUs, ${r.meta.machine.memory_gib} GiB) in one run of \`npm run bench\`${reruns(r.meta) ? ` (run again since: ${reruns(r.meta)})` : ""}; every table is in [bench/results/RESULTS.md](bench/results/RESULTS.md), the raw numbers in \`bench/results/*.json\`.`,
    "",
    table(
      ["target", "measured", "met"],
      targets(r).map((t) => [t.target, t.measured, t.met === null ? "not measured" : t.met ? "**met**" : "**missed**"]),
    ),
    "",
  ];
  if (r.provision) lines.push(provisionTable(r.provision), "", "![provision](bench/results/charts/provision.svg)", "");
  if (r.density) lines.push("![density](bench/results/charts/density.svg)", "", "![memory](bench/results/charts/memory.svg)", "");
  if (r.stats) lines.push("![stats](bench/results/charts/stats.svg)", "");
  lines.push("<!-- bench:end -->");
  return lines.join("\n");
}

export async function updateReadme(readme: string, dir: string): Promise<void> {
  const r = await readResults(dir);
  const text = await fs.readFile(readme, "utf8");
  const section = readmeSection(r);
  const re = /<!-- bench:start[\s\S]*?<!-- bench:end -->/;
  if (!re.test(text)) throw new Error("README.md has no <!-- bench:start --> … <!-- bench:end --> markers");
  await fs.writeFile(readme, text.replace(re, section));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? path.join(import.meta.dirname, "results");
  process.stdout.write(await writeReport(dir));
}

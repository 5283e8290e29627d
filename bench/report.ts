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
import type { BackupResult } from "./scenarios/backup.js";

export interface Meta {
  date: string;
  smoke: boolean;
  machine: { kernel: string; cpus: number; memory_gib: number; lxc: string; btrfs: string; incus: string | null };
  duration_s: number;
  errors: Record<string, string>;
}

export interface Results {
  meta: Meta;
  provision?: ProvisionResult;
  wake?: WakeResult;
  density?: DensityResult;
  stats?: StatsResult;
  delete?: DeleteResult;
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
    backup: await read("backup"),
  };
}

const ms = (v: number | undefined | null) => (v === undefined || v === null ? "n/a" : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`);
const round2 = (v: number) => Math.round(v * 100) / 100;
const x = (v: number | undefined | null) => (v === undefined || v === null ? "n/a" : `${v.toFixed(2)}×`);

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const mini = r.provision?.templates.mini?.contenders;
  if (mini?.hoody) {
    const ratio = mini.hoody.ratio_to_floor?.sequential_median ?? null;
    out.push({ target: "API create→running, mini: median ≤ 2× the floor", measured: `${ms(mini.hoody.sequential_ms.median)} vs floor ${ms(mini.floor?.sequential_ms.median)} = ${x(ratio)} (20-way: ${x(mini.hoody.ratio_to_floor?.concurrent_median)})`, met: ratio === null ? null : ratio <= 2 });
    const incus = mini.incus?.sequential_ms.median;
    const speedup = incus ? incus / mini.hoody.sequential_ms.median : null;
    out.push({
      target: "API create→running, mini: ≥ 4× faster than Incus",
      measured: incus ? `Incus ${ms(incus)} / Hoody ${ms(mini.hoody.sequential_ms.median)} = ${x(speedup)} (20-way: ${x(mini.incus!.concurrent_ms.median / mini.hoody.concurrent_ms.median)})` : `not measured: ${r.provision?.skipped.incus ?? "incus contender absent"}`,
      met: speedup === null ? null : speedup >= 4,
    });
  }
  if (r.density) {
    const d = r.density;
    out.push({ target: `${d.options.target} running ${d.options.template} tenants`, measured: `${d.running} running${d.stopped_reason ? ` (stopped: ${d.stopped_reason})` : ""}`, met: d.running >= d.options.target && d.options.target >= 500 });
    out.push({ target: "delta disk at creation ≤ 1 MiB each", measured: `median ${d.delta_at_creation_kib.median} KiB, max ${d.delta_at_creation_kib.max} KiB (after first writes: median ${d.delta_after_first_writes_kib.median} KiB)`, met: d.delta_at_creation_kib.max <= 1024 });
    out.push({ target: "KSM saving reported with KSM on vs off", measured: `${d.ksm.saving_mib} MiB for ${d.running} tenants (${d.ksm.saving_per_tenant_mib} MiB each; host memory in use Δ ${d.ksm.host_used_delta_mib} MiB)`, met: Number.isFinite(d.ksm.saving_mib) });
  }
  if (r.stats) {
    const p = r.stats.points.find((q) => q.tenants === 1000) ?? r.stats.points.at(-1)!;
    out.push({ target: "stats for 1,000 tenants ≤ 100 ms", measured: `${p.tenants} tenants (${p.running} running): collect ${ms(p.collect_ms)}, round trip ${ms(p.roundtrip_ms)}; linear fit R² ${r.stats.fit_roundtrip.r2}`, met: p.tenants >= 1000 ? p.roundtrip_ms <= 100 : null });
  }
  if (r.delete) out.push({ target: "GDPR delete is complete", measured: `${r.delete.checks_passed}/${r.delete.tenants * r.delete.checks_per_tenant} checks, median ${ms(r.delete.delete_ms.median)}`, met: r.delete.complete });
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
        rows.push([template, mode === "sequential" ? `${p.options.sequential} sequential` : `${p.options.concurrency}-way ×${p.options.rounds}`, name, ms(s.median), ms(s.p99), x(ratio), mode === "concurrent" ? `${c.concurrent_per_s}/s` : ""]);
      }
    }
    for (const [name, c] of Object.entries(t.contenders)) {
      if (c.first_byte_ms) rows.push([template, name === "hoody" ? "create → first byte, tenant URL (router)" : "create → first byte, container IP", name, ms(c.first_byte_ms.median), ms(c.first_byte_ms.p99), "", ""]);
    }
  }
  return table(["template", "run", "contender", "median", "p99", "÷ floor", "throughput"], rows);
}

export function renderMarkdown(r: Results, chartDir: string): string {
  const parts: string[] = [];
  const m = r.meta;
  parts.push(`# Benchmark results\n\nRun ${m.date}${m.smoke ? " (SMOKE: tiny counts, numbers meaningless)" : ""} on ${m.machine.cpus} CPUs, ${m.machine.memory_gib} GiB, kernel ${m.machine.kernel}, ${m.machine.lxc}, ${m.machine.btrfs}${m.machine.incus ? `, Incus ${m.machine.incus}` : ""}; ${m.duration_s} s. Regenerate: \`npm run bench\`.\n`);
  parts.push(`## Targets\n\n${table(["target", "measured", "met"], targets(r).map((t) => [t.target, t.measured, t.met === null ? "not measured" : t.met ? "**met**" : "**missed**"]))}\n`);
  if (r.provision) {
    const skipped = Object.entries(r.provision.skipped).map(([k, v]) => `${k} skipped: ${v}`).join("; ");
    parts.push(`## Provision: create → running\n\nContenders alternate within the run. *hoody* = \`POST /api/v1/projects/{id}/containers\` → 201 running; *floor* = \`btrfs subvolume snapshot\` + the daemon's LXC config + \`lxc-start -d\` by hand; *incus* = \`incus copy\` + \`incus start\` on a BTRFS pool. The web server admits ${r.provision.hoody_create_concurrency} creates at a time and queues the rest (admission control), so in the ${r.provision.options.concurrency}-way runs a Hoody create's latency includes its wait in that queue; the floor and Incus start all ${r.provision.options.concurrency} at once.${skipped ? ` ${skipped}.` : ""}\n\n${provisionTable(r.provision)}\n\n![provision](${chartDir}/provision.svg)\n`);
  }
  if (r.wake) {
    parts.push(`## Wake: first byte from a stopped tenant through the router\n\n${table(["template", "n", "wake median", "wake p99", "warm request median"], Object.entries(r.wake.templates).map(([t, v]) => [t, r.wake!.n, ms(v.first_byte_ms.median), ms(v.first_byte_ms.p99), ms(v.warm_request_ms.median)]))}\n`);
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
            ["KSM on vs off, same set", `saves ${d.ksm.saving_mib} MiB = ${d.ksm.saving_per_tenant_mib} MiB per tenant (the set's ksm_process_profit after ${d.ksm.on.full_scans} full scans; host pages_sharing ${d.ksm.on.pages_sharing} → ${d.ksm.off.pages_sharing} when off); host memory in use ${d.ksm.on.used_mib} MiB on vs ${d.ksm.off.used_mib} MiB off (Δ ${d.ksm.host_used_delta_mib} MiB, includes other work on the box); host KSM settings restored: ${d.ksm.settings_restored}`],
            [`shared read-only paths (${d.shared_paths.shared_paths.join(", ") || "none"}) on vs off, ${d.shared_paths.tenants_each} tenants each`, `host ${d.shared_paths.on.used_per_tenant_mib} vs ${d.shared_paths.off.used_per_tenant_mib} MiB per tenant; cgroup ${d.shared_paths.on.cgroup_per_tenant_mib} vs ${d.shared_paths.off.cgroup_per_tenant_mib} MiB per tenant`],
          ],
        ) +
        `\n\n![density](${chartDir}/density.svg)\n\n![memory](${chartDir}/memory.svg)\n`,
    );
  }
  if (r.stats) {
    const s = r.stats;
    parts.push(
      `## Stats cost: every tenant's stats in one collection\n\n${table(["tenants", "running", "in-daemon collect", "round trip (JSON over the socket)"], s.points.map((p) => [p.tenants, p.running, ms(p.collect_ms), ms(p.roundtrip_ms)]))}\n\n` +
        `Linear fit: collect ${s.fit_collect.ms_per_1000_tenants} ms per 1,000 tenants (R² ${s.fit_collect.r2}); round trip ${s.fit_roundtrip.ms_per_1000_tenants} ms per 1,000 (R² ${s.fit_roundtrip.r2}).${s.stopped_early ? ` Note: ${s.stopped_early}.` : ""}\n\n![stats](${chartDir}/stats.svg)\n`,
    );
  }
  if (r.backup) {
    const b = r.backup;
    const mib = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MiB`;
    parts.push(`## Backup and restore\n\n${table(["template", "own data", "template", "backup file", "backup", "restore in place", "import as new", "export (tar)", "checksums"], [[b.template, `${b.data_mib} MiB`, mib(b.template_bytes), mib(b.backup_bytes), ms(b.backup_ms), ms(b.restore_in_place_ms), ms(b.import_ms), `${ms(b.export_ms)}, ${mib(b.export_bytes)}`, b.checksum_ok ? "match" : "DIFFER"]])}\n`);
  }
  if (r.delete) {
    const d = r.delete;
    parts.push(`## GDPR delete\n\n${table(["template", "tenants", "snapshots each", "median", "p99", "completeness checks"], [[d.template, d.tenants, d.snapshots_each, ms(d.delete_ms.median), ms(d.delete_ms.p99), `${d.checks_passed}/${d.tenants * d.checks_per_tenant}${d.failures.length ? ` — failed: ${d.failures.slice(0, 5).join("; ")}` : ""}`]])}\n`);
  }
  if (Object.keys(m.errors).length) parts.push(`## Errors\n\n${Object.entries(m.errors).map(([k, v]) => `- ${k}: ${v}`).join("\n")}\n`);
  return parts.join("\n");
}

export function charts(r: Results): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.provision) {
    const groups = Object.entries(r.provision.templates).flatMap(([t, v]) =>
      (["sequential", "concurrent"] as const).map((mode) => ({
        label: `${t}, ${mode === "sequential" ? "sequential" : `${r.provision!.options.concurrency}-way`}`,
        values: r.provision!.contenders.map((c) => ({ series: c, value: v.contenders[c] ? (mode === "sequential" ? v.contenders[c]!.sequential_ms.median : v.contenders[c]!.concurrent_ms.median) : null })),
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
        { label: "shared /usr", values: [{ series: "on", value: d.shared_paths.on.used_per_tenant_mib }, { series: "off", value: d.shared_paths.off.used_per_tenant_mib }] },
        { label: "KSM", values: [{ series: "on", value: d.memory_per_idle_tenant_mib.host_used }, { series: "off", value: round2(d.memory_per_idle_tenant_mib.host_used + d.ksm.saving_per_tenant_mib) }] },
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
    `Measured ${r.meta.date.slice(0, 10)} on this machine (${r.meta.machine.cpus} CPUs, ${r.meta.machine.memory_gib} GiB) in one run of \`npm run bench\`; every table is in [bench/results/RESULTS.md](bench/results/RESULTS.md), the raw numbers in \`bench/results/*.json\`.`,
    "",
    table(["target", "measured", "met"], targets(r).map((t) => [t.target, t.measured, t.met === null ? "not measured" : t.met ? "**met**" : "**missed**"])),
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

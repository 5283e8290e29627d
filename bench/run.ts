// The benchmark suite, one entry: provision (hoody vs the floor vs Incus), wake, density, stats
// cost, GDPR delete, the changes API (delta browser), /metrics, dedup, scale and backup, on one throwaway Hoody stack
// (own pool, subnet, nft table, uid ranges; removed at the end, even on failure). Writes
// <out>/<scenario>.json, <out>/meta.json, <out>/RESULTS.md and <out>/charts/*.svg; a full run also
// refreshes README.md's Benchmarks section.
//   tsx bench/run.ts                    full run (npm run bench), results in bench/results/
//   tsx bench/run.ts --smoke --out DIR  a few seconds per scenario (npm test's bench smoke test)
//   --only provision,wake,density,stats,delete,metrics,changes,dedup,scale,backup   a subset (development)
//   HOODY_BENCH_SCALE_TENANTS=300 HOODY_BENCH_SCALE_RUNNING=30 --only scale   the scale scenario at a small size
//   --set density.target=50 --set provision.templates='["mini"]'   override a count (JSON or text)
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { existsSync } from "node:fs";
import { execa } from "execa";
import { TestStack } from "../testkit/stack-harness.js";
import { FloorContender, HoodyContender, WarmHoodyContender, type Contender } from "./lib/contenders.js";
import { incusContender } from "./lib/incus.js";
import { log, MiB, round } from "./lib/util.js";
import { provision } from "./scenarios/provision.js";
import { wake } from "./scenarios/wake.js";
import { density, deleteAll } from "./scenarios/density.js";
import { statsCost, type StatsPoint } from "./scenarios/stats.js";
import { gdprDelete } from "./scenarios/delete.js";
import { changesLatency } from "./scenarios/changes.js";
import { metricsScrape } from "./scenarios/metrics.js";
import { scale } from "./scenarios/scale.js";
import { dedupScenario } from "./scenarios/dedup.js";
import { backupScenario } from "./scenarios/backup.js";
import { updateReadme, writeReport, type Meta } from "./report.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCENARIOS = ["provision", "wake", "density", "stats", "delete", "metrics", "changes", "dedup", "scale", "backup"] as const;
type Scenario = (typeof SCENARIOS)[number];

function parseArgs(argv: string[]) {
  const args = { smoke: false, out: "", only: [...SCENARIOS] as Scenario[], noIncus: false, set: [] as [string, unknown][] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--smoke") args.smoke = true;
    else if (a === "--no-incus") args.noIncus = true;
    else if (a === "--out") args.out = argv[++i] ?? "";
    else if (a === "--set") {
      const [key, ...rest] = (argv[++i] ?? "").split("=");
      const text = rest.join("=");
      let value: unknown = text;
      try {
        value = JSON.parse(text);
      } catch {
        // plain text
      }
      args.set.push([key!, value]);
    } else if (a === "--only") {
      const list = (argv[++i] ?? "").split(",") as Scenario[];
      for (const s of list) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(", ")}`);
      args.only = list;
    } else throw new Error(`unknown argument ${a}`);
  }
  args.out ||= path.join(ROOT, "bench", "results");
  return args;
}

const FULL = {
  provision: { templates: ["mini", "starter"], sequential: 100, concurrency: 20, rounds: 5, keep: 20 },
  wake: { templates: ["mini", "starter"], n: 30 },
  density: { template: "starter", target: 500, sharedCompare: 50, minAvailableBytes: 4096 * MiB, settleMs: 10_000, ksmSettleMs: 240_000, statsCheckpoints: [100, 250, 500] },
  stats: { checkpoints: [100, 250, 500, 750, 1000], template: "mini", minAvailableBytes: 3072 * MiB },
  delete: { template: "starter", n: 10, snapshots: 3 },
  metrics: { tenants: 1000, scrapes: 30 },
  changes: { files: 100_000, repeats: 5 },
  dedup: { template: "starter", n: 100, sharedMiB: 20, files: 20, ownMiB: 1, creates: 20 },
  backup: { template: "starter", dataMiB: 50 },
  stack: { poolSizeMiB: 32768, subnet16: true, uidRanges: 1100 },
  // On a stack of its own; sizes from the environment so the full run can be sized to the box.
  scale: {
    tenants: Number(process.env.HOODY_BENCH_SCALE_TENANTS ?? 10_000),
    running: Number(process.env.HOODY_BENCH_SCALE_RUNNING ?? 1000),
    curveEvery: 1000,
    fillConcurrency: 8,
    samples: 50,
    listSamples: 500,
    poolSizeMiB: 65536,
  },
};
const SMOKE: typeof FULL = {
  provision: { templates: ["mini"], sequential: 2, concurrency: 2, rounds: 1, keep: 20 },
  wake: { templates: ["mini"], n: 2 },
  density: { template: "mini", target: 3, sharedCompare: 1, minAvailableBytes: 1024 * MiB, settleMs: 200, ksmSettleMs: 1500, statsCheckpoints: [2] },
  stats: { checkpoints: [4, 8], template: "mini", minAvailableBytes: 1024 * MiB },
  delete: { template: "mini", n: 1, snapshots: 2 },
  metrics: { tenants: 20, scrapes: 3 },
  changes: { files: 200, repeats: 1 },
  dedup: { template: "mini", n: 3, sharedMiB: 4, files: 4, ownMiB: 1, creates: 2 },
  backup: { template: "mini", dataMiB: 2 },
  stack: { poolSizeMiB: 4096, subnet16: false, uidRanges: 0 },
  scale: { tenants: 20, running: 3, curveEvery: 10, fillConcurrency: 4, samples: 3, listSamples: 3, poolSizeMiB: 4096 },
};

async function version(cmd: string, args: string[]): Promise<string | null> {
  const r = await execa(cmd, args, { reject: false });
  return r.exitCode === 0 ? r.stdout.split("\n")[0]!.trim() : null;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cfg = structuredClone(args.smoke ? SMOKE : FULL);
  for (const [key, value] of args.set) {
    const [scope, field] = key.split(".") as [keyof typeof cfg, string];
    if (!cfg[scope] || !(field in cfg[scope])) throw new Error(`--set: unknown setting ${key}`);
    (cfg[scope] as Record<string, unknown>)[field] = value;
  }
  const t0 = Date.now();
  await fs.mkdir(args.out, { recursive: true });
  const errors: Record<string, string> = {};
  const save = (name: string, data: unknown) => fs.writeFile(path.join(args.out, `${name}.json`), JSON.stringify(data, null, 2) + "\n");
  // A stale file from an earlier run must not pass for this run's result.
  for (const s of args.only) await fs.rm(path.join(args.out, `${s}.json`), { force: true });

  const stack = await TestStack.create({
    templates: ["mini"],
    poolSizeMiB: cfg.stack.poolSizeMiB,
    ...(cfg.stack.subnet16 ? { subnet16: true } : {}),
    ...(cfg.stack.uidRanges ? { uidRanges: cfg.stack.uidRanges } : {}),
  });
  const contenders: Contender[] = [];
  let incusVersion: string | null = null;
  try {
    await stack.startRouter();
    const project = (await stack.api("POST", "/projects", { alias: "bench" })).body.data.id as string;
    const run = async (name: Scenario, fn: () => Promise<unknown>) => {
      if (!args.only.includes(name)) return undefined;
      const s0 = Date.now();
      try {
        const r = await fn();
        await save(name, r);
        log(`${name}: done in ${round((Date.now() - s0) / 1000)} s`);
        return r;
      } catch (e) {
        errors[name] = (e as Error).stack ?? String(e);
        log(`${name} FAILED: ${errors[name]}`);
        return undefined;
      }
    };

    await run("provision", async () => {
      contenders.push(new HoodyContender(stack, project), new FloorContender(stack), new WarmHoodyContender(stack, project, cfg.provision.concurrency));
      const skipped: Record<string, string> = {};
      if (args.noIncus) skipped.incus = "--no-incus";
      else {
        const inc = await incusContender(stack, cfg.provision.templates);
        if ("skip" in inc) {
          skipped.incus = inc.skip;
          log(`provision: Incus contender skipped: ${inc.skip}`);
        } else {
          contenders.push(inc.contender);
          incusVersion = inc.version;
        }
      }
      return provision(stack, contenders, skipped, cfg.provision);
    });
    for (const c of contenders) await c.close().catch((e) => log(`close ${c.name}: ${(e as Error).message}`));

    await run("wake", () => wake(stack, project, cfg.wake.templates, cfg.wake.n));
    await run("delete", () => gdprDelete(stack, project, cfg.delete));
    await run("changes", () => changesLatency(stack, project, cfg.changes));
    await run("backup", () => backupScenario(stack, project, cfg.backup));

    let earlier: StatsPoint[] = [];
    await run("density", async () => {
      const d = await density(stack, cfg.density);
      earlier = d.stats_points;
      return d;
    });
    await run("stats", () => statsCost(stack, { ...cfg.stats, earlier }));
    await run("metrics", () => metricsScrape(cfg.metrics));
    /** The tenants earlier scenarios left on the shared stack (the density and stats scenarios' 1,000 running). */
    const removeLeft = async (before: Scenario) => {
      if (!args.only.includes(before)) return;
      const left = await stack.host.client.call("tenants.list", {});
      if (!left.length) return;
      log(`${before}: removing the ${left.length} tenants earlier scenarios left`);
      await deleteAll(
        stack,
        left.map((t) => t.id),
      );
    };
    // Scale's own stack measures a box of its own making: the full run of 2026-12-03 14:25Z left
    // the stats scenario's 1,000 running beside it (create at 100: 181 ms, against 90 alone).
    await removeLeft("scale");
    await run("scale", () => scale(cfg.scale));
    // Last: its erases leave qgroups of shared extents behind (simple quotas), which the delete scenario's checks would count.
    // The stats scenario's tenants hold the stack's uid ranges (a full run failed here for want of one): they go first.
    await removeLeft("dedup");
    await run("dedup", () => dedupScenario(stack, project, cfg.dedup));
  } finally {
    for (const c of contenders) await c.close().catch(() => undefined);
    const left = await stack.host.client.call("tenants.list", {}).catch(() => [] as { id: string }[]);
    if (left.length) {
      log(`removing ${left.length} tenants`);
      await deleteAll(
        stack,
        left.map((t) => t.id),
      ).catch((e) => log(`cleanup: ${(e as Error).message}`));
    }
    await stack.stop();
  }

  const meta: Meta = {
    date: new Date().toISOString(),
    smoke: args.smoke,
    machine: {
      kernel: os.release(),
      cpus: os.cpus().length,
      memory_gib: round(os.totalmem() / 1024 ** 3, 1),
      lxc: `LXC ${(await version("lxc-start", ["--version"])) ?? "?"}`,
      btrfs: (await version("btrfs", ["--version"])) ?? "btrfs ?",
      incus: incusVersion,
    },
    duration_s: Math.round((Date.now() - t0) / 1000),
    errors,
  };
  await save("meta", meta);
  await writeReport(args.out);
  const readme = path.join(ROOT, "README.md");
  if (!args.smoke && args.only.length === SCENARIOS.length && !Object.keys(errors).length && existsSync(readme)) await updateReadme(readme, args.out);
  log(`results in ${args.out} (${meta.duration_s} s)${Object.keys(errors).length ? `; FAILED: ${Object.keys(errors).join(", ")}` : ""}`);
  if (Object.keys(errors).length) process.exitCode = 1;
}

await main();
// Keep-alive sockets (fetch, the host client) would hold the process open.
process.exit(process.exitCode ?? 0);

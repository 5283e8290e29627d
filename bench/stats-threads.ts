// A/B of the stats shard (HOODY_STATS_THREADS) on one box: N running `mini` tenants on a host of
// their own, the daemon restarted with 1 and 2 threads in turn (so both meet the same box, rounds
// apart), each round the median of 15 collections of the running tenants (a page's kind) and of 5
// of all. The box is noisy (a VM): compare the rounds pairwise, not one number.
// Usage: tsx bench/stats-threads.ts [tenants=1000] [rounds=5]
import { TestHost } from "../testkit/host-harness.js";

const n = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const h = await TestHost.create({ subnet16: true, uidRanges: n + 64, poolSizeMiB: 16384 });
try {
  await h.client.buildTemplate("mini");
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < n) {
        next++;
        ids.push((await h.client.call("tenants.create", { template: "mini" })).id);
      }
    }),
  );
  console.log(`${ids.length} running`);
  const runningOnly: Record<string, number[]> = { "1": [], "2": [] };
  for (let r = 0; r < rounds; r++) {
    for (const threads of ["1", "2"]) {
      h.env.HOODY_STATS_THREADS = threads;
      await h.killDaemon();
      await h.startDaemon(300_000);
      // The first collections open and hold each tenant's files.
      for (let i = 0; i < 3; i++) await h.client.call("host.stats", { ids });
      const page: number[] = [];
      for (let i = 0; i < 15; i++) page.push((await h.client.call("host.stats", { ids })).host.collectedMs);
      const all: number[] = [];
      for (let i = 0; i < 5; i++) all.push((await h.client.call("host.stats", {})).host.collectedMs);
      runningOnly[threads]!.push(median(page));
      console.log(`round ${r + 1}, ${threads} thread(s): running only ${median(page).toFixed(1)} ms, all ${median(all).toFixed(1)} ms`);
    }
  }
  for (const t of ["1", "2"]) console.log(`${t} thread(s): running-only medians ${runningOnly[t]!.map((x) => x.toFixed(1)).join(" ")}`);
} finally {
  await h.stop({ erase: false });
}

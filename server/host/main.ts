// Entry point of the privileged host daemon: `tsx server/host/main.ts` (npm run hostd).
import { hostConfigFromEnv } from "./config.js";
import { serve } from "./daemon.js";
import { heldFileBudget, heldKernelFiles, raiseOpenFileLimit } from "./drivers/kernfile.js";
import { Host } from "./host.js";
import { detectCgroupLayout } from "./drivers/cgroup.js";
import { StatsShard } from "./stats-shard.js";

async function main() {
  if (process.getuid?.() !== 0) throw new Error("the host daemon must run as root");
  const config = hostConfigFromEnv();
  // Before anything is held: the held files' budget comes from the open-file limit (heldFileBudget).
  await raiseOpenFileLimit();
  heldKernelFiles.max = heldFileBudget();
  // The stats shard's thread boots while the daemon adopts what is on disk.
  const shard = config.statsThreads > 1 ? StatsShard.start({ layout: detectCgroupLayout() }) : null;
  const host = await Host.open(config);
  if (shard) await host.adoptStatsShard(shard);
  const server = await serve(host, config.socketPath);
  const t = host.listTenants();
  console.log(
    `hostd: pool ${config.poolPath} (quota ${host.pool.quotaMode}), ${t.length} tenants adopted (${t.filter((x) => x.state === "running").length} running), listening on ${config.socketPath} (stats on ${host.statsThreads} threads)`,
  );
  // Held kernel files (stats) of tenants that stopped are closed even where nobody collects stats.
  setInterval(() => heldKernelFiles.release(), 60_000).unref();
  // Stopping the daemon never stops tenants: LXC monitors are their own processes.
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => {
  console.error("hostd: fatal:", e);
  process.exit(1);
});

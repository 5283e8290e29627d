// The stats shard's thread (stats-shard.ts): probes the tenants a collection sends it with drivers of
// its own (its own held files, its own process start times) and answers the probes' numbers; the
// daemon's thread makes them stats (with /proc/net/dev, which it reads once for all).
import { parentPort, workerData } from "node:worker_threads";
import { qgroupExclusiveBytes } from "./drivers/btrfs.js";
import { CgroupReader } from "./drivers/cgroup.js";
import { heldKernelFiles } from "./drivers/kernfile.js";
import type { ShardRequest, ShardSetup } from "./stats-shard.js";
import { PROBE_FIELDS, probeTenant, processStarts, type StatsSources } from "./stats.js";

const setup = workerData as ShardSetup;
heldKernelFiles.max = setup.heldBudget;
// Files of tenants that stopped are closed after a minute unread even when no collection comes.
setInterval(() => heldKernelFiles.release(), 60_000).unref();
const sources: StatsSources = {
  cgroups: new CgroupReader(setup.layout),
  pool: { subvolumeBytes: (id, held) => qgroupExclusiveBytes(poolUuid, id, held) },
};
let poolUuid = "";

parentPort!.on("message", (req: ShardRequest & { seq: number }) => {
  try {
    poolUuid = req.poolUuid;
    const up = req.up ? new Map(req.tenants.map((t, i) => [t.id, req.up![i]!])) : undefined;
    const probes = new Float64Array(req.tenants.length * PROBE_FIELDS);
    const read = { withStart: req.withStart, up, swap: req.swap };
    for (const [i, t] of req.tenants.entries()) probeTenant(sources, t, read, probes, i * PROBE_FIELDS);
    heldKernelFiles.release();
    if (up) heldKernelFiles.closeUnread("/proc/", req.startedAt);
    processStarts.prune();
    parentPort!.postMessage({ seq: req.seq, probes }, [probes.buffer]);
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, error: (e as Error).message });
  }
});
parentPort!.postMessage("ready");

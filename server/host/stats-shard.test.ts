import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { detectCgroupLayout } from "./drivers/cgroup.js";
import { heldKernelFiles } from "./drivers/kernfile.js";
import { readByShard, StatsShard } from "./stats-shard.js";
import { PROBE_FIELDS } from "./stats.js";

/** This process's fds open on `target`. */
const fdsOn = (target: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  });

describe("StatsShard", () => {
  it("splits tenants by a hash of the id, the same every time, a little over half to the shard", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `c${(i * 2654435761).toString(16).padStart(10, "0")}`);
    const share = ids.filter(readByShard).length / ids.length;
    expect(share).toBeGreaterThan(0.5);
    expect(share).toBeLessThan(0.62);
    expect(ids.map(readByShard)).toEqual(ids.map(readByShard));
  });

  // A process's ksm_stat (kernel 6.1+) is what the shard holds for a running tenant's processes.
  it.skipIf(!existsSync("/proc/self/ksm_stat"))("probes on its own thread, holds what it read, and closes it and gives its budget back when its thread ends", async () => {
    const budget = heldKernelFiles.max;
    const shard = StatsShard.start({ layout: detectCgroupLayout() });
    await shard.started;
    expect(shard.ready).toBe(true);
    expect(heldKernelFiles.max).toBeLessThan(budget);
    const ksmStat = `/proc/${process.pid}/ksm_stat`;
    expect(fdsOn(ksmStat)).toEqual([]);
    // A tenant whose processes the collection already listed (a whole fleet's): this process.
    const probes = await shard.collect({
      tenants: [{ id: "cshardtest0", subvolumeId: 0, snapshotIds: [] }],
      withStart: false,
      swap: false,
      up: [[process.pid]],
      startedAt: Date.now(),
      poolUuid: "none",
    });
    expect(probes).toHaveLength(PROBE_FIELDS);
    expect([probes[0], probes[8]]).toEqual([1, 1]); // running, one process
    expect(fdsOn(ksmStat)).toHaveLength(1);
    await shard.stop();
    expect(fdsOn(ksmStat)).toEqual([]);
    expect(heldKernelFiles.max).toBe(budget);
    expect(shard.ready).toBe(false);
    await expect(shard.collect({ tenants: [], withStart: false, swap: false, startedAt: Date.now(), poolUuid: "none" })).rejects.toThrow(/stopped/);
  });
});

import { describe, expect, it } from "vitest";
import { limitConfigLines, placementConfigLines } from "./cgroup.js";

describe("limitConfigLines", () => {
  it("v2: memory bytes, no swap, pids and cpu.max quota/period", () => {
    expect(limitConfigLines("v2", { memoryMiB: 512, cpuMilli: 1500, pids: 256 })).toEqual([
      "lxc.cgroup2.memory.max = 536870912",
      "lxc.cgroup2.memory.swap.max = 0",
      "lxc.cgroup2.pids.max = 256",
      "lxc.cgroup2.cpu.max = 150000 100000",
    ]);
  });

  it("v1: limit_in_bytes, the TCP buffer cap (socket buffers counted), pids and cfs quota (of the default period)", () => {
    expect(limitConfigLines("v1", { memoryMiB: 64, cpuMilli: 250, pids: 100 })).toEqual([
      "lxc.cgroup.memory.limit_in_bytes = 67108864",
      "lxc.cgroup.memory.kmem.tcp.limit_in_bytes = 67108864",
      "lxc.cgroup.pids.max = 100",
      "lxc.cgroup.cpu.cfs_quota_us = 25000",
    ]);
  });

  it("one core is a full period; several cores exceed it", () => {
    expect(limitConfigLines("v2", { memoryMiB: 16, cpuMilli: 1000, pids: 8 })).toContain("lxc.cgroup2.cpu.max = 100000 100000");
    expect(limitConfigLines("v1", { memoryMiB: 16, cpuMilli: 4000, pids: 8 })).toContain("lxc.cgroup.cpu.cfs_quota_us = 400000");
  });

  it("clamps the quota to the kernel minimum of 1000us", () => {
    expect(limitConfigLines("v2", { memoryMiB: 16, cpuMilli: 10, pids: 8 })).toContain("lxc.cgroup2.cpu.max = 1000 100000");
    expect(limitConfigLines("v1", { memoryMiB: 16, cpuMilli: 5, pids: 8 })).toContain("lxc.cgroup.cpu.cfs_quota_us = 1000");
  });

  it("rounds fractional quotas to whole microseconds", () => {
    // 12.345 ms of every 100 ms -> 12345 us; 0.0125 core would be 1250 us.
    expect(limitConfigLines("v2", { memoryMiB: 16, cpuMilli: 123, pids: 8 })).toContain("lxc.cgroup2.cpu.max = 12300 100000");
    expect(limitConfigLines("v1", { memoryMiB: 16, cpuMilli: 15, pids: 8 })).toContain("lxc.cgroup.cpu.cfs_quota_us = 1500");
  });

  it("handles large memory limits exactly", () => {
    expect(limitConfigLines("v2", { memoryMiB: 1024 * 1024, cpuMilli: 1000, pids: 8 })[0]).toBe("lxc.cgroup2.memory.max = 1099511627776");
  });
});

describe("placementConfigLines", () => {
  it("puts the container below the tenant's own lasting cgroup, the monitor apart", () => {
    expect(placementConfigLines("c0123456789")).toEqual(["lxc.cgroup.dir.container = hoody.tenants/c0123456789/payload", "lxc.cgroup.dir.monitor = hoody.monitors/c0123456789"]);
  });
});

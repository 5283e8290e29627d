// Cgroup reading and limit settings for both layouts: pure v2 (production Debian 12) and hybrid
// (v1 controllers + v2 unified, as on this build VM). LXC names a tenant's cgroup lxc.payload.<name>.
import { existsSync, readFileSync } from "node:fs";
import type { Limits } from "../../engine/protocol.js";

export type CgroupLayout = "v1" | "v2";
const ROOT = "/sys/fs/cgroup";

export function detectCgroupLayout(): CgroupLayout {
  return existsSync(`${ROOT}/cgroup.controllers`) ? "v2" : "v1";
}

/** LXC config lines that enforce a tenant's limits. */
export function limitConfigLines(layout: CgroupLayout, limits: Limits): string[] {
  const period = 100_000;
  const quota = Math.max(1000, Math.round((limits.cpuMilli / 1000) * period));
  const mem = limits.memoryMiB * 1024 * 1024;
  if (layout === "v2") {
    return [
      `lxc.cgroup2.memory.max = ${mem}`,
      `lxc.cgroup2.memory.swap.max = 0`,
      `lxc.cgroup2.pids.max = ${limits.pids}`,
      `lxc.cgroup2.cpu.max = ${quota} ${period}`,
    ];
  }
  return [
    `lxc.cgroup.memory.limit_in_bytes = ${mem}`,
    `lxc.cgroup.pids.max = ${limits.pids}`,
    `lxc.cgroup.cpu.cfs_period_us = ${period}`,
    `lxc.cgroup.cpu.cfs_quota_us = ${quota}`,
  ];
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function readNum(file: string): number {
  const t = readText(file);
  return t === null ? 0 : Number(t.trim()) || 0;
}

export class CgroupReader {
  constructor(readonly layout: CgroupLayout) {}

  private dir(controller: string, name: string): string {
    return this.layout === "v2" ? `${ROOT}/lxc.payload.${name}` : `${ROOT}/${controller}/lxc.payload.${name}`;
  }

  /** Pids in the tenant's cgroup (and its children on v2 via cgroup.procs of each level we know). */
  pids(name: string): number[] {
    const t = readText(`${this.dir("pids", name)}/cgroup.procs`);
    if (!t) return [];
    return t.split("\n").filter(Boolean).map(Number);
  }

  memoryBytes(name: string): number {
    return this.layout === "v2"
      ? readNum(`${this.dir("memory", name)}/memory.current`)
      : readNum(`${this.dir("memory", name)}/memory.usage_in_bytes`);
  }

  cpuUsageNs(name: string): number {
    if (this.layout === "v1") return readNum(`${this.dir("cpuacct", name)}/cpuacct.usage`);
    const stat = readText(`${this.dir("cpu", name)}/cpu.stat`) ?? "";
    const m = /usage_usec (\d+)/.exec(stat);
    return m?.[1] ? Number(m[1]) * 1000 : 0;
  }

  pidsCurrent(name: string): number {
    return readNum(`${this.dir("pids", name)}/pids.current`);
  }

  /** A tenant runs when its payload cgroup exists and holds processes. */
  running(name: string): boolean {
    return this.pids(name).length > 0;
  }
}

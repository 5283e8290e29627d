// Host info and stats: sysfs, procfs and cgroup files only, no process per tenant.
import fs from "node:fs/promises";
import { usableAddresses } from "../shared/ip.js";
import { hostKsmStats, ksmAvailable, processKsm } from "./drivers/ksm.js";
import { heldKernelFiles } from "./drivers/kernfile.js";
import { netDevCounters, ProcessStarts, type IfaceCounters } from "./drivers/procinfo.js";
import type { HostInfo, HostStats, TenantStats } from "../shared/protocol.js";
import type { TenantMeta } from "./meta.js";
import type { HostState } from "./state.js";

export function hostInfo(h: HostState): HostInfo {
  return {
    version: "0.1.0",
    pool: { path: h.pool.mountPath, uuid: h.pool.uuid, quotaMode: h.pool.quotaMode, loopImage: h.pool.image },
    cgroup: h.cgroups.layout,
    ksm: { available: ksmAvailable() },
    lxcVersion: h.versions.lxc,
    btrfsVersion: h.versions.btrfs,
    subnet: h.config.subnet,
    nftTable: h.config.nftTable,
    outboundNat: h.config.outboundNat,
  };
}

/** Reads sysfs/procfs/cgroup files only: no process per tenant. `sync` commits BTRFS first (one spawn). */
export async function stats(h: HostState, opts: { sync?: boolean; ids?: string[] } = {}): Promise<{ host: HostStats; tenants: TenantStats[] }> {
  if (opts.sync) await h.pool.sync();
  const startedAt = Date.now();
  // The collection's own time: its slices, not the other calls that run between them.
  let own = 0;
  let t0 = performance.now();
  // Pool members are no one's tenants yet (pool.list reports them).
  const metas = (opts.ids ? opts.ids.map((id) => h.tenants.get(id)).filter((m): m is TenantMeta => !!m) : [...h.tenants.values()]).filter((m) => !m.pooled);
  const net = netDevCounters();
  const meminfo = await fs.readFile("/proc/meminfo", "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
  // A full collection lists which run, with their pids, once: a stopped tenant's processes are not
  // probed (10,000 tenants). A page of asked ones probes just those: its cost is the page's, not the fleet's.
  const up = opts.ids ? undefined : h.cgroups.runningPids();
  // A host without swap has none in use: no tenant's swap counter needs reading.
  const read: CollectionReads = { net, withStart: !!opts.ids, up, swap: kb("SwapTotal") > 0 };
  const tenants: TenantStats[] = [];
  for (const [i, m] of metas.entries()) {
    tenants.push(tenantStats(h, m, read));
    // Other calls (a create, a page of the tenants table) run between slices of a large collection
    // instead of waiting for all of it (10,000 tenants hold the daemon's loop for a few hundred ms).
    if (i % STATS_SLICE === STATS_SLICE - 1) {
      own += performance.now() - t0;
      await new Promise((r) => setImmediate(r));
      t0 = performance.now();
    }
  }
  // Files of tenants that stopped and of processes that exited since are closed after a minute unread;
  // after a collection of the whole fleet, the /proc files of processes it did not meet at once.
  heldKernelFiles.release();
  if (!opts.ids) heldKernelFiles.closeUnread("/proc/", startedAt);
  processStarts.prune();
  const usage = await h.pool.usage();
  return {
    tenants,
    host: {
      pool: { ...usage, quotaMode: h.pool.quotaMode },
      ksm: hostKsmStats(),
      memory: { totalBytes: kb("MemTotal"), availableBytes: kb("MemAvailable") },
      // With ids, of the asked tenants only (counting the fleet would cost what asking for a page saves).
      tenants: { total: tenants.length, running: tenants.filter((t) => t.running).length },
      capacity: { uidRanges: { total: h.config.uidRanges, used: h.tenants.size }, addresses: { total: usableAddresses(h.config.subnet), used: h.tenants.size } },
      collectedMs: own + performance.now() - t0,
    },
  };
}

/**
 * A running tenant's start is its oldest process's: each process's start is read once, while the
 * ksm_stat the collection reads of it anyway stays held (the same process, ProcessStarts says why).
 */
const processStarts = new ProcessStarts((pid) => heldKernelFiles.openOf(`/proc/${pid}/ksm_stat`));

/** Tenants whose stats are read between two turns of the daemon's event loop. */
const STATS_SLICE = 250;

/** What a collection reads once for all its tenants, and what it reads of each. */
interface CollectionReads {
  /** /proc/net/dev. */
  net: Map<string, IfaceCounters>;
  /** Also each process's start time (pages and single tenants only). */
  withStart: boolean;
  /** runningPids(), when the whole fleet is collected. */
  up?: Map<string, number[]>;
  /** Whether the host has swap (else no tenant's swap counter is read). */
  swap: boolean;
}

export function tenantStats(h: HostState, m: TenantMeta, { net, withStart, up, swap }: CollectionReads): TenantStats {
  const pids = up ? (up.get(m.id) ?? []) : h.cgroups.pids(m.id);
  let ksmMergingPages = 0;
  let ksmProfitBytes = 0;
  for (const pid of pids) {
    const k = processKsm(pid);
    ksmMergingPages += k.mergingPages;
    ksmProfitBytes += k.profitBytes;
  }
  const running = pids.length > 0;
  const memoryBytes = running ? h.cgroups.memoryBytes(m.id) : 0;
  const c = net.get(m.veth);
  const started = running && withStart ? processStarts.oldestMs(pids) : null;
  return {
    id: m.id,
    running,
    paused: running && h.cgroups.frozen(m.id),
    deltaBytes: h.pool.subvolumeBytes(m.subvolumeId, running),
    snapshotBytes: m.snapshots.reduce((s, snap) => s + h.pool.subvolumeBytes(snap.subvolumeId), 0),
    memoryBytes,
    cpuUsageNs: running ? h.cgroups.cpuUsageNs(m.id) : 0,
    ksmMergingPages,
    ksmProfitBytes,
    pids: pids.length,
    memoryLimitBytes: m.limits.memoryMiB * 1024 * 1024,
    memoryPeakBytes: h.cgroups.memoryPeakBytes(m.id, running),
    swapBytes: running && swap ? h.cgroups.swapBytes(m.id, memoryBytes) : 0,
    cpuLimitMilli: m.limits.cpuMilli,
    diskLimitBytes: m.limits.diskMiB ? m.limits.diskMiB * 1024 * 1024 : null,
    // The host side of the veth receives what the tenant sends.
    network: {
      interface: "eth0",
      hostInterface: m.veth,
      address: m.ip,
      bytesReceived: c?.txBytes ?? 0,
      bytesSent: c?.rxBytes ?? 0,
      packetsReceived: c?.txPackets ?? 0,
      packetsSent: c?.rxPackets ?? 0,
      errorsReceived: c?.txErrors ?? 0,
      errorsSent: c?.rxErrors ?? 0,
      droppedInbound: c?.txDropped ?? 0,
      droppedOutbound: c?.rxDropped ?? 0,
    },
    startedAt: started === null ? null : new Date(started).toISOString(),
  };
}

// Host info and stats: sysfs, procfs and cgroup files only, no process per tenant.
import { readFileSync } from "node:fs";
import { usableAddresses } from "../shared/ip.js";
import { hostKsmStats, ksmAvailable, ksmStatPath, processKsm } from "./drivers/ksm.js";
import { heldKernelFiles } from "./drivers/kernfile.js";
import { netDevCounters, ProcessStarts, type IfaceCounters } from "./drivers/procinfo.js";
import type { HostInfo, HostStats, TenantStats } from "../shared/protocol.js";
import type { CgroupReader } from "./drivers/cgroup.js";
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
  // statfs on libuv's threads meanwhile: awaited at the end, it holds up nothing.
  const usage = h.pool.usage();
  // Handled here so that a collection that fails before the await leaves no unhandled rejection.
  usage.catch(() => undefined);
  const meminfo = readFileSync("/proc/meminfo", "latin1");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
  // A full collection lists which run, with their pids, once: a stopped tenant's processes are not
  // probed (10,000 tenants). A page of asked ones probes just those: its cost is the page's, not the fleet's.
  const up = opts.ids ? undefined : h.cgroups.runningPids((n) => h.tenants.has(n));
  // A host without swap has none in use: no tenant's swap counter needs reading.
  const swap = kb("SwapTotal") > 0;
  // The stats shard's tenants are read on its thread meanwhile (the other core): about half the
  // kernel reads and their parsing. Each tenant is always read by the same thread, which holds its files.
  const shard = h.statsShard?.ready ? h.statsShard : null;
  const mine = shard ? metas.filter((m) => !shard.takes(m.id)) : metas;
  const theirs = shard ? metas.filter((m) => shard.takes(m.id)) : [];
  const read: CollectionReads = { withStart: !!opts.ids, up, swap };
  const sharded = theirs.length
    ? shard!.collect({ tenants: theirs.map(probeTenantOf), withStart: read.withStart, swap, up: up && theirs.map((m) => up.get(m.id) ?? []), startedAt, poolUuid: h.pool.uuid }).catch((e: Error) => {
        console.error(`hostd: stats shard: ${e.message}; this collection reads its tenants on the daemon's thread`);
        return null;
      })
    : null;
  // A page's or a tenant's interfaces are read one by one; a fleet's from /proc/net/dev at once.
  const net = netDevCounters(opts.ids ? metas.map((m) => m.veth) : undefined);
  // Other calls (a create, a page of the tenants table) run between slices of a large collection
  // instead of waiting for all of it (10,000 tenants hold the daemon's loop for a few hundred ms).
  const probeSliced = async (list: TenantMeta[]) => {
    const out = new Float64Array(list.length * PROBE_FIELDS);
    for (const [i, m] of list.entries()) {
      probeTenant(h, probeTenantOf(m), read, out, i * PROBE_FIELDS);
      if (i % STATS_SLICE === STATS_SLICE - 1) {
        own += performance.now() - t0;
        await new Promise((r) => setImmediate(r));
        t0 = performance.now();
      }
    }
    return out;
  };
  const probes = await probeSliced(mine);
  const byId = new Map<string, TenantStats>();
  for (const [i, m] of mine.entries()) byId.set(m.id, assembleStats(m, probes, i * PROBE_FIELDS, net));
  if (sharded) {
    // The wait counts as the collection's: it is its other half. A shard that failed leaves its
    // tenants to this thread.
    const answer = (await sharded) ?? (await probeSliced(theirs));
    for (const [i, m] of theirs.entries()) byId.set(m.id, assembleStats(m, answer, i * PROBE_FIELDS, net));
  }
  const tenants = metas.map((m) => byId.get(m.id)!);
  // Files of tenants that stopped and of processes that exited since are closed after a minute unread;
  // after a collection of the whole fleet, the /proc files of processes it did not meet at once.
  heldKernelFiles.release();
  if (!opts.ids) heldKernelFiles.closeUnread("/proc/", startedAt);
  processStarts.prune();
  return {
    tenants,
    host: {
      pool: { ...(await usage), quotaMode: h.pool.quotaMode },
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
export const processStarts = new ProcessStarts((pid) => heldKernelFiles.openOf(ksmStatPath(pid)));

/** Tenants whose stats are read between two turns of the daemon's event loop. */
const STATS_SLICE = 250;

/** What a tenant's stats are read from: the daemon's drivers, or the stats shard's own. */
export interface StatsSources {
  cgroups: CgroupReader;
  pool: { subvolumeBytes(id: number, held?: boolean): number };
}

/** What a tenant's probe reads besides its cgroup (named by its id): its subvolume and snapshots'. */
export interface ProbeTenant {
  id: string;
  subvolumeId: number;
  snapshotIds: number[];
}

/** What a collection reads once for all its tenants, and what it reads of each. */
interface CollectionReads {
  /** Also each process's start time (pages and single tenants only). */
  withStart: boolean;
  /** runningPids(), when the whole fleet is collected. */
  up?: Map<string, number[]>;
  /** Whether the host has swap (else no tenant's swap counter is read). */
  swap: boolean;
}

/**
 * What a collection reads of one tenant, as PROBE_FIELDS numbers from `at` in `out` (NaN for none):
 * numbers, so that the stats shard answers in one transferred buffer, not a structured clone of a
 * thousand objects (which cost more than a fifth of the shard's reading).
 */
export function probeTenant(h: StatsSources, m: ProbeTenant, { withStart, up, swap }: CollectionReads, out: Float64Array, at: number): void {
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
  out[at + Probe.running] = running ? 1 : 0;
  out[at + Probe.paused] = running && h.cgroups.frozen(m.id) ? 1 : 0;
  out[at + Probe.deltaBytes] = h.pool.subvolumeBytes(m.subvolumeId, running);
  out[at + Probe.snapshotBytes] = m.snapshotIds.reduce((sum, id) => sum + h.pool.subvolumeBytes(id), 0);
  out[at + Probe.memoryBytes] = memoryBytes;
  out[at + Probe.cpuUsageNs] = running ? h.cgroups.cpuUsageNs(m.id) : 0;
  out[at + Probe.ksmMergingPages] = ksmMergingPages;
  out[at + Probe.ksmProfitBytes] = ksmProfitBytes;
  out[at + Probe.pids] = pids.length;
  out[at + Probe.memoryPeakBytes] = h.cgroups.memoryPeakBytes(m.id, running) ?? Number.NaN;
  out[at + Probe.swapBytes] = running && swap ? h.cgroups.swapBytes(m.id, memoryBytes) : 0;
  out[at + Probe.startedMs] = (running && withStart ? processStarts.oldestMs(pids) : null) ?? Number.NaN;
}

/** Where each field of a probe is. */
const Probe = {
  running: 0,
  paused: 1,
  deltaBytes: 2,
  snapshotBytes: 3,
  memoryBytes: 4,
  cpuUsageNs: 5,
  ksmMergingPages: 6,
  ksmProfitBytes: 7,
  pids: 8,
  memoryPeakBytes: 9,
  swapBytes: 10,
  startedMs: 11,
} as const;
export const PROBE_FIELDS = Object.keys(Probe).length;

/** A tenant's stats from its probe, its record and the collection's /proc/net/dev. */
function assembleStats(m: TenantMeta, p: Float64Array, at: number, net: Map<string, IfaceCounters>): TenantStats {
  const orNull = (v: number) => (Number.isNaN(v) ? null : v);
  const started = orNull(p[at + Probe.startedMs]!);
  return {
    id: m.id,
    running: p[at + Probe.running] === 1,
    paused: p[at + Probe.paused] === 1,
    deltaBytes: p[at + Probe.deltaBytes]!,
    snapshotBytes: p[at + Probe.snapshotBytes]!,
    memoryBytes: p[at + Probe.memoryBytes]!,
    cpuUsageNs: p[at + Probe.cpuUsageNs]!,
    ksmMergingPages: p[at + Probe.ksmMergingPages]!,
    ksmProfitBytes: p[at + Probe.ksmProfitBytes]!,
    pids: p[at + Probe.pids]!,
    memoryLimitBytes: m.limits.memoryMiB * 1024 * 1024,
    memoryPeakBytes: orNull(p[at + Probe.memoryPeakBytes]!),
    swapBytes: p[at + Probe.swapBytes]!,
    cpuLimitMilli: m.limits.cpuMilli,
    diskLimitBytes: m.limits.diskMiB ? m.limits.diskMiB * 1024 * 1024 : null,
    network: networkStats(m, net),
    startedAt: started === null ? null : new Date(started).toISOString(),
  };
}

function probeTenantOf(m: TenantMeta): ProbeTenant {
  return { id: m.id, subvolumeId: m.subvolumeId, snapshotIds: m.snapshots.map((s) => s.subvolumeId) };
}

/** A tenant's traffic from /proc/net/dev's line of its veth (read once per collection, by the daemon's thread). */
function networkStats(m: Pick<TenantMeta, "veth" | "ip">, net: Map<string, IfaceCounters>): TenantStats["network"] {
  const c = net.get(m.veth);
  // The host side of the veth receives what the tenant sends.
  return {
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
  };
}

// Host info, servers (cluster members) and stats: one /1.0/instances?recursion=2 call for every tenant.
import fs from "node:fs";
import type { HostInfo, HostStats, Limits, TenantStats } from "../../shared/protocol";
import type { EngineServer } from "../types";
import { K } from "./templates";
import type { IncusClusterMember, IncusInstanceFull } from "./types";
import { type IncusContext, T, isUp, mapError } from "./context";

export async function info(cx: IncusContext): Promise<HostInfo> {
  const [server, net] = await Promise.all([cx.serverInfo(), cx.network()]);
  return {
    version: `incus ${server.environment.server_version}`,
    pool: { path: cx.config.pool, uuid: "", quotaMode: "none", loopImage: null },
    cgroup: fs.existsSync("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1",
    ksm: { available: false },
    lxcVersion: server.environment.driver_version,
    btrfsVersion: server.environment.storage_version,
    subnet: net.subnet,
    nftTable: "incus",
    outboundNat: net.nat,
  };
}

/** A lone incusd is one place; a cluster has one per member (a member's specs from its own /1.0/resources). */
export async function servers(cx: IncusContext): Promise<EngineServer[]> {
  const server = await cx.serverInfo();
  const specsOf = async (member: string | null): Promise<EngineServer["specs"]> => {
    const r = await cx.client
      .get<{ cpu?: { total?: number; sockets?: { name?: string }[] }; memory?: { total?: number } }>("/1.0/resources", member ? { target: member } : undefined)
      .catch(() => null);
    const pool = await cx.client.get<{ space?: { total?: number } }>(`/1.0/storage-pools/${cx.config.pool}/resources`, member ? { target: member } : undefined).catch(() => null);
    return { cpuModel: r?.cpu?.sockets?.[0]?.name ?? null, cpuThreads: r?.cpu?.total ?? null, memoryBytes: r?.memory?.total ?? null, diskBytes: pool?.space?.total ?? null };
  };
  if (!server.environment.server_clustered) return [{ key: "incus", name: server.environment.server_name, member: null, online: true, specs: await specsOf(null) }];
  const members = await cx.client.get<IncusClusterMember[]>("/1.0/cluster/members", { recursion: 1 }).catch((e) => mapError(e));
  return Promise.all(
    members.map(async (m) => ({
      key: `incus:${m.server_name}`,
      name: m.server_name,
      member: m.server_name,
      online: m.status === "Online",
      specs: await specsOf(m.status === "Online" ? m.server_name : null),
    })),
  );
}

export async function stats(cx: IncusContext, opts: { sync?: boolean; ids?: string[] } = {}): Promise<{ host: HostStats; tenants: TenantStats[] }> {
  const t0 = performance.now();
  const [list, pool, resources] = await Promise.all([
    cx.instances(),
    cx.client.get<{ space: { used: number; total: number } }>(`/1.0/storage-pools/${cx.config.pool}/resources`).catch(() => ({ space: { used: 0, total: 0 } })),
    cx.client.get<{ memory: { total: number; used: number } }>("/1.0/resources").catch(() => ({ memory: { total: 0, used: 0 } })),
  ]);
  const all = list.filter((i) => i.config[K.kind] === "tenant");
  const wanted = opts.ids ? new Set(opts.ids) : null;
  let picked = all.filter((i) => !wanted || wanted.has(i.name));
  // One tenant's stats (GET …/stats) are read fresh: the listing is cached for up to 2 s, and
  // counters read twice within that would not move.
  if (opts.ids?.length === 1 && picked.length === 1) {
    const fresh = await cx.client.get<IncusInstanceFull>(`/1.0/instances/${encodeURIComponent(picked[0]!.name)}`, { recursion: 1 }).catch(() => null);
    if (fresh?.state) picked = [fresh];
  }
  const tenants = picked.map((i): TenantStats => {
    const s = i.state;
    const running = isUp(i);
    const limits = JSON.parse(i.config[T.limits] ?? "{}") as Partial<Limits>;
    const eth0 = s?.network?.eth0;
    const n = running ? eth0?.counters : undefined;
    return {
      id: i.name,
      running,
      paused: i.status === "Frozen",
      deltaBytes: 0,
      snapshotBytes: (i.snapshots ?? []).reduce((sum, x) => sum + Math.max(0, x.size ?? 0), 0),
      memoryBytes: running ? (s?.memory?.usage ?? 0) : 0,
      cpuUsageNs: running ? (s?.cpu?.usage ?? 0) : 0,
      ksmMergingPages: 0,
      ksmProfitBytes: 0,
      pids: running ? (s?.processes ?? 0) : 0,
      memoryLimitBytes: limits.memoryMiB ? limits.memoryMiB * 1024 * 1024 : 0,
      memoryPeakBytes: running ? (s?.memory?.usage_peak ?? null) : null,
      swapBytes: running ? (s?.memory?.swap_usage ?? 0) : 0,
      cpuLimitMilli: limits.cpuMilli ?? null,
      diskLimitBytes: limits.diskMiB ? limits.diskMiB * 1024 * 1024 : null,
      // Incus counts from the instance's side already.
      network: {
        interface: "eth0",
        hostInterface: eth0?.host_name || null,
        address: i.config[T.ip] || null,
        bytesReceived: n?.bytes_received ?? 0,
        bytesSent: n?.bytes_sent ?? 0,
        packetsReceived: n?.packets_received ?? 0,
        packetsSent: n?.packets_sent ?? 0,
        errorsReceived: n?.errors_received ?? 0,
        errorsSent: n?.errors_sent ?? 0,
        droppedInbound: n?.packets_dropped_inbound ?? 0,
        droppedOutbound: n?.packets_dropped_outbound ?? 0,
      },
      // last_used_at is when Incus last started it.
      startedAt: running && i.last_used_at && !i.last_used_at.startsWith("0001") ? new Date(i.last_used_at).toISOString() : null,
    };
  });
  return {
    tenants,
    host: {
      pool: { sizeBytes: pool.space.total, usedBytes: pool.space.used, quotaMode: "none" },
      ksm: { run: false, pagesShared: 0, pagesSharing: 0, savedBytes: 0, generalProfitBytes: 0 },
      memory: { totalBytes: resources.memory.total, availableBytes: Math.max(0, resources.memory.total - resources.memory.used) },
      // As the host daemon's: of the asked tenants when given ids.
      tenants: { total: picked.length, running: picked.filter(isUp).length },
      collectedMs: performance.now() - t0,
    },
  };
}

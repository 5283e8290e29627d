// Kernel counts all tenants share. Tenants' user namespaces are created by host root, so what a
// tenant's processes hold (inotify instances and watches, fanotify groups and marks, namespaces) is
// also charged to host root's per-user count in the initial namespace: one tenant at root's limit
// would starve every other tenant and the host itself. Each tenant therefore gets a share of its own,
// written into its user namespace's user.* sysctls before its init runs (see Lxc.configText), and the
// host limits are raised so that every tenant range at its share still leaves root a reserve.
// The conntrack table is host-wide too; its per-tenant share is an nft rule (nft.ts).
import fs from "node:fs/promises";
import type { HostConfig } from "../config.js";

const NAMESPACE_KINDS = ["user", "net", "uts", "ipc", "mnt", "pid", "cgroup", "time"] as const;
const INT_MAX = 2 ** 31 - 1;

export type KernelShares = Pick<HostConfig, "tenantInotifyInstances" | "tenantInotifyWatches" | "tenantNamespaces">;

/**
 * The user.* sysctls of a tenant's user namespace. The kernel counts them per uid inside the tenant
 * (as it counts per user on the host); the tenant cannot raise them, as it lacks CAP_SYS_RESOURCE.
 */
export function tenantUsernsSysctls(s: KernelShares): Record<string, number> {
  return {
    "user.max_inotify_instances": s.tenantInotifyInstances,
    "user.max_inotify_watches": s.tenantInotifyWatches,
    "user.max_fanotify_groups": s.tenantInotifyInstances,
    "user.max_fanotify_marks": s.tenantInotifyWatches,
    ...Object.fromEntries(NAMESPACE_KINDS.map((k) => [`user.max_${k}_namespaces`, s.tenantNamespaces])),
  };
}

/** What host root keeps for itself above all tenants' shares (Incus's production values where it has them). */
const HOST_RESERVE = { inotifyInstances: 1024, inotifyWatches: 1_048_576, namespaces: 10_000, conntrack: 65_536 };

/**
 * Least values (path under /proc/sys) of the host limits: host root's reserve plus every tenant range
 * (HOODY_UID_RANGES) at its share. Keys are counted per host uid, and each tenant uid is a host uid of
 * its own, so they need no sum: the floors are Incus's production values.
 */
export function hostSysctlFloors(c: KernelShares & Pick<HostConfig, "uidRanges" | "tenantConntrackMax">): Record<string, number> {
  const all = (share: number, reserve: number) => Math.min(INT_MAX, reserve + c.uidRanges * share);
  const instances = all(c.tenantInotifyInstances, HOST_RESERVE.inotifyInstances);
  const watches = all(c.tenantInotifyWatches, HOST_RESERVE.inotifyWatches);
  return {
    "fs/inotify/max_user_instances": instances,
    "fs/inotify/max_user_watches": watches,
    "fs/fanotify/max_user_groups": instances,
    "fs/fanotify/max_user_marks": watches,
    ...Object.fromEntries(NAMESPACE_KINDS.map((k) => [`user/max_${k}_namespaces`, all(c.tenantNamespaces, HOST_RESERVE.namespaces)])),
    "net/netfilter/nf_conntrack_max": all(c.tenantConntrackMax, HOST_RESERVE.conntrack),
    "kernel/keys/maxkeys": 2000,
    "kernel/keys/maxbytes": 2_000_000,
  };
}

/**
 * Raises each host sysctl to at least its floor, never lowers one (something else on the host may
 * rely on more). Set at every start: a rebooted host has the kernel's defaults again. A limit this
 * kernel lacks is skipped; one it refuses is an error (tenants would share root's count again).
 */
export async function raiseHostSysctls(floors: Record<string, number>): Promise<{ key: string; from: number; to: number }[]> {
  const raised: { key: string; from: number; to: number }[] = [];
  for (const [key, floor] of Object.entries(floors)) {
    const file = `/proc/sys/${key}`;
    const text = await fs.readFile(file, "utf8").catch(() => null);
    if (text === null) continue;
    const current = Number(text.trim());
    if (current >= floor) continue;
    await fs.writeFile(file, String(floor));
    raised.push({ key, from: current, to: floor });
  }
  return raised;
}

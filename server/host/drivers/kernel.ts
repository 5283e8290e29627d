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

type ShareKey = keyof KernelShares | "tenantConntrackMax";
type FloorConfig = KernelShares & Pick<HostConfig, "uidRanges" | "tenantConntrackMax">;

/** Each share-bound host limit (path under /proc/sys): the tenant share it covers and root's reserve. */
const SHARED_LIMITS: Record<string, { share: ShareKey; reserve: number }> = {
  "fs/inotify/max_user_instances": { share: "tenantInotifyInstances", reserve: HOST_RESERVE.inotifyInstances },
  "fs/inotify/max_user_watches": { share: "tenantInotifyWatches", reserve: HOST_RESERVE.inotifyWatches },
  "fs/fanotify/max_user_groups": { share: "tenantInotifyInstances", reserve: HOST_RESERVE.inotifyInstances },
  "fs/fanotify/max_user_marks": { share: "tenantInotifyWatches", reserve: HOST_RESERVE.inotifyWatches },
  ...Object.fromEntries(NAMESPACE_KINDS.map((k) => [`user/max_${k}_namespaces`, { share: "tenantNamespaces" as const, reserve: HOST_RESERVE.namespaces }])),
  "net/netfilter/nf_conntrack_max": { share: "tenantConntrackMax", reserve: HOST_RESERVE.conntrack },
};

/** Limits that bound no share (the kernel's own key quota for root): raised when possible, else kept. */
const FIXED_FLOORS: Record<string, number> = { "kernel/keys/maxkeys": 2000, "kernel/keys/maxbytes": 2_000_000 };

/**
 * Least values (path under /proc/sys) of the host limits: host root's reserve plus every tenant range
 * (HOODY_UID_RANGES) at its share. Keys are counted per host uid, and each tenant uid is a host uid of
 * its own, so they need no sum: the floors are Incus's production values.
 */
export function hostSysctlFloors(c: FloorConfig): Record<string, number> {
  const floors: Record<string, number> = {};
  for (const [key, { share, reserve }] of Object.entries(SHARED_LIMITS)) floors[key] = Math.min(INT_MAX, reserve + c.uidRanges * c[share]);
  return { ...floors, ...FIXED_FLOORS };
}

export interface SysctlFit {
  raised: { key: string; from: number; to: number }[];
  /** Limits the kernel would not raise; the share each bounds was lowered so every range still fits. */
  lowered: { key: string; limit: number; floor: number; share: ShareKey; asked: number; given: number }[];
  /** The shares to use: as configured, or lowered where a limit could not be raised. */
  shares: Pick<FloorConfig, ShareKey>;
}

/**
 * Raises each host limit to at least its floor, never lowers one (something else on the host may rely
 * on more). Set at every start: a rebooted host has the kernel's defaults again. A limit this kernel
 * lacks is skipped. A limit it refuses to raise (a VM or a container whose sysctls are capped from
 * outside, as on this project's build machine) would let tenants share root's count again, so the
 * share it bounds is lowered until every tenant range fits below it beside root's reserve; a limit
 * too small for even one of each tenant's share is an error naming it.
 */
export async function fitHostSysctls(c: FloorConfig, write: (file: string, value: string) => Promise<void> = (f, v) => fs.writeFile(f, v), root = "/proc/sys"): Promise<SysctlFit> {
  const fit: SysctlFit = {
    raised: [],
    lowered: [],
    shares: { tenantInotifyInstances: c.tenantInotifyInstances, tenantInotifyWatches: c.tenantInotifyWatches, tenantNamespaces: c.tenantNamespaces, tenantConntrackMax: c.tenantConntrackMax },
  };
  for (const [key, floor] of Object.entries(hostSysctlFloors(c))) {
    const text = await fs.readFile(`${root}/${key}`, "utf8").catch(() => null);
    if (text === null) continue;
    const current = Number(text.trim());
    if (current >= floor) continue;
    const refused = await write(`${root}/${key}`, String(floor)).then(
      () => false,
      (e: NodeJS.ErrnoException) => {
        if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS" || e.code === "EINVAL") return true;
        throw e;
      },
    );
    if (!refused) {
      fit.raised.push({ key, from: current, to: floor });
      continue;
    }
    const bound = SHARED_LIMITS[key];
    if (!bound) continue;
    const given = Math.floor((current - bound.reserve) / c.uidRanges);
    if (given < 1)
      throw new Error(
        `/proc/sys/${key} is ${current} and this kernel refuses to raise it: too small for ${c.uidRanges} tenant ranges beside root's reserve of ${bound.reserve}; lower HOODY_UID_RANGES or raise the limit from outside`,
      );
    fit.lowered.push({ key, limit: current, floor, share: bound.share, asked: c[bound.share], given });
    fit.shares[bound.share] = Math.min(fit.shares[bound.share], given);
  }
  return fit;
}

// Host daemon settings, from the environment. Tests build their own (own pool, subnet, nft table,
// veth prefix and uid slice) so they never collide with a running Hoody on the same machine.
import path from "node:path";
import { z } from "zod";
import { DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, DEFAULT_STOP_TIMEOUT_S, defaultHostdSocket } from "../shared/defaults.js";

const intFromEnv = (def: number) => z.coerce.number().int().nonnegative().default(def);
const capFromEnv = (def: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .default(def);

export const HostConfigSchema = z.object({
  dataDir: z.string().min(1),
  /** Where the BTRFS pool is mounted. */
  poolPath: z.string().min(1),
  /** Loop image backing the pool; unset when poolPath is an existing BTRFS mount. */
  poolImage: z.string().min(1).nullable(),
  poolImageSizeMiB: intFromEnv(8192),
  lxcPath: z.string().min(1),
  cacheDir: z.string().min(1),
  /** Where backups are written (one directory per tenant); an operator may mount another machine's storage here. */
  backupDir: z.string().min(1),
  /** The operator's backup key (64 hex digits, made on first use); restoring on another box needs the same file. */
  backupKeyFile: z.string().min(1),
  socketPath: z.string().min(1),
  /** Tenant addresses come from this IPv4 subnet (a /16 to /28). */
  subnet: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-8])$/),
  /** First host uid of the tenant uid ranges, and how many 65536-wide ranges may be leased. */
  uidBase: intFromEnv(10_000_000),
  // 10,000 tenants, a warm pool and headroom: 10,240 ranges end at uid 681,100,000, below the test span (1,000,000,000).
  uidRanges: intFromEnv(10_240),
  nftTable: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/),
  /** Host-side veth names are prefix + tenant id; ≤5 chars so names fit IFNAMSIZ. */
  vethPrefix: z.string().regex(/^[a-z]{2,5}$/),
  outboundNat: z.boolean().default(false),
  /** Seconds between SIGTERM and SIGKILL when a tenant stops. */
  stopTimeoutS: intFromEnv(DEFAULT_STOP_TIMEOUT_S),
  /**
   * Free space the pool keeps for the tenants already on it: creates are refused (POOL_FULL) below it,
   * so a nearly full pool never gets a tenant that cannot write. Unset: 5% of the pool, at most 1 GiB.
   */
  poolMinFreeMiB: z.coerce.number().int().nonnegative().optional(),
  /**
   * Each tenant's share of counts the kernel keeps host-wide or per user (README, "Security model").
   * Tenants' user namespaces belong to host root, so without a share of their own one tenant could
   * use up root's count for everyone. The host limits are raised to fit every tenant at its share.
   */
  tenantConntrackMax: capFromEnv(4096),
  /** Per uid inside the tenant, like the kernel's own per-user limits. */
  tenantInotifyInstances: capFromEnv(128),
  tenantInotifyWatches: capFromEnv(65536),
  /** Of each kind: user, net, uts, ipc, mnt, pid, cgroup and time namespaces. */
  tenantNamespaces: capFromEnv(128),
  /** Threads that read a stats collection: 2 (the stats shard beside the daemon's own, stats-shard.ts) or 1. */
  statsThreads: z.coerce.number().int().min(1).max(2).default(2),
});
export type HostConfig = z.infer<typeof HostConfigSchema>;

export function hostConfigFromEnv(env: Record<string, string | undefined> = process.env): HostConfig {
  const dataDir = env.HOODY_DATA_DIR ?? DEFAULT_DATA_DIR;
  const poolPath = env.HOODY_POOL_PATH ?? path.join(dataDir, "pool");
  const existingPool = env.HOODY_POOL_EXISTING === "1";
  return HostConfigSchema.parse({
    dataDir,
    poolPath,
    poolImage: existingPool ? null : (env.HOODY_POOL_IMAGE ?? path.join(dataDir, "pool.img")),
    poolImageSizeMiB: env.HOODY_POOL_SIZE_MIB,
    lxcPath: env.HOODY_LXC_PATH ?? path.join(dataDir, "lxc"),
    cacheDir: env.HOODY_CACHE_DIR ?? DEFAULT_CACHE_DIR,
    backupDir: env.HOODY_BACKUP_DIR ?? path.join(dataDir, "backups"),
    backupKeyFile: env.HOODY_BACKUP_KEY_FILE ?? path.join(dataDir, "backup.key"),
    socketPath: env.HOODY_HOSTD_SOCKET ?? defaultHostdSocket(dataDir),
    subnet: env.HOODY_SUBNET ?? "10.77.0.0/16",
    uidBase: env.HOODY_UID_BASE,
    uidRanges: env.HOODY_UID_RANGES,
    nftTable: env.HOODY_NFT_TABLE ?? "hoody",
    vethPrefix: env.HOODY_VETH_PREFIX ?? "hdy",
    outboundNat: env.HOODY_OUTBOUND_NAT === "1",
    stopTimeoutS: env.HOODY_STOP_TIMEOUT_S,
    poolMinFreeMiB: env.HOODY_POOL_MIN_FREE_MIB,
    tenantConntrackMax: env.HOODY_TENANT_CONNTRACK_MAX,
    tenantInotifyInstances: env.HOODY_TENANT_INOTIFY_INSTANCES,
    tenantInotifyWatches: env.HOODY_TENANT_INOTIFY_WATCHES,
    tenantNamespaces: env.HOODY_TENANT_NAMESPACES,
    statsThreads: env.HOODY_STATS_THREADS,
  });
}

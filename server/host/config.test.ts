import { describe, expect, it } from "vitest";
import { hostConfigFromEnv as fromProcessEnv } from "./config.js";

// NodeJS.ProcessEnv requires NODE_ENV under Next's types; the function only reads HOODY_* keys.
const hostConfigFromEnv = (env: Record<string, string>) => fromProcessEnv(env as NodeJS.ProcessEnv);

describe("hostConfigFromEnv", () => {
  it("fills every default from an empty environment", () => {
    expect(hostConfigFromEnv({})).toEqual({
      dataDir: "/var/lib/hoody",
      poolPath: "/var/lib/hoody/pool",
      poolImage: "/var/lib/hoody/pool.img",
      poolImageSizeMiB: 8192,
      lxcPath: "/var/lib/hoody/lxc",
      cacheDir: "/var/cache/hoody",
      backupDir: "/var/lib/hoody/backups",
      backupKeyFile: "/var/lib/hoody/backup.key",
      socketPath: "/var/lib/hoody/run/hostd.sock",
      subnet: "10.77.0.0/16",
      uidBase: 10_000_000,
      uidRanges: 10_240,
      nftTable: "hoody",
      vethPrefix: "hdy",
      outboundNat: false,
      stopTimeoutS: 10,
      tenantConntrackMax: 4096,
      tenantInotifyInstances: 128,
      tenantInotifyWatches: 65536,
      tenantNamespaces: 128,
      statsThreads: 2,
    });
  });

  it("reads stats on one or two threads, nothing else", () => {
    expect(hostConfigFromEnv({ HOODY_STATS_THREADS: "1" }).statsThreads).toBe(1);
    expect(() => hostConfigFromEnv({ HOODY_STATS_THREADS: "3" })).toThrow();
    expect(() => hostConfigFromEnv({ HOODY_STATS_THREADS: "0" })).toThrow();
  });

  it("takes per-tenant kernel shares from the environment and refuses a share of 0", () => {
    const c = hostConfigFromEnv({ HOODY_TENANT_CONNTRACK_MAX: "64", HOODY_TENANT_INOTIFY_INSTANCES: "16", HOODY_TENANT_NAMESPACES: "8" });
    expect([c.tenantConntrackMax, c.tenantInotifyInstances, c.tenantNamespaces]).toEqual([64, 16, 8]);
    expect(() => hostConfigFromEnv({ HOODY_TENANT_CONNTRACK_MAX: "0" })).toThrow();
  });

  it("derives pool, lxc and socket paths from HOODY_DATA_DIR", () => {
    const c = hostConfigFromEnv({ HOODY_DATA_DIR: "/srv/h" });
    expect(c.dataDir).toBe("/srv/h");
    expect(c.poolPath).toBe("/srv/h/pool");
    expect(c.poolImage).toBe("/srv/h/pool.img");
    expect(c.lxcPath).toBe("/srv/h/lxc");
    expect(c.socketPath).toBe("/srv/h/run/hostd.sock");
    expect(c.cacheDir).toBe("/var/cache/hoody");
  });

  it("HOODY_POOL_EXISTING=1 gives no pool image, even if one is named", () => {
    expect(hostConfigFromEnv({ HOODY_POOL_EXISTING: "1" }).poolImage).toBeNull();
    expect(hostConfigFromEnv({ HOODY_POOL_EXISTING: "1", HOODY_POOL_IMAGE: "/x.img" }).poolImage).toBeNull();
    expect(hostConfigFromEnv({ HOODY_POOL_EXISTING: "0" }).poolImage).toBe("/var/lib/hoody/pool.img");
  });

  it("coerces numeric settings and reads the flags", () => {
    const c = hostConfigFromEnv({
      HOODY_POOL_SIZE_MIB: "2048",
      HOODY_UID_BASE: "20000000",
      HOODY_UID_RANGES: "16",
      HOODY_STOP_TIMEOUT_S: "3",
      HOODY_OUTBOUND_NAT: "1",
      HOODY_SUBNET: "10.9.0.0/24",
      HOODY_NFT_TABLE: "hoody_test",
      HOODY_VETH_PREFIX: "ht",
    });
    expect(c).toMatchObject({
      poolImageSizeMiB: 2048,
      uidBase: 20_000_000,
      uidRanges: 16,
      stopTimeoutS: 3,
      outboundNat: true,
      subnet: "10.9.0.0/24",
      nftTable: "hoody_test",
      vethPrefix: "ht",
    });
  });

  it("accepts the subnet size bounds /16 and /28", () => {
    expect(hostConfigFromEnv({ HOODY_SUBNET: "10.1.0.0/16" }).subnet).toBe("10.1.0.0/16");
    expect(hostConfigFromEnv({ HOODY_SUBNET: "10.1.0.16/28" }).subnet).toBe("10.1.0.16/28");
  });

  it.each([
    ["HOODY_SUBNET", "10.0.0.0/8"],
    ["HOODY_SUBNET", "10.0.0.0/29"],
    ["HOODY_SUBNET", "10.0.0.0"],
    ["HOODY_NFT_TABLE", "bad-name"],
    ["HOODY_NFT_TABLE", "1hoody"],
    ["HOODY_NFT_TABLE", "a".repeat(32)],
    ["HOODY_VETH_PREFIX", "toolong"],
    ["HOODY_VETH_PREFIX", "h"],
    ["HOODY_VETH_PREFIX", "h1"],
    ["HOODY_UID_BASE", "-1"],
    ["HOODY_STOP_TIMEOUT_S", "1.5"],
    ["HOODY_POOL_SIZE_MIB", "lots"],
  ])("rejects %s=%j", (key, value) => {
    expect(() => hostConfigFromEnv({ [key]: value })).toThrow();
  });
});

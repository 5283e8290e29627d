import { describe, expect, it } from "vitest";
import { hostConfigFromEnv } from "../config.js";
import { hostSysctlFloors, tenantUsernsSysctls } from "./kernel.js";

const defaults = hostConfigFromEnv({} as NodeJS.ProcessEnv);

describe("tenantUsernsSysctls", () => {
  it("gives every per-user count of the tenant's user namespace its share", () => {
    const s = tenantUsernsSysctls({ tenantInotifyInstances: 128, tenantInotifyWatches: 65536, tenantNamespaces: 32 });
    expect(s["user.max_inotify_instances"]).toBe(128);
    expect(s["user.max_inotify_watches"]).toBe(65536);
    expect(s["user.max_fanotify_groups"]).toBe(128);
    expect(s["user.max_fanotify_marks"]).toBe(65536);
    for (const k of ["user", "net", "uts", "ipc", "mnt", "pid", "cgroup", "time"]) expect(s[`user.max_${k}_namespaces`]).toBe(32);
    expect(Object.keys(s)).toHaveLength(12);
  });
});

describe("hostSysctlFloors", () => {
  it("leaves host root its reserve with every tenant range at its share", () => {
    const f = hostSysctlFloors({ ...defaults, uidRanges: 100 });
    expect(f["fs/inotify/max_user_instances"]).toBe(1024 + 100 * 128);
    expect(f["fs/inotify/max_user_watches"]).toBe(1_048_576 + 100 * 65536);
    expect(f["user/max_net_namespaces"]).toBe(10_000 + 100 * 128);
    expect(f["net/netfilter/nf_conntrack_max"]).toBe(65_536 + 100 * 4096);
    expect(f["kernel/keys/maxkeys"]).toBe(2000);
    // The host limit covers every tenant's share of the user.* sysctls.
    for (const [key, share] of Object.entries(tenantUsernsSysctls(defaults))) {
      const hostKey = { "user.max_inotify_instances": "fs/inotify/max_user_instances", "user.max_inotify_watches": "fs/inotify/max_user_watches", "user.max_fanotify_groups": "fs/fanotify/max_user_groups", "user.max_fanotify_marks": "fs/fanotify/max_user_marks" }[key] ?? key.replace(".", "/");
      expect(f[hostKey], hostKey).toBeGreaterThan(100 * share);
    }
  });

  it("stays within the kernel's int range", () => {
    const f = hostSysctlFloors({ ...defaults, uidRanges: 1_000_000, tenantInotifyWatches: 2 ** 31 - 1 });
    for (const v of Object.values(f)) expect(v).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});

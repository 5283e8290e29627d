import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostConfigFromEnv } from "../config.js";
import { fitHostSysctls, hostSysctlFloors, tenantUsernsSysctls } from "./kernel.js";

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
      const hostKey =
        {
          "user.max_inotify_instances": "fs/inotify/max_user_instances",
          "user.max_inotify_watches": "fs/inotify/max_user_watches",
          "user.max_fanotify_groups": "fs/fanotify/max_user_groups",
          "user.max_fanotify_marks": "fs/fanotify/max_user_marks",
        }[key] ?? key.replace(".", "/");
      expect(f[hostKey], hostKey).toBeGreaterThan(100 * share);
    }
  });

  it("stays within the kernel's int range", () => {
    const f = hostSysctlFloors({ ...defaults, uidRanges: 1_000_000, tenantInotifyWatches: 2 ** 31 - 1 });
    for (const v of Object.values(f)) expect(v).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});

describe("fitHostSysctls", () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await fs.rm(d, { recursive: true, force: true });
  });
  /** A /proc/sys of files under a temp dir (removed after the tests); `refuse` keys answer EACCES to a write, as a capped VM's do. */
  async function fakeSys(values: Record<string, number>) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-sysctl-"));
    made.push(root);
    for (const [k, v] of Object.entries(values)) {
      await fs.mkdir(path.dirname(path.join(root, k)), { recursive: true });
      await fs.writeFile(path.join(root, k), `${v}\n`);
    }
    return root;
  }
  const refusing = (refuse: RegExp) => async (file: string, value: string) => {
    if (refuse.test(file)) throw Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: "EACCES" });
    await fs.writeFile(file, value);
  };
  const c = { ...defaults, uidRanges: 1000 };

  it("raises what it may and keeps the configured shares (control: nothing refused)", async () => {
    const root = await fakeSys({ "user/max_net_namespaces": 96_365, "fs/inotify/max_user_instances": 128 });
    const fit = await fitHostSysctls(c, refusing(/^$/), root);
    expect(fit.lowered).toEqual([]);
    expect(fit.shares.tenantNamespaces).toBe(c.tenantNamespaces);
    expect(Number(await fs.readFile(path.join(root, "user/max_net_namespaces"), "utf8"))).toBe(10_000 + 1000 * c.tenantNamespaces);
    expect(fit.raised.map((r) => r.key).sort()).toEqual(["fs/inotify/max_user_instances", "user/max_net_namespaces"]);
  });

  it("lowers a share the kernel will not make room for, so every range fits beside root's reserve", async () => {
    const root = await fakeSys({ "user/max_net_namespaces": 96_365, "user/max_user_namespaces": 96_365, "fs/inotify/max_user_instances": 128 });
    const fit = await fitHostSysctls(c, refusing(/namespaces/), root);
    const given = Math.floor((96_365 - 10_000) / 1000);
    expect(fit.shares.tenantNamespaces).toBe(given);
    expect(10_000 + 1000 * given).toBeLessThanOrEqual(96_365);
    expect(fit.lowered.map((l) => [l.key, l.given])).toEqual([
      ["user/max_user_namespaces", given],
      ["user/max_net_namespaces", given],
    ]);
    // The other limits were still raised, and the refused one is as it was.
    expect(fit.shares.tenantInotifyInstances).toBe(c.tenantInotifyInstances);
    expect(Number(await fs.readFile(path.join(root, "user/max_net_namespaces"), "utf8"))).toBe(96_365);
    expect(fit.raised.map((r) => r.key)).toEqual(["fs/inotify/max_user_instances"]);
  });

  it("refuses to start when a refused limit cannot hold even one of each range's share", async () => {
    const root = await fakeSys({ "user/max_net_namespaces": 10_500 });
    await expect(fitHostSysctls(c, refusing(/namespaces/), root)).rejects.toThrow(/max_net_namespaces is 10500 .*HOODY_UID_RANGES/);
  });
});

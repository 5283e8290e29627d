import { describe, expect, it } from "vitest";
import { Lxc, type LxcTenantConfig } from "./lxc.js";

const base: LxcTenantConfig = {
  name: "c1",
  hostname: "h",
  rootfs: "/r",
  uidBase: 100000,
  initCmd: ["/bin/sh"],
  env: {},
  limits: { memoryMiB: 64, cpuMilli: 100, pids: 64 },
  ramdiskPath: "/rd",
  veth: "hx1",
  ip: "10.0.0.2",
  sharedMounts: [{ hostPath: "/data/shares/c1/usr", containerPath: "/usr" }],
  logDir: "/l/c1",
  usernsSysctls: {},
  lxcfs: true,
  procPoint: "/d/proc/c1",
};

describe("Lxc.configText mounts", () => {
  it("binds a share's host-side mount plainly: an idmap option would attach an unlocked clone", () => {
    const text = new Lxc("/l", "v2").configText(base);
    expect(text).toContain("lxc.mount.entry = /data/shares/c1/usr usr none bind,ro,create=dir 0 0\n");
    expect(text).not.toMatch(/^lxc\.mount\.entry = .*idmap/m);
  });

  it("mounts no proc or sysfs itself: /proc comes from the host-side point, built by the start-host hook", () => {
    const text = new Lxc("/l", "v2").configText(base);
    expect(text).toContain("lxc.mount.auto = cgroup:mixed\n");
    expect(text).toContain("lxc.mount.entry = /d/proc/c1 proc none bind,create=dir 0 0\n");
    expect(text).toMatch(/^lxc\.hook\.start-host = \S+\/tenant-proc\.hook \/d\/proc\/c1 \/var\/lib\/lxcfs( user\.\S+=\d+)*$/m);
  });

  it("binds lxcfs's cpu directory only where an lxcfs serves, without LXC's lxcfs mount hook", () => {
    expect(new Lxc("/l", "v2").configText(base)).toContain("lxc.mount.entry = /var/lib/lxcfs/sys/devices/system/cpu sys/devices/system/cpu none bind,create=dir 0 0\n");
    expect(new Lxc("/l", "v2").configText(base)).not.toContain("lxc.hook.mount");
    expect(new Lxc("/l", "v2").configText({ ...base, lxcfs: false })).not.toContain("lxcfs");
    expect(new Lxc("/l", "v2").configText({ ...base, lxcfs: false })).toMatch(/tenant-proc\.hook \/d\/proc\/c1 -$/m);
  });
});

describe("Lxc.configText kernel shares", () => {
  const text = new Lxc("/l", "v2").configText({ ...base, usernsSysctls: { "user.max_inotify_instances": 128, "user.max_net_namespaces": 8 } });

  it("writes the shares into the tenant's user namespace from the host before init runs", () => {
    expect(text).toContain("lxc.hook.version = 1\n");
    // Passed to the one start-host hook, which writes them from inside the tenant's user namespace.
    expect(text).toMatch(/^lxc\.hook\.start-host = \S+\/tenant-proc\.hook \S+ \S+ user\.max_inotify_instances=128 user\.max_net_namespaces=8$/m);
    expect(text.match(/^lxc\.hook\./gm)).toEqual(["lxc.hook.", "lxc.hook."]);
  });

  it("drops CAP_SYS_RESOURCE, with which the tenant could raise its shares", () => {
    expect(text).toMatch(/^lxc\.cap\.drop = .*\bsys_resource\b/m);
  });
});

// Hostile tenants against what they see of the host through their mounts (issue 20, items 17 and 18):
// /proc files that describe the host instead of the tenant, and a read-only share the tenant's root
// remounts read-write. Each attack runs from inside a tenant against a real host daemon with real LXC
// tenants (mini: busybox; starter: Debian, whose /usr is the template's, shared); each "holds" is
// paired with a control proving the probe was live.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import type { TenantInfo } from "../../../server/shared/protocol.js";
import { TestHost, httpGet, waitFor } from "../../../testkit/host-harness.js";
import { tenantShell } from "../../tenant-probes.js";

const MEMORY_MIB = 192;

let h: TestHost;
let mini: TenantInfo;
let starter: TenantInfo;

const sh = (t: TenantInfo, script: string) => tenantShell(h, t, script);
const memTotalKiB = (meminfo: string) => Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1]);

beforeAll(async () => {
  h = await TestHost.create({ poolSizeMiB: 4096 });
  await h.client.buildTemplate("mini");
  await h.client.buildTemplate("starter");
  mini = await h.client.call("tenants.create", { template: "mini", name: "mounts-mini", limits: { memoryMiB: MEMORY_MIB } });
  starter = await h.client.call("tenants.create", { template: "starter", name: "mounts-starter" });
  for (const t of [mini, starter])
    await waitFor(
      () =>
        httpGet(`http://${t.ip}:8080/`).then(
          (r) => r.status === 200,
          () => false,
        ),
      30_000,
    );
});
afterAll(async () => {
  await h?.stop();
});

describe("a shared read-only path stays read-only (item 18)", () => {
  it("the tenant's root cannot remount the template's /usr read-write nor write to it; its own mount it can", async () => {
    const r = await sh(
      starter,
      "mount -o remount,bind,rw /usr; echo remount=$?; touch /usr/hoody-probe; echo write=$?; " +
        // Control: the same remount on a bind the tenant made itself, read-only first.
        "mkdir -p /tmp/own /mnt/own && mount --bind /tmp/own /mnt/own && mount -o remount,bind,ro /mnt/own && " +
        "mount -o remount,bind,rw /mnt/own && touch /mnt/own/x && echo OWN_RW; " +
        // Control: /usr is the share, readable and owned by the tenant's root (idmapped).
        "stat -c 'python=%u' /usr/bin/python3; grep ' /usr ' /proc/self/mountinfo",
    );
    expect(r.stdout, r.out).toContain("OWN_RW");
    expect(r.stdout, r.out).toContain("python=0");
    expect(r.stdout, r.out).not.toContain("remount=0");
    expect(r.stderr).toMatch(/permission denied|Operation not permitted/i);
    expect(r.stdout, r.out).not.toContain("write=0");
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.stdout, r.out).toMatch(/ \/usr ro,nodev/);
  });
});

describe("what a tenant sees of the host (item 17)", () => {
  it("/proc/meminfo, cpuinfo, uptime, loadavg, stat, diskstats and swaps are lxcfs's view of the tenant", async () => {
    const hostMem = memTotalKiB(await fs.readFile("/proc/meminfo", "utf8"));
    const hostCpus = (await fs.readFile("/proc/cpuinfo", "utf8")).match(/^processor\s*:/gm)!.length;
    const hostUptime = Number((await fs.readFile("/proc/uptime", "utf8")).split(" ")[0]);
    const r = await sh(mini, "cat /proc/meminfo; grep -c '^processor' /proc/cpuinfo; echo uptime $(cat /proc/uptime); cat /proc/self/mountinfo");
    // Controls: the host's values differ from the tenant's (its limit, its CPU quota, its age), so equality is lxcfs's view.
    expect(hostMem).not.toBe(MEMORY_MIB * 1024);
    expect(memTotalKiB(r.stdout)).toBe(MEMORY_MIB * 1024);
    const cpus = Math.ceil(mini.limits.cpuMilli / 1000);
    expect(hostCpus).toBeGreaterThan(cpus);
    expect(Number(/^(\d+)$/m.exec(r.stdout)?.[1])).toBe(cpus);
    const uptime = Number(/^uptime (\S+)/m.exec(r.stdout)?.[1]);
    expect(uptime).toBeLessThan(Math.min(hostUptime, 600));
    // The daemon found an lxcfs serving, or started one (nothing else does on this box), and said which.
    expect(h.daemonLog).toMatch(/hostd: (lxcfs already serves|(replaced a dead lxcfs mount: )?started lxcfs \(pid \d+\)) /);
    for (const f of ["meminfo", "cpuinfo", "uptime", "loadavg", "stat", "diskstats", "swaps"]) {
      expect(r.stdout, f).toMatch(new RegExp(` /proc/${f} .* - fuse\\.lxcfs `));
    }
  });

  it("the tenant's root cannot take that view apart: no umount, no fresh procfs, no bind of the raw one", async () => {
    // In a mount namespace of its own (unshare -m, as the tenant's root can), so the tenant's own stays whole.
    const r = await sh(
      starter,
      "unshare -m sh -c '" +
        "grep MemTotal /proc/meminfo; umount /proc/meminfo; echo umount=$?; umount -l /proc/meminfo; echo umount_lazy=$?; " +
        "mkdir -p /mnt/p /mnt/b /mnt/t; mount -t proc proc /mnt/p; echo proc=$?; mount --bind /proc /mnt/b; echo bind=$?; " +
        "grep MemTotal /proc/meminfo; " +
        // proc:mixed's read-only /proc/sys: the tenant's root may unmount it, as before (item 1's test relies on that).
        'grep -q " /proc/sys ro," /proc/self/mountinfo && echo SYS_RO; umount -l /proc/sys && echo SYS_UNMOUNTED; ' +
        // Even with the whole /proc detached, nothing is under it and no procfs may be mounted.
        "umount -l /proc; echo proc_umount=$?; ls /proc | wc -l; mount -t proc proc /mnt/p; echo proc_after=$?; " +
        // Control: this root may mount what is its own.
        "mount -t tmpfs own /mnt/t && echo TMPFS_OK'",
    );
    const limit = `MemTotal:${" ".repeat(9)}${starter.limits.memoryMiB * 1024} kB`;
    expect(r.stdout, r.out).toContain("TMPFS_OK");
    expect(r.stdout, r.out).toContain("SYS_RO");
    expect(r.stdout, r.out).toContain("SYS_UNMOUNTED");
    expect(
      r.stdout.split("\n").filter((l) => l.startsWith("MemTotal")),
      r.out,
    ).toEqual([limit, limit]);
    for (const probe of ["umount", "umount_lazy", "proc", "bind", "proc_after"]) expect(r.stdout, r.out).toMatch(new RegExp(`^${probe}=[1-9]`, "m"));
    expect(r.stdout, r.out).toMatch(/^proc_umount=0\n0$/m);
  });

  it("/proc/cmdline and the boot id are the tenant's, not the host's", async () => {
    const host = { cmdline: await fs.readFile("/proc/cmdline", "utf8"), bootId: await fs.readFile("/proc/sys/kernel/random/boot_id", "utf8") };
    const r = await sh(mini, "echo cmdline=[$(cat /proc/cmdline)]; echo boot_id=$(cat /proc/sys/kernel/random/boot_id); cat /proc/self/mountinfo");
    // Control: the host's boot line is not empty, and the tenant has a boot id.
    expect(host.cmdline.trim()).not.toBe("");
    expect(r.stdout, r.out).toContain("cmdline=[]");
    const bootId = /^boot_id=([0-9a-f-]{36})$/m.exec(r.stdout)?.[1];
    expect(bootId, r.out).toBeDefined();
    expect(bootId).not.toBe(host.bootId.trim());
    // The start hook's remounts name procfs's nosuid, nodev and noexec again (a remount sets every
    // per-mount flag): the read-only ones and /proc/sys/net keep them, as /proc itself has them.
    const flagsAt = (p: string) =>
      r.stdout
        .split("\n")
        .find((l) => l.split(" ")[4] === p)
        ?.split(" ")[5];
    for (const p of ["/proc", "/proc/cmdline", "/proc/sys", "/proc/sys/net", "/proc/sys/kernel/random/boot_id"]) {
      expect(flagsAt(p)?.split(",") ?? [], `${p}: ${flagsAt(p)}`).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec"]));
    }
    expect(flagsAt("/proc/sys")?.split(",")).toContain("ro");
    expect(flagsAt("/proc/sys/net")?.split(",")).toContain("rw");
  });

  it("other tenants' qgroups and the host's KSM counters: the tenant has no sysfs and may not mount one", async () => {
    const { uuid } = (await h.client.call("host.info", {})).pool;
    const qgroups = `/sys/fs/btrfs/${uuid}/qgroups`;
    // Control: on the host, the pool's qgroups list both tenants (and their usage), and KSM has counters.
    expect(await fs.readdir(qgroups)).toEqual(expect.arrayContaining([`0_${mini.subvolumeId}`, `0_${starter.subvolumeId}`]));
    await fs.access("/sys/kernel/mm/ksm/pages_sharing");
    const r = await sh(
      mini,
      `ls ${qgroups}; echo ls=$?; cat /sys/kernel/mm/ksm/pages_sharing; echo ksm=$?; mkdir -p /mnt/s; ` +
        "mount -t sysfs sysfs /mnt/s; echo sysfs=$?; mount -t sysfs -o ro sysfs /mnt/s; echo sysfs_ro=$?; ls /mnt/s/fs/btrfs; " +
        // Control: the tenant's root may mount (a tmpfs of its own); what is refused is sysfs.
        "mount -t tmpfs own /mnt/s && echo TMPFS_OK",
    );
    expect(r.stdout, r.out).toContain("TMPFS_OK");
    expect(r.stdout, r.out).toMatch(/ls=[1-9]/);
    expect(r.stdout, r.out).toMatch(/ksm=[1-9]/);
    expect(r.stdout, r.out).toMatch(/sysfs=[1-9]/);
    expect(r.stdout, r.out).toMatch(/sysfs_ro=[1-9]/);
    expect(r.out).not.toContain(`0_${starter.subvolumeId}`);
  });
});

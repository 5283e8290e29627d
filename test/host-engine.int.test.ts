// The host engine against the real system: LXC containers on a loop-backed BTRFS pool, nftables,
// KSM. Every claim is checked with the system's own tools (lxc-info, btrfs, ps, nft, ip, /proc).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import { chainOfGroup, linkGroup } from "./nft-listing.js";
import { existsSync, readFileSync } from "node:fs";
import { CgroupReader, detectCgroupLayout } from "../server/host/drivers/cgroup.js";
import { readByShard } from "../server/host/stats-shard.js";
import { TestHost, httpGet, waitFor } from "../testkit/host-harness.js";
import type { TenantInfo } from "../server/shared/protocol.js";

let h: TestHost;
/** From inside tenant `from`: an HTTP GET over nc (busybox wget needs NSS, which the static build lacks). */
const probe = (from: TenantInfo, ip: string, port = 8080) => sh(from, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${port} && echo REACHED || echo BLOCKED`);
const sh = (t: TenantInfo, script: string, timeoutMs = 30_000) => h.client.call("tenants.exec", { id: t.id, command: ["/bin/sh", "-c", script], timeoutMs });

async function initPid(t: TenantInfo): Promise<number> {
  const r = await h.lxc("lxc-info", t.id, "-pH");
  return Number(r.stdout.trim());
}

beforeAll(async () => {
  h = await TestHost.create();
  await h.client.buildTemplate("mini");
});
afterAll(async () => {
  await h?.stop();
});

describe("tenants from mini", () => {
  let a: TenantInfo;
  let b: TenantInfo;

  beforeAll(async () => {
    a = await h.client.call("tenants.create", { template: "mini", name: "tenant-a" });
    b = await h.client.call("tenants.create", { template: "mini", name: "tenant-b" });
  });

  it("is running per lxc-info and serves HTTP on its own IP", async () => {
    for (const t of [a, b]) {
      const info = await h.lxc("lxc-info", t.id, "-sH");
      expect(info.stdout.trim()).toBe("RUNNING");
      const res = await waitFor(() => httpGet(`http://${t.ip}:8080/`).catch(() => null));
      expect(res.status).toBe(200);
      expect(res.body).toContain(`hello from ${t.name}`);
      // The host side of its veth answers ARP for the tenant's neighbours, at once (no shared proxy queue).
      expect(await fs.readFile(`/proc/sys/net/ipv4/conf/${t.veth}/proxy_arp`, "utf8")).toBe("1\n");
      expect(await fs.readFile(`/proc/sys/net/ipv4/neigh/${t.veth}/proxy_delay`, "utf8")).toBe("0\n");
      // No IPv6 on the host side: no link-local address for the tenant, no late address change.
      expect(await fs.readFile(`/proc/sys/net/ipv6/conf/${t.veth}/disable_ipv6`, "utf8")).toBe("1\n");
      expect((await execa("ip", ["-6", "addr", "show", "dev", t.veth])).stdout).toBe("");
    }
    // Addresses of the subnet without a running tenant never leave the box by the default route.
    const unreachable = await execa("ip", ["route", "show", "type", "unreachable"]);
    expect(unreachable.stdout).toContain(h.env.HOODY_SUBNET!);
    const unused = h.env.HOODY_SUBNET!.replace(/\.0\/24$/, ".250");
    expect((await execa("ip", ["route", "get", unused], { reject: false })).stderr).toMatch(/unreachable|No route/i);
  });

  it("is a BTRFS snapshot of its template", async () => {
    const tpl = await execa("btrfs", ["subvolume", "show", path.join(h.poolPath, "templates/mini")]);
    const tplUuid = /^\s*UUID:\s*(\S+)/m.exec(tpl.stdout)?.[1];
    const show = await execa("btrfs", ["subvolume", "show", path.join(h.poolPath, "tenants", a.id)]);
    expect(/Parent UUID:\s*(\S+)/.exec(show.stdout)?.[1]).toBe(tplUuid);
    const list = await execa("btrfs", ["subvolume", "list", h.poolPath]);
    expect(list.stdout).toContain(`tenants/${a.id}`);
  });

  it("runs its init as a host uid inside its own leased range; ranges and IPs differ", async () => {
    for (const t of [a, b]) {
      const pid = await initPid(t);
      const ps = await execa("ps", ["-o", "uid=", "-p", String(pid)]);
      const uid = Number(ps.stdout.trim());
      expect(uid).toBeGreaterThanOrEqual(t.uidBase);
      expect(uid).toBeLessThan(t.uidBase + 65536);
      expect(uid).not.toBe(0);
    }
    expect(a.uidBase).not.toBe(b.uidBase);
    expect(Math.abs(a.uidBase - b.uidBase)).toBeGreaterThanOrEqual(65536);
    expect(a.ip).not.toBe(b.ip);
    const link = await execa("ip", ["-o", "link", "show", a.veth]);
    expect(link.stdout).toContain(a.veth);
  });

  it("keeps a file written in one tenant out of the other and the template", async () => {
    const w = await sh(a, "echo secret-of-a > /data/marker && cat /data/marker");
    expect(w.exitCode).toBe(0);
    expect(w.stdout.trim()).toBe("secret-of-a");
    expect((await sh(b, "cat /data/marker")).exitCode).not.toBe(0);
    await expect(fs.stat(path.join(h.poolPath, "templates/mini/data/marker"))).rejects.toThrow();
    expect(await fs.readFile(path.join(h.poolPath, "tenants", a.id, "data/marker"), "utf8")).toBe("secret-of-a\n");
  });

  it("caps the ramdisk", async () => {
    const r = await sh(a, "dd if=/dev/zero of=/ramdisk/fill bs=1M count=64 2>&1; echo rc=$?; rm -f /ramdisk/fill");
    expect(r.stdout).toMatch(/No space left on device/);
    const df = await sh(a, "df -k /ramdisk | tail -1");
    expect(Number(df.stdout.trim().split(/\s+/)[1])).toBe(16 * 1024);
  });

  it("keeps the ramdisk's files across a restart and a stop/start; owned by the tenant's root", async () => {
    await sh(a, "echo warm-cache > /ramdisk/cache.txt");
    // The tmpfs is mounted below the tenant's gate directory (ramdisk.ts).
    const hostPath = path.join(h.dir, "ramdisk", a.id, "fs");
    expect((await fs.stat(path.join(hostPath, "cache.txt"))).uid).toBe(a.uidBase);
    await h.client.call("tenants.restart", { id: a.id });
    expect((await sh(a, "cat /ramdisk/cache.txt")).stdout).toBe("warm-cache\n");
    await h.client.call("tenants.stop", { id: a.id });
    await h.client.call("tenants.start", { id: a.id });
    expect((await sh(a, "cat /ramdisk/cache.txt; df -k /ramdisk | tail -1")).stdout).toMatch(/^warm-cache\n\S+\s+16384\s/);
    // Resized in place, contents kept, without a restart.
    await h.client.call("tenants.update", { id: a.id, ramdiskMiB: 32, restart: false });
    expect((await sh(a, "cat /ramdisk/cache.txt; df -k /ramdisk | tail -1")).stdout).toMatch(/^warm-cache\n\S+\s+32768\s/);
    await h.client.call("tenants.update", { id: a.id, ramdiskMiB: 16, restart: false });
    await waitFor(() => httpGet(`http://${a.ip}:8080/`).catch(() => null));
  });

  it("grows the delta-disk stat by what was written (±10%)", async () => {
    const before = (await h.client.call("host.stats", { sync: true })).tenants.find((t) => t.id === b.id)!;
    const w = await sh(b, "dd if=/dev/urandom of=/data/blob bs=1M count=24 2>&1 && sync");
    expect(w.exitCode).toBe(0);
    const after = (await h.client.call("host.stats", { sync: true })).tenants.find((t) => t.id === b.id)!;
    const grown = after.deltaBytes - before.deltaBytes;
    expect(grown).toBeGreaterThan(24 * 1024 * 1024 * 0.9);
    expect(grown).toBeLessThan(24 * 1024 * 1024 * 1.1);
  });

  it("stops a fork loop at the tenant's pids limit while the other tenant answers", async () => {
    // Each background sleep is a process; the loop runs into pids.max=64 and fork fails.
    const r = await sh(a, "i=0; while [ $i -lt 200 ]; do sleep 300 </dev/null >/dev/null 2>&1 & i=$((i+1)); done 2>&1 | head -3; echo done", 60_000);
    expect(r.stdout + r.stderr).toMatch(/can't fork|Resource temporarily unavailable|fork/i);
    const pidsOf = async (id: string) => (await h.client.call("host.stats", {})).tenants.find((t) => t.id === id)!.pids;
    expect(await pidsOf(a.id)).toBeGreaterThan(50);
    expect(await pidsOf(a.id)).toBeLessThanOrEqual(64);
    expect((await httpGet(`http://${b.ip}:8080/`)).status).toBe(200);
    // The fork loop's leftovers go (only the sleeps: the app must keep running).
    await sh(a, 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sleep ] && kill -9 ${p#/proc/}; done; true');
    await waitFor(async () => (await pidsOf(a.id)) < 5);
  });

  it("blocks TCP from one tenant to another and to the host; the host still reaches both", async () => {
    const r = await probe(a, b.ip);
    expect(r.stdout).toContain("BLOCKED");
    expect(r.stdout).not.toContain("200 OK");
    // A host address of our own (on an empty bridge this test makes; this kernel has no dummy links) with a listener behind it.
    const server = net.createServer((c) => c.end("HOST\n"));
    await new Promise<void>((res) => server.listen(0, "0.0.0.0", res));
    const port = (server.address() as net.AddressInfo).port;
    const dummy = `${h.env.HOODY_VETH_PREFIX}dm`;
    const hostIp = h.env.HOODY_SUBNET!.replace(/\.0\/24$/, ".1");
    try {
      await execa("ip", ["link", "add", dummy, "type", "bridge"]);
      await execa("ip", ["addr", "add", `${hostIp}/32`, "dev", dummy]);
      await execa("ip", ["link", "set", dummy, "up"]);
      expect((await probe(a, hostIp, port)).stdout).toContain("BLOCKED");
    } finally {
      server.close();
      await execa("ip", ["link", "del", dummy], { reject: false });
    }
    expect((await httpGet(`http://${b.ip}:8080/`)).status).toBe(200);
    const table = await execa("nft", ["list", "table", "inet", h.env.HOODY_NFT_TABLE!]);
    // Both reach the chains of the template's ruleset (one pair for every tenant with the same
    // rules): their veths carry its number, which the ingress map leads to its chain.
    const jump = async (veth: string) => {
      return chainOfGroup(table.stdout, await linkGroup(veth), "in");
    };
    expect(await jump(a.veth)).toMatch(/^in_r/);
    expect(await jump(b.veth)).toBe(await jump(a.veth));
    expect(table.stdout).toContain(`chain ${await jump(a.veth)} {`);
  });

  it("a veth whose number is not live reaches nothing: its own egress rules are never skipped", async () => {
    // B lets A in; A's own egress rules refuse B. A verdict map that misses falls through to the
    // next rule, so without the live-number check a veth at group 0 (LXC's, before its start gives
    // it a number) would skip A's egress chain and reach B's ingress, which allows it.
    const group = () => linkGroup(a.veth);
    await h.client.call("tenants.setFirewall", { id: b.id, rules: [...b.firewall, { direction: "ingress", action: "allow", protocol: "tcp", destination_port: "8080", source: `${a.ip}/32` }] });
    try {
      expect((await probe(a, b.ip)).stdout).toContain("REACHED");
      await h.client.call("tenants.setFirewall", { id: a.id, rules: [...a.firewall, { direction: "egress", action: "drop", protocol: "tcp", destination_port: "8080", destination: `${b.ip}/32` }] });
      expect((await probe(a, b.ip)).stdout).toContain("BLOCKED");
      const own = await group();
      expect(own).toMatch(/^[1-9]\d*$/);
      await execa("ip", ["link", "set", "dev", a.veth, "group", "0"]);
      try {
        expect((await probe(a, b.ip)).stdout).toContain("BLOCKED");
      } finally {
        await execa("ip", ["link", "set", "dev", a.veth, "group", own]);
      }
    } finally {
      await h.client.call("tenants.setFirewall", { id: a.id, rules: a.firewall });
      await h.client.call("tenants.setFirewall", { id: b.id, rules: b.firewall });
    }
    // The control after the change back: A's number again, B's default rules again.
    expect((await probe(a, b.ip)).stdout).toContain("BLOCKED");
    expect((await httpGet(`http://${b.ip}:8080/`)).status).toBe(200);
  });

  it("applies a firewall change at once: allowing a port from tenant A into B, then taking it back", async () => {
    const rules = [...b.firewall, { direction: "ingress" as const, action: "allow" as const, protocol: "tcp" as const, destination_port: "8080", source: `${a.ip}/32` }];
    await h.client.call("tenants.setFirewall", { id: b.id, rules });
    const r = await probe(a, b.ip);
    expect(r.stdout).toContain("200 OK");
    expect(r.stdout).toContain(`hello from ${b.name}`);
    await h.client.call("tenants.setFirewall", { id: b.id, rules: b.firewall });
    expect((await probe(a, b.ip)).stdout).toContain("BLOCKED");
  });

  it("changes env and restarts the running tenant so its app sees it", async () => {
    const r = await h.client.call("tenants.update", { id: a.id, env: { GREETING: "hej" } });
    expect(r.restarted).toBe(true);
    const env = await waitFor(() => httpGet(`http://${a.ip}:8080/env.txt`).catch(() => null));
    expect(env.body).toContain("GREETING=hej");
    await expect(h.client.call("tenants.update", { id: a.id, env: { HOODY_X: "1" } })).rejects.toThrow(/reserved/);
    await expect(h.client.call("tenants.update", { id: a.id, env: { "BAD-KEY": "1" } })).rejects.toThrow();
  });

  it("snapshots, restores and copies from a snapshot", async () => {
    await sh(a, "echo v1 > /data/state");
    const snap = await h.client.call("snapshots.create", { id: a.id, name: "before" });
    expect(snap.name).toBe("before");
    const ro = await execa("btrfs", ["property", "get", "-ts", path.join(h.poolPath, "snapshots", a.id, "before"), "ro"]);
    expect(ro.stdout.trim()).toBe("ro=true");
    await sh(a, "echo v2 > /data/state");
    await h.client.call("snapshots.restore", { id: a.id, name: "before" });
    expect((await sh(a, "cat /data/state")).stdout.trim()).toBe("v1");
    const copy = await h.client.call("tenants.create", { template: "mini", name: "copy-of-a", sourceTenant: a.id, sourceSnapshot: "before" });
    expect((await sh(copy, "cat /data/state")).stdout.trim()).toBe("v1");
    await h.client.call("tenants.delete", { id: copy.id });
  });

  it("keeps running tenants running and listed when the daemon is killed and restarted", async () => {
    const pidBefore = await initPid(a);
    await h.killDaemon();
    expect((await h.lxc("lxc-info", a.id, "-sH")).stdout.trim()).toBe("RUNNING");
    await h.startDaemon();
    const list = await h.client.call("tenants.list", {});
    expect(list.map((t) => t.id).sort()).toEqual([a.id, b.id].sort());
    expect(list.every((t) => t.state === "running")).toBe(true);
    expect(await initPid(a)).toBe(pidBefore);
    // It was restarted by the snapshot restore above: its app may still be coming up.
    expect((await waitFor(() => httpGet(`http://${a.ip}:8080/`).catch(() => null))).status).toBe(200);
  });

  it("stats hold a running tenant's kernel files open, none of a stopped one (its lasting cgroup outlives its runs)", async () => {
    const c = await h.client.call("tenants.create", { template: "mini", name: "tenant-held" });
    await h.client.call("tenants.stop", { id: c.id });
    // A fresh daemon holds nothing yet; two whole collections later it holds what it reads each time.
    await h.killDaemon();
    await h.startDaemon();
    await h.client.call("host.stats", {});
    await h.client.call("host.stats", {});
    const heldUnder = async (id: string) => {
      const fds = await fs.readdir(`/proc/${h.daemon!.pid}/fd`);
      const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/${h.daemon!.pid}/fd/${fd}`).catch(() => "")));
      return targets.filter((t) => t.includes(`/hoody.tenants/${id}/`));
    };
    // The live control: a running tenant's values are held.
    expect((await heldUnder(a.id)).length).toBeGreaterThan(3);
    expect(await heldUnder(c.id)).toEqual([]);
    // Seen running, its lasting cgroup's cgroup.stat is held (its shape is read from it, not stat'ed);
    // stopped, the next collection closes it (10,000 stopped tenants would fill the budget).
    const stat = (held: string[]) => held.filter((t) => t.endsWith(`/hoody.tenants/${c.id}/cgroup.stat`));
    await h.client.call("tenants.start", { id: c.id });
    await h.client.call("host.stats", {});
    await h.client.call("host.stats", {});
    expect(stat(await heldUnder(c.id))).toHaveLength(1);
    await h.client.call("tenants.stop", { id: c.id });
    await h.client.call("host.stats", {});
    expect(stat(await heldUnder(c.id))).toEqual([]);
    await h.client.call("tenants.delete", { id: c.id });
  });

  it("reads a collection on two threads alike: a tenant of the stats shard and one of the daemon's thread, paused or not", async () => {
    // The live control that the shard runs: the daemon says how many threads read stats.
    expect(h.daemonLog).toMatch(/stats on 2 threads/);
    const made: TenantInfo[] = [];
    const side = (shard: boolean) => [a, b, ...made].find((t) => readByShard(t.id) === shard);
    while ((!side(true) || !side(false)) && made.length < 16) made.push(await h.client.call("tenants.create", { template: "mini", name: `tenant-side-${made.length}` }));
    const pair = [side(true)!, side(false)!];
    const cgroups = new CgroupReader(detectCgroupLayout());
    for (const t of pair) expect((await httpGet(`http://${t.ip}:8080/`)).status).toBe(200);
    await h.client.call("tenants.pause", { id: pair[0]!.id });
    try {
      for (const ids of [pair.map((t) => t.id), undefined]) {
        const got = (await h.client.call("host.stats", ids ? { ids } : {})).tenants;
        for (const [i, t] of pair.entries()) {
          const s = got.find((x) => x.id === t.id)!;
          expect(s).toMatchObject({ running: true, paused: i === 0, pids: cgroups.pids(t.id).length, memoryLimitBytes: t.limits.memoryMiB * 1024 * 1024 });
          expect(s.pids).toBeGreaterThan(0);
          expect(s.memoryBytes).toBeGreaterThan(0);
          expect(s.cpuUsageNs).toBeGreaterThan(0);
          // Its HTTP answer left through its veth (read by the daemon's thread for both).
          expect(s.network).toMatchObject({ hostInterface: t.veth, address: t.ip });
          expect(s.network!.bytesSent).toBeGreaterThan(0);
          // A page's collection reads when its processes started; a whole one does not.
          if (ids) expect(Date.now() - Date.parse(s.startedAt!)).toBeLessThan(30 * 60_000);
          else expect(s.startedAt).toBeNull();
        }
      }
    } finally {
      await h.client.call("tenants.resume", { id: pair[0]!.id });
    }
    for (const t of made) await h.client.call("tenants.delete", { id: t.id });
  });

  it("pauses with the cgroup freezer: the app stops answering, the other tenant does not; the pause outlives a daemon restart", async () => {
    const unified = existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
    const events = () => readFileSync(`${unified}/hoody.tenants/${a.id}/payload/cgroup.events`, "utf8");
    expect((await httpGet(`http://${a.ip}:8080/`)).status).toBe(200);
    expect((await h.client.call("tenants.pause", { id: a.id })).state).toBe("paused");
    expect(events()).toMatch(/^frozen 1$/m);
    // Frozen, its httpd takes no request (the kernel still completes the handshake); the other tenant, the live control, does.
    await expect(httpGet(`http://${a.ip}:8080/`, 1500)).rejects.toThrow();
    expect((await httpGet(`http://${b.ip}:8080/`, 1500)).status).toBe(200);
    expect((await h.client.call("host.stats", { ids: [a.id, b.id] })).tenants.map((t) => [t.id, t.running, t.paused])).toEqual([
      [a.id, true, true],
      [b.id, true, false],
    ]);
    await expect(h.client.call("tenants.exec", { id: a.id, command: ["/bin/true"] })).rejects.toMatchObject({ code: "INVALID_STATE" });
    await expect(h.client.call("tenants.pause", { id: a.id })).rejects.toMatchObject({ code: "INVALID_STATE" });
    await expect(h.client.call("tenants.resume", { id: b.id })).rejects.toMatchObject({ code: "INVALID_STATE" });
    const pid = await initPid(a);
    await h.killDaemon();
    await h.startDaemon();
    expect((await h.client.call("tenants.get", { id: a.id })).state).toBe("paused");
    expect(events()).toMatch(/^frozen 1$/m);
    expect((await h.client.call("tenants.resume", { id: a.id })).state).toBe("running");
    expect(events()).toMatch(/^frozen 0$/m);
    expect(await initPid(a)).toBe(pid);
    expect((await httpGet(`http://${a.ip}:8080/`)).status).toBe(200);
  });

  it.skipIf(!existsSync("/sys/fs/cgroup/freezer"))("hybrid host: a tenant frozen by the v1 freezer (a freeze the daemon did not make) reads as paused and its resume thaws it", async () => {
    const state = () => readFileSync(`/sys/fs/cgroup/freezer/hoody.tenants/${a.id}/payload/freezer.state`, "utf8").trim();
    expect(state()).toBe("THAWED");
    // The driver's v1 path, as a host without a unified tree would run it.
    await new CgroupReader(detectCgroupLayout(), "v1").setFrozen(a.id, true);
    expect(state()).toBe("FROZEN");
    expect((await h.client.call("tenants.get", { id: a.id })).state).toBe("paused");
    await expect(httpGet(`http://${a.ip}:8080/`, 1500)).rejects.toThrow();
    expect((await h.client.call("tenants.resume", { id: a.id })).state).toBe("running");
    expect(state()).toBe("THAWED");
    expect((await httpGet(`http://${a.ip}:8080/`)).status).toBe(200);
  });

  it("erases everything on delete; deleting twice is fine", async () => {
    await h.client.call("snapshots.create", { id: b.id, name: "s1" });
    const sub = (await h.client.call("tenants.get", { id: b.id })).subvolumeId;
    const report = await h.client.call("tenants.delete", { id: b.id });
    expect(report.existed).toBe(true);
    expect(report.erased.join("\n")).toMatch(/snapshot s1/);
    expect(report.erased.join("\n")).toMatch(/ramdisk/);
    expect(await fs.readFile("/proc/self/mountinfo", "utf8")).not.toContain(path.join(h.dir, "ramdisk", b.id));
    await expect(fs.stat(path.join(h.dir, "ramdisk", b.id))).rejects.toThrow();
    const subvols = await execa("btrfs", ["subvolume", "list", h.poolPath]);
    expect(subvols.stdout).not.toContain(b.id);
    const qgroups = await execa("btrfs", ["qgroup", "show", h.poolPath]);
    expect(qgroups.stdout).not.toMatch(new RegExp(`^0/${sub}\\s`, "m"));
    await expect(fs.stat(path.join(h.lxcPath, b.id))).rejects.toThrow();
    const link = await execa("ip", ["link", "show", b.veth], { reject: false });
    expect(link.exitCode).not.toBe(0);
    const table = await execa("nft", ["list", "table", "inet", h.env.HOODY_NFT_TABLE!]);
    expect(table.stdout).not.toContain(b.id);
    expect(table.stdout).not.toContain(b.veth);
    expect((await h.lxc("lxc-info", b.id, "-sH")).exitCode).not.toBe(0);
    // Its uid range and IP are free again: the next tenant may take them.
    const next = await h.client.call("tenants.create", { template: "mini", start: false });
    expect([next.ip, next.uidBase]).toEqual([b.ip, b.uidBase]);
    await h.client.call("tenants.delete", { id: next.id });
    expect((await h.client.call("tenants.delete", { id: b.id })).existed).toBe(false);
  });
});

describe("failure and bad input", () => {
  it("rolls a failed create back completely: no subvolume, config, chain or lease", async () => {
    const src = await h.client.call("tenants.create", { template: "mini", name: "source", start: false });
    // A template whose shared path does not exist makes the start fail (at the share's host-side
    // mount, just before lxc-start) after every other step ran.
    await h.client.call("templates.promote", { id: src.id, name: "broken", settings: { sharedPaths: ["/does-not-exist"] } });
    const subvolumePaths = async () =>
      (await execa("btrfs", ["subvolume", "list", h.poolPath])).stdout
        .split("\n")
        .map((l) => l.replace(/^.* path /, ""))
        .sort();
    const before = await subvolumePaths();
    await expect(h.client.call("tenants.create", { template: "broken", name: "doomed" })).rejects.toThrow(/cannot share \/does-not-exist/);
    expect(await subvolumePaths()).toEqual(before);
    const list = await h.client.call("tenants.list", {});
    expect(list.map((t) => t.name)).not.toContain("doomed");
    const dirs = await fs.readdir(h.lxcPath);
    expect(dirs.sort()).toEqual(list.map((t) => t.id).sort());
    const table = await execa("nft", ["list", "table", "inet", h.env.HOODY_NFT_TABLE!]);
    const veths = [...table.stdout.matchAll(/"(\w+)" \. \d+\.\d+\.\d+\.\d+/g)].map((m) => m[1]);
    expect(new Set(veths)).toEqual(new Set(list.map((t) => t.veth)));
    // A template that tenants use cannot be deleted; an unused one can.
    await expect(h.client.call("templates.delete", { name: "mini" })).rejects.toThrow(/used by/);
    expect(await h.client.call("templates.delete", { name: "broken" })).toEqual({ existed: true });
    await h.client.call("tenants.delete", { id: src.id });
  });

  it("answers bad input with INVALID_INPUT and changes nothing", async () => {
    const before = await h.client.call("tenants.list", {});
    for (const input of [
      { template: "mini", name: "../etc" },
      { template: "mini", name: "a; rm -rf /" },
      { template: "mini", name: "ünïcode" },
      { template: "../mini" },
      { template: "mini", env: { "A B": "x" } },
      { template: "mini", env: { OK: "line\nbreak" } },
      { template: "mini", env: { BIG: "x".repeat(70 * 1024) } },
      { template: "mini", limits: { memoryMiB: -1 } },
    ]) {
      await expect(h.client.call("tenants.create", input as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    await expect(h.client.call("tenants.create", { template: "nope" })).rejects.toMatchObject({ code: "TEMPLATE_NOT_FOUND" });
    await expect(h.client.call("tenants.get", { id: "cdoesnotexi" })).rejects.toMatchObject({ code: "TENANT_NOT_FOUND" });
    expect(await h.client.call("tenants.list", {})).toEqual(before);
  });
});

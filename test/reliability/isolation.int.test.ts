// Isolation, attacked from inside a tenant: tenant A runs the commands a hostile customer would,
// against tenant B, the host, the kernel and the shared resources. Every "cannot" is paired with a
// control showing the same probe succeeds where it is allowed, so a check cannot pass by accident.
// Runs on the whole stack (production web build bound to 0.0.0.0 as `npm run up` does, router,
// real host daemon, LXC, BTRFS, nftables).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import type { TenantInfo } from "../../server/shared/protocol.js";
import { TestStack } from "../../testkit/stack-harness.js";
import { httpGet, waitFor } from "../../testkit/host-harness.js";
import { initPid as tenantInitPid, inTenant, tenantShell, udpReceiver as udpReceiverIn, udpSend as udpSendFrom } from "../tenant-probes.js";

let s: TestStack;
let A: TenantInfo;
let B: TenantInfo;
let C: TenantInfo;

const sh = (t: TenantInfo, script: string, timeoutMs = 30_000) => tenantShell(s.host, t, script, timeoutMs);
/**
 * A TCP connection from inside `from`, answered REACHED only if it was accepted. The request comes
 * from a file, not a pipe: busybox nc exits when the peer closes, and a listener with no input closes
 * at once, so a request still on its way through a pipe was sometimes never sent.
 */
const tcpProbe = async (from: TenantInfo, ip: string, port: number) =>
  (await sh(from, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' > /tmp/probe-request; nc -w 2 ${ip} ${port} < /tmp/probe-request >/dev/null 2>&1 && echo REACHED || echo BLOCKED`)).stdout.trim();
const appAnswers = async (t: TenantInfo) => (await httpGet(`http://${t.ip}:8080/`)).status === 200;

/** A TCP listener inside a tenant that records what reaches it (busybox nc, restarted after each connection). */
async function listen(t: TenantInfo, port: number): Promise<void> {
  await sh(t, `(while :; do nc -l -p ${port} >> /tmp/got-${port} 2>/dev/null; done) </dev/null >/dev/null 2>&1 &`);
}
const received = async (t: TenantInfo, port: number) => (await sh(t, `cat /tmp/got-${port} 2>/dev/null; true`)).stdout;

// UDP needs a tool the tenants' busybox lacks (its nc is TCP only): the probes run the host's
// python3 in the tenant's network namespace (tenant-probes.ts).
const inNetns = (t: TenantInfo, code: string) => inTenant(s.host, t, code);
const udpReceiver = (t: TenantInfo, port: number, stopAt: string) => udpReceiverIn(s.host, t, port, stopAt);
const udpSend = (t: TenantInfo, ip: string, port: number, payload: string, from?: string) => udpSendFrom(s.host, t, ip, port, payload, { from });
const initPid = (t: TenantInfo) => tenantInitPid(s.host, t);

/** Every process of a tenant: its init and all descendants, from the host's process table. */
async function tenantProcesses(t: TenantInfo): Promise<{ pid: number; uid: number }[]> {
  const root = await initPid(t);
  const rows = (await execa("ps", ["-e", "-o", "pid=,ppid=,uid="])).stdout
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const inside = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (inside.has(ppid) && !inside.has(pid)) {
        inside.add(pid);
        grew = true;
      }
    }
  }
  return rows.filter(([pid]) => inside.has(pid)).map(([pid, , uid]) => ({ pid, uid }));
}

/** The tenant's cgroup directory of a controller on the host (its cgroup v1 hierarchy, else the v2 unified tree), from its init's /proc/PID/cgroup. */
async function cgroupDir(t: TenantInfo, controller: "memory" | "cpu" | "cpuacct"): Promise<{ dir: string; v2: boolean }> {
  const lines = (await fs.readFile(`/proc/${await initPid(t)}/cgroup`, "utf8")).trim().split("\n");
  const v1 = lines.map((l) => l.split(":")).find(([, list]) => list?.split(",").includes(controller));
  if (v1) return { dir: path.join("/sys/fs/cgroup", v1[1]!, v1[2]!), v2: false };
  const unified = lines.find((l) => l.startsWith("0::"))!.slice(3);
  return { dir: path.join("/sys/fs/cgroup", unified), v2: true };
}
async function oomKills(t: TenantInfo): Promise<number> {
  const { dir, v2 } = await cgroupDir(t, "memory");
  // The container's init sits in a leaf below the tenant's cgroup; count at the tenant's level.
  for (let d = dir; d.length > "/sys/fs/cgroup".length; d = path.dirname(d)) {
    const text = await fs.readFile(path.join(d, v2 ? "memory.events" : "memory.oom_control"), "utf8").catch(() => null);
    const n = text?.match(/oom_kill (\d+)/)?.[1];
    if (n !== undefined && Number(n) > 0) return Number(n);
  }
  return 0;
}

const tenant = (id: string) => s.host.client.call("tenants.get", { id });
/** API ids by engine name: A, B and C are the daemon's views (engine names), the API knows its own ids. */
const apiId = new Map<string, string>();

beforeAll(async () => {
  s = await TestStack.create({ bindHost: "0.0.0.0" });
  await s.startRouter();
  const project = (await s.api("POST", "/projects", { alias: "isolation" })).body.data.id;
  const make = async (name: string) => {
    const r = await s.api("POST", `/projects/${project}/containers`, { name, template: "mini" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    apiId.set(r.body.data.engine_name, r.body.data.id);
    return tenant(r.body.data.engine_name);
  };
  // A and B are warm-pool members claimed by their creates, C a fresh tenant: every check below
  // holds for claimed tenants as for fresh ones, and between the two kinds.
  expect((await s.api("PUT", "/warm-pool/mini", { size: 2 })).status).toBe(200);
  await waitFor(async () => (await s.api("GET", "/warm-pool")).body.data.pools.find((p: any) => p.template === "mini")?.ready === 2, 30_000);
  A = await make("attacker");
  B = await make("victim");
  // The pool refills behind the claims: two new members, neither of them A or B.
  const members = async () => (await s.host.client.call("pool.list", {})).find((p) => p.template === "mini")?.ready ?? 0;
  await waitFor(async () => (await members()) === 2, 60_000);
  expect((await s.host.client.call("tenants.list", {})).map((t) => t.id)).toEqual(expect.arrayContaining([A.id, B.id]));
  expect((await s.api("PUT", "/warm-pool/mini", { size: 0 })).status).toBe(200);
  C = await make("bystander");
  for (const t of [A, B, C]) await waitFor(() => appAnswers(t).catch(() => false));
});
afterAll(async () => {
  await s?.stop();
});

describe("network isolation", () => {
  it("tenant A reaches no port of tenant B over TCP, UDP or ICMP; B's own listeners and the host's access work", async () => {
    const tcpPorts = [22, 5432, 40000];
    for (const p of tcpPorts) await listen(B, p);
    // Controls: every listener accepts from inside B and records what it got, and the host reaches B's
    // app port. The listeners start in the background, and a listener's write can trail the client's
    // exit, so both are waited for.
    for (const p of tcpPorts) {
      await waitFor(async () => (await tcpProbe(B, "127.0.0.1", p)) === "REACHED");
      await waitFor(async () => (await received(B, p)).includes("GET /"));
    }
    await sh(B, "for f in /tmp/got-*; do : > $f; done");
    expect(await appAnswers(B)).toBe(true);

    for (const p of [8080, ...tcpPorts]) expect(await tcpProbe(A, B.ip, p), `A -> B:${p}`).toBe("BLOCKED");
    for (const p of tcpPorts) expect(await received(B, p), `B:${p} got traffic`).not.toContain("GET /");
    const ping = await sh(A, `ping -c 2 -W 1 ${B.ip}`);
    expect(ping.out).toMatch(/100% packet loss/);
    expect((await sh(A, "ping -c 1 -W 5 127.0.0.1")).out).toMatch(/ 0% packet loss/);
    // UDP: B's own loopback datagram arrives (control), A's do not.
    const local = await udpReceiver(B, 40001, "local-udp");
    await inNetns(B, `import socket\nsocket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b"local-udp",("127.0.0.1",40001))`);
    expect((await local.done).stdout).toContain("local-udp");
    const remote = await udpReceiver(B, 40001, "end-of-test");
    await udpSend(A, B.ip, 40001, "from-attacker");
    await udpSend(B, "127.0.0.1", 40001, "end-of-test");
    const got = (await remote.done).stdout;
    expect(got).toContain("end-of-test");
    expect(got).not.toContain("from-attacker");
  });

  it("tenant A cannot reach the host's API, dashboard, router or any host listener, nor the daemon socket", async () => {
    // A host address of our own: an empty bridge this test makes (this kernel has no dummy links).
    const link = `${s.host.env.HOODY_VETH_PREFIX}hs`;
    const hostIp = s.host.env.HOODY_SUBNET!.replace(/\.0\/24$/, ".1");
    const server = net.createServer((c) => c.end("HOST\n"));
    await new Promise<void>((res) => server.listen(0, "0.0.0.0", res));
    const extra = (server.address() as net.AddressInfo).port;
    try {
      await execa("ip", ["link", "add", link, "type", "bridge"]);
      await execa("ip", ["addr", "add", `${hostIp}/32`, "dev", link]);
      await execa("ip", ["link", "set", link, "up"]);
      // Control: the web server, the router and the listener are there on that address (for the host).
      // The web server answers a Host it does not serve with 421 UNKNOWN_HOST: an answer all the same.
      const web = await httpGet(`http://${hostIp}:${s.port}/api/health`);
      expect(web.status === 200 || (web.status === 421 && web.body.includes("UNKNOWN_HOST")), `${web.status} ${web.body}`).toBe(true);
      expect((await httpGet(`http://${hostIp}:${s.routerPort}/.hoody/health`)).status).toBe(200);
      for (const port of [s.port, s.routerPort, extra]) expect(await tcpProbe(A, hostIp, port), `A -> host:${port}`).toBe("BLOCKED");
    } finally {
      server.close();
      await execa("ip", ["link", "del", link], { reject: false });
    }
    // The daemon's socket (and the data dir around it) is not in the tenant's filesystem at all.
    const socket = s.host.env.HOODY_HOSTD_SOCKET!;
    expect((await fs.stat(socket)).isSocket()).toBe(true);
    const look = await sh(A, `ls -la ${socket} 2>&1; grep -c '${s.host.dir}' /proc/self/mountinfo`);
    expect(look.out).toMatch(/No such file or directory/);
    expect(look.stdout).toMatch(/^0$/m);
    expect((await sh(A, "find / -xdev -type s 2>/dev/null; echo end")).stdout).not.toContain("hostd.sock");
  });

  it("tenant A cannot spoof tenant B's address or touch the host side of its link", async () => {
    // C lets B (only) send it UDP on 40002.
    const rule = await s.api("POST", `/containers/${apiId.get(C.id)}/firewall/ingress`, { action: "allow", protocol: "udp", destination_port: "40002", source: `${B.ip}/32` });
    // 200 with the rule lists (the SDK's type); a new rule, not an answer naming one it repeats.
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect(rule.body.data.duplicate, JSON.stringify(rule.body)).toBeUndefined();
    // Control: B's own datagram arrives.
    const genuine = await udpReceiver(C, 40002, "genuine-b");
    await udpSend(B, C.ip, 40002, "genuine-b");
    expect((await genuine.done).stdout).toContain("genuine-b");
    // A claims B's address as its own (as the tenant's root can) and sends from it; changes its MAC too.
    const mac = (await sh(A, "ip -o link show eth0 | sed 's/.*link\\/ether \\([^ ]*\\).*/\\1/'")).stdout.trim();
    expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const spoof = await sh(A, `ip addr add ${B.ip}/32 dev eth0 && ip link set eth0 address 02:00:00:00:00:42 && echo OK`);
    expect(spoof.stdout).toContain("OK");
    const forged = await udpReceiver(C, 40002, "end-of-test");
    const sent = await udpSend(A, C.ip, 40002, "forged-by-a", B.ip);
    expect(sent.exitCode, sent.stderr).toBe(0);
    await udpSend(B, C.ip, 40002, "end-of-test");
    const got = (await forged.done).stdout;
    expect(got).toContain("end-of-test");
    expect(got).not.toContain("forged-by-a");
    // A sees only its own links; the host's side of A's link and B are untouched.
    const links = (await sh(A, "ip -o link | awk -F': ' '{print $2}'")).stdout.trim().split("\n");
    expect(links.map((l) => l.split("@")[0]).sort()).toEqual(["eth0", "lo"]);
    expect((await execa("ip", ["-o", "link", "show", A.veth])).stdout).toContain("state UP");
    expect(await appAnswers(B)).toBe(true);
    // Put A back as it was (the host's neighbour entry still has A's real MAC).
    await sh(A, `ip addr del ${B.ip}/32 dev eth0; ip link set eth0 address ${mac}`);
    await waitFor(() => appAnswers(A).catch(() => false));
  });
});

describe("claimed from the warm pool", () => {
  it("A and B were claimed (claiming → running), C was made fresh; each has its own hostname, env, uid range and address", async () => {
    const statuses = async (t: TenantInfo) => (await s.api("GET", `/containers/${apiId.get(t.id)}/status-logs?sort_order=asc`)).body.data.logs.map((l: any) => l.to_status);
    expect(await statuses(A)).toEqual(["claiming", "running"]);
    expect(await statuses(B)).toEqual(["claiming", "running"]);
    expect(await statuses(C)).toEqual(["running"]);
    for (const t of [A, B, C]) {
      expect((await sh(t, "hostname")).stdout.trim()).toBe(t.name);
      const env = (await sh(t, "tr '\\0' '\\n' < /proc/1/environ")).stdout;
      expect(env).toContain(`TENANT_NAME=${t.name}`);
      expect(env).toContain(`HOODY_TENANT_ID=${t.id}`);
      // Nothing of the pool's claim is left where the tenant can see it.
      expect((await sh(t, "ls -A /ramdisk")).stdout.trim()).toBe("");
    }
    expect(new Set([A, B, C].map((t) => t.uidBase)).size).toBe(3);
    expect(new Set([A, B, C].map((t) => t.ip)).size).toBe(3);
    // The members that were not claimed are gone (size 0): no pool member's chain, veth or directory is left.
    expect((await s.api("GET", "/warm-pool")).body.data.pools.find((p: any) => p.template === "mini")).toMatchObject({ size: 0, ready: 0 });
  });
});

describe("process, file and privilege isolation", () => {
  it("tenant A sees none of tenant B's files or processes (the host sees both)", async () => {
    const marker = `victim-secret-${Date.now()}`;
    await sh(B, `echo ${marker} > /data/private.txt; (sleep 31337 </dev/null >/dev/null 2>&1 &)`);
    // Controls: on the host, B's file is in B's subvolume and B's process is in the process table.
    expect(await fs.readFile(path.join(s.host.poolPath, "tenants", B.id, "data/private.txt"), "utf8")).toContain(marker);
    expect((await execa("ps", ["-e", "-o", "args="])).stdout).toContain("sleep 31337");
    const files = await sh(A, `grep -rl ${marker} / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; echo end`);
    expect(files.stdout.trim()).toBe("end");
    const procs = await sh(A, "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'");
    expect(procs.stdout).not.toContain("31337");
    expect(Number(procs.stdout.trim().split("\n").pop())).toBeLessThan(10);
  });

  it("every process of a tenant runs as a host uid of its own range, which no other tenant shares", async () => {
    const ranges = await Promise.all([A, B, C].map(async (t) => ({ t, procs: await tenantProcesses(t) })));
    for (const { t, procs } of ranges) {
      expect(procs.length).toBeGreaterThan(0);
      for (const p of procs) {
        expect(p.uid, `pid ${p.pid} of ${t.name}`).toBeGreaterThanOrEqual(t.uidBase);
        expect(p.uid).toBeLessThan(t.uidBase + 65536);
      }
    }
    const bases = [A, B, C].map((t) => t.uidBase).sort((x, y) => x - y);
    for (let i = 1; i < bases.length; i++) expect(bases[i]! - bases[i - 1]!).toBeGreaterThanOrEqual(65536);
    // The tenant's root is the host uid at the base of its range, not root.
    expect((await execa("ps", ["-o", "uid=", "-p", String(await initPid(A))])).stdout.trim()).toBe(String(A.uidBase));
  });

  it("tenant A cannot load kernel modules, make device nodes, mount host filesystems or write kernel sysctls", async () => {
    const caps = (await sh(A, "grep CapBnd /proc/1/status")).stdout.split(/\s+/)[1]!;
    const bnd = BigInt(`0x${caps}`);
    // CAP_SYS_MODULE 16, CAP_SYS_RAWIO 17, CAP_SYS_BOOT 22, CAP_SYS_TIME 25, CAP_MAC_OVERRIDE 32, CAP_MAC_ADMIN 33.
    for (const bit of [16n, 17n, 22n, 25n, 32n, 33n]) expect((bnd >> bit) & 1n, `capability ${bit} in the bounding set`).toBe(0n);
    const mod = await sh(A, "echo junk > /tmp/x.ko; insmod /tmp/x.ko; echo rc=$?");
    expect(mod.out).not.toContain("rc=0");
    const loop = (await execa("findmnt", ["-no", "SOURCE", s.host.poolPath])).stdout.trim();
    const dev = await sh(A, `mknod /tmp/pool b 7 0; echo mknod=$?; mkdir -p /mnt/x; mount -t btrfs ${loop} /mnt/x; echo mount=$?; mount -o remount,rw /sys; echo sys=$?`);
    expect(dev.out).toMatch(/mknod=1/);
    expect(dev.out).not.toMatch(/mount=0/);
    expect(dev.out).not.toMatch(/sys=0/);
    const before = await fs.readFile("/proc/sys/vm/swappiness", "utf8");
    const sysctl = await sh(A, "echo 7 > /proc/sys/vm/swappiness; echo swap=$?; echo 3 > /proc/sys/vm/drop_caches; echo drop=$?; echo 1 > /proc/sys/kernel/panic; echo panic=$?");
    expect(sysctl.out).toMatch(/swap=\d/);
    expect(sysctl.out).not.toMatch(/swap=0|drop=0|panic=0/);
    expect(await fs.readFile("/proc/sys/vm/swappiness", "utf8")).toBe(before);
    // Whatever A mounts in its own namespace stays there.
    await sh(A, "mkdir -p /mnt/t && mount -t tmpfs attacker-tmpfs /mnt/t; true");
    expect(await fs.readFile("/proc/self/mounts", "utf8")).not.toContain("attacker-tmpfs");
  });
});

describe("resource isolation", () => {
  it("a fork loop in A stops at A's pids limit while B keeps answering", async () => {
    const r = await sh(A, "i=0; while [ $i -lt 200 ]; do sleep 300 </dev/null >/dev/null 2>&1 & i=$((i+1)); done 2>&1 | head -3; echo done", 60_000);
    expect(r.out).toMatch(/can't fork|Resource temporarily unavailable|fork/i);
    const pidsOf = async (id: string) => (await s.host.client.call("host.stats", {})).tenants.find((t) => t.id === id)!.pids;
    expect(await pidsOf(A.id)).toBeGreaterThan(50);
    expect(await pidsOf(A.id)).toBeLessThanOrEqual(A.limits.pids);
    expect(await appAnswers(B)).toBe(true);
    await sh(A, 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sleep ] && kill -9 ${p#/proc/}; done; true');
    await waitFor(async () => (await pidsOf(A.id)) < 5);
  });

  it("a CPU hog in A is held to A's quota (the kernel throttles it) while B keeps answering", async () => {
    // The quota as the kernel holds it, a share of the default 100 ms period.
    const cpu = await cgroupDir(A, "cpu");
    const read = (f: string) => fs.readFile(path.join(cpu.dir, f), "utf8");
    const want = Math.round((A.limits.cpuMilli / 1000) * 100_000);
    if (cpu.v2) expect((await read("cpu.max")).trim()).toBe(`${want} 100000`);
    else expect([(await read("cpu.cfs_quota_us")).trim(), (await read("cpu.cfs_period_us")).trim()]).toEqual([String(want), "100000"]);
    // CPU time A used (µs) and the periods the kernel throttled it in.
    const acct = await cgroupDir(A, "cpuacct");
    const used = async () => (cpu.v2 ? Number(/usage_usec (\d+)/.exec(await read("cpu.stat"))![1]) : Number(await fs.readFile(path.join(acct.dir, "cpuacct.usage"), "utf8")) / 1000);
    const throttled = async () => Number(/nr_throttled (\d+)/.exec(await read("cpu.stat"))![1]);
    const [u0, th0, t0] = [await used(), await throttled(), performance.now()];
    // Two busy loops: two CPUs' worth of demand (this box has 2) for two seconds.
    const hog = sh(A, "for i in 1 2; do timeout 2 sh -c 'while :; do :; done' & done; wait; echo hogged", 30_000);
    expect(await appAnswers(B)).toBe(true);
    expect((await hog).out).toContain("hogged");
    const ratio = ((await used()) - u0) / ((performance.now() - t0) * 1000);
    console.log(`[isolation] a CPU hog in A used ${ratio.toFixed(2)} CPUs (its quota ${A.limits.cpuMilli / 1000}); throttled in ${(await throttled()) - th0} periods`);
    // The control: the loops did run (well above nothing); the quota: never much above A's share.
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan((A.limits.cpuMilli / 1000) * 1.25);
    expect(await throttled()).toBeGreaterThan(th0);
    expect(await appAnswers(A)).toBe(true);
  });

  it("a memory hog in A is killed inside A's cgroup while A's app and B keep answering", async () => {
    const before = await oomKills(A);
    // tail -c buffers what it keeps: 4x A's memory limit of anonymous memory.
    const hog = await sh(A, `head -c ${A.limits.memoryMiB * 4}m /dev/zero | tail -c ${A.limits.memoryMiB * 3}m > /dev/null; echo rc=$?`, 60_000);
    expect(hog.out).toMatch(/rc=137|Killed/);
    expect(await oomKills(A)).toBeGreaterThan(before);
    expect(await oomKills(B)).toBe(0);
    expect(await appAnswers(A)).toBe(true);
    expect(await appAnswers(B)).toBe(true);
  });

  it("filling A's ramdisk stops at A's cap; B's ramdisk is unaffected", async () => {
    const fill = await sh(A, `dd if=/dev/zero of=/ramdisk/fill bs=1M count=${A.ramdiskMiB * 2} 2>&1; df -m /ramdisk | tail -1`);
    expect(fill.out).toMatch(/No space left on device/);
    const b = await sh(B, `dd if=/dev/zero of=/ramdisk/ok bs=1M count=${Math.floor(B.ramdiskMiB / 2)} 2>&1 && echo WROTE`);
    expect(b.stdout).toContain("WROTE");
    await sh(A, "rm -f /ramdisk/fill");
    await sh(B, "rm -f /ramdisk/ok");
    expect(await appAnswers(B)).toBe(true);
  });

  it("filling A's disk quota fails inside A only: B writes, the pool keeps its room", async () => {
    const r = await s.api("PATCH", `/containers/${apiId.get(A.id)}`, { limits: { disk_mib: 32 }, restart: false });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((await tenant(A.id)).limits.diskMiB).toBe(32);
    // Random bytes: the pool compresses, so zeros would hardly count against the quota.
    const fill = await sh(A, "dd if=/dev/urandom of=/data/fill bs=1M count=128 conv=fsync 2>&1; sync", 60_000);
    expect(fill.out).toMatch(/Disk quota exceeded|No space left/);
    const written = (await fs.stat(path.join(s.host.poolPath, "tenants", A.id, "data/fill"))).size;
    expect(written).toBeLessThanOrEqual(32 * 1024 * 1024);
    const b = await sh(B, "dd if=/dev/urandom of=/data/ok bs=1M count=64 conv=fsync 2>&1 && echo WROTE", 60_000);
    expect(b.stdout).toContain("WROTE");
    expect(await appAnswers(A)).toBe(true);
    expect(await appAnswers(B)).toBe(true);
    // Freeing space inside A makes room again; lifting the quota is an API call too.
    await sh(A, "rm -f /data/fill; sync");
    await waitFor(async () => (await sh(A, "dd if=/dev/urandom of=/data/again bs=1M count=8 conv=fsync 2>&1 && echo WROTE")).stdout.includes("WROTE"), 20_000, 500);
    await sh(A, "rm -f /data/again");
    await sh(B, "rm -f /data/ok");
  });
});

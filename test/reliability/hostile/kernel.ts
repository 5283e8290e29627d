// Hostile tenants against what the kernel shares between them (issue 20, items 1, 7 and 8): per-user
// counts that roll up to host root (inotify, namespaces), forged packets that copy another tenant's
// flow, and the host-wide conntrack table. Each attack runs from inside tenant A against a real host
// daemon with real LXC tenants; each "holds" is paired with a control proving the probe was live.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import { execa } from "execa";
import type { FirewallRule, TenantInfo } from "../../../server/shared/protocol.js";
import { hostConfigFromEnv } from "../../../server/host/config.js";
import { hostSysctlFloors } from "../../../server/host/drivers/kernel.js";
import { TestHost, httpGet, waitFor } from "../../../testkit/host-harness.js";
import { inTenant, printed, spawnInTenant, tenantShell, udpReceiver, udpSend } from "../../tenant-probes.js";

/** Small shares, so the attacks reach them quickly; the inotify share is the default. */
const CONNTRACK_SHARE = 32;
const NAMESPACE_SHARE = 8;
const INOTIFY_SHARE = 128;

let h: TestHost;
let A: TenantInfo;
let B: TenantInfo;
let C: TenantInfo;

const appAnswers = async (t: TenantInfo) => (await httpGet(`http://${t.ip}:8080/`)).status === 200;
/** Adds firewall rules to a tenant's own (the template's rules stay). */
async function allow(t: TenantInfo, ...rules: Omit<FirewallRule, "state" | "direction" | "action">[]) {
  const current = (await h.client.call("tenants.get", { id: t.id })).firewall;
  await h.client.call("tenants.setFirewall", { id: t.id, rules: [...current, ...rules.map((r) => ({ direction: "ingress" as const, action: "allow" as const, state: "enabled" as const, ...r }))] });
}

beforeAll(async () => {
  h = await TestHost.create({ hostEnv: { HOODY_TENANT_CONNTRACK_MAX: String(CONNTRACK_SHARE), HOODY_TENANT_NAMESPACES: String(NAMESPACE_SHARE) } });
  await h.client.buildTemplate("mini");
  const make = (name: string) => h.client.call("tenants.create", { template: "mini", name });
  A = await make("attacker");
  B = await make("victim");
  C = await make("bystander");
  for (const t of [A, B, C]) await waitFor(() => appAnswers(t).catch(() => false));
});
afterAll(async () => {
  await h?.stop();
});

/**
 * Python that takes `what` (one call returning a new fd) until the kernel refuses, keeps all of it,
 * prints "HELD <count> <errno>" and holds until its stdin closes. Its fd limit is raised to the hard
 * limit first, so the refusal is the kernel count's, not the process's fd table.
 */
const holdUntilRefused = (setup: string, take: string, max = 5000) =>
  `import ctypes,errno,os,resource,sys\nlibc=ctypes.CDLL(None,use_errno=True)\nsoft,hard=resource.getrlimit(resource.RLIMIT_NOFILE)\nresource.setrlimit(resource.RLIMIT_NOFILE,(hard,hard))\n${setup}\nheld=[]\nerr="none"\nwhile len(held)<${max}:\n  fd=${take}\n  if fd<0:\n    err=errno.errorcode[ctypes.get_errno()]; break\n  held.append(fd)\nprint("HELD",len(held),err,"nofile",hard,flush=True)\nsys.stdin.read()`;
const INOTIFY = holdUntilRefused("", "libc.inotify_init()");
/** A new network namespace per round, kept alive by an open fd on it. */
const NETNS = holdUntilRefused("def netns():\n  if libc.unshare(0x40000000)!=0: return -1\n  return os.open('/proc/thread-self/ns/net',os.O_RDONLY)", "netns()", 1000);
const ONE_INOTIFY = `import ctypes\nfd=ctypes.CDLL(None,use_errno=True).inotify_init()\nprint("FD",fd,ctypes.get_errno())`;
const held = (out: string) => {
  const m = /HELD (\d+) (\w+)/.exec(out);
  return { count: Number(m?.[1]), errno: m?.[2] };
};

describe("per-user kernel counts (item 1): a tenant holds its share, not host root's", () => {
  it("host limits leave host root its reserve with every tenant range at its share", async () => {
    const floors = hostSysctlFloors(hostConfigFromEnv(h.env));
    for (const [key, floor] of Object.entries(floors)) {
      const text = await fs.readFile(`/proc/sys/${key}`, "utf8").catch(() => null);
      if (text !== null) expect(Number(text), key).toBeGreaterThanOrEqual(floor);
    }
  });

  it("A holds every inotify instance it can get; host root and tenant B still get theirs", async () => {
    // As A's root (the kernel charges A's uid base in A's user namespace, then host root).
    const { child } = await spawnInTenant(h, A, INOTIFY, { asTenantRoot: true, timeoutMs: 120_000 });
    try {
      const out = await printed(child, "nofile");
      // Control: A really took instances until the kernel refused (EMFILE from the count, its fd limit far above).
      expect(held(out), out).toEqual({ count: INOTIFY_SHARE, errno: "EMFILE" });
      expect(Number(/nofile (\d+)/.exec(out)?.[1]), out).toBeGreaterThan(INOTIFY_SHARE + 10);
      const root = await execa("python3", ["-c", ONE_INOTIFY]);
      expect(root.stdout, "host root's inotify_init").toMatch(/^FD \d+ /);
      const b = await inTenant(h, B, ONE_INOTIFY, { asTenantRoot: true });
      expect(b.stdout, `B's inotify_init: ${b.stderr}`).toMatch(/^FD \d+ /);
    } finally {
      child.stdin!.end();
      await child;
    }
  });

  it("A holds every network namespace it can make; host root and tenant B still make theirs", async () => {
    const { child } = await spawnInTenant(h, A, NETNS, { asTenantRoot: true, timeoutMs: 120_000 });
    try {
      const out = await printed(child, "nofile");
      // Control: A made namespaces until the kernel refused with its "count exceeded" errno.
      const { count, errno } = held(out);
      expect(errno, out).toBe("ENOSPC");
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThanOrEqual(NAMESPACE_SHARE);
      expect((await execa("unshare", ["--net", "true"], { reject: false })).exitCode, "host root's unshare --net").toBe(0);
      const b = await inTenant(h, B, `import ctypes,os\nprint("RC",ctypes.CDLL(None,use_errno=True).unshare(0x40000000),ctypes.get_errno())`, { asTenantRoot: true });
      expect(b.stdout, b.stderr).toContain("RC 0 ");
    } finally {
      child.stdin!.end();
      await child;
    }
  });

  it("A's root cannot raise its own share, even with /proc/sys unmounted", async () => {
    const r = await tenantShell(h, A, "umount -l /proc/sys && echo UNMOUNTED; echo 100000 > /proc/sys/user/max_inotify_instances; cat /proc/sys/user/max_inotify_instances");
    expect(r.stdout.trim().split("\n").pop()).toBe(String(INOTIFY_SHARE));
    // Control: the read-only mount is gone, so what refuses the write is the missing capability.
    expect(r.stdout).toContain("UNMOUNTED");
    expect(r.stderr).toMatch(/Permission denied/);
  });
});

const ipReversePathDrops = async () => {
  const lines = (await fs.readFile("/proc/net/netstat", "utf8")).split("\n").filter((l) => l.startsWith("TcpExt:"));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  return Number(values![names!.indexOf("IPReversePathFilter")]);
};
/** From inside A: raw UDP datagrams whose IP header claims another address and port. */
const forge = (src: string, sport: number, dst: string, dport: number, payload: string) =>
  inTenant(
    h,
    A,
    `import socket,struct\ns=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\np=b"${payload}"\nu=struct.pack("!HHHH",${sport},${dport},8+len(p),0)+p\nip=struct.pack("!BBHHHBBH4s4s",0x45,0,20+len(u),0,0,64,17,0,socket.inet_aton("${src}"),socket.inet_aton("${dst}"))\nfor _ in range(3): s.sendto(ip+u,("${dst}",0))\nprint("SENT")`,
    { asTenantRoot: true },
  );

describe("anti-spoofing (item 7): a forged copy of another tenant's flow does not pass as established", () => {
  const PORT = 40007;
  const C_PORT = 40100;
  beforeAll(async () => {
    await allow(B, { protocol: "udp", destination_port: String(PORT), source: `${C.ip}/32` });
  });

  /** C talks to B (B echoes, so conntrack has an established C<->B flow), A forges C's side of it. */
  async function attack(tag: string) {
    const rx = await udpReceiver(h, B, PORT, `end-${tag}`, { echo: true });
    const genuine = await udpSend(h, C, B.ip, PORT, `genuine-${tag}`, { sport: C_PORT, awaitReply: true });
    expect(genuine.exitCode, `C's genuine flow got B's answers: ${genuine.stderr}`).toBe(0);
    const forged = await forge(C.ip, C_PORT, B.ip, PORT, `forged-${tag}`);
    expect(forged.stdout, forged.stderr).toContain("SENT");
    await udpSend(h, C, B.ip, PORT, `end-${tag}`, { sport: C_PORT, awaitReply: true });
    return (await rx.done).stdout;
  }

  it("the host side of each tenant's veth drops forged sources (strict rp_filter)", async () => {
    const before = await ipReversePathDrops();
    const got = await attack("rpf");
    // Control: C's genuine datagrams, before and after, arrived.
    expect(got).toContain("genuine-rpf");
    expect(got).toContain("end-rpf");
    expect(got).not.toContain("forged-rpf");
    expect(await ipReversePathDrops(), "forged datagrams counted as reverse-path drops").toBeGreaterThanOrEqual(before + 3);
    for (const t of [A, B, C]) expect(await fs.readFile(`/proc/sys/net/ipv4/conf/${t.veth}/rp_filter`, "utf8"), t.veth).toBe("1\n");
  });

  it("with rp_filter off on A's veth, nft's source check, ahead of conntrack acceptance, still drops them", async () => {
    const file = `/proc/sys/net/ipv4/conf/${A.veth}/rp_filter`;
    await fs.writeFile(file, "0");
    try {
      const got = await attack("nft");
      expect(got).toContain("genuine-nft");
      expect(got).toContain("end-nft");
      expect(got).not.toContain("forged-nft");
    } finally {
      await fs.writeFile(file, "1");
    }
  });
});

describe("conntrack (item 8): a tenant's new flows stop at its share; others' do not", () => {
  const PORT = 40008;
  beforeAll(async () => {
    await allow(B, { protocol: "udp", destination_port: String(PORT), source: `${A.ip}/32` }, { protocol: "udp", destination_port: String(PORT), source: `${C.ip}/32` });
    await allow(C, { protocol: "udp", destination_port: "40009", source: `${B.ip}/32` });
  });

  it("A opens flows until capped; C, B and the host still open new ones", async () => {
    const rx = await udpReceiver(h, B, PORT, "end-of-test", { seconds: 60 });
    // Each datagram from a new socket (a new source port): a new flow, one conntrack entry each.
    const flood = await inTenant(
      h,
      A,
      `import socket\nfor i in range(${CONNTRACK_SHARE * 3}):\n  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.sendto(b"flow-%d" % i,("${B.ip}",${PORT})); s.close()\nprint("FLOODED")`,
      { asTenantRoot: true },
    );
    expect(flood.stdout, flood.stderr).toContain("FLOODED");
    // While A's entries live (30 s unreplied): A's next new flow is dropped, C's is not.
    await udpSend(h, A, B.ip, PORT, "late-from-a");
    await udpSend(h, C, B.ip, PORT, "from-c");
    // B opens a new flow to C, and the host one to A and to B.
    const cRx = await udpReceiver(h, C, 40009, "from-b");
    await udpSend(h, B, C.ip, 40009, "from-b");
    expect((await cRx.done).stdout).toContain("from-b");
    expect(await appAnswers(A)).toBe(true);
    expect(await appAnswers(B)).toBe(true);
    await udpSend(h, C, B.ip, PORT, "end-of-test");
    const got = (await rx.done).stdout.split("\n");
    const flows = new Set(got.filter((l) => l.startsWith("flow-")));
    // Control: A's flows up to its share arrived; none beyond it but the kernel's own slack: nft's
    // `ct count` (nf_conncount) evicts a counted flow it cannot look up while unconfirmed for over a
    // jiffy, so a flow whose packet stalled between the count and its confirmation frees its place
    // (seen once on this 2-core VM: 33 of a share of 32). Without the cap all 96 arrive.
    expect(flows.size).toBeGreaterThanOrEqual(CONNTRACK_SHARE - 2);
    expect(flows.size).toBeLessThanOrEqual(CONNTRACK_SHARE + 2);
    expect(got).not.toContain("late-from-a");
    expect(got).toContain("from-c");
  });

  it("A's count goes with its erasure: the tenant given A's address next opens new flows at once", async () => {
    // A's entries are still in the conntrack table (an unreplied UDP flow lives 30 s), and so is its count.
    const counted = async () => (await execa("nft", ["list", "set", "inet", h.env.HOODY_NFT_TABLE!, `tenant_flows_${CONNTRACK_SHARE}`])).stdout.includes(`${A.ip}`);
    expect(await counted()).toBe(true); // control: the probe sees A's count
    // And its flows in the host's conntrack table, which would pass as "established" for the next tenant on A's address.
    const tracked = async () => (await execa("conntrack", ["-L", "-s", A.ip], { reject: false })).stdout.split("\n").filter((l) => l.includes(`src=${A.ip} `)).length;
    expect(await tracked()).toBeGreaterThan(0);
    const receipt = await h.client.call("tenants.delete", { id: A.id });
    expect(await counted()).toBe(false);
    expect(await tracked()).toBe(0);
    expect(receipt.erased.join("\n")).toMatch(new RegExp(`\\d+ connection-tracking entr(y|ies) of ${A.ip.replace(/\./g, "\\.")}`));
    const heir = await h.client.call("tenants.create", { template: "mini", name: "heir" });
    expect(heir.ip).toBe(A.ip);
    await waitFor(() => appAnswers(heir).catch(() => false));
    // B still allows A's address, now the heir's: its first new flow arrives, A's stale entries notwithstanding.
    const rx = await udpReceiver(h, B, PORT, "end-heir", { seconds: 30 });
    await udpSend(h, heir, B.ip, PORT, "from-heir");
    await udpSend(h, C, B.ip, PORT, "end-heir");
    expect((await rx.done).stdout).toContain("from-heir");
  });
});

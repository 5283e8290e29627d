// A throwaway Hoody host for integration tests: its own loop-backed BTRFS pool in a temp dir, its
// own nft table, veth prefix, /24 subnet and uid slice, and a real host daemon process. stop()
// removes all of it, even after failures.
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { HostClient } from "../server/engine/host-client.js";
import { ensureSubIdRange } from "../server/host/adopt.js";
import { CgroupReader, detectCgroupLayout } from "../server/host/drivers/cgroup.js";
import { cidrBlock } from "../server/shared/ip.js";

const ROOT = path.resolve(import.meta.dirname, "..");
export const TEST_UID_FLOOR = 1_000_000_000;
// 256 slots of 64 ranges, all below 2^31: procps prints larger uids as negative numbers.
const TEST_UID_SLOTS = 256;
const TEST_UID_SPAN = TEST_UID_SLOTS * 64 * 65536;
/** Shared across runs so the slow `starter` rootfs is built once per machine. */
export const TEST_CACHE_DIR = process.env.HOODY_CACHE_DIR ?? "/var/cache/hoody";

const pickedPorts = new Set<number>();
/**
 * A TCP port free on 127.0.0.1 now, never handed out before by this process (two picks in a row
 * could otherwise get the same port back before either is bound).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (pickedPorts.has(port)) continue;
    pickedPorts.add(port);
    return port;
  }
}

const pickedSubnets = new Set<string>();
/**
 * A private test subnet (10.200-250.x.0/24, or a /16) that no route or address on this host touches
 * and that this process has not handed out: another run, an Incus test bridge or the benchmark can
 * be up at the same time, and a clash would route one's tenants into the other.
 */
export async function freeTestSubnet(bits: 16 | 24): Promise<string> {
  const range = (ip: string, len: number): [number, number] => {
    const { network, size } = cidrBlock(`${ip}/${len}`);
    return [network, network + size - 1];
  };
  // Every IPv4 block a route or an address of this host covers (a bare address is a /32), and our picks.
  const seen = (await execa("ip", ["-4", "route", "show", "table", "all"])).stdout + "\n" + (await execa("ip", ["-4", "-o", "addr"])).stdout;
  const taken = [...seen.matchAll(/\b(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)].map((m) => range(m[1]!, Number(m[2] ?? 32)));
  for (const p of pickedSubnets) taken.push(range(p.split("/")[0]!, Number(p.split("/")[1])));
  for (let i = 0; i < 1000; i++) {
    const subnet = bits === 16 ? `10.${randomInt(200, 250)}.0.0/16` : `10.${randomInt(200, 250)}.${randomInt(0, 255)}.0/24`;
    const [lo, hi] = range(subnet.split("/")[0]!, bits);
    // A default route (0.0.0.0/0) covers everything and is no clash: blocks of /8 or wider do not count.
    if (taken.some(([a, z]) => z - a < 2 ** 24 - 1 && a <= hi && lo <= z)) continue;
    pickedSubnets.add(subnet);
    return subnet;
  }
  throw new Error("no free test subnet in 10.200-250.0.0/16");
}

export class TestHost {
  daemon: ChildProcess | null = null;
  /** Everything every daemon process of this host printed (tests search it for leaked secrets). */
  daemonLog = "";
  readonly client: HostClient;
  private constructor(
    readonly dir: string,
    readonly env: Record<string, string>,
  ) {
    this.client = new HostClient(env.HOODY_HOSTD_SOCKET!);
  }

  static async create(opts: Parameters<typeof TestHost.prepare>[0] = {}): Promise<TestHost> {
    const h = await TestHost.prepare(opts);
    // A daemon that fails to start has already mounted its pool and made its table: a caller's
    // afterAll never sees this host, so it is removed here.
    await h.startDaemon().catch(async (e) => {
      await h.stop().catch(() => undefined);
      throw e;
    });
    return h;
  }

  /** The dir and environment of a test host, without starting its daemon (for tests that start it their own way). */
  static async prepare(opts: { poolSizeMiB?: number; subnet16?: boolean; uidRanges?: number; hostEnv?: Record<string, string> } = {}): Promise<TestHost> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-test-"));
    await fs.chmod(dir, 0o711);
    const tag = Math.random()
      .toString(36)
      .replace(/[^a-z]/g, "")
      .slice(0, 3)
      .padEnd(3, "x");
    const slot = randomInt(0, TEST_UID_SLOTS);
    await ensureSubIdRange(TEST_UID_FLOOR, TEST_UID_SPAN);
    const env = {
      HOODY_DATA_DIR: dir,
      HOODY_POOL_SIZE_MIB: String(opts.poolSizeMiB ?? 3072),
      HOODY_CACHE_DIR: TEST_CACHE_DIR,
      HOODY_SUBNET: await freeTestSubnet(opts.subnet16 ? 16 : 24),
      // A large run (benchmarks) takes the whole test span from its start; tests (and small pools) take a 64-range slot.
      HOODY_UID_BASE: String(opts.uidRanges && opts.uidRanges > 64 ? TEST_UID_FLOOR : TEST_UID_FLOOR + slot * 64 * 65536),
      HOODY_UID_RANGES: String(opts.uidRanges ?? 64),
      HOODY_NFT_TABLE: `hoody_t${tag}`,
      HOODY_VETH_PREFIX: `hx${tag}`.slice(0, 5),
      HOODY_STOP_TIMEOUT_S: "3",
      HOODY_HOSTD_SOCKET: path.join(dir, "run", "hostd.sock"),
      ...opts.hostEnv,
    };
    return new TestHost(dir, env);
  }

  get poolPath(): string {
    return path.join(this.dir, "pool");
  }
  get lxcPath(): string {
    return path.join(this.dir, "lxc");
  }

  /** `timeoutMs`: how long its start (adoption of what is on disk) may take; a box of 10,000 tenants takes longer. */
  async startDaemon(timeoutMs = 60_000): Promise<void> {
    // node with tsx's loader, not the tsx CLI: the CLI runs the script in a child process, so a
    // SIGKILL to its pid would leave the real daemon running and "kill -9 the daemon" would be a lie.
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "server/host/main.ts")], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.daemon = child;
    let output = "";
    const capture = (d: Buffer) => {
      output += d;
      this.daemonLog += d;
    };
    child.stdout!.on("data", capture);
    child.stderr!.on("data", capture);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`host daemon exited ${child.exitCode}: ${output}`);
      if (/listening on/.test(output)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`host daemon did not come up: ${output}`);
  }

  /** kill -9 the daemon (by its pid), as a crash would. */
  async killDaemon(): Promise<void> {
    const d = this.daemon;
    // Gone already (exited, or killed by a signal: exitCode stays null then): its exit has been emitted.
    if (!d || d.exitCode !== null || d.signalCode !== null) {
      this.daemon = null;
      return;
    }
    const exited = new Promise((r) => d.once("exit", r));
    d.kill("SIGKILL");
    await exited;
    this.daemon = null;
  }

  lxc(cmd: string, name: string, ...args: string[]) {
    return execa(cmd, ["-P", this.lxcPath, "-n", name, ...args], { reject: false });
  }

  /**
   * Removes every tenant, the table, the pool (unmount detaches the loop) and the temp dir.
   * `erase: false` skips the per-tenant erasure (the scale benchmark's 10,000 would take hours): the
   * running ones are killed and the pool goes whole with the temp dir.
   */
  async stop(opts: { erase?: boolean } = {}): Promise<void> {
    const problems: string[] = [];
    try {
      if (this.daemon && opts.erase !== false) {
        const tenants = await this.client.call("tenants.list", {}).catch(() => [] as { id: string }[]);
        for (const t of tenants) {
          await this.client.call("tenants.delete", { id: t.id }).catch((e) => problems.push(String(e)));
        }
      }
    } finally {
      await this.killDaemon();
      // Anything the daemon could not remove: stop containers by lxcpath, then the rest.
      const names = await fs.readdir(this.lxcPath).catch(() => []);
      const cgroups = new CgroupReader(detectCgroupLayout());
      for (const n of names) {
        if (opts.erase === false && !cgroups.running(n)) {
          cgroups.removeAll(n);
          continue;
        }
        await execa("lxc-stop", ["-P", this.lxcPath, "-n", n, "-k"], { reject: false });
        // Its lasting cgroup outlives the container (LXC removes only the ones it made for the run).
        cgroups.removeAll(n);
      }
      await execa("nft", ["delete", "table", "inet", this.env.HOODY_NFT_TABLE!], { reject: false });
      await execa("ip", ["route", "del", "unreachable", this.env.HOODY_SUBNET!], { reject: false });
      // Tenants' ramdisks (host tmpfs mounts) and the pool: every mount under our dir, deepest first.
      const mounts = (await fs.readFile("/proc/self/mountinfo", "utf8"))
        .split("\n")
        .map((l) => l.split(" ")[4] ?? "")
        .filter((m) => m.startsWith(this.dir + "/"));
      for (const m of mounts.sort((x, y) => y.length - x.length)) await execa("umount", [m], { reject: false });
      await fs.rm(this.dir, { recursive: true, force: true });
    }
    if (problems.length) throw new Error(`cleanup problems: ${problems.join("; ")}`);
  }
}

export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

/** Polls fn until it returns a truthy value or the deadline passes (readiness waits, not timing assertions). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}

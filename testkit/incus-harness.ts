// A throwaway Incus for tests and benchmarks: our own incusd (INCUS_DIR in a temp dir, so the
// system-wide /var/lib/incus is never touched), a BTRFS storage pool on a loop image inside that
// dir, a bridge of our own (random name, random 10.2xx.y.0/24, no NAT, no IPv6, no DHCP/DNS) and a
// uid slice of our own for isolated idmaps. stop() removes all of it, even after failures: the
// instances, the network (and its nftables chains; the `inet incus` table when nothing else uses
// it), the daemon (by its pid), the pool's mount and loop device, and the dir.
//
//   const incus = await IncusTestDaemon.start();
//   await incus.importTemplate("mini");        // stopped instance "tpl-mini", copy it to make tenants
//   // incus.socket, incus.pool, incus.network, incus.env (HOODY_ENGINE=incus settings for a web server)
//   await incus.stop();
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { IncusClient } from "../server/engine/incus/client.js";
import { importRecipe } from "../server/engine/incus/recipe-image.js";
import type { IncusInstance } from "../server/engine/incus/types.js";
import { ensureSubIdRange } from "../server/host/adopt.js";
import { TEST_CACHE_DIR, freeTestSubnet } from "./host-harness.js";

const INCUSD = "/usr/libexec/incus/incusd";
/**
 * Isolated idmaps come from a span of our own, passed explicitly as security.idmap.base: Incus would
 * otherwise allocate after root's FIRST /etc/subuid entry, which is the host engine's production
 * range (10,000,000+). The span sits above the host engine's test span (1e9 .. 1e9 + 2^30) and
 * below 2^31 (procps prints larger uids as negative).
 */
export const INCUS_TEST_UID_FLOOR = 2_075_000_000;
const UID_RANGE = 65536;
const SLOT_RANGES = 64;
const SLOTS = Math.floor((2 ** 31 - INCUS_TEST_UID_FLOOR) / (SLOT_RANGES * UID_RANGE)); // 17
/** The whole span, one /etc/subuid entry: incusd refuses an idmap base outside root's ranges. */
const INCUS_TEST_UID_SPAN = SLOTS * SLOT_RANGES * UID_RANGE;

export class IncusTestDaemon {
  private daemon: ChildProcess | null = null;
  log = "";
  readonly client: IncusClient;
  private constructor(
    readonly dir: string,
    readonly pool: string,
    readonly network: string,
    readonly subnet: string,
    readonly uidBase: number,
  ) {
    this.client = new IncusClient({ socketPath: this.socket });
  }

  get socket(): string {
    return path.join(this.dir, "var", "unix.socket");
  }

  /** What a Hoody web server needs to use this daemon (HOODY_ENGINE=incus). */
  get env(): Record<string, string> {
    return {
      HOODY_ENGINE: "incus",
      HOODY_INCUS_SOCKET: this.socket,
      HOODY_INCUS_POOL: this.pool,
      HOODY_INCUS_NETWORK: this.network,
      HOODY_INCUS_UID_BASE: String(this.uidBase),
      HOODY_INCUS_UID_RANGES: String(SLOT_RANGES),
      HOODY_CACHE_DIR: TEST_CACHE_DIR,
    };
  }

  static async start(opts: { poolSizeGiB?: number } = {}): Promise<IncusTestDaemon> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-incus-"));
    await fs.chmod(dir, 0o711);
    const tag = Math.random()
      .toString(36)
      .replace(/[^a-z]/g, "")
      .slice(0, 4)
      .padEnd(4, "x");
    const d = new IncusTestDaemon(dir, `hp${tag}`, `hib${tag}`, await freeTestSubnet(24), INCUS_TEST_UID_FLOOR + randomInt(0, SLOTS) * SLOT_RANGES * UID_RANGE);
    try {
      // A new box has only the incus package's root:1000000:1000000000; incusd reads root's ranges
      // when it starts, so ours must be there first.
      await ensureSubIdRange(INCUS_TEST_UID_FLOOR, INCUS_TEST_UID_SPAN);
      await d.startDaemon();
      await d.client.post("/1.0/storage-pools", { name: d.pool, driver: "btrfs", config: { size: `${opts.poolSizeGiB ?? 4}GiB` } });
      await d.client.post("/1.0/networks", {
        name: d.network,
        type: "bridge",
        config: {
          "ipv4.address": d.subnet.replace(/\.0\/24$/, ".1/24"),
          "ipv4.nat": "false",
          "ipv4.dhcp": "false",
          "ipv6.address": "none",
          "dns.mode": "none",
        },
      });
    } catch (e) {
      await d.stop().catch(() => undefined);
      throw e;
    }
    return d;
  }

  private async startDaemon(): Promise<void> {
    const child = spawn(INCUSD, ["--group", "root", "--logfile", path.join(this.dir, "incusd.log")], {
      // Outbound HTTPS (the daily instance-types refresh) goes to a closed loopback port, never out.
      env: {
        ...process.env,
        INCUS_DIR: path.join(this.dir, "var"),
        https_proxy: "http://127.0.0.1:9",
        http_proxy: "http://127.0.0.1:9",
        HTTPS_PROXY: "http://127.0.0.1:9",
        HTTP_PROXY: "http://127.0.0.1:9",
        INCUS_SOCKET: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.daemon = child;
    child.stdout!.on("data", (c) => (this.log = (this.log + c).slice(-20_000)));
    child.stderr!.on("data", (c) => (this.log = (this.log + c).slice(-20_000)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`incusd exited ${child.exitCode}: ${this.log}`);
      const ready = await this.client.call<{ environment?: unknown }>("GET", "/1.0").then(
        () => this.client.raw("GET", "/internal/ready").then((r) => r.status === 200),
        () => false,
      );
      if (ready) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`incusd did not come up: ${this.log}`);
  }

  /** Builds a recipe's rootfs (the host engine's recipes) and makes its stopped template instance `tpl-<name>`. */
  async importTemplate(name: "mini" | "starter"): Promise<IncusInstance[]> {
    return importRecipe(this.client, name, name, TEST_CACHE_DIR, { pool: this.pool, network: this.network, idmapBase: this.uidBase });
  }

  /** Removes everything this daemon made; collects problems and throws them at the end. */
  async stop(): Promise<void> {
    const problems: string[] = [];
    const note = (what: string) => (e: unknown) => void problems.push(`${what}: ${(e as Error).message ?? e}`);
    if (this.daemon && this.daemon.exitCode === null) {
      const names = await this.client.get<string[]>("/1.0/instances").catch(() => [] as string[]);
      for (const url of names) {
        const n = url.split("/").pop()!;
        await this.client.put(`/1.0/instances/${n}/state`, { action: "stop", force: true }).catch(() => undefined);
        await this.client.delete(`/1.0/instances/${n}`).catch(note(`delete instance ${n}`));
      }
      for (const url of await this.client.get<string[]>("/1.0/images").catch(() => [] as string[])) await this.client.delete(url).catch(note(`delete ${url}`));
      // ACLs attached to the bridge cannot be deleted: detach them first.
      await this.client.patch(`/1.0/networks/${this.network}`, { config: { "security.acls": "" } }).catch(() => undefined);
      for (const url of await this.client.get<string[]>("/1.0/network-acls").catch(() => [] as string[])) await this.client.delete(url).catch(note(`delete ${url}`));
      await this.client.delete(`/1.0/networks/${this.network}`).catch(note("delete network"));
      await this.client.delete(`/1.0/storage-pools/${this.pool}`).catch(note("delete pool"));
    }
    this.client.close();
    await this.killDaemon();
    // Whatever the daemon could not remove: mounts under our dir (deepest first), loops on our files,
    // the bridge, our chains in the shared `inet incus` table.
    const mounts = (await fs.readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((m) => m.startsWith(this.dir + "/"));
    for (const m of mounts.sort((a, b) => b.length - a.length)) await execa("umount", ["-l", m], { reject: false });
    const loops = await execa("losetup", ["-nO", "NAME,BACK-FILE"], { reject: false });
    for (const line of loops.stdout.split("\n")) {
      const [dev, file] = line.trim().split(/\s+/);
      if (dev && file?.startsWith(this.dir + "/")) await execa("losetup", ["-d", dev], { reject: false });
    }
    await execa("ip", ["link", "del", this.network], { reject: false });
    await removeIncusChains(this.network);
    await fs.rm(this.dir, { recursive: true, force: true }).catch(note("rm dir"));
    if (problems.length) throw new Error(`incus cleanup problems: ${problems.join("; ")}`);
  }

  private async killDaemon(): Promise<void> {
    const d = this.daemon;
    this.daemon = null;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    const exited = new Promise((r) => d.once("exit", r));
    d.kill("SIGTERM");
    const t = setTimeout(() => d.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(t);
  }
}

/** Deletes the chains incusd made for our bridge (and NICs on it); drops a table only when no chain is left in it. */
async function removeIncusChains(network: string): Promise<void> {
  for (const family of ["inet", "bridge"]) await removeChainsFrom(family, network);
}

async function removeChainsFrom(family: string, network: string): Promise<void> {
  const list = await execa("nft", ["-j", "list", "table", family, "incus"], { reject: false });
  if (list.exitCode !== 0) return;
  const items = (JSON.parse(list.stdout) as { nftables: { chain?: { name: string } }[] }).nftables;
  const chains = items.flatMap((i) => (i.chain ? [i.chain.name] : []));
  for (const c of chains.filter((c) => c.endsWith(`.${network}`) || c.includes(`${network}.`))) await execa("nft", ["delete", "chain", family, "incus", c], { reject: false });
  const after = await execa("nft", ["-j", "list", "table", family, "incus"], { reject: false });
  if (after.exitCode !== 0) return;
  const left = (JSON.parse(after.stdout) as { nftables: { chain?: unknown }[] }).nftables.filter((i) => i.chain);
  if (left.length === 0) await execa("nft", ["delete", "table", family, "incus"], { reject: false });
}

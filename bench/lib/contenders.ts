// The provisioning contenders, each measured from "asked" to "container running":
// - hoody: POST /api/v1/projects/{id}/containers → 201 (the whole product: REST, core, database,
//   host daemon, snapshot, config, firewall, lxc-start).
// - floor: what that costs by hand with no product around it: `btrfs subvolume snapshot` of the same
//   template + writing the same LXC config the daemon generated (name, rootfs, veth, IP and uid range
//   swapped) + `lxc-start -d`. Nothing can be faster with LXC on BTRFS, so it is the reference.
// - incus: `incus copy` + `incus start` (bench/lib/incus.ts).
// - hoody-warm: the same POST with a warm pool on the template: the create claims a member made
//   and started ahead (its own copy of the template, built from the same recipe, so hoody's cold
//   creates never claim one).
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import type { TestStack } from "../../testkit/stack-harness.js";
import { TEST_UID_FLOOR } from "../../testkit/host-harness.js";
import { TenantProcs } from "../../server/host/drivers/procfs.js";
import { Shares } from "../../server/host/drivers/shares.js";
import { cidrBlock, intToIp } from "../../server/shared/ip.js";

export interface Contender {
  readonly name: string;
  /** Prepare a template once (untimed). */
  prepare(template: string): Promise<void>;
  /** Create a container from the template and return when it runs. */
  create(template: string): Promise<{ id: string; label?: string; ip?: string }>;
  /** Remove everything created so far (untimed). */
  cleanup(): Promise<void>;
  /** Remove whatever is left and any template copies (end of run, also on failure). */
  close(): Promise<void>;
  readonly alive: number;
  /** Untimed, before any contender's timed create: wait until this one's background work is done (a pool refill). */
  quiesce?(template: string): Promise<void>;
}

export class HoodyContender implements Contender {
  readonly name = "hoody";
  private ids: string[] = [];
  private seq = 0;
  constructor(
    private readonly stack: TestStack,
    private readonly project: string,
    private readonly prefix = "bp",
  ) {}
  get alive() {
    return this.ids.length;
  }
  /** Ids not yet cleaned up. */
  get live(): readonly string[] {
    return this.ids;
  }
  async prepare(template: string) {
    await this.stack.host.client.buildTemplate(template);
  }
  async create(template: string) {
    const name = `${this.prefix}${process.pid}x${this.seq++}`;
    const r = await this.stack.api("POST", `/projects/${this.project}/containers`, { template, name, idle_timeout_s: 0 });
    if (r.status !== 201 || r.body.data.status !== "running") throw new Error(`hoody create: ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
    this.ids.push(r.body.data.id);
    return { id: r.body.data.id as string, label: name, ip: r.body.data.ip as string };
  }
  async cleanup() {
    const ids = this.ids.splice(0);
    for (const id of ids) {
      const r = await this.stack.api("DELETE", `/containers/${id}`);
      if (r.status !== 200) throw new Error(`hoody delete ${id}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  }
  async close() {
    await this.cleanup().catch(() => undefined);
  }
}

/** Floor containers take uid ranges far above what the daemon leases and addresses from the top of its /16. */
const FLOOR_UID_FIRST_RANGE = 12_000;

export class FloorContender implements Contender {
  readonly name = "floor";
  private live: string[] = [];
  private seq = 0;
  private readonly configs = new Map<string, { text: string; id: string; ramdiskMiB: number; seccomp: string | null }>();
  private readonly lxcPath: string;
  private readonly rootDir: string;
  // The host-side work the daemon does before each start, by the daemon's own drivers: a /proc point
  // for the start-host hook, and a template's shared paths mounted (idmapped, locked read-only).
  private readonly procs: TenantProcs;
  private readonly shares: Shares;
  constructor(private readonly stack: TestStack) {
    this.lxcPath = path.join(stack.host.dir, "floor-lxc");
    this.rootDir = path.join(stack.host.poolPath, "floor");
    this.procs = new TenantProcs(path.join(stack.host.dir, "floor-proc"));
    this.shares = new Shares(path.join(stack.host.dir, "floor-shares"));
  }
  get alive() {
    return this.live.length;
  }

  /** The config the daemon generates for this template: made for a never-started tenant, then that tenant is removed. */
  async prepare(template: string) {
    if (this.configs.has(template)) return;
    await fs.mkdir(this.lxcPath, { recursive: true, mode: 0o711 });
    await fs.mkdir(this.rootDir, { recursive: true, mode: 0o711 });
    const h = this.stack.host;
    await h.client.buildTemplate(template);
    const t = await h.client.call("tenants.create", { template, start: false });
    try {
      const text = await fs.readFile(path.join(h.lxcPath, t.id, "config"), "utf8");
      const seccompPath = /^lxc\.seccomp\.profile = (.+)$/m.exec(text)?.[1];
      const seccomp = seccompPath ? await fs.readFile(seccompPath, "utf8") : null;
      this.configs.set(template, { text, id: t.id, ramdiskMiB: t.ramdiskMiB, seccomp });
    } finally {
      await h.client.call("tenants.delete", { id: t.id });
    }
  }

  /** Addresses from the upper half of the daemon's subnet (it leases from the bottom up). */
  private ipFor(k: number): string {
    const { network, size } = cidrBlock(this.stack.host.env.HOODY_SUBNET!);
    return intToIp(network + size / 2 + 2 + (k % (size / 2 - 4)));
  }

  private configFor(template: string, name: string, k: number): string {
    const prepared = this.configs.get(template);
    if (!prepared) throw new Error(`floor: template ${template} not prepared`);
    const base = prepared.text;
    const ip = this.ipFor(k);
    const uid = TEST_UID_FLOOR + (FLOOR_UID_FIRST_RANGE + (k % 2000)) * 65536;
    const dir = path.join(this.lxcPath, name);
    const procPoint = (id: string) => path.join(this.stack.host.dir, "proc", id);
    const sharesDir = path.join(this.stack.host.dir, "shares", prepared.id);
    return base
      .split("\n")
      .map((line) => {
        const key = line.split(" = ")[0];
        switch (key) {
          case "lxc.uts.name":
            return `lxc.uts.name = ${name}`;
          case "lxc.rootfs.path":
            return `lxc.rootfs.path = dir:${path.join(this.rootDir, name)}`;
          case "lxc.idmap":
            return line.replace(/ 0 \d+ 65536$/, ` 0 ${uid} 65536`);
          case "lxc.net.0.veth.pair":
            return `lxc.net.0.veth.pair = hfl${name.slice(1)}`;
          case "lxc.net.0.ipv4.address":
            return `lxc.net.0.ipv4.address = ${ip}/32`;
          case "lxc.console.logfile":
            return `lxc.console.logfile = ${path.join(dir, "console.log")}`;
          case "lxc.log.file":
            return `lxc.log.file = ${path.join(dir, "lxc.log")}`;
          case "lxc.mount.entry": {
            if (!line.includes(prepared.id)) return line;
            const [source, target] = line.split(" ").slice(2, 4) as [string, string];
            if (source === procPoint(prepared.id)) return line.replace(source, this.procs.point(name));
            if (source.startsWith(sharesDir + "/")) return line.replace(source, this.shares.path(name, target));
            // The ramdisk (a host tmpfs the daemon keeps) becomes the equivalent size-capped tmpfs.
            return `lxc.mount.entry = tmpfs ${target} tmpfs rw,nosuid,nodev,size=${prepared.ramdiskMiB}m,mode=1777,create=dir 0 0`;
          }
          case "lxc.hook.start-host":
            return line.replace(procPoint(prepared.id), this.procs.point(name));
          case "lxc.seccomp.profile":
            return `lxc.seccomp.profile = ${path.join(dir, "seccomp")}`;
          case "lxc.cgroup.dir.container":
            return `lxc.cgroup.dir.container = hoody.floor/${name}/payload`;
          case "lxc.cgroup.dir.monitor":
            return `lxc.cgroup.dir.monitor = hoody.floor-monitors/${name}`;
          default:
            return line;
        }
      })
      .map((line) => {
        if (line.includes(prepared.id) && !line.startsWith("lxc.environment")) throw new Error(`floor: the daemon's config has a line the floor cannot replay: ${line}`);
        return line;
      })
      .join("\n");
  }

  async create(template: string) {
    const k = this.seq++;
    const name = `f${process.pid % 1000}x${k}`;
    const dir = path.join(this.lxcPath, name);
    this.live.push(name);
    await execa("btrfs", ["subvolume", "snapshot", path.join(this.stack.host.poolPath, "templates", template), path.join(this.rootDir, name)], { stdout: "ignore" });
    await fs.mkdir(dir, { mode: 0o711 });
    const config = this.configFor(template, name, k);
    const prepared = this.configs.get(template)!;
    if (prepared.seccomp !== null) await fs.writeFile(path.join(dir, "seccomp"), prepared.seccomp, { mode: 0o600 });
    await this.procs.prepare(name);
    const shared = [...config.matchAll(/^lxc\.mount\.entry = (\S+) (\S+) none bind,ro/gm)].filter((m) => m[1]!.startsWith(this.shares.dir + "/"));
    const uid = Number(/^lxc\.idmap = u 0 (\d+) /m.exec(config)![1]);
    await this.shares.ensure(
      name,
      uid,
      65536,
      shared.map((m) => ({ hostPath: path.join(this.stack.host.poolPath, "templates", template, m[2]!), containerPath: `/${m[2]!}` })),
    );
    await fs.writeFile(path.join(dir, "config"), config, { mode: 0o600 });
    const r = await execa("lxc-start", ["-P", this.lxcPath, "-n", name, "-d"], { reject: false });
    if (r.exitCode !== 0) throw new Error(`floor lxc-start ${name}: ${r.stderr}`);
    return { id: name, ip: this.ipFor(k) };
  }

  async cleanup() {
    const names = this.live.splice(0);
    for (const n of names) {
      await execa("lxc-stop", ["-P", this.lxcPath, "-n", n, "-k"], { reject: false });
      await this.procs.remove(n).catch(() => undefined);
      await this.shares.remove(n).catch(() => undefined);
      await removeFloorCgroups(n);
      await execa("btrfs", ["subvolume", "delete", path.join(this.rootDir, n)], { reject: false });
      await fs.rm(path.join(this.lxcPath, n), { recursive: true, force: true });
    }
  }

  async close() {
    await this.cleanup();
    // Anything left from an interrupted create.
    for (const n of await fs.readdir(this.lxcPath).catch(() => [] as string[])) {
      await execa("lxc-stop", ["-P", this.lxcPath, "-n", n, "-k"], { reject: false });
      await this.procs.remove(n).catch(() => undefined);
      await this.shares.remove(n).catch(() => undefined);
      await removeFloorCgroups(n);
      await fs.rm(path.join(this.lxcPath, n), { recursive: true, force: true });
    }
    for (const n of await fs.readdir(this.rootDir).catch(() => [] as string[])) {
      await execa("btrfs", ["subvolume", "delete", path.join(this.rootDir, n)], { reject: false });
    }
    await removeFloorCgroups(null);
  }
}

/**
 * The floor's lasting cgroups (LXC removes the container's and the monitor's, not the dirs above
 * them): one container's, or (null) the floor's parents once all are gone.
 */
async function removeFloorCgroups(name: string | null): Promise<void> {
  const roots = existsSync("/sys/fs/cgroup/cgroup.controllers") ? ["/sys/fs/cgroup"] : (await fs.readdir("/sys/fs/cgroup")).map((h) => `/sys/fs/cgroup/${h}`);
  const dirs = name ? [`hoody.floor/${name}`, `hoody.floor-monitors/${name}`] : ["hoody.floor", "hoody.floor-monitors"];
  for (const r of roots) for (const d of dirs) await fs.rmdir(`${r}/${d}`).catch(() => undefined);
}

/** hoody with a warm pool of `size` members on its own copy of each template (see the header). */
export class WarmHoodyContender implements Contender {
  readonly name = "hoody-warm";
  private readonly inner: HoodyContender;
  /** Per template: what one waiting member holds in memory, creates served by a claim and in all. */
  readonly pools: Record<string, { size: number; member_memory_bytes: number; claimed: number; creates: number }> = {};
  private current = "";
  constructor(
    private readonly stack: TestStack,
    project: string,
    private readonly size: number,
  ) {
    this.inner = new HoodyContender(stack, project, "bw");
  }
  get alive() {
    return this.inner.alive;
  }
  private warm(template: string) {
    return `${template}-warm`;
  }
  private async pool(template: string): Promise<{ ready: number; memory_bytes: number }> {
    const r = await this.stack.api("GET", "/warm-pool");
    return r.body.data.pools.find((p: { template: string }) => p.template === this.warm(template)) ?? { ready: 0, memory_bytes: 0 };
  }
  async prepare(template: string) {
    await this.stack.host.client.buildTemplate(template, { name: this.warm(template) });
    const r = await this.stack.api("PUT", `/warm-pool/${this.warm(template)}`, { size: this.size });
    if (r.status !== 200) throw new Error(`warm pool: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    this.current = template;
    await this.quiesce(template);
    // Steady state: the members wait with nothing but their blocked shell running.
    await new Promise((res) => setTimeout(res, 2000));
    const p = await this.pool(template);
    this.pools[template] = { size: this.size, member_memory_bytes: Math.round(p.memory_bytes / Math.max(1, p.ready)), claimed: 0, creates: 0 };
  }
  async quiesce(template: string) {
    if (template !== this.current) return;
    const deadline = Date.now() + 300_000;
    while ((await this.pool(template)).ready < this.size) {
      if (Date.now() > deadline) throw new Error(`warm pool of ${this.warm(template)} did not refill`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  create(template: string) {
    return this.inner.create(this.warm(template));
  }
  async cleanup() {
    const stats = this.pools[this.current];
    for (const id of this.inner.live) {
      const logs = (await this.stack.api("GET", `/containers/${id}/status-logs?sort_order=asc`)).body.data.logs as { to_status: string }[];
      if (stats) {
        stats.creates++;
        if (logs.some((l) => l.to_status === "claiming")) stats.claimed++;
      }
    }
    await this.inner.cleanup();
  }
  async close() {
    await this.inner.close();
    for (const t of Object.keys(this.pools)) await this.stack.api("PUT", `/warm-pool/${this.warm(t)}`, { size: 0 }).catch(() => undefined);
  }
}

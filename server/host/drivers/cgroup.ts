// Cgroup reading and limit settings for both layouts: pure v2 (production Debian 12) and hybrid
// (v1 controllers + v2 unified, as on this build VM).
//
// Each tenant has a cgroup of its own that outlives its runs, hoody.tenants/<id>, with LXC's
// container cgroup below it (.../payload, made and removed by LXC at each start and stop). Memory
// charged while the tenant ran but still held when it stops, above all its ramdisk's pages (a host
// tmpfs that survives restarts), stays counted there; the tenant's memory limit is set on that cgroup
// too, so its next run shares the limit with what the previous ones left instead of getting a fresh
// one each restart. Tenants started by an older version sit in lxc.payload.<id> until their next start.
import { type Dirent, existsSync, mkdirSync, readdirSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import type { Limits } from "../../shared/protocol.js";
import { heldKernelFiles, readKernelNumber, readKernelText as readText } from "./kernfile.js";

export type CgroupLayout = "v1" | "v2";
const ROOT = "/sys/fs/cgroup";

const TENANTS = "hoody.tenants";

/** The memory controller's files of each figure, by layout (v1's memsw counts memory and swap together). */
const MEMORY_FILES = {
  current: { v2: "memory.current", v1: "memory.usage_in_bytes" },
  peak: { v2: "memory.peak", v1: "memory.max_usage_in_bytes" },
  swap: { v2: "memory.swap.current", v1: "memory.memsw.usage_in_bytes" },
} as const;

export function detectCgroupLayout(): CgroupLayout {
  return existsSync(`${ROOT}/cgroup.controllers`) ? "v2" : "v1";
}

/** LXC config lines that place a tenant's cgroups: its container below its own lasting cgroup. */
export function placementConfigLines(name: string): string[] {
  return [`lxc.cgroup.dir.container = ${TENANTS}/${name}/payload`, `lxc.cgroup.dir.monitor = hoody.monitors/${name}`];
}

/** The kernel's default CFS period, which a tenant's CPU quota is a share of. */
const CFS_PERIOD_US = 100_000;

/** LXC config lines that enforce a tenant's limits. */
export function limitConfigLines(layout: CgroupLayout, limits: Limits): string[] {
  const quota = Math.max(1000, Math.round((limits.cpuMilli / 1000) * CFS_PERIOD_US));
  const mem = limits.memoryMiB * 1024 * 1024;
  if (layout === "v2") {
    return [`lxc.cgroup2.memory.max = ${mem}`, `lxc.cgroup2.memory.swap.max = 0`, `lxc.cgroup2.pids.max = ${limits.pids}`, `lxc.cgroup2.cpu.max = ${quota} ${CFS_PERIOD_US}`];
  }
  return [
    `lxc.cgroup.memory.limit_in_bytes = ${mem}`,
    // v1 counts socket buffers apart from memory.usage and only once a TCP limit is written: without
    // it, a tenant's unread socket buffers would be host memory outside its limit. (v2 counts them in
    // memory.current.)
    `lxc.cgroup.memory.kmem.tcp.limit_in_bytes = ${mem}`,
    `lxc.cgroup.pids.max = ${limits.pids}`,
    // The period is the kernel's default (100 ms) in a new cgroup: not written. Each write to either
    // file walks every CPU cgroup of the host (the kernel checks the whole tree's bandwidth): with
    // 1,000 tenants running that was ~0.6 ms a write, on every start (perf, 2026-12-04).
    `lxc.cgroup.cpu.cfs_quota_us = ${quota}`,
  ];
}

function readNum(file: string): number {
  return readKernelNumber(file) ?? 0;
}

// A running tenant's values, read at every stats collection: held open (kernfile.ts says when that is right).
function readHeldNum(file: string): number {
  return heldKernelFiles.number(file) ?? 0;
}
const readHeld = (file: string) => heldKernelFiles.text(file);

export class CgroupReader {
  private unified: string | null | undefined;
  /**
   * Tenants an older version started, in lxc.payload.<id>: this version never makes such cgroups, so
   * the set, listed once and again at each runningPids(), only shrinks. Every other tenant is read
   * without a probe for one (a stats collection asks a dozen times per tenant).
   */
  private legacy: Set<string> | undefined;
  /**
   * Each tenant's files that a stats collection reads, as strings made once: the held files are
   * keyed by path, and a string made anew at every read is hashed anew at every lookup (a dozen per
   * running tenant per collection). Not for an older version's tenants (their cgroups may go).
   */
  private readonly files = new Map<string, TenantCgroupFiles>();

  constructor(
    readonly layout: CgroupLayout,
    /** Which freezer pauses use; "auto" (the daemon's) is freezerKind()'s choice. Both are always read and thawed. */
    private readonly freezer: "auto" | "v1" | "v2" = "auto",
  ) {}

  /** The hierarchy a controller lives in: the one tree on v2, its own tree on v1. */
  private hierarchy(controller: string): string {
    return this.layout === "v2" ? ROOT : `${ROOT}/${controller}`;
  }

  /** The files of the tenant's lasting and container cgroups a collection reads (built once per tenant). */
  private filesOf(name: string): TenantCgroupFiles {
    // An older version's tenant is never cached, and the set of those only shrinks.
    let f = this.files.get(name);
    if (f) return f;
    const unified = this.unifiedRoot();
    const h = this.procsHierarchy();
    const procsTop = this.legacyDir(h, name) ?? `${h}/${TENANTS}/${name}`;
    const v2 = this.layout === "v2";
    f = {
      procsTopStat: `${procsTop}/cgroup.stat`,
      procsTopProcs: `${procsTop}/cgroup.procs`,
      procsPayloadProcs: `${procsTop}/payload/cgroup.procs`,
      memoryCurrent: this.memoryFile(name, "current"),
      memoryPeak: this.memoryFile(name, "peak"),
      swap: this.memoryFile(name, "swap"),
      cpu: v2 ? `${this.dir("cpu", name)}/cpu.stat` : `${this.dir("cpuacct", name)}/cpuacct.usage`,
      freezeV2: unified ? `${this.containerDir(unified, name)}/cgroup.freeze` : null,
      freezeV1: this.layout === "v1" ? `${this.containerDir(`${ROOT}/freezer`, name)}/freezer.state` : null,
    };
    if (!this.legacy?.has(name)) this.files.set(name, f);
    return f;
  }

  /** A memory figure's file in the tenant's lasting cgroup, by this host's layout. */
  private memoryFile(name: string, figure: keyof typeof MEMORY_FILES): string {
    return `${this.dir("memory", name)}/${MEMORY_FILES[figure][this.layout]}`;
  }

  /** The tenant's lasting cgroup in a hierarchy, or where an older version's run still is. */
  private dir(controller: string, name: string): string {
    const h = this.hierarchy(controller);
    return this.legacyDir(h, name) ?? `${h}/${TENANTS}/${name}`;
  }

  /** Where an older version's run of the tenant is in a hierarchy, if it still is. */
  private legacyDir(hierarchy: string, name: string): string | null {
    this.legacy ??= new Set(this.legacyNames());
    const dir = `${hierarchy}/lxc.payload.${name}`;
    return this.legacy.has(name) && existsSync(dir) ? dir : null;
  }

  /** Names of the older version's container cgroups, from the root of the tree processes are listed in. */
  private legacyNames(): string[] {
    return subdirs(this.procsHierarchy())
      .filter((n) => n.startsWith("lxc.payload."))
      .map((n) => n.slice("lxc.payload.".length));
  }

  /**
   * Sets the tenant's memory limit on its lasting cgroup (made if missing) before LXC makes the
   * container below it, and whenever the limit changes: the container cgroup gets the same limit
   * from the LXC config, this one also bounds what outlives a run.
   */
  applyLastingLimits(name: string, limits: Limits): void {
    const mem = String(limits.memoryMiB * 1024 * 1024);
    if (this.layout === "v2") {
      const dir = `${ROOT}/${TENANTS}/${name}`;
      mkdirSync(dir, { recursive: true });
      // Controllers are delegated level by level; memory must be on at the tenant's cgroup.
      for (const level of [ROOT, `${ROOT}/${TENANTS}`]) tryWrite(`${level}/cgroup.subtree_control`, "+memory +pids +cpu");
      writeFileSync(`${dir}/memory.max`, mem);
      tryWrite(`${dir}/memory.swap.max`, "0");
      return;
    }
    const dir = `${ROOT}/memory/${TENANTS}/${name}`;
    mkdirSync(dir, { recursive: true });
    // Raising: the limit first; lowering: the TCP cap may not exceed it (and neither may be below use).
    const [first, second] =
      Number(mem) >= readNum(`${dir}/memory.limit_in_bytes`) ? ["memory.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes"] : ["memory.kmem.tcp.limit_in_bytes", "memory.limit_in_bytes"];
    writeFileSync(`${dir}/${first}`, mem);
    tryWrite(`${dir}/${second}`, mem);
  }

  /**
   * Where processes are listed: the unified tree wherever there is one (on a hybrid host LXC places
   * every container in it too), whose cgroup.procs lists anew at each read of an open file from offset
   * 0, so a running tenant's are held open (kernfile.ts); v1's reuses its pid list for a second after
   * a read on the same open file. v1's pids hierarchy where there is no unified tree.
   */
  private procsHierarchy(): string {
    return this.unifiedRoot() ?? this.hierarchy("pids");
  }

  /** Pids in the tenant's whole cgroup subtree. */
  pids(name: string): number[] {
    const h = this.procsHierarchy();
    const unified = h === this.unifiedRoot();
    // Names are kept for tenants seen running in the usual shape only, and forgotten once not.
    const known = unified ? this.files.get(name) : undefined;
    const usual = known ? runningShapePids(known) : null;
    if (usual) return usual;
    if (known) this.files.delete(name);
    const top = this.legacyDir(h, name) ?? `${h}/${TENANTS}/${name}`;
    const dirs = cgroupTree(top);
    // A running tenant's own two cgroups (lasting and payload) are held; those it made below are read and closed.
    const held = unified && dirs.length > 1 ? new Set(dirs.slice(0, 2)) : null;
    // The usual running shape from now on: read as runningShapePids() says.
    if (unified && dirs.length === 2 && dirs[1] === `${top}/payload`) readHeld(this.filesOf(name).procsTopStat);
    return dirs.flatMap((d) => parsePids((held?.has(d) ? readHeld : readText)(`${d}/cgroup.procs`)));
  }

  // memory.current / memory.usage_in_bytes, cpu.stat / cpuacct.usage and pids.current are
  // hierarchical: the tenant's own cgroup already counts its children's.
  memoryBytes(name: string): number {
    return readHeldNum(this.filesOf(name).memoryCurrent);
  }

  /**
   * The most the lasting cgroup held (v2 memory.peak needs Linux 5.19); null where the kernel does
   * not say. `held` only for a running tenant: the lasting cgroup outlives its runs, and a stopped
   * tenant's file would stay open for good (its payload's files go with the run).
   */
  memoryPeakBytes(name: string, held = false): number | null {
    // A stopped tenant's names are not kept (10,000 of them would be megabytes of strings).
    const t = held ? readHeld(this.filesOf(name).memoryPeak) : readText(this.memoryFile(name, "peak"));
    return t === null ? null : Number(t.trim()) || 0;
  }

  /** Swap in use (tenants get swap.max 0, so this stays 0 unless an operator allowed swap); `memoryBytes` when already read (v1 subtracts it). */
  swapBytes(name: string, memoryBytes = this.memoryBytes(name)): number {
    const swap = readHeldNum(this.filesOf(name).swap);
    return this.layout === "v2" ? swap : Math.max(0, swap - memoryBytes);
  }

  cpuUsageNs(name: string): number {
    const file = this.filesOf(name).cpu;
    if (this.layout === "v1") return readHeldNum(file);
    const stat = readHeld(file) ?? "";
    const m = /usage_usec (\d+)/.exec(stat);
    return m?.[1] ? Number(m[1]) * 1000 : 0;
  }

  pidsCurrent(name: string): number {
    return readNum(`${this.dir("pids", name)}/pids.current`);
  }

  /** A tenant runs when any cgroup of its subtree holds processes. */
  running(name: string): boolean {
    return this.pids(name).length > 0;
  }

  /**
   * The tenants that run, from one listing of the tenants' cgroups (and an older version's
   * lxc.payload.<id> beside them) instead of a probe per known tenant: a box with 10,000 tenants and
   * a few hundred running pays for those only (a tenant that never ran has no cgroup there; on v2
   * the lasting cgroup of one that ran stays, and costs a read of an empty cgroup.procs). Each with its pids, so
   * a stats collection or the idle sweep's listing reads them once. `known`: the names worth a probe
   * (the daemon's tenants: another daemon's on the same box, as in tests, or a deleted tenant's
   * leftover cgroup cost a read of each cgroup.procs at every listing).
   */
  runningPids(known: (name: string) => boolean = () => true): Map<string, number[]> {
    const legacy = this.legacyNames();
    this.legacy = new Set(legacy);
    const candidates = [...subdirs(`${this.procsHierarchy()}/${TENANTS}`), ...legacy];
    const up = new Map<string, number[]>();
    for (const n of candidates) {
      if (!known(n)) continue;
      const pids = this.pids(n);
      if (pids.length) up.set(n, pids);
    }
    return up;
  }

  /**
   * Kills every process of the tenant's subtree, frozen first so that none can fork past the kill:
   * cgroup.kill (v2, also the unified tree of a hybrid host) is that in one write; on v1 alone the
   * freezer holds the subtree while each pid gets SIGKILL. Waits (bounded) until the subtree is empty;
   * answers the pids still there.
   */
  async killAll(name: string, timeoutMs = 10_000): Promise<number[]> {
    const unified = this.dir("unified", name);
    const freezer = this.dir("freezer", name);
    const deadline = Date.now() + timeoutMs;
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    while (this.running(name) && Date.now() < deadline) {
      if (existsSync(`${unified}/cgroup.kill`)) writeFileSync(`${unified}/cgroup.kill`, "1");
      else {
        const frozen = existsSync(`${freezer}/freezer.state`) && tryWrite(`${freezer}/freezer.state`, "FROZEN");
        while (frozen && readText(`${freezer}/freezer.state`)?.trim() !== "FROZEN" && Date.now() < deadline) await wait(10);
        for (const pid of this.pids(name)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Gone already.
          }
        }
        if (frozen) tryWrite(`${freezer}/freezer.state`, "THAWED");
      }
      await wait(20);
    }
    return this.pids(name);
  }

  /**
   * The tenant's container cgroup (LXC's `payload`, or an older version's lxc.payload.<id>) in a
   * hierarchy. Pausing freezes this one, as LXC's own lxc-freeze does: LXC removes it at every stop,
   * so a stop can never leave a frozen cgroup behind for the next run (the lasting one would).
   */
  private containerDir(hierarchy: string, name: string): string {
    return this.legacyDir(hierarchy, name) ?? `${hierarchy}/${TENANTS}/${name}/payload`;
  }

  /** The unified tree: the whole of /sys/fs/cgroup on v2, /sys/fs/cgroup/unified on a hybrid host (if mounted). */
  private unifiedRoot(): string | null {
    // Asked per tenant per stats collection; the mounts do not change while the daemon runs.
    if (this.unified === undefined) this.unified = this.layout === "v2" ? ROOT : existsSync(`${ROOT}/unified/cgroup.procs`) ? `${ROOT}/unified` : null;
    return this.unified;
  }

  /**
   * How pauses are made: the cgroup v2 freezer (cgroup.freeze) wherever a unified tree exists, so a
   * hybrid host runs the same code as a pure v2 one (and SIGKILL reaches v2-frozen tasks: a forced
   * stop or an erase is never held up by a pause); the v1 freezer controller only without one.
   */
  freezerKind(): "v2" | "v1" {
    if (this.freezer !== "auto") return this.freezer;
    return this.unifiedRoot() ? "v2" : "v1";
  }

  /**
   * Whether the tenant is paused: its freeze is in force by either freezer (cgroup.freeze 1,
   * freezer.state FREEZING or FROZEN). Not cgroup.events' "frozen", which says whether every task
   * has stopped yet: the kernel clears it for a moment when a task leaves or joins the frozen tree
   * (seen once: a pause right after an exec answered "running"), so it only confirms a change.
   */
  frozen(name: string): boolean {
    const { freezeV2, freezeV1 } = this.filesOf(name);
    if (freezeV2 && readHeld(freezeV2)?.trim() === "1") return true;
    return !!freezeV1 && /^(FROZEN|FREEZING)$/.test(readHeld(freezeV1)?.trim() ?? "");
  }

  /** Whether the kernel has finished freezing (every task stopped) or thawing, by either freezer. */
  private settled(name: string, frozen: boolean): boolean {
    const unified = this.unifiedRoot();
    const v2 = unified ? /^frozen 1$/m.test(readText(`${this.containerDir(unified, name)}/cgroup.events`) ?? "") : false;
    const v1 = this.layout === "v1" && readText(`${this.containerDir(`${ROOT}/freezer`, name)}/freezer.state`)?.trim() === "FROZEN";
    return (v1 || v2) === frozen;
  }

  /**
   * Freezes (pause) or thaws (resume) the tenant's container cgroup and waits until the kernel
   * reports it done: freezing completes only once every task of the subtree has stopped. A thaw
   * clears both freezers (a tenant may have frozen its own v1 cgroup). A freeze that does not
   * complete in time is undone and throws.
   */
  async setFrozen(name: string, frozen: boolean, timeoutMs = 10_000): Promise<void> {
    const unified = this.unifiedRoot();
    const v1 = this.layout === "v1" ? `${this.containerDir(`${ROOT}/freezer`, name)}/freezer.state` : null;
    const v2 = unified ? `${this.containerDir(unified, name)}/cgroup.freeze` : null;
    if (frozen) {
      const file = this.freezerKind() === "v2" ? v2 : v1;
      if (!file) throw new Error(`no cgroup ${this.freezerKind()} freezer on this host`);
      writeFileSync(file, this.freezerKind() === "v2" ? "1" : "FROZEN");
    } else {
      if (v2 && existsSync(v2)) writeFileSync(v2, "0");
      if (v1 && existsSync(v1)) writeFileSync(v1, "THAWED");
    }
    const deadline = Date.now() + timeoutMs;
    while (!this.settled(name, frozen)) {
      if (Date.now() > deadline) {
        if (frozen) await this.setFrozen(name, false, timeoutMs).catch(() => undefined);
        throw new Error(`the cgroup of ${name} did not ${frozen ? "freeze" : "thaw"} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Every hierarchy this host mounts (v1: one per controller, plus the unified and named ones). */
  private hierarchies(): string[] {
    return this.layout === "v2" ? [ROOT] : subdirs(ROOT).map((n) => `${ROOT}/${n}`);
  }

  /** Removes the tenant's (empty) cgroups in every hierarchy, deepest first; answers those still there. */
  removeAll(name: string): string[] {
    this.files.delete(name);
    const left: string[] = [];
    for (const h of this.hierarchies()) {
      for (const d of [`${h}/lxc.payload.${name}`, `${h}/${TENANTS}/${name}`, `${h}/hoody.monitors/${name}`].flatMap((top) => cgroupTree(top).reverse())) {
        try {
          rmdirSync(d);
        } catch {
          left.push(d);
        }
      }
    }
    return left;
  }
}

/**
 * The pids of a tenant last seen running in the usual shape (its lasting cgroup with LXC's payload
 * below it and nothing below that), from files held open since: the lasting cgroup's cgroup.stat says
 * it has one descendant (so nothing below the payload; only the host's root makes cgroups beside it),
 * then both cgroup.procs. A stats collection asks this of every running tenant: one held read instead
 * of two stats (a stat in a collection costs twice a held read). Null when the tenant is not in that
 * shape (stopped: the file is closed, so that no stopped tenant keeps one open; a deeper tree): the
 * caller walks the tree.
 */
function runningShapePids(f: TenantCgroupFiles): number[] | null {
  const stat = heldKernelFiles.textIfHeld(f.procsTopStat);
  if (stat === undefined) return null;
  const payload = /^nr_descendants 1$/m.test(stat ?? "") ? readHeld(f.procsPayloadProcs) : null;
  if (payload === null) {
    heldKernelFiles.close(f.procsTopStat);
    return null;
  }
  return [...parsePids(readHeld(f.procsTopProcs)), ...parsePids(payload)];
}

/** The files of a tenant's cgroups a stats collection reads, by name (CgroupReader.filesOf). */
interface TenantCgroupFiles {
  /** The files of the tenant's lasting cgroup in the tree processes are listed in, and its payload's. */
  procsTopStat: string;
  procsTopProcs: string;
  procsPayloadProcs: string;
  memoryCurrent: string;
  memoryPeak: string;
  swap: string;
  cpu: string;
  /** The container cgroup's freezers: v2 wherever there is a unified tree, v1 on a v1 or hybrid host. */
  freezeV2: string | null;
  freezeV1: string | null;
}

function parsePids(text: string | null): number[] {
  return (text ?? "").split("\n").filter(Boolean).map(Number);
}

/**
 * A cgroup and every cgroup below it, parents first. A tenant may make child cgroups (mount a v1
 * controller inside, mkdir, move its processes there) and must not hide in them.
 */
function cgroupTree(top: string): string[] {
  // kernfs gives a directory nlink 2 + its subdirectories: the usual shapes (a lasting cgroup with
  // nothing below it, or with LXC's payload and nothing below that) are confirmed by a stat or two
  // instead of listed (a listing costs three stats' time; a stats collection walks every running tenant).
  const below = subdirCount(top);
  if (below === null) return [];
  if (below === 0) return [top];
  if (below === 1 && subdirCount(`${top}/payload`) === 0) return [top, `${top}/payload`];
  const dirs: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    dirs.push(dir);
    for (const e of entries) if (e.isDirectory()) walk(`${dir}/${e.name}`);
  };
  walk(top);
  return dirs;
}

/** How many directories a cgroup directory holds (from its link count), or null when it is not there. */
function subdirCount(dir: string): number | null {
  const st = statSync(dir, { throwIfNoEntry: false });
  return st?.isDirectory() ? st.nlink - 2 : null;
}

/** Names of the directories in `dir` (none when it cannot be listed). */
function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

function tryWrite(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

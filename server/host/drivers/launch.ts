// Where and how lxc-start runs: from launch.pl, a small process the daemon starts once, in a launch
// mount namespace per start.
// - The namespace: LXC copies the namespace it starts from and reads its mount table several times
//   per start; the host's holds a ramdisk (tmpfs) and a share (idmapped bind) for each tenant that
//   has run, so each start paid for every other tenant. Measured on a box with 1,000 starters running
//   (2,033 host mounts): create → running 131 ms, 119 ms with the shares out of the table, 103 ms with
//   the ramdisks out too, against 88 ms on an empty box. The launch namespace is the host's minus two
//   parent mounts (the ramdisks' and the shares' directories, each a bind of itself, detached in one
//   call each), plus this tenant's own ramdisk and shares, cloned from the host's before the cut. The
//   tenant's /proc point is made a peer group of its own there, so that the start hook's mounts on it
//   still propagate into the tenant's. The hook then detaches what is the tenant's from it (LXC's
//   monitor keeps the namespace while the tenant runs).
// - The base: cutting the copy still copied the host's table first, then tore most of it down (11-19
//   ms of a start at 2,070 host mounts, 2-3 ms on an empty box). launch.pl makes that cut once, into
//   a base namespace it holds by an fd, and each start copies the base instead. The base is made
//   again whenever the host's table outside the parents differs from when it was made (launch.pl
//   compares it at each start, so a start never misses a host mount on a box whose / propagates
//   nothing), made again when older than 10 s (a mount moved or remounted keeps its id: the check
//   cannot see it), and dropped after `baseIdleS` without a start (it holds copies of the host's mounts).
// - The process: a fork copies the forking process's page tables, 6-7 ms of the daemon's one thread
//   per spawn at 1,000 tenants (more at 10,000); launch.pl's are small. It also sets KSM's opt-in on
//   the tenant, where the daemon toggled its own around a spawn (a walk of its memory each time).
// - The PATH: lxc-start maps the tenant's ids through shadow's setuid newuidmap and newgidmap (four
//   more processes per start: an sh -c for each) whenever it finds them on its PATH, root or not;
//   root may write the maps itself, which LXC does when they are not there. lxc-start gets a PATH
//   without the directories holding them (launchPath). (Root's ranges stay reserved in /etc/subuid
//   and /etc/subgid, which is what keeps shadow from handing them to a user.)
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import path from "node:path";
import { mountPoints } from "../mountinfo.js";
import { AT_RECURSIVE, closeFd, detach, MS_BIND, MS_PRIVATE, MS_REC, mount, moveMount, openTreeClone } from "./mount-api.js";

const LAUNCHER = path.join(import.meta.dirname, "launch.pl");

/** What a start takes into its launch namespace. */
export interface LaunchMounts {
  /** This tenant's mounts: its ramdisk and shares (host paths, attached at the same paths). */
  carry: string[];
  /** Parents of every tenant's mounts (detachableParent's), cut from the copy. */
  detach: string[];
  /** Mount points whose later mounts must reach the tenant's namespace (its /proc point). */
  shared: string[];
}

/** How a launched command ended: its exit code (null when a signal ended it) and its output (the start of it). */
export interface LaunchResult {
  exitCode: number | null;
  signal: number | null;
  output: string;
}

/** How long past launch.pl's own timeout a start waits for its answer. */
const ANSWER_GRACE_S = 15;

/** The kernel's machine names (uname -m) of the architectures launch.pl knows the syscalls of. */
const MACHINE: Partial<Record<NodeJS.Architecture, string>> = { x64: "x86_64", arm64: "aarch64" };

/** The daemon's one launcher process, started at the first launch and again if it ever ends. */
export class Launcher {
  private proc: ChildProcessByStdio<Writable, Readable, null> | null = null;
  /** Starts sent and not answered yet: how to settle each, and which launcher process it went to. */
  private readonly pending = new Map<string, { done: (r: LaunchResult | Error) => void; to: ChildProcessByStdio<Writable, Readable, null> }>();
  private nextId = 0;

  /** `baseIdleS`: how long launch.pl keeps its base namespace (launch.pl) without a start. */
  constructor(
    private readonly timeoutS = 60,
    private readonly baseIdleS = 30,
  ) {}

  /**
   * Runs `argv` from a launch namespace made of `mounts` (with KSM's opt-in if `ksm`), with
   * `commandPath` as its PATH if given (launch.pl looks the command up on its own PATH first).
   */
  run(mounts: LaunchMounts, ksm: boolean, argv: string[], commandPath?: string): Promise<LaunchResult> {
    const args = [
      ...(ksm ? ["--ksm"] : []),
      ...(commandPath === undefined ? [] : ["--path", commandPath]),
      ...mounts.carry.flatMap((p) => ["--carry", p]),
      ...mounts.detach.flatMap((p) => ["--detach", p]),
      ...mounts.shared.flatMap((p) => ["--shared", p]),
      "--",
      ...argv,
    ];
    // The protocol's separators; none of the daemon's paths or arguments holds one.
    if (args.some((a) => /[\0\n]/.test(a))) return Promise.reject(new Error("launch: an argument holds a NUL or a newline"));
    const id = String(++this.nextId);
    return new Promise((resolve, reject) => {
      // launch.pl kills a command past the timeout and answers; this is for a handler that died
      // without answering (the outcome is unknown then, as when the launcher dies).
      const timer = setTimeout(() => this.settle(id, new Error(`launch: no answer within ${this.timeoutS + ANSWER_GRACE_S} s`)), (this.timeoutS + ANSWER_GRACE_S) * 1000);
      const to = this.process();
      this.pending.set(id, {
        done: (r) => {
          clearTimeout(timer);
          if (r instanceof Error) reject(r);
          else resolve(r);
        },
        to,
      });
      to.stdin.write(`${[id, ...args].join("\0")}\n`);
    });
  }

  private settle(id: string, r: LaunchResult | Error): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.done(r);
  }

  private process(): ChildProcessByStdio<Writable, Readable, null> {
    if (this.proc) return this.proc;
    const proc = spawn("perl", [LAUNCHER, "--arch", MACHINE[process.arch] ?? process.arch, "--timeout", String(this.timeoutS), "--base-idle", String(this.baseIdleS)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.proc = proc;
    let buffered = "";
    proc.stdout.setEncoding("latin1");
    proc.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const [id = "", status = "", hex = ""] = buffered.slice(0, nl).split("\0");
        buffered = buffered.slice(nl + 1);
        if (!/^\d+$/.test(status)) {
          this.settle(id, new Error(`launch: a malformed answer (status ${JSON.stringify(status)})`));
          continue;
        }
        const wait = Number(status);
        this.settle(id, { exitCode: wait & 0x7f ? null : wait >> 8, signal: wait & 0x7f || null, output: Buffer.from(hex, "hex").toString("utf8") });
      }
    });
    // Once it has exited, starts go to a new launcher; those sent to this one are answered by the
    // handlers it had forked (they hold its stdout) or fail when the last of them is gone ("close").
    const retire = () => {
      if (this.proc === proc) this.proc = null;
    };
    const ended = (why: string) => {
      retire();
      for (const [id, p] of [...this.pending]) if (p.to === proc) this.settle(id, new Error(`launch: the launcher ${why}`));
    };
    proc.on("exit", retire);
    proc.on("close", (code, signal) => ended(`exited (${signal ?? code})`));
    proc.on("error", (e) => ended(`failed: ${e.message}`));
    proc.stdin.on("error", () => undefined);
    // The daemon exits without waiting for it: its stdin closes, and it ends after its last start.
    proc.unref();
    (proc.stdout as Readable & { unref?: () => void }).unref?.();
    return proc;
  }
}

/**
 * Makes `dir` a mount of its own (a bind of itself, private: what is mounted below it propagates
 * nowhere), so that a launch namespace can drop everything below it in one detach and still see its
 * directories. Once per daemon start, before any start. A directory that already has mounts below it
 * (a data dir from before this layout, with ramdisks and shares mounted) is made one with them: a
 * recursive clone of it (the same ramdisks, the same shares) replaces them, so that none stays
 * below it (running tenants keep their own copies). Without this, every launch namespace would hold
 * a copy of every tenant's mounts for as long as its tenant ran.
 */
export function detachableParent(dir: string): void {
  // mountinfo names real paths.
  const real = realpathSync(dir);
  const points = mountPoints();
  if (points.has(real)) return;
  const below = [...points].filter((p) => p.startsWith(`${real}/`));
  if (!below.length) {
    mount(real, real, null, MS_BIND);
    mount(null, real, null, MS_PRIVATE);
    return;
  }
  const fd = openTreeClone(real, AT_RECURSIVE);
  try {
    // Deepest first; a path with mounts stacked on it is listed once per mount.
    for (const p of below.sort((a, b) => b.length - a.length)) while (detach(p));
    moveMount(fd, real);
  } finally {
    closeFd(fd);
  }
  mount(null, real, null, MS_REC | MS_PRIVATE);
}

/** The shadow tools lxc-start would map ids through (see the PATH, above). */
const ID_MAP_TOOLS = ["newuidmap", "newgidmap"];

/**
 * lxc-start's PATH: the daemon's, less relative entries and the directories holding ID_MAP_TOOLS.
 * Worked out once per PATH (a dozen stats), not at every start.
 */
export function launchPath(daemonPath = process.env.PATH ?? ""): string {
  let p = launchPaths.get(daemonPath);
  if (p === undefined) {
    p = daemonPath
      .split(":")
      .filter((dir) => path.isAbsolute(dir) && !ID_MAP_TOOLS.some((tool) => existsSync(path.join(dir, tool))))
      .join(":");
    launchPaths.set(daemonPath, p);
  }
  return p;
}
const launchPaths = new Map<string, string>();

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
// - The process: a fork copies the forking process's page tables, 6-7 ms of the daemon's one thread
//   per spawn at 1,000 tenants (more at 10,000); launch.pl's are small. It also sets KSM's opt-in on
//   the tenant, where the daemon toggled its own around a spawn (a walk of its memory each time).
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import path from "node:path";
import { libcFunc } from "../ffi.js";
import { mountPoints } from "../mountinfo.js";

const LAUNCHER = path.join(import.meta.dirname, "launch.pl");

const MS_BIND = 4096;
const MS_PRIVATE = 1 << 18;
type MountFn = (source: string | null, target: string, fstype: string | null, flags: number, data: string | null) => number;

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

/** The kernel's machine names (uname -m) of the architectures launch.pl knows the syscalls of. */
const MACHINE: Partial<Record<NodeJS.Architecture, string>> = { x64: "x86_64", arm64: "aarch64" };

/** The daemon's one launcher process, started at the first launch and again if it ever ends. */
export class Launcher {
  private proc: ChildProcessByStdio<Writable, Readable, null> | null = null;
  private readonly pending = new Map<string, (r: LaunchResult | Error) => void>();
  private nextId = 0;

  constructor(private readonly timeoutS = 60) {}

  /** Runs `argv` from a launch namespace made of `mounts` (with KSM's opt-in if `ksm`). */
  run(mounts: LaunchMounts, ksm: boolean, argv: string[]): Promise<LaunchResult> {
    const args = [
      ...(ksm ? ["--ksm"] : []),
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
      this.pending.set(id, (r) => (r instanceof Error ? reject(r) : resolve(r)));
      this.process().stdin.write(`${[id, ...args].join("\0")}\n`);
    });
  }

  private process(): ChildProcessByStdio<Writable, Readable, null> {
    if (this.proc) return this.proc;
    const proc = spawn("perl", [LAUNCHER, "--arch", MACHINE[process.arch] ?? process.arch, "--timeout", String(this.timeoutS)], { stdio: ["pipe", "pipe", "inherit"] });
    this.proc = proc;
    let buffered = "";
    proc.stdout.setEncoding("latin1");
    proc.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const [id = "", status = "", hex = ""] = buffered.slice(0, nl).split("\0");
        buffered = buffered.slice(nl + 1);
        const wait = Number(status);
        this.pending.get(id)?.({ exitCode: wait & 0x7f ? null : wait >> 8, signal: wait & 0x7f || null, output: Buffer.from(hex, "hex").toString("utf8") });
        this.pending.delete(id);
      }
    });
    const ended = (why: string) => {
      if (this.proc !== proc) return;
      this.proc = null;
      for (const done of this.pending.values()) done(new Error(`launch: the launcher ${why}`));
      this.pending.clear();
    };
    proc.on("exit", (code, signal) => ended(`exited (${signal ?? code})`));
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
 * directories. Once per daemon start. A directory that already has mounts below it (a data dir from
 * before, with ramdisks mounted) is left a plain directory until they go (a reboot): binding it now
 * would leave them twice in the table. Says whether `dir` is a mount of its own.
 */
export function detachableParent(dir: string): boolean {
  const points = mountPoints();
  if (points.has(dir)) return true;
  if ([...points].some((p) => p.startsWith(`${dir}/`))) return false;
  const mount = libcFunc<MountFn>("int mount(const char *, const char *, const char *, unsigned long, const char *)");
  if (!mount) return false;
  if (mount(dir, dir, null, MS_BIND, null) !== 0) throw new Error(`cannot bind ${dir} onto itself`);
  if (mount(null, dir, null, MS_PRIVATE, null) !== 0) throw new Error(`cannot make ${dir} private`);
  return true;
}

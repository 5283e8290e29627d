// Dedup: identical extents across tenants' deltas and the templates become one, with the kernel's
// FIDEDUPERANGE. The kernel compares the bytes itself under its own locks before it shares anything,
// so this is safe on live data and takes no tenant lock.
//
// Why Debian's duperemove and not our own ioctl loop: it already does the three hard parts (a hash
// file, SQLite, that remembers every file's hashes by inode, size and mtime, so a later run reads only
// what changed or is new, and a run killed half way resumes where it stopped; FIEMAP to skip extents
// already shared; batching of the ioctl), and it keeps its memory out of the daemon. We keep what is
// ours: one run at a time, idle I/O and CPU priority (ionice -c3, nice 19), a deadline per run (the
// process is stopped and the next run resumes from the hash file), stepping aside for subvolume
// deletes, and the accounting afterwards.
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { BtrfsPool } from "./drivers/btrfs.js";
import { writeJsonAtomic } from "./meta.js";
import { EngineError } from "../shared/errors.js";
import { haveCommand, run, SysError } from "../shared/sys.js";
import type { DedupRun, DedupStatus, DedupTenantAccount } from "../shared/protocol.js";

/** Runs kept in the status (newest first). */
const KEEP_RUNS = 20;
const DEFAULT_DEDUP_DEADLINE_S = 1800;

interface Saved {
  runs: DedupRun[];
  accounting: DedupStatus["accounting"];
}

/** What the runner scans and accounts: live tenants (id, subvolume) and template names. */
export type DedupScope = () => { tenants: { id: string; subvolumeId: number }[]; templates: string[] };

export class Dedup {
  private current: { run: DedupRun; abort: AbortController; done: Promise<void> } | null = null;
  /** Subvolume deletes in progress: no run starts while one is. */
  private holds = 0;
  private saved: Saved;

  constructor(
    private readonly pool: BtrfsPool,
    /** Holds the hash file and the run history; root only (the hash file names tenants' paths). */
    private readonly dir: string,
    private readonly scope: DedupScope,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.saved = readSaved(this.stateFile);
    // A run the daemon was stopped in: its process died with it (execa's cleanup), the hash file keeps what it read.
    for (const r of this.saved.runs) if (r.state === "running") Object.assign(r, { state: "interrupted", finishedAt: r.startedAt, message: "the host daemon stopped during the run" });
  }

  private get stateFile(): string {
    return path.join(this.dir, "runs.json");
  }

  get hashFile(): string {
    return path.join(this.dir, "hashes.db");
  }

  async status(): Promise<DedupStatus> {
    const tool = await haveCommand("duperemove");
    const runs = [...(this.current ? [this.current.run] : []), ...this.saved.runs];
    return {
      available: tool,
      reason: tool ? null : "duperemove is not installed (bin/setup-host.sh installs it)",
      running: this.current?.run ?? null,
      runs,
      totalSavedBytes: this.saved.runs.reduce((s, r) => s + Math.max(0, r.savedBytes ?? 0), 0),
      accounting: this.saved.accounting,
    };
  }

  /** Starts a run in the background; while one runs, answers it (started: false). */
  async start(opts: { deadlineS?: number; trigger?: string } = {}): Promise<{ run: DedupRun; started: boolean }> {
    if (!this.current && !(await haveCommand("duperemove"))) throw new EngineError("INVALID_STATE", "duperemove is not installed (bin/setup-host.sh installs it)");
    // From here to `this.current = …` nothing awaits: two calls at once start one run.
    if (this.current) return { run: this.current.run, started: false };
    if (this.holds > 0) throw new EngineError("INVALID_STATE", "a subvolume is being deleted; dedup starts once it is gone");
    const r: DedupRun = {
      id: `dd${Date.now().toString(36)}${randomBytes(2).toString("hex")}`,
      trigger: opts.trigger ?? "manual",
      startedAt: new Date().toISOString(),
      finishedAt: null,
      state: "running",
      deadlineS: opts.deadlineS ?? DEFAULT_DEDUP_DEADLINE_S,
      poolUsedBeforeBytes: 0,
      poolUsedAfterBytes: null,
      savedBytes: null,
      message: null,
    };
    const abort = new AbortController();
    const cur = { run: r, abort, done: Promise.resolve() };
    this.current = cur;
    cur.done = this.execute(r, abort.signal).finally(async () => {
      this.current = null;
      this.saved.runs = [r, ...this.saved.runs].slice(0, KEEP_RUNS);
      await this.persist();
    });
    return { run: { ...r }, started: true };
  }

  /**
   * Runs fn (a subvolume delete) with no scan in flight: a running one is stopped first (it may hold
   * files of that subvolume open, and the BTRFS cleaner would wait for them); none starts meanwhile.
   */
  async around<T>(fn: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      const cur = this.current;
      if (cur) {
        cur.abort.abort();
        await cur.done.catch(() => undefined);
      }
      return await fn();
    } finally {
      this.holds--;
    }
  }

  /**
   * After an erase: the hash file lists the tenant's paths and the hashes of its blocks, and SQLite
   * keeps deleted rows' bytes in free pages, so the whole file goes (the next run reads everything
   * once more). The accounting forgets the tenant too.
   */
  async forget(id: string): Promise<string[]> {
    const erased: string[] = [];
    for (const f of [this.hashFile, `${this.hashFile}-journal`, `${this.hashFile}-wal`, `${this.hashFile}-shm`]) {
      if (fs.existsSync(f)) {
        fs.rmSync(f, { force: true });
        if (f === this.hashFile) erased.push("dedup hash file (it listed the tenant's paths and block hashes)");
      }
    }
    const acc = this.saved.accounting;
    if (acc?.tenants.some((t) => t.id === id)) {
      acc.tenants = acc.tenants.filter((t) => t.id !== id);
      await this.persist();
      erased.push("dedup accounting of the tenant");
    }
    return erased;
  }

  private async execute(r: DedupRun, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + r.deadlineS * 1000;
    await this.pool.sync().catch(() => undefined);
    r.poolUsedBeforeBytes = (await this.pool.usage()).usedBytes;
    const tenantsDir = this.pool.path("tenants");
    const templatesDir = this.pool.path("templates");
    try {
      // -A: open read-only (templates are read-only subvolumes; root may dedupe through read-only fds).
      // Snapshots are left out: they share their tenant's extents already, and are read-only.
      await run(
        "ionice",
        [
          "-c3",
          "nice",
          "-n19",
          "duperemove",
          "-d",
          "-r",
          "-A",
          "-q",
          `--hashfile=${this.hashFile}`,
          "--io-threads=1",
          "--cpu-threads=1",
          `--exclude=${tenantsDir}/.restore-*`,
          `--exclude=${templatesDir}/.build-*`,
          templatesDir,
          tenantsDir,
        ],
        { timeoutMs: Math.max(1000, deadline - Date.now()), signal, maxBuffer: 64 * 1024 * 1024 },
      );
      r.state = "completed";
    } catch (e) {
      if (signal.aborted)
        Object.assign(r, { state: "preempted", message: "stopped for a subvolume delete; the next run resumes from the hash file (after an erase, which drops it, it reads everything again)" });
      else if (e instanceof SysError && e.timedOut) Object.assign(r, { state: "deadline", message: `stopped at its ${r.deadlineS} s bound; the next run resumes from the hash file` });
      else Object.assign(r, { state: "failed", message: (e as Error).message.slice(0, 1000) });
    }
    await this.pool.sync().catch(() => undefined);
    r.poolUsedAfterBytes = (await this.pool.usage()).usedBytes;
    r.savedBytes = r.poolUsedBeforeBytes - r.poolUsedAfterBytes;
    r.finishedAt = new Date().toISOString();
    if (r.state === "completed") {
      // Measured after the run, in the time it has left; a tenant not reached keeps no stale figure.
      this.saved.accounting = await this.measure(deadline, signal).catch(() => this.saved.accounting);
    }
  }

  private async measure(deadline: number, signal: AbortSignal): Promise<DedupStatus["accounting"]> {
    const { tenants, templates } = this.scope();
    const left = () => deadline - Date.now();
    const accounts: DedupTenantAccount[] = [];
    let referenced = 0;
    for (const t of tenants) {
      if (left() < 1000 || signal.aborted) break;
      const du = await this.pool.du(this.pool.path("tenants", t.id), left(), signal).catch(() => null);
      if (!du) continue;
      referenced += du.totalBytes;
      accounts.push({ id: t.id, qgroupBytes: this.pool.subvolumeBytes(t.subvolumeId), referencedBytes: du.totalBytes, exclusiveBytes: du.exclusiveBytes, sharedBytes: du.sharedBytes });
    }
    for (const name of templates) {
      if (left() < 1000 || signal.aborted) break;
      referenced += (await this.pool.du(this.pool.path("templates", name), left(), signal).catch(() => null))?.totalBytes ?? 0;
    }
    return {
      measuredAt: new Date().toISOString(),
      tenants: accounts,
      referencedBytes: referenced,
      poolDataBytes: this.pool.dataBytes(),
      orphanQgroupBytes: await this.pool.orphanQgroupBytes(),
    };
  }

  private async persist(): Promise<void> {
    await writeJsonAtomic(this.stateFile, this.saved).catch(() => undefined);
  }
}

function readSaved(file: string): Saved {
  try {
    const s = JSON.parse(fs.readFileSync(file, "utf8")) as Saved;
    if (Array.isArray(s.runs)) return { runs: s.runs, accounting: s.accounting ?? null };
  } catch {
    // none yet, or unreadable: start a new history
  }
  return { runs: [], accounting: null };
}

// Spare snapshots: a create from a template renames a snapshot of it made ahead, instead of waiting
// for one. BTRFS makes a snapshot in a transaction commit, which the ioctl waits for, and the pool's
// commits discard every block they free (btrfs.ts: SYNC_DISCARD). At 11,000 subvolumes the trees are
// deeper: a snapshot's commit wrote ~55 metadata blocks and waited for 18-26 discards, 15-30 ms
// (3 ms on an empty pool); a rename commits nothing. One spare per template a tenant was created
// from, made after that create, off its path; a create that finds none (a burst, the template's
// first) waits for the one being made if nobody has claimed it, or snapshots as before.
// A spare is the template's tree and nothing else: no tenant has run in it. Its name holds the
// template's subvolume id, so a rebuilt template's is never taken; spares go at the daemon's start
// and with their template (a promoted template holds its tenant's files).
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { BtrfsPool } from "./drivers/btrfs.js";
import type { TemplateMeta } from "./meta.js";

type Template = Pick<TemplateMeta, "name" | "subvolumeId">;

/** A spare being made: its file name once made (null if that failed), and whether a create has claimed it. */
interface Making {
  done: Promise<string | null>;
  claimed: boolean;
}

export class Spares {
  /** Template name → the file name of its spare, made and not taken. */
  private readonly ready = new Map<string, string>();
  private readonly making = new Map<string, Making>();

  constructor(
    private readonly pool: BtrfsPool,
    /** The template of that name now (a spare made for one since deleted or rebuilt is dropped). */
    private readonly current: (name: string) => Template | undefined,
  ) {}

  get dir(): string {
    return this.pool.path("spares");
  }

  /**
   * Moves the template's spare to `dst` (a path that does not exist) and answers its subvolume id;
   * null when there is none to take (then the caller snapshots). Two creates never get the same one:
   * it is taken, or claimed, before the first await.
   */
  async take(t: Template, dst: string): Promise<number | null> {
    let file = this.ready.get(t.name) ?? null;
    this.ready.delete(t.name);
    if (!file) {
      const making = this.making.get(t.name);
      if (!making || making.claimed) return null;
      making.claimed = true;
      file = await making.done;
      if (!file) return null;
    }
    const src = path.join(this.dir, file);
    if (!file.startsWith(`${t.name}.${t.subvolumeId}.`)) {
      void this.dropLogged(src);
      return null;
    }
    try {
      await fs.rename(src, dst);
    } catch (e) {
      console.error(`hostd: spare ${file}: ${(e as Error).message}`);
      void this.dropLogged(src);
      return null;
    }
    return this.pool.subvolumeId(dst);
  }

  /** Makes the template's spare unless it has one or one is being made. Never fails (a create does without). */
  refill(t: Template): void {
    if (this.ready.has(t.name) || this.making.has(t.name)) return;
    const file = `${t.name}.${t.subvolumeId}.${randomBytes(4).toString("hex")}`;
    const p = path.join(this.dir, file);
    const entry: Making = { claimed: false, done: Promise.resolve(null) };
    entry.done = (async () => {
      try {
        await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
        await this.pool.snapshot(this.pool.path("templates", t.name), p, false);
      } catch (e) {
        console.error(`hostd: spare of ${t.name}: ${(e as Error).message}`);
        await this.dropLogged(p);
        return null;
      } finally {
        this.making.delete(t.name);
      }
      if (this.current(t.name)?.subvolumeId !== t.subvolumeId) {
        await this.dropLogged(p);
        return null;
      }
      if (!entry.claimed) this.ready.set(t.name, file);
      return file;
    })();
    this.making.set(t.name, entry);
  }

  /**
   * Deletes the template's spare, made or being made (its template is going). Fails when it could
   * not (a promoted template's spare holds its tenant's files: the template's deletion must not
   * say done); the spare is then kept for the next call.
   */
  async clear(name: string): Promise<void> {
    await this.making.get(name)?.done;
    const file = this.ready.get(name);
    if (!file) return;
    await this.drop(path.join(this.dir, file));
    this.ready.delete(name);
  }

  /**
   * At the daemon's start, before any create: what an earlier run left in spares/, by subvolume id
   * (a path that is no subvolume under a negative key of its own). Read once; giveBack and
   * dropLeftovers take from it.
   */
  async leftovers(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const f of await fs.readdir(this.dir).catch(() => [] as string[])) {
      const p = path.join(this.dir, f);
      out.set((await this.pool.isSubvolume(p)) ? await this.pool.subvolumeId(p) : -1 - out.size, p);
    }
    return out;
  }

  /**
   * The leftover whose subvolume is `id` goes back to its tenant at `dst` (a rename is durable only
   * at the pool's next commit: a crash right after a create can find the tenant's tree among the
   * spares again). Whether there was one.
   */
  async giveBack(leftovers: Map<number, string>, id: number, dst: string): Promise<boolean> {
    const p = leftovers.get(id);
    if (!p) return false;
    await fs.rename(p, dst);
    leftovers.delete(id);
    return true;
  }

  /** The leftovers no tenant took back, deleted in the background (the promise): none is ever handed out. */
  dropLeftovers(leftovers: Map<number, string>): Promise<void> {
    return (async () => {
      for (const p of leftovers.values()) await this.dropLogged(p);
    })();
  }

  /** deleteSubvolume removes a path that is no subvolume as a plain directory, too. */
  private drop(p: string): Promise<void> {
    return this.pool.deleteSubvolume(p);
  }

  /** drop() where nobody waits for it: a failure is logged (the spare goes at the next start). */
  private dropLogged(p: string): Promise<void> {
    return this.drop(p).catch((e: Error) => console.error(`hostd: spare ${path.basename(p)}: ${e.message}`));
  }
}

// The delta browser: what a tenant added, modified and deleted relative to its template (or since
// one of its snapshots), one directory at a time, and the content of a small text file. The
// operator is the data controller here: every listing and every content view is in the audit log,
// refusals included, with the path asked for.
import { type ChangeEntry, type ChangesResult, MAX_CONTENT_BYTES, normalizeTenantPath } from "../shared/changes";
import type { Actor, CoreContext } from "./context";
import { CoreError, fromEngine } from "./errors";
import type { ChangesQuery } from "./schemas";
import type { SnapshotService } from "./snapshots";

export interface ChangeEntryView {
  name: string;
  path: string;
  type: ChangeEntry["type"];
  change: ChangeEntry["change"];
  size: number;
  from: string | null;
  children: number;
  totals: { added: number; modified: number; deleted: number; bytes: number; deleted_bytes: number; written: number };
}

export interface ChangesView {
  container_id: string;
  base: { kind: "template" | "snapshot"; name: string };
  path: string;
  generation: number;
  computed_at: string;
  compute_ms: number;
  cached: boolean;
  entry: ChangeEntryView;
  entries: ChangeEntryView[];
  truncated: boolean;
}

export interface ChangeContentView {
  container_id: string;
  path: string;
  size: number;
  encoding: "utf-8";
  content: string;
}

const entryView = (e: ChangeEntry): ChangeEntryView => ({
  name: e.name,
  path: e.path,
  type: e.type,
  change: e.change,
  size: e.size,
  from: e.from ?? null,
  children: e.children,
  totals: { added: e.totals.added, modified: e.totals.modified, deleted: e.totals.deleted, bytes: e.totals.bytes, deleted_bytes: e.totals.deletedBytes, written: e.totals.written },
});

export class ChangesService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly snapshots: SnapshotService,
  ) {}

  async list(actor: Actor, given: string, q: ChangesQuery): Promise<ChangesView> {
    const row = this.ctx.containerRow(actor, given);
    const detail: Record<string, unknown> = { path: q.path, ...(q.compare ? { compare: q.compare } : {}) };
    return this.run(actor, "changes.list", row.id, detail, async () => {
      const path = this.path(q.path);
      // A snapshot by its name or alias; the engine knows names only.
      const compare = q.compare === undefined ? undefined : this.snapshots.row(row.id, q.compare).name;
      const r: ChangesResult = await this.ctx.engine.deltas.changes(row.engineName, { path, compare, sort: q.sort_by, order: q.sort_order, limit: q.limit, maxAgeS: q.max_age });
      detail.entries = r.entries.length;
      return {
        container_id: row.id,
        base: r.base,
        path: r.entry.path,
        generation: r.generation,
        computed_at: r.computedAt,
        compute_ms: r.computeMs,
        cached: r.cached,
        entry: entryView(r.entry),
        entries: r.entries.map(entryView),
        truncated: r.truncated,
      };
    });
  }

  async content(actor: Actor, given: string, rawPath: string): Promise<ChangeContentView> {
    const row = this.ctx.containerRow(actor, given);
    const detail: Record<string, unknown> = { path: rawPath };
    return this.run(actor, "changes.content", row.id, detail, async () => {
      const path = this.path(rawPath);
      const f = await this.ctx.engine.deltas.readFile(row.engineName, path);
      detail.size = f.size;
      if (f.base64 === null) throw new CoreError(413, "FILE_TOO_LARGE", `${path} has ${f.size} bytes; the content view shows files up to ${MAX_CONTENT_BYTES}`);
      const bytes = Buffer.from(f.base64, "base64");
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new CoreError(415, "NOT_TEXT", `${path} is not UTF-8 text`);
      }
      if (text.includes("\0")) throw new CoreError(415, "NOT_TEXT", `${path} is binary (it holds NUL bytes)`);
      return { container_id: row.id, path, size: f.size, encoding: "utf-8" as const, content: text };
    });
  }

  private path(p: string): string {
    const path = normalizeTenantPath(p);
    if (path === null) throw new CoreError(422, "PATH_REFUSED", "not a path inside the tenant: no '.' or '..' components and no NUL bytes");
    return path;
  }

  /** Audits the call, refused or not, with the path asked for (what `audited` leaves out on failure). */
  private async run<T>(actor: Actor, action: string, containerId: string, detail: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.ctx.audit(actor, action, `container:${containerId}`, "ok", detail);
      return r;
    } catch (e) {
      const err = fromEngine(e);
      this.ctx.audit(actor, action, `container:${containerId}`, `error:${err.code}`, detail);
      throw err;
    }
  }
}

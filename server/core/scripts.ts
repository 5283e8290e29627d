// Exec scripts' persistent side: operator-set secrets and settings, run-once results and the run
// log. Used by the script runner (server/exec) and the REST routes; nothing else writes these rows.
import { randomBytes } from "node:crypto";
import { and, desc, eq, like, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import * as t from "../db/schema";
import { sha256 } from "./ids";
import { aliasTarget } from "./ids";
import { SCRIPT_RUNS_KEPT } from "./limits";

export type ScriptValueKind = "secret" | "setting";

const RUN_TOKEN_PREFIX = "script:";
const RUN_TOKEN_SUFFIX = " (one run)";

export class ScriptStore {
  constructor(private readonly db: Db) {
    // A run's token lives only as long as its run; a server that died mid-run leaves it behind.
    db.delete(t.apiTokens)
      .where(like(t.apiTokens.name, `${RUN_TOKEN_PREFIX}%${RUN_TOKEN_SUFFIX}`))
      .run();
  }

  values(script: string, kind: ScriptValueKind): Record<string, string> {
    const rows = this.db
      .select()
      .from(t.scriptValues)
      .where(and(eq(t.scriptValues.script, script), eq(t.scriptValues.kind, kind)))
      .all();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** Merges values; null removes a key. */
  setValues(script: string, kind: ScriptValueKind, values: Record<string, string | null>): void {
    this.db.transaction((tx) => {
      for (const [key, value] of Object.entries(values)) {
        tx.delete(t.scriptValues)
          .where(and(eq(t.scriptValues.script, script), eq(t.scriptValues.kind, kind), eq(t.scriptValues.key, key)))
          .run();
        if (value !== null) tx.insert(t.scriptValues).values({ script, kind, key, value }).run();
      }
    });
  }

  /** Secrets for display: keys with masked values. */
  maskedSecrets(script: string): Record<string, string> {
    return Object.fromEntries(Object.entries(this.values(script, "secret")).map(([k, v]) => [k, v.length > 8 ? `${v.slice(0, 3)}…${v.slice(-2)}` : "••••"]));
  }

  onceResult(script: string, key: string): string | null {
    return (
      this.db
        .select()
        .from(t.scriptOnce)
        .where(and(eq(t.scriptOnce.script, script), eq(t.scriptOnce.key, key)))
        .get()?.result ?? null
    );
  }

  storeOnce(script: string, key: string, result: string): void {
    this.db.insert(t.scriptOnce).values({ script, key, result }).onConflictDoNothing().run();
  }

  /** Logs a run and keeps the script's last `kept` runs (anonymous callers must not grow the database). */
  recordRun(run: { script: string; status: number; durationMs: number; runKey: string | null; output: string }, kept = SCRIPT_RUNS_KEPT): void {
    this.db.transaction((tx) => {
      tx.insert(t.scriptRuns)
        .values({ ...run, output: run.output.slice(-16 * 1024) })
        .run();
      const oldestKept = tx
        .select({ id: t.scriptRuns.id })
        .from(t.scriptRuns)
        .where(eq(t.scriptRuns.script, run.script))
        .orderBy(desc(t.scriptRuns.id))
        .limit(1)
        .offset(kept - 1)
        .get();
      if (oldestKept)
        tx.delete(t.scriptRuns)
          .where(and(eq(t.scriptRuns.script, run.script), lt(t.scriptRuns.id, oldestKept.id)))
          .run();
    });
  }

  runs(script?: string, limit = 100) {
    return this.db
      .select()
      .from(t.scriptRuns)
      .where(script ? eq(t.scriptRuns.script, script) : undefined)
      .orderBy(desc(t.scriptRuns.id))
      .limit(limit)
      .all()
      .map((r) => ({ id: r.id, script: r.script, at: r.at, status: r.status, duration_ms: r.durationMs, key: r.runKey, output: r.output }));
  }

  /** A project-scoped API token for one run; dropped when the run ends. */
  mintRunToken(script: string, projectId: string): { id: string; secret: string } {
    const secret = `hdy_${randomBytes(24).toString("base64url")}`;
    const id = `k${randomBytes(8).toString("hex").slice(0, 10)}`;
    // A project_id setting made before the 24-hex ids names the project it became.
    const pid = aliasTarget(this.db, "project", projectId) ?? projectId;
    this.db
      .insert(t.apiTokens)
      .values({ id, name: `${RUN_TOKEN_PREFIX}${script}${RUN_TOKEN_SUFFIX}`, hash: sha256(secret), prefix: secret.slice(0, 8), projectId: pid })
      .run();
    return { id, secret };
  }

  dropToken(id: string): void {
    this.db.delete(t.apiTokens).where(eq(t.apiTokens.id, id)).run();
  }
}

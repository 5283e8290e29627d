// A script run's API token lives exactly as long as the run: dropped when it ends, and swept at
// start-up when the server died mid-run (otherwise a valid project token would outlive its run).
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb } from "../db/client";
import { apiTokens, projects } from "../db/schema";
import { ScriptStore } from "./scripts";

describe("script run tokens", () => {
  it("are dropped after the run and swept at start-up; other tokens stay", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-scripts-"));
    const db = openDb(path.join(dir, "hoody.db"));
    db.insert(projects)
      .values({ id: "p1", alias: "p1" } as typeof projects.$inferInsert)
      .run();
    db.insert(apiTokens).values({ id: "kkeep", name: "ci", hash: "h0", prefix: "hdy_aaaa", projectId: "p1" }).run();
    const store = new ScriptStore(db);
    const done = store.mintRunToken("signup", "p1");
    store.dropToken(done.id);
    // A run in flight when the server dies: its token is still in the table.
    store.mintRunToken("signup", "p1");
    expect(
      db
        .select()
        .from(apiTokens)
        .all()
        .map((r) => r.id),
    ).toHaveLength(2);
    new ScriptStore(db);
    expect(
      db
        .select()
        .from(apiTokens)
        .all()
        .map((r) => r.id),
    ).toEqual(["kkeep"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("script run log", () => {
  it("keeps each script's last runs only; other scripts' runs stay", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-scripts-"));
    const db = openDb(path.join(dir, "hoody.db"));
    const store = new ScriptStore(db);
    const run = (script: string, n: number) => store.recordRun({ script, status: 200, durationMs: n, runKey: null, output: `run ${n}` }, 5);
    run("other", 0);
    for (let n = 1; n <= 12; n++) run("signup", n);
    expect(store.runs("signup").map((r) => r.duration_ms)).toEqual([12, 11, 10, 9, 8]);
    expect(store.runs("other").map((r) => r.duration_ms)).toEqual([0]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

// drizzle/0006_public_ids.sql on a database the previous release wrote (migrations up to 0004,
// rows with `p`/`c` + 10 ids): every id becomes 24 hex, every reference follows, the engine name
// stays the old id, and id_aliases maps old → new. The upgrade of a whole running install is
// test/upgrade.int.test.ts; this checks every table the SQL rewrites, in a temp file.
import { afterEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { openDb } from "./client";

const DRIZZLE = path.resolve(import.meta.dirname, "../../drizzle");
const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** The last migration of the previous release (1c2c837), whose ids were `p`/`c` + 10 characters. */
const PREVIOUS_RELEASE_LAST = "0004_suspended_and_ceilings";

/** A migrations folder with the entries up to `tag` only: the schema the previous release had. */
function folderUpTo(tag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-mig-"));
  tmp.push(dir);
  fs.mkdirSync(path.join(dir, "meta"));
  const journal = JSON.parse(fs.readFileSync(path.join(DRIZZLE, "meta/_journal.json"), "utf8"));
  const last = journal.entries.findIndex((e: { tag: string }) => e.tag === tag);
  expect(last).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, last + 1);
  for (const e of journal.entries) fs.copyFileSync(path.join(DRIZZLE, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  fs.writeFileSync(path.join(dir, "meta/_journal.json"), JSON.stringify(journal));
  return dir;
}

describe("the migration journal", () => {
  it("has strictly increasing timestamps in order: the migrator skips any entry not later than the last one applied", () => {
    const { entries } = JSON.parse(fs.readFileSync(path.join(DRIZZLE, "meta/_journal.json"), "utf8")) as { entries: { tag: string; when: number }[] };
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.when, `${entries[i - 1]!.tag} → ${entries[i]!.tag}`).toBeGreaterThan(entries[i - 1]!.when);
  });
});

describe("0006_public_ids", () => {
  it("gives projects and containers 24-hex ids, rewrites every reference and keeps aliases", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-db-"));
    tmp.push(dir);
    const file = path.join(dir, "hoody.db");
    const old = new Database(file);
    old.pragma("foreign_keys = ON");
    migrate(drizzle(old), { migrationsFolder: folderUpTo(PREVIOUS_RELEASE_LAST) });
    const P = "pabcdefghij";
    const C = "c0123456789";
    const C2 = "c9876543210";
    old.exec(`
      INSERT INTO projects (id, alias, created_at) VALUES ('${P}', 'acme', '2025-01-02T03:04:05.678Z');
      INSERT INTO containers (id, project_id, name, label, template, status) VALUES ('${C}', '${P}', 'one', 'one', 'mini', 'running');
      INSERT INTO containers (id, project_id, name, label, template, status, source_container_id) VALUES ('${C2}', '${P}', 'two', 'two', 'mini', 'stopped', '${C}');
      INSERT INTO env_vars VALUES ('${C}', 'PLAN', 'pro');
      INSERT INTO snapshots (container_id, name, alias) VALUES ('${C}', 'snap-1', 'nightly');
      INSERT INTO firewall_rules VALUES ('${C}', 0, '{"direction":"ingress","action":"allow"}');
      INSERT INTO status_logs (container_id, to_status, triggered_by, metadata) VALUES ('${C2}', 'stopped', 'system', '{"source_container_id":"${C}"}');
      INSERT INTO api_tokens (id, name, hash, prefix, project_id) VALUES ('kaaaaaaaaaa', 'p', 'h', 'hdy_', '${P}');
      INSERT INTO erasure_receipts (id, container_id, project_id, requested_by, erased) VALUES ('rbbbbbbbbbb', 'cgoneaway00', '${P}', 'operator', '{}');
      INSERT INTO idempotency_keys (key, actor, request_hash, status, response, resource_id) VALUES ('k1', 'operator', 'x', 201, '{}', '${C}');
      INSERT INTO script_values VALUES ('stripe-webhook', 'setting', 'project_id', '${P}');
      INSERT INTO script_values VALUES ('stripe-webhook', 'setting', 'TEMPLATE', '${P}');
      INSERT INTO audit_log (actor, action, target, result, detail) VALUES ('operator', 'container.create', 'container:${C}', 'ok', '{"container_id":"${C}","project_id":"${P}"}');
      INSERT INTO audit_log (actor, action, target, result, detail) VALUES ('operator', 'container.copy', 'container:${C2}', 'ok', '{"container_id":"${C2}","source":"${C}"}');
      INSERT INTO audit_log (actor, action, target, result, detail) VALUES ('operator', 'project.update', 'project:${P}', 'ok', NULL);
      INSERT INTO audit_log (actor, action, target, result, detail) VALUES ('operator', 'template.build', 'template:mini', 'ok', '{"x":1}');
    `);
    old.close();

    const db = openDb(file).$client;
    const alias = (oldId: string) => db.prepare("SELECT kind, new_id FROM id_aliases WHERE old_id = ?").get(oldId) as { kind: string; new_id: string };
    const p = alias(P);
    const c = alias(C);
    const c2 = alias(C2);
    expect(p.kind).toBe("project");
    expect(c.kind).toBe("container");
    for (const a of [p, c, c2]) expect(a.new_id).toMatch(/^[0-9a-f]{24}$/);
    // The time prefix is the row's created_at seconds.
    expect(p.new_id.slice(0, 8)).toBe((Date.parse("2025-01-02T03:04:05Z") / 1000).toString(16));
    expect(db.prepare("SELECT id FROM projects").all()).toEqual([{ id: p.new_id }]);
    expect(db.prepare("SELECT id, engine_name, project_id, source_container_id FROM containers ORDER BY name").all()).toEqual([
      { id: c.new_id, engine_name: C, project_id: p.new_id, source_container_id: null },
      { id: c2.new_id, engine_name: C2, project_id: p.new_id, source_container_id: c.new_id },
    ]);
    const one = (sql: string) => db.prepare(sql).pluck().get();
    expect(one("SELECT container_id FROM env_vars")).toBe(c.new_id);
    expect(one("SELECT container_id FROM snapshots")).toBe(c.new_id);
    expect(one("SELECT container_id FROM firewall_rules")).toBe(c.new_id);
    expect(db.prepare("SELECT container_id, metadata FROM status_logs").get()).toEqual({ container_id: c2.new_id, metadata: `{"source_container_id":"${c.new_id}"}` });
    expect(one("SELECT project_id FROM api_tokens")).toBe(p.new_id);
    expect(db.prepare("SELECT container_id, project_id FROM erasure_receipts").get()).toEqual({ container_id: "cgoneaway00", project_id: p.new_id });
    expect(one("SELECT resource_id FROM idempotency_keys")).toBe(c.new_id);
    expect(db.prepare("SELECT key, value FROM script_values ORDER BY key").all()).toEqual([
      { key: "TEMPLATE", value: P },
      { key: "project_id", value: p.new_id },
    ]);
    expect(db.prepare("SELECT target, detail FROM audit_log ORDER BY id").all()).toEqual([
      { target: `container:${c.new_id}`, detail: JSON.stringify({ container_id: c.new_id, project_id: p.new_id }) },
      { target: `container:${c2.new_id}`, detail: JSON.stringify({ container_id: c2.new_id, source: c.new_id }) },
      { target: `project:${p.new_id}`, detail: null },
      { target: "template:mini", detail: '{"x":1}' },
    ]);
    expect(db.pragma("foreign_key_check")).toEqual([]);
    // The engine name is unique: two rows can never drive one tenant.
    expect(() => db.prepare("UPDATE containers SET engine_name = ? WHERE id = ?").run(C, c2.new_id)).toThrow(/UNIQUE/);
    db.close();
  });
});

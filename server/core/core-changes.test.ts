// The delta browser in the service layer, on the fake engine: the tree it answers, a snapshot as the
// base (by alias too), the content view's refusals, project scoping, and an audit row for every
// listing and view, refusals included.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ContainerView } from "./core";
import { auditOf, expectCoreError, fakeCore, SYSTEM, type FakeCore } from "./fake-core";
import { ChangesQuery } from "./schemas";

let h: FakeCore;
let c: ContainerView;
const q = (over: Record<string, unknown> = {}) => ChangesQuery.parse(over);
beforeEach(async () => {
  h = await fakeCore();
  const tpl = h.engine.templates.get("mini")!;
  tpl.files.set("/etc/hostname", "mini\n");
  tpl.files.set("/etc/motd", "welcome\n");
  tpl.files.set("/usr/share/doc/readme", "docs\n");
  c = await h.core.provisioning.create(SYSTEM, h.projectId, { name: "app" });
  const files = h.engine.tenant(c.engine_name).files;
  files.set("/etc/hostname", "app-host\n");
  files.delete("/usr/share/doc/readme");
  files.set("/srv/data/a.txt", "hello");
  files.set("/srv/data/b.bin", "\0\x01binary");
});
afterEach(() => h.close());

describe("changes", () => {
  it("lists one directory with kinds, sizes and per-directory totals, sorted; drilling in lists the next level", async () => {
    const root = await h.core.changes.list(SYSTEM, c.id, q());
    expect(root.base).toEqual({ kind: "template", name: "mini" });
    expect(root.entry.totals).toMatchObject({ added: 2, modified: 1, deleted: 1, bytes: 9 + 5 + 8, deleted_bytes: 5 });
    // Largest first by default.
    expect(root.entries.map((e) => [e.path, e.change, e.size])).toEqual([
      ["/srv", null, 13],
      ["/etc", null, 9],
      ["/usr", null, 0],
    ]);
    const byName = await h.core.changes.list(SYSTEM, c.id, q({ sort_by: "name" }));
    expect(byName.entries.map((e) => e.name)).toEqual(["etc", "srv", "usr"]);
    const data = await h.core.changes.list(SYSTEM, c.id, q({ path: "/srv/data" }));
    expect(data.entries.map((e) => [e.name, e.change, e.size, e.type])).toEqual([
      ["b.bin", "added", 8, "file"],
      ["a.txt", "added", 5, "file"],
    ]);
    const doc = await h.core.changes.list(SYSTEM, c.id, q({ path: "usr/share/doc/" }));
    expect(doc.path).toBe("/usr/share/doc");
    expect(doc.entries).toMatchObject([{ name: "readme", change: "deleted", size: 5 }]);
    expect(h.engine.script.callsOf("changes").at(-1)).toEqual([c.engine_name, expect.objectContaining({ path: "/usr/share/doc" })]);
    expect(auditOf(h.db, "changes.list").map((a) => [a.result, (a.detail as { path: string }).path])).toEqual([
      ["ok", "/"],
      ["ok", "/"],
      ["ok", "/srv/data"],
      ["ok", "usr/share/doc/"],
    ]);
  });

  it("compares with a snapshot by name or alias: only what changed since", async () => {
    const snap = await h.core.snapshots.create(SYSTEM, c.id, { alias: "before" });
    h.engine.tenant(c.engine_name).files.set("/srv/new.txt", "new");
    for (const compare of [snap.snapshot.name, "before"]) {
      const r = await h.core.changes.list(SYSTEM, c.id, q({ compare, path: "/srv" }));
      expect(r.base).toEqual({ kind: "snapshot", name: snap.snapshot.name });
      expect(r.entries.map((e) => [e.name, e.change])).toEqual([["new.txt", "added"]]);
    }
    await expectCoreError(h.core.changes.list(SYSTEM, c.id, q({ compare: "nope" })), 404, "SNAPSHOT_NOT_FOUND");
    expect(auditOf(h.db, "changes.list").at(-1)).toMatchObject({ result: "error:SNAPSHOT_NOT_FOUND", detail: { compare: "nope" } });
  });

  it("shows a small UTF-8 file; refuses traversal, binary and missing files with stable codes, each audited; the live control passes", async () => {
    const ok = await h.core.changes.content(SYSTEM, c.id, "/srv/data/a.txt");
    expect(ok).toMatchObject({ path: "/srv/data/a.txt", size: 5, encoding: "utf-8", content: "hello" });
    const readsBefore = h.engine.script.callsOf("readFile").length;
    for (const bad of ["../etc/shadow", "/srv/../../etc/passwd", "/srv/./a", "a\0b"]) await expectCoreError(h.core.changes.content(SYSTEM, c.id, bad), 422, "PATH_REFUSED");
    await expectCoreError(h.core.changes.list(SYSTEM, c.id, q({ path: "/../.." })), 422, "PATH_REFUSED");
    // Refused before the engine was asked.
    expect(h.engine.script.callsOf("readFile").length).toBe(readsBefore);
    await expectCoreError(h.core.changes.content(SYSTEM, c.id, "/srv/data/b.bin"), 415, "NOT_TEXT");
    await expectCoreError(h.core.changes.content(SYSTEM, c.id, "/srv/missing"), 404, "PATH_NOT_FOUND");
    h.engine.tenant(c.engine_name).files.set("/srv/big.txt", "x".repeat(64 * 1024 + 1));
    await expectCoreError(h.core.changes.content(SYSTEM, c.id, "/srv/big.txt"), 413, "FILE_TOO_LARGE");
    const rows = auditOf(h.db, "changes.content").map((a) => [a.result, (a.detail as { path: string }).path]);
    expect(rows).toEqual([
      ["ok", "/srv/data/a.txt"],
      ["error:PATH_REFUSED", "../etc/shadow"],
      ["error:PATH_REFUSED", "/srv/../../etc/passwd"],
      ["error:PATH_REFUSED", "/srv/./a"],
      ["error:PATH_REFUSED", "a\0b"],
      ["error:NOT_TEXT", "/srv/data/b.bin"],
      ["error:PATH_NOT_FOUND", "/srv/missing"],
      ["error:FILE_TOO_LARGE", "/srv/big.txt"],
    ]);
  });

  it("a project token sees only its own project's tenants; another's is not found and the engine is not asked", async () => {
    expect((await h.core.changes.list(h.member, c.id, q())).container_id).toBe(c.id);
    const other = await h.core.projects.create(SYSTEM, { alias: "other" });
    const stranger = { id: "token:kother", projectId: other.id };
    const calls = h.engine.script.callsOf("changes").length;
    await expectCoreError(h.core.changes.list(stranger, c.id, q()), 404, "CONTAINER_NOT_FOUND");
    await expectCoreError(h.core.changes.content(stranger, c.id, "/srv/data/a.txt"), 404, "CONTAINER_NOT_FOUND");
    expect(h.engine.script.callsOf("changes").length).toBe(calls);
  });

  it("an engine without the delta browser answers FEATURE_NOT_OFFERED", async () => {
    h.engine.script.failNext("changes", "NOT_SUPPORTED");
    await expectCoreError(h.core.changes.list(SYSTEM, c.id, q()), 422, "FEATURE_NOT_OFFERED");
  });
});

// The delta browser on a real stack (own pool, daemon, nft table, web server): a tenant writes,
// modifies and deletes files through exec; the changes API lists exactly those paths with the right
// kinds and sizes (nothing of its template), a snapshot as the base lists only what changed since,
// the content view shows a small text file and refuses every way out of the tenant's filesystem with
// a stable code, project tokens see only their own tenants, everything is audited, and no temporary
// snapshot outlives a listing.
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../testkit/host-harness.js";
import { TestStack } from "../testkit/stack-harness.js";

let s: TestStack;
let project: string;
let id: string;
let engineName: string;

interface Entry {
  name: string;
  path: string;
  type: string;
  change: string | null;
  size: number;
  children: number;
  totals: { added: number; modified: number; deleted: number; bytes: number; deleted_bytes: number };
}

const sh = async (script: string) => {
  const r = await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", script] });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.data.exit_code ?? r.body.data.exitCode, JSON.stringify(r.body.data)).toBe(0);
};
const changes = (q: Record<string, string> = {}, token?: string) => s.api("GET", `/containers/${id}/changes?${new URLSearchParams(q)}`, undefined, token ? { token } : {});
const content = (p: string, token?: string) => s.api("GET", `/containers/${id}/changes/content?${new URLSearchParams({ path: p })}`, undefined, token ? { token } : {});

/** Every changed entry below `from`, depth first, through the API's own drilling ("path kind size"). */
async function walk(q: Record<string, string> = {}, from = "/"): Promise<string[]> {
  const r = await changes({ ...q, path: from, sort_by: "name" });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const out: string[] = [];
  for (const e of r.body.data.entries as Entry[]) {
    if (e.change) out.push(`${e.path} ${e.change} ${e.type === "dir" ? "dir" : e.size}`);
    if (e.type === "dir" && e.children > 0) out.push(...(await walk(q, e.path)));
  }
  return out;
}
// What the tenant changed by starting (its app writes a page under /tmp, LXC makes mount points
// under /sys): listed too, but not this test's doing.
const runtime = (l: string) => l.startsWith("/tmp") || l.startsWith("/sys");
const ours = (lines: string[]) => lines.filter((l) => !runtime(l));
const templateFile = (p: string) => path.join(s.host.poolPath, "templates", "mini", p);

beforeAll(async () => {
  s = await TestStack.create();
  project = (await s.api("POST", "/projects", { alias: "deltas" })).body.data.id;
  const r = await s.api("POST", `/projects/${project}/containers`, { name: "delta", template: "mini" });
  expect(r.status).toBe(201);
  id = r.body.data.id;
  engineName = r.body.data.engine_name;
});
afterAll(async () => {
  await s?.stop();
});

describe("changes", () => {
  it("lists exactly what the tenant added, modified and deleted, with kinds and sizes; nothing of its template", async () => {
    const before = await changes();
    expect(before.status).toBe(200);
    expect(before.body.data.base).toEqual({ kind: "template", name: "mini" });
    const first = await walk();
    expect(ours(first)).toEqual([]);
    // And those are all the tenant's own doing: nothing of the template is listed.
    expect(first.length).toBeLessThan(10);

    await sh(
      [
        "mkdir -p /data/app/sub",
        "printf 'hello delta\\n' > /data/app/note.txt",
        "head -c 100000 /dev/zero > /data/app/sub/blob.bin",
        "printf '\\001\\000\\002' > /data/app/bin.dat",
        "echo 'extra:x:1000:1000::/:/bin/sh' >> /etc/passwd",
        "rm /etc/group",
        "ln -s /etc/passwd /data/app/esc",
        "ln -s / /data/app/rootlink",
      ].join(" && "),
    );
    const passwd = (await fs.stat(templateFile("etc/passwd"))).size;
    const group = (await fs.stat(templateFile("etc/group"))).size;
    expect(ours(await walk())).toEqual([
      "/data/app added dir",
      "/data/app/bin.dat added 3",
      "/data/app/esc added 11",
      "/data/app/note.txt added 12",
      "/data/app/rootlink added 1",
      "/data/app/sub added dir",
      "/data/app/sub/blob.bin added 100000",
      "/etc/group deleted " + group,
      `/etc/passwd modified ${passwd + 29}`,
    ]);
    // The sizes are the files' own, as the host sees them in the tenant's subvolume.
    expect((await fs.stat(path.join(s.host.poolPath, "tenants", engineName, "data/app/sub/blob.bin"))).size).toBe(100000);

    // Per-directory totals, and sorting: largest first by default.
    const app = (await changes({ path: "/data/app" })).body.data;
    expect(app.entry).toMatchObject({ path: "/data/app", change: "added", totals: { added: 7, modified: 0, deleted: 0, bytes: 12 + 100000 + 3 + 11 + 1 } });
    expect((app.entries as Entry[]).map((e) => e.name)).toEqual(["sub", "note.txt", "esc", "bin.dat", "rootlink"]);
    const bySizeAsc = (await changes({ path: "/data/app", sort_by: "size", sort_order: "asc" })).body.data.entries as Entry[];
    expect(bySizeAsc.map((e) => e.name)).toEqual(["rootlink", "bin.dat", "esc", "note.txt", "sub"]);
    const etc = (await changes({ path: "/etc", sort_by: "change" })).body.data;
    expect(etc.entry.totals).toMatchObject({ modified: 1, deleted: 1, deleted_bytes: group });
    expect((etc.entries as Entry[]).map((e) => [e.name, e.change])).toEqual([
      ["passwd", "modified"],
      ["group", "deleted"],
    ]);
    // A second look at the idle tenant comes from the cache (its subvolume's generation has not
    // moved), and says so; the answer is the same. A write moves the generation: computed afresh.
    const again = (await changes({ path: "/data/app" })).body.data;
    expect([again.cached, again.generation]).toEqual([true, app.generation]);
    expect(again.entries).toEqual(app.entries);
    await sh("echo 1 > /data/app/bump");
    const fresh = (await changes({ path: "/data/app" })).body.data;
    expect(fresh.cached).toBe(false);
    expect(fresh.generation).toBeGreaterThan(app.generation);
    expect((fresh.entries as Entry[]).map((e) => e.name)).toContain("bump");
    await sh("rm /data/app/bump");
  });

  it("against a snapshot (by alias) lists only what changed since it", async () => {
    const snap = await s.api("POST", `/containers/${id}/snapshots`, { alias: "before" });
    expect(snap.status).toBe(201);
    await sh("printf 'after\\n' > /data/app/after.txt && printf 'hello again\\n' >> /data/app/note.txt && rm /data/app/bin.dat");
    expect(ours(await walk({ compare: "before" }))).toEqual(["/data/app/after.txt added 6", "/data/app/bin.dat deleted 3", "/data/app/note.txt modified 24"]);
    const r = await changes({ compare: "before" });
    expect(r.body.data.base).toEqual({ kind: "snapshot", name: snap.body.data.snapshot.name });
    // The template view still holds everything.
    expect(ours(await walk())).toContain("/data/app/after.txt added 6");
    const missing = await changes({ compare: "nope" });
    expect([missing.status, missing.body.code]).toEqual([404, "SNAPSHOT_NOT_FOUND"]);
  });

  it("shows a small text file, and refuses symlinks, traversal, binaries, big files and directories with stable codes", async () => {
    const ok = await content("/data/app/note.txt");
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data).toMatchObject({ path: "/data/app/note.txt", encoding: "utf-8", content: "hello delta\nhello again\n", size: 24 });
    const hostPasswd = await fs.readFile("/etc/passwd", "utf8");
    const refused: [string, number, string][] = [
      ["/data/app/esc", 422, "PATH_REFUSED"],
      ["/data/app/rootlink/etc/passwd", 422, "PATH_REFUSED"],
      ["../../../../etc/passwd", 422, "PATH_REFUSED"],
      ["/data/../../../../../etc/shadow", 422, "PATH_REFUSED"],
      ["/data/app", 422, "PATH_REFUSED"],
      ["/", 422, "PATH_REFUSED"],
      ["/data/app/sub/blob.bin", 413, "FILE_TOO_LARGE"],
      ["/data/app/missing.txt", 404, "PATH_NOT_FOUND"],
    ];
    await sh("printf '\\001\\000\\002' > /data/app/bin2.dat");
    refused.push(["/data/app/bin2.dat", 415, "NOT_TEXT"]);
    for (const [p, status, code] of refused) {
      const r = await content(p);
      expect([p, r.status, r.body.code]).toEqual([p, status, code]);
      expect(JSON.stringify(r.body)).not.toContain(hostPasswd.split("\n")[0]);
    }
    // The tenant's own /etc/passwd (the live control of the escape attempts) is readable, and is not the host's.
    const own = await content("/etc/passwd");
    expect(own.status).toBe(200);
    expect(own.body.data.content).toContain("extra:x:1000");
    const listing = await changes({ path: "/../etc" });
    expect([listing.status, listing.body.code]).toEqual([422, "PATH_REFUSED"]);
  });

  it("a project token sees its own tenants' changes only; every listing and view is audited, refusals too", async () => {
    const own = (await s.api("POST", "/tokens", { name: "deltas-only", project_id: project })).body.data.token;
    const otherProject = (await s.api("POST", "/projects", { alias: "others" })).body.data.id;
    const other = (await s.api("POST", "/tokens", { name: "others-only", project_id: otherProject })).body.data.token;
    expect((await changes({}, own)).status).toBe(200);
    expect((await content("/data/app/note.txt", own)).status).toBe(200);
    for (const r of [await changes({}, other), await content("/data/app/note.txt", other)]) expect([r.status, r.body.code]).toEqual([404, "CONTAINER_NOT_FOUND"]);

    const audit = (await s.api("GET", "/audit?action=changes.&limit=100")).body.data;
    const rows = (audit.entries ?? audit.logs ?? audit.audit ?? audit) as { action: string; result: string; target: string; detail: { path?: string } | null }[];
    const views = rows.filter((r) => r.action === "changes.content");
    expect(views.some((r) => r.result === "ok" && r.detail?.path === "/data/app/note.txt" && r.target === `container:${id}`)).toBe(true);
    expect(views.some((r) => r.result === "error:PATH_REFUSED" && r.detail?.path === "/data/app/rootlink/etc/passwd")).toBe(true);
    expect(rows.some((r) => r.action === "changes.list" && r.result === "ok" && r.detail?.path === "/data/app")).toBe(true);
  });

  it("leaves no temporary snapshot behind, and erasing the tenant ends its listings", async () => {
    const subvolumes = async () => (await execa("btrfs", ["subvolume", "list", s.host.poolPath])).stdout;
    await waitFor(async () => !(await subvolumes()).includes(".changes-"), 30_000);
    // Cached or not, a listing after the erase finds no tenant.
    expect((await s.api("DELETE", `/containers/${id}`)).status).toBe(200);
    const r = await changes();
    expect([r.status, r.body.code]).toEqual([404, "CONTAINER_NOT_FOUND"]);
    expect(await subvolumes()).not.toContain(engineName);
  });
});

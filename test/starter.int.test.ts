// The `starter` template: Debian minbase + a Python app with SQLite state, /usr shared read-only
// from the template (one page cache for all tenants), and KSM merging across tenants.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { TestHost, httpGet, waitFor } from "../testkit/host-harness.js";
import type { TenantInfo } from "../server/shared/protocol.js";

let h: TestHost;
let t1: TenantInfo;
let t2: TenantInfo;
const progress: number[] = [];

beforeAll(async () => {
  h = await TestHost.create({ poolSizeMiB: 4096 });
  await h.client.buildTemplate("starter", { onProgress: (p) => progress.push(p) });
  t1 = await h.client.call("tenants.create", { template: "starter", name: "starter-one" });
  t2 = await h.client.call("tenants.create", { template: "starter", name: "starter-two" });
});
afterAll(async () => {
  await h?.stop();
});

describe("starter tenants", () => {
  it("reported build progress", () => {
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(100);
  });

  it("run and serve their own name and their own SQLite state", async () => {
    for (const t of [t1, t2]) {
      expect((await h.lxc("lxc-info", t.id, "-sH")).stdout.trim()).toBe("RUNNING");
      const page = await waitFor(() => httpGet(`http://${t.ip}:8080/`).catch(() => null), 20_000);
      expect(page.body).toContain(`Hello from ${t.name}`);
    }
    const post = await fetch(`http://${t1.ip}:8080/api/notes`, { method: "POST", body: "note-for-one" });
    expect(post.ok).toBe(true);
    expect((await httpGet(`http://${t1.ip}:8080/api/notes`)).body).toContain("note-for-one");
    expect((await httpGet(`http://${t2.ip}:8080/api/notes`)).body).not.toContain("note-for-one");
    await fs.stat(path.join(h.poolPath, "tenants", t1.id, "data/app.sqlite"));
    await expect(fs.stat(path.join(h.poolPath, "templates/starter/data/app.sqlite"))).rejects.toThrow();
  });

  it("writes scratch files to its capped ramdisk", async () => {
    const ok = await fetch(`http://${t1.ip}:8080/api/scratch?bytes=1048576`, { method: "POST" });
    expect(ok.status).toBe(200);
    const df = await h.client.call("tenants.exec", { id: t1.id, command: ["df", "-k", "/ramdisk"] });
    expect(df.stdout).toMatch(/^hoody-ramdisk\s+65536\s/m);
  });

  it("sleeps while idle (no wakeups of its own) and still stops gracefully at once", async () => {
    const t = await h.client.call("tenants.create", { template: "starter", name: "starter-idle" });
    try {
      await waitFor(() => httpGet(`http://${t.ip}:8080/healthz`).catch(() => null), 20_000);
      const pid = Number((await h.lxc("lxc-info", t.id, "-pH")).stdout.trim());
      // The app (PID 1 inside), every thread of it: each wakeup from a wait ends in a voluntary switch.
      const switches = async () => {
        let n = 0;
        for (const task of await fs.readdir(`/proc/${pid}/task`)) n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(await fs.readFile(`/proc/${pid}/task/${task}/status`, "utf8"))![1]);
        return n;
      };
      // A window in which the old 0.5 s poll woke it 4 times. Idleness can only be seen over time.
      const before = await switches();
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await switches()).toBe(before);
      // The probe is live: a request wakes the app.
      expect((await httpGet(`http://${t.ip}:8080/healthz`)).status).toBe(200);
      expect(await switches()).toBeGreaterThan(before);
      // A stop with a long grace: it ends in the app's own shutdown (not a kill at the deadline).
      await h.client.call("tenants.stop", { id: t.id, timeoutS: 60 });
      const log = await h.client.call("tenants.logs", { id: t.id });
      expect(log).toMatch(/received SIGTERM, shutting down\r?\n.*stopped after [\d.]+s\r?\n/);
    } finally {
      await h.client.call("tenants.delete", { id: t.id });
    }
  });

  it("mounts /usr read-only from the template", async () => {
    const r = await h.client.call("tenants.exec", { id: t1.id, command: ["/bin/sh", "-c", "grep ' /usr ' /proc/self/mountinfo; touch /usr/x 2>&1; echo rc=$?"] });
    expect(r.stdout).toMatch(/ \/usr ro,/);
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).not.toContain("rc=0");
  });

  it("start from a launch namespace with no tenant's ramdisk or share left in it once started (the host and the tenant have them)", async () => {
    const ours = (t: TenantInfo) => [path.join(h.dir, "ramdisk", t.id, "fs"), path.join(h.dir, "shares", t.id, "usr")];
    const points = (mountinfo: string) => new Set(mountinfo.split("\n").map((l) => l.split(" ")[4] ?? ""));
    // Control: the host's table has both tenants' mounts.
    const host = points(await fs.readFile("/proc/self/mountinfo", "utf8"));
    for (const p of [...ours(t1), ...ours(t2)]) expect(host).toContain(p);
    for (const t of [t1, t2]) {
      const init = (await h.lxc("lxc-info", t.id, "-pH")).stdout.trim();
      const inside = points(await fs.readFile(`/proc/${init}/mountinfo`, "utf8"));
      expect(inside).toContain("/ramdisk");
      expect(inside).toContain("/usr");
      // LXC's monitor (the container init's parent) stays in the namespace lxc-start ran in.
      const monitor = (await execa("ps", ["-o", "ppid=", "-p", init])).stdout.trim();
      expect(await fs.readFile(`/proc/${monitor}/cmdline`, "utf8")).toContain(`[lxc monitor] ${h.lxcPath} ${t.id}`);
      expect(await fs.readlink(`/proc/${monitor}/ns/mnt`)).not.toBe(await fs.readlink("/proc/self/ns/mnt"));
      const launch = await fs.readFile(`/proc/${monitor}/mountinfo`, "utf8");
      // The host's other mounts are there (the probe reads a live table)...
      expect(points(launch)).toContain(h.poolPath);
      // ...no tenant's ramdisk, share or /proc point (the other's were cut before the start, its own
      // detached by the start hook once the tenant had its binds), nor the tenant's procfs.
      const tenantDirs = ["ramdisk", "shares", "proc"].map((d) => path.join(h.dir, d));
      expect([...points(launch)].filter((p) => tenantDirs.some((d) => p === d || p.startsWith(`${d}/`)))).toEqual([]);
      expect(launch.split("\n").filter((l) => / - proc /.test(l) && l.includes(h.dir))).toEqual([]);
    }
  });

  it("costs under 1 MiB of delta at creation", async () => {
    const fresh = await h.client.call("tenants.create", { template: "starter", start: false });
    const stats = await h.client.call("host.stats", { sync: true });
    const delta = stats.tenants.find((t) => t.id === fresh.id)!.deltaBytes;
    expect(delta).toBeLessThan(1024 * 1024);
    await h.client.call("tenants.delete", { id: fresh.id });
  });

  it("merges identical memory of two tenants through KSM", async () => {
    // Run a pidfile-free python that holds identical anonymous memory in each tenant.
    for (const t of [t1, t2]) {
      await h.client.call("tenants.exec", {
        id: t.id,
        command: ["/bin/sh", "-c", "nohup /usr/bin/python3 -c 'import time; b=[bytearray(b\"hoody\"*819) for _ in range(2000)]; time.sleep(600)' >/dev/null 2>&1 &"],
      });
    }
    const merged = await waitFor(
      async () => {
        const s = await h.client.call("host.stats", {});
        const pages = [t1, t2].map((t) => s.tenants.find((x) => x.id === t.id)!.ksmMergingPages);
        return pages.every((p) => p > 0) ? pages : null;
      },
      120_000,
      1000,
    );
    expect(merged.every((p) => p > 0)).toBe(true);
    const pid = Number((await h.lxc("lxc-info", t1.id, "-pH")).stdout.trim());
    const stat = await fs.readFile(`/proc/${pid}/ksm_stat`, "utf8");
    expect(stat).toMatch(/ksm_merge_any: yes/);
  });

  it("an erase unmounts the tenant's ramdisk and shares on the host and removes their points", async () => {
    const t = await h.client.call("tenants.create", { template: "starter" });
    const mine = [path.join(h.dir, "ramdisk", t.id), path.join(h.dir, "shares", t.id)];
    const mounted = async () =>
      (await fs.readFile("/proc/self/mountinfo", "utf8"))
        .split("\n")
        .map((l) => l.split(" ")[4] ?? "")
        .filter((p) => mine.some((d) => p.startsWith(`${d}/`)));
    // Control: both are mounted while it runs.
    expect((await mounted()).sort()).toEqual([path.join(mine[0]!, "fs"), path.join(mine[1]!, "usr")].sort());
    const receipt = (await h.client.call("tenants.delete", { id: t.id })).erased.join("\n");
    expect(receipt).toMatch(/ramdisk \(tmpfs unmounted\)/);
    expect(receipt).toMatch(/shared read-only mounts \(unmounted\)/);
    expect(await mounted()).toEqual([]);
    for (const d of mine) expect(existsSync(d)).toBe(false);
  });

  it("opts a tenant out of KSM when asked", async () => {
    const off = await h.client.call("tenants.create", { template: "starter", ksm: false });
    const pid = Number((await h.lxc("lxc-info", off.id, "-pH")).stdout.trim());
    expect(await fs.readFile(`/proc/${pid}/ksm_stat`, "utf8")).toMatch(/ksm_merge_any: no/);
    await h.client.call("tenants.delete", { id: off.id });
  });
});

describe("template lifecycle", () => {
  it("promotes a tenant to a template whose tenants carry its data", async () => {
    await fetch(`http://${t2.ip}:8080/api/notes`, { method: "POST", body: "golden-note" });
    const tpl = await h.client.call("templates.promote", { id: t2.id, name: "golden" });
    expect(tpl.name).toBe("golden");
    const ro = await execa("btrfs", ["property", "get", "-ts", path.join(h.poolPath, "templates/golden"), "ro"]);
    expect(ro.stdout.trim()).toBe("ro=true");
    const child = await h.client.call("tenants.create", { template: "golden" });
    const notes = await waitFor(() => httpGet(`http://${child.ip}:8080/api/notes`).catch(() => null), 20_000);
    expect(notes.body).toContain("golden-note");
    await h.client.call("tenants.delete", { id: child.id });
    expect((await h.client.call("templates.delete", { name: "golden" })).existed).toBe(true);
  });
});

// Hostile customers: what a project token and a tenant's own code try in order to get more than they
// paid for, or to outlive a billing stop. Each refusal is paired with a control showing the same
// request succeeds where it is allowed (the operator's token, a value within the ceiling), so a check
// cannot pass because the probe never ran. Real stack: production web build, router, host daemon,
// LXC, BTRFS, nftables.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { TestStack } from "../../../testkit/stack-harness.js";

let s: TestStack;
let project: string;
let token: string;

/** What the tenant's LXC config says now (the daemon writes it on every change). */
/** The engine's name of a container (its LXC name), which is not its API id. */
const engineName = async (id: string): Promise<string> => (await s.api("GET", `/containers/${id}`)).body.data.engine_name;
const lxcConfig = async (id: string) => fs.readFile(path.join(s.host.lxcPath, await engineName(id), "config"), "utf8");
const lxcState = async (id: string) => (await s.host.lxc("lxc-info", await engineName(id), "-sH")).stdout.trim();

beforeAll(async () => {
  s = await TestStack.create({ templates: ["mini", "starter"], poolSizeMiB: 3072 });
  await s.startRouter();
  project = (await s.api("POST", "/projects", { alias: "customer", max_containers: 2 })).body.data.id;
  token = (await s.api("POST", "/tokens", { name: "customer", project_id: project })).body.data.token;
});
afterAll(async () => {
  await s?.stop();
});

describe("a project token cannot lift what the operator set (item 9)", () => {
  it("cannot change its project's max_containers or ceilings; the operator can", async () => {
    const lift = await s.api("PATCH", `/projects/${project}`, { max_containers: null }, { token });
    expect([lift.status, lift.body.code]).toEqual([403, "RESOURCE_ACCESS_DENIED"]);
    const ceil = await s.api("PATCH", `/projects/${project}`, { ceilings: { memory_mib: 1048576 } }, { token });
    expect([ceil.status, ceil.body.code]).toEqual([403, "RESOURCE_ACCESS_DENIED"]);
    const after = (await s.api("GET", `/projects/${project}`, undefined, { token })).body.data;
    expect(after).toMatchObject({ max_containers: 2, ceilings: null });
    // Controls: the token may rename its project; the operator may change both.
    expect((await s.api("PATCH", `/projects/${project}`, { alias: "customer-renamed" }, { token })).body.data.alias).toBe("customer-renamed");
    expect((await s.api("PATCH", `/projects/${project}`, { max_containers: 3 })).body.data.max_containers).toBe(3);
    expect((await s.api("PATCH", `/projects/${project}`, { max_containers: 2 })).body.data.max_containers).toBe(2);
  });

  it("cannot ask for limits above the template's defaults or the project's ceilings; nothing changes", async () => {
    const c = await s.api("POST", `/projects/${project}/containers`, { template: "mini", name: "greedy" }, { token });
    expect(c.status).toBe(201);
    const id = c.body.data.id;
    const before = await lxcConfig(id);
    const huge = { limits: { memory_mib: 1048576, cpu_milli: 1024000, pids: 1000000 }, ramdisk_mib: 65536 };
    const patch = await s.api("PATCH", `/containers/${id}`, huge, { token });
    expect([patch.status, patch.body.code]).toEqual([403, "LIMIT_ABOVE_CEILING"]);
    expect(patch.body.message).toMatch(/memory_mib 1048576 \(at most \d+\)/);
    expect(await lxcConfig(id)).toBe(before);
    const create = await s.api("POST", `/projects/${project}/containers`, { template: "mini", name: "greedy-two", ...huge }, { token });
    expect([create.status, create.body.code]).toEqual([403, "LIMIT_ABOVE_CEILING"]);
    expect((await s.api("GET", `/projects/${project}/containers`, undefined, { token })).body.data.containers.map((x: { name: string }) => x.name)).toEqual(["greedy"]);
    // Controls: within the template's defaults the token may tune its tenant; the operator may go
    // above them, and raising the project's ceiling lets the token follow.
    const within = await s.api("PATCH", `/containers/${id}`, { limits: { memory_mib: 64 }, restart: false }, { token });
    expect(within.status).toBe(200);
    expect(await lxcConfig(id)).toMatch(/^lxc\.cgroup2?\.memory\.(max|limit_in_bytes) = 67108864$/m);
    expect((await s.api("PATCH", `/containers/${id}`, { limits: { memory_mib: 512 }, restart: false })).status).toBe(200);
    expect(await lxcConfig(id)).toMatch(/^lxc\.cgroup2?\.memory\.(max|limit_in_bytes) = 536870912$/m);
    const over = await s.api("PATCH", `/containers/${id}`, { limits: { memory_mib: 1024 }, restart: false }, { token });
    expect(over.status).toBe(403);
    expect((await s.api("PATCH", `/projects/${project}`, { ceilings: { memory_mib: 1024 } })).body.data.ceilings).toEqual({ memory_mib: 1024 });
    expect((await s.api("PATCH", `/containers/${id}`, { limits: { memory_mib: 1024 }, restart: false }, { token })).status).toBe(200);
    expect(await lxcConfig(id)).toMatch(/^lxc\.cgroup2?\.memory\.(max|limit_in_bytes) = 1073741824$/m);
  });
});

describe("a billing stop holds (item 10)", () => {
  it("a stopped tenant is not woken by a visitor; an idle stop still is", async () => {
    const c = (await s.api("POST", `/projects/${project}/containers`, { template: "mini", name: "unpaid", idle_timeout_s: 0 }, { token })).body.data;
    expect((await s.viaRouter("unpaid")).status).toBe(200);
    expect((await s.api("POST", `/containers/${c.id}/stop`, undefined, { token })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const r = await s.viaRouter("unpaid", "/", { headers: { accept: "application/json" } });
      expect([r.status, JSON.parse(r.body).code]).toEqual([503, "TENANT_SUSPENDED"]);
    }
    expect(await lxcState(c.id)).toBe("STOPPED");
    // A suspension of a tenant that the router had put to sleep holds too.
    expect((await s.api("POST", `/containers/${c.id}/start`, undefined, { token })).status).toBe(200);
    expect((await s.api("POST", `/containers/${c.id}/stop`, { wake_on_request: true }, { token })).status).toBe(200);
    expect((await s.api("PATCH", `/containers/${c.id}`, { suspended: true }, { token })).body.data.suspended).toBe(true);
    expect((await s.viaRouter("unpaid")).status).toBe(503);
    expect(await lxcState(c.id)).toBe("STOPPED");
    // Control: a stop that allows waking (the router's own idle stop is one) is woken by the same request.
    expect((await s.api("PATCH", `/containers/${c.id}`, { suspended: false }, { token })).body.data.suspended).toBe(false);
    expect((await s.viaRouter("unpaid")).body).toContain("hello from unpaid");
    expect(await lxcState(c.id)).toBe("RUNNING");
  });
});

describe("an environment too large to start is refused before anything changes (item 19)", () => {
  it("20 values of 64 KiB: 422 ENV_TOO_LARGE, the tenant keeps running with its old env", async () => {
    const c = (await s.api("GET", `/projects/${project}/containers?search=greedy`)).body.data.containers[0];
    if ((await lxcState(c.id)) !== "RUNNING") expect((await s.api("POST", `/containers/${c.id}/start`)).status).toBe(200);
    const before = await lxcConfig(c.id);
    const env = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`BIG_${i}`, "x".repeat(64 * 1024)]));
    const r = await s.api("PATCH", `/containers/${c.id}`, { environment_vars: env }, { token });
    expect([r.status, r.body.code]).toEqual([422, "ENV_TOO_LARGE"]);
    const put = await s.api("PUT", `/containers/${c.id}/env`, env, { token });
    expect([put.status, put.body.code]).toEqual([422, "ENV_TOO_LARGE"]);
    expect(await lxcConfig(c.id)).toBe(before);
    expect(await lxcState(c.id)).toBe("RUNNING");
    // Control: the largest accepted environment restarts the tenant and reaches its processes.
    const fits = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`BIG_${i}`, `${i}`.repeat(30 * 1024)]));
    const ok = await s.api("PATCH", `/containers/${c.id}`, { environment_vars: fits }, { token });
    expect(ok.status).toBe(200);
    expect(ok.body.data.restarted ?? true).toBe(true);
    expect(await lxcState(c.id)).toBe("RUNNING");
    const seen = await s.api("POST", `/containers/${c.id}/exec`, { command: ["/bin/sh", "-c", 'printf %s "$BIG_2" | wc -c'] });
    expect(seen.body.data.stdout.trim()).toBe(String(30 * 1024));
  });
});

describe("other users of the host see nothing of a tenant (item 11)", () => {
  /** Runs a shell command as `nobody` on the host: an unprivileged local user. */
  const asNobody = (cmd: string) => execa("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", cmd], { reject: false });

  it("cannot read its files or the pool image, nor plant a file in its ramdisk", async () => {
    const own = (await s.api("POST", "/projects", { alias: "host-users" })).body.data.id;
    const c = (await s.api("POST", `/projects/${own}/containers`, { template: "mini", name: "private", environment_vars: { DB_PASSWORD: "pw-0f1e2d3c" } })).body.data;
    const wrote = await s.api("POST", `/containers/${c.id}/exec`, { command: ["/bin/sh", "-c", "echo tenant-secret-77 > /secret.txt && echo from-inside > /ramdisk/own && echo ok"] });
    expect(wrote.body.data.stdout).toBe("ok\n");
    const file = path.join(s.host.poolPath, "tenants", c.engine_name, "secret.txt");
    const ramdisk = path.join(s.host.dir, "ramdisk", c.engine_name, "fs");
    // Controls: the paths are right (root reads them) and the probe user can read what is public.
    expect(await fs.readFile(file, "utf8")).toBe("tenant-secret-77\n");
    expect(await fs.readFile(path.join(ramdisk, "own"), "utf8")).toBe("from-inside\n");
    expect((await asNobody("cat /etc/hostname >/dev/null && echo readable")).stdout).toBe("readable");
    // nobody: no file, no listing, no image, no planting.
    const read = await asNobody(`cat ${file}`);
    expect(read.exitCode).not.toBe(0);
    expect(read.stderr).toMatch(/Permission denied/);
    expect((await asNobody(`ls ${path.join(s.host.poolPath, "tenants")}`)).stderr).toMatch(/Permission denied/);
    expect((await asNobody(`head -c 1 ${path.join(s.host.dir, "pool.img")}`)).stderr).toMatch(/Permission denied/);
    const plant = await asNobody(`echo planted > ${ramdisk}/planted`);
    expect(plant.stderr).toMatch(/Permission denied/);
    expect((await s.api("POST", `/containers/${c.id}/exec`, { command: ["ls", "/ramdisk"] })).body.data.stdout).toBe("own\n");
  });

  it("never finds a tenant's env values in any process's command line during an exec", async () => {
    const c = (await s.api("GET", `/containers?search=private`)).body.data.containers[0];
    const marker = `argv-marker-${Date.now()}`;
    const exec = s.api("POST", `/containers/${c.id}/exec`, { command: ["/bin/sh", "-c", `echo "$DB_PASSWORD"; sleep 3; echo ${marker}`] });
    // While the exec runs, every command line on the host, as the probe user sees them.
    const seen = await (async () => {
      for (let i = 0; i < 100; i++) {
        const lines = (await asNobody("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '")).stdout;
        if (lines.includes(marker)) return lines;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("the exec's own command line was never seen: the probe did not run while it did");
    })();
    expect(seen).toContain(marker);
    expect(seen).not.toContain("pw-0f1e2d3c");
    // Control: the value did reach the command.
    expect((await exec).body.data.stdout).toBe(`pw-0f1e2d3c\n${marker}\n`);
  });
});

describe("a tenant's ramdisk and socket buffers count against its own memory limit (item 5)", () => {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  /** Bytes held in the tenant's ramdisk, as the host's tmpfs counts them. */
  const ramdiskUsed = async (id: string) => {
    const st = await fs.statfs(path.join(s.host.dir, "ramdisk", await engineName(id), "fs"));
    return (st.blocks - st.bfree) * st.bsize;
  };
  const fill = async (id: string, n: number) =>
    (await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", `dd if=/dev/zero of=/ramdisk/fill-${n} bs=1M count=45 2>&1; echo rc=$?`], timeout: 60 })).body.data;
  const restart = async (id: string) => {
    const r = await s.api("POST", `/containers/${id}/restart`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  let own: string;

  it("45 MiB written to /ramdisk, restart, repeat: a 64 MiB tenant never holds more than 64 MiB", async () => {
    own = (await s.api("POST", "/projects", { alias: "memory" })).body.data.id;
    const small = (await s.api("POST", `/projects/${own}/containers`, { template: "mini", name: "ram-small", limits: { memory_mib: 64 }, ramdisk_mib: 200 })).body.data;
    const large = (await s.api("POST", `/projects/${own}/containers`, { template: "mini", name: "ram-large", limits: { memory_mib: 256 }, ramdisk_mib: 200 })).body.data;
    for (let i = 0; i < 3; i++) {
      await fill(small.id, i);
      await fill(large.id, i);
      await restart(small.id);
      await restart(large.id);
    }
    // Control: the same writes and restarts keep 135 MiB in a tenant whose limit allows it.
    expect(await ramdiskUsed(large.id)).toBeGreaterThanOrEqual(135 * 1024 * 1024);
    expect(await ramdiskUsed(small.id)).toBeLessThanOrEqual(64 * 1024 * 1024);
    // And the small one still starts: its ramdisk may take three quarters of its limit, never all of
    // it, so what outlives a run always leaves room for the next one's init.
    expect(await ramdiskUsed(small.id)).toBeLessThanOrEqual(48 * 1024 * 1024);
    expect((await s.host.lxc("lxc-info", small.engine_name, "-sH")).stdout.trim()).toBe("RUNNING");
    // What the ramdisk holds from earlier runs is part of this run's budget: 32 MiB more (in /tmp, the
    // run's own memory) do not fit beside 48 MiB in 64. Control: they fit in the large tenant.
    const more = async (id: string) =>
      (
        await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", "dd if=/dev/zero of=/tmp/more bs=1M count=32 2>/dev/null; wc -c < /tmp/more"], timeout: 60 })
      ).body.data?.stdout?.trim() ?? "";
    expect(await more(large.id)).toBe(String(32 * 1024 * 1024));
    expect(await more(small.id)).not.toBe(String(32 * 1024 * 1024));
    // The tenant's own cgroup (which outlives its runs) carries what its ramdisk holds.
    const lasting = v2 ? `/sys/fs/cgroup/hoody.tenants/${large.engine_name}/memory.current` : `/sys/fs/cgroup/memory/hoody.tenants/${large.engine_name}/memory.usage_in_bytes`;
    expect(Number(await fs.readFile(lasting, "utf8"))).toBeGreaterThanOrEqual(135 * 1024 * 1024);
  });

  it("60 loopback TCP pairs whose receivers never read stay within the tenant's limit", async () => {
    const t = (await s.api("POST", `/projects/${own}/containers`, { template: "starter", name: "sock-hog", limits: { memory_mib: 128 } })).body.data;
    // Senders write without blocking until the kernel refuses more; the receivers never read.
    const probe = [
      "import socket",
      "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(128)",
      "pairs, queued = [], 0",
      "for _ in range(60):",
      "    c = socket.socket(); c.connect(srv.getsockname()); a, _ = srv.accept()",
      "    c.setblocking(False); pairs.append((c, a))",
      "chunk = b'x' * 65536",
      "for c, _ in pairs:",
      "    while True:",
      "        try: queued += c.send(chunk)",
      "        except (BlockingIOError, OSError): break",
      "print(queued, flush=True)",
      "import time; time.sleep(6)",
    ].join("\n");
    const before = await memAvailable();
    const run = s.api("POST", `/containers/${t.id}/exec`, { command: ["python3", "-c", probe], timeout: 60 });
    // While the sockets are held: what the tenant's cgroup counts for them, and (logged only: other
    // work on the host moves it too) the host's MemAvailable.
    const tcp = v2 ? `/sys/fs/cgroup/hoody.tenants/${t.engine_name}/memory.current` : `/sys/fs/cgroup/memory/hoody.tenants/${t.engine_name}/memory.kmem.tcp.usage_in_bytes`;
    let peak = 0;
    let hostLoss = 0;
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      peak = Math.max(peak, Number(await fs.readFile(tcp, "utf8").catch(() => "0")));
      hostLoss = Math.max(hostLoss, before - (await memAvailable()));
      await new Promise((r) => setTimeout(r, 100));
    }
    const queued = Number((await run).body.data.stdout.trim());
    // Control: the probe did fill socket buffers, and they are charged to the tenant.
    expect(queued).toBeGreaterThan(8 * 1024 * 1024);
    expect(peak).toBeGreaterThan(8 * 1024 * 1024);
    // The fix: about the tenant's limit, no more (the issue saw 235 MB queued while 14.6 MB were
    // counted). The kernel charges a little past a cgroup's socket limit before it refuses (it
    // force-charges an skb already in flight and signals pressure), hence the tenth.
    console.log(`[hostile] sockets: ${queued} bytes queued, ${peak} bytes counted, host MemAvailable down ${hostLoss}`);
    expect(queued).toBeLessThanOrEqual(1.1 * 128 * 1024 * 1024);
    expect(peak).toBeLessThanOrEqual(1.1 * 128 * 1024 * 1024);
  });
});

/** The host's MemAvailable in bytes. */
async function memAvailable(): Promise<number> {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(await fs.readFile("/proc/meminfo", "utf8"))![1]) * 1024;
}

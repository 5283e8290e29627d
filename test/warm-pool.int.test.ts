// The warm pool's privileged half on the real system: members made ahead and started with their
// init waiting, claimed by creates (never one member by two), each claimed tenant the same as a
// fresh one from inside (PID 1's environment and command line, hostname, nothing of the pool left
// in its ramdisk) and from the host (its own uid range, address and veth), discarded on request.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { TestHost, httpGet, waitFor } from "../testkit/host-harness.js";
import type { TenantInfo } from "../server/shared/protocol.js";

let h: TestHost;
const sh = (t: TenantInfo, script: string) => h.client.call("tenants.exec", { id: t.id, command: ["/bin/sh", "-c", script] });
const pid1 = async (t: TenantInfo) => {
  const r = await sh(t, "tr '\\0' '\\n' < /proc/1/environ | sort; echo ---; tr '\\0' ' ' < /proc/1/cmdline; echo; hostname; ls -A /ramdisk");
  return r.stdout;
};
const readyOf = async (template: string) => (await h.client.call("pool.list", {})).find((p) => p.template === template)?.ready ?? 0;

beforeAll(async () => {
  h = await TestHost.create();
  await h.client.buildTemplate("mini");
});
afterAll(async () => {
  await h?.stop();
});

describe("warm pool (host daemon)", () => {
  it("an empty pool claims nothing: the caller creates as today", async () => {
    expect(await h.client.call("pool.claim", { template: "mini", name: "nobody" })).toBeNull();
  });

  it("makes members that wait: started, no app, not listed as tenants", async () => {
    const made = await Promise.all([1, 2, 3].map(() => h.client.call("pool.prepare", { template: "mini" })));
    expect(new Set(made.map((m) => m.id)).size).toBe(3);
    expect(await readyOf("mini")).toBe(3);
    const listed = (await h.client.call("tenants.list", {})).map((t) => t.id);
    for (const m of made) expect(listed).not.toContain(m.id);
    // Control: lxc-info sees each running; its only process is the waiting shell (no httpd).
    for (const m of made) {
      expect((await h.lxc("lxc-info", m.id, "-sH")).stdout.trim()).toBe("RUNNING");
      const pid = Number((await h.lxc("lxc-info", m.id, "-pH")).stdout.trim());
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("/ramdisk/.hoody-claim/go");
    }
    const pool = (await h.client.call("pool.list", {})).find((p) => p.template === "mini")!;
    expect(pool.memoryBytes).toBeGreaterThan(0);
  });

  let claimed: TenantInfo[] = [];
  it("six concurrent claims for three members: three distinct members, three nulls", async () => {
    const answers = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => h.client.call("pool.claim", { template: "mini", name: `claim-${i}`, env: { PLAN: `p${i}`, QUOTE: 'it\'s "x" $HOME' }, labels: { "hoody.owner": "core" } })),
    );
    claimed = answers.filter((a): a is TenantInfo => a !== null);
    expect(claimed.length).toBe(3);
    expect(new Set(claimed.map((c) => c.id)).size).toBe(3);
    expect(new Set(claimed.map((c) => c.ip)).size).toBe(3);
    expect(new Set(claimed.map((c) => c.uidBase)).size).toBe(3);
    expect(await readyOf("mini")).toBe(0);
    for (const c of claimed) {
      expect(c.state).toBe("running");
      expect(c.labels).toEqual({ "hoody.owner": "core" });
      const res = await waitFor(() => httpGet(`http://${c.ip}:8080/`).catch(() => null));
      expect(res.body).toContain(`hello from ${c.name}`);
      const env = await waitFor(() => httpGet(`http://${c.ip}:8080/env.txt`).catch(() => null));
      expect(env.body).toContain(`QUOTE=it's "x" $HOME`);
      expect(env.body).toContain(`TENANT_NAME=${c.name}`);
    }
    expect((await h.client.call("tenants.list", {})).map((t) => t.id).sort()).toEqual(claimed.map((c) => c.id).sort());
  });

  it("a claimed tenant looks from inside exactly like a fresh one (env, PID 1, hostname, ramdisk)", async () => {
    const c = claimed[0]!;
    const fresh = await h.client.call("tenants.create", { template: "mini", name: "fresh-one", env: { PLAN: "p0", QUOTE: 'it\'s "x" $HOME' } });
    await waitFor(() => httpGet(`http://${fresh.ip}:8080/`).catch(() => null));
    const norm = (s: string, t: TenantInfo) => s.replaceAll(t.id, "<ID>").replaceAll(t.name, "<NAME>");
    const a = norm(await pid1(c), c);
    const b = norm(await pid1(fresh), fresh);
    expect(a).toContain("HOODY_TENANT_ID=<ID>");
    expect(a).toBe(b);
    // Its LXC config is a fresh tenant's (the real init, its env): a restart keeps it.
    const cfg = readFileSync(`${h.lxcPath}/${c.id}/config`, "utf8");
    expect(cfg).not.toContain(".hoody-claim");
    expect(cfg).toContain(`lxc.uts.name = ${c.name}`);
    await h.client.call("tenants.restart", { id: c.id });
    expect(norm(await waitFor(async () => ((await pid1(c)).includes("HOODY") ? pid1(c) : null)), c)).toBe(b);
    const meta = JSON.parse(readFileSync(`${h.lxcPath}/${c.id}/hoody.json`, "utf8"));
    expect(meta.pooled).toBe(false);
    await h.client.call("tenants.delete", { id: fresh.id });
  });

  it("discard erases members beyond keep, leaving nothing of them", async () => {
    const made = await Promise.all([1, 2].map(() => h.client.call("pool.prepare", { template: "mini" })));
    expect(await h.client.call("pool.discard", { template: "mini", keep: 1 })).toEqual({ removed: 1 });
    expect(await readyOf("mini")).toBe(1);
    expect(await h.client.call("pool.discard", { template: "mini", keep: 0 })).toEqual({ removed: 1 });
    for (const m of made) expect(existsSync(`${h.lxcPath}/${m.id}`)).toBe(false);
    expect(await h.client.call("pool.list", {})).toEqual([]);
  });
});

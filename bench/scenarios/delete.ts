// Delete: time of a GDPR erasure (DELETE /api/v1/containers/{id}) of a running tenant holding data
// and snapshots, and whether it is complete, checked with the system's own tools afterwards: no
// subvolume (btrfs subvolume list) or qgroup (sysfs) of the tenant or its snapshots, no LXC
// directory, no container (lxc-info), no veth (ip link), no nft chain, and the API answers 404.
import fs from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import type { TestStack } from "../../testkit/stack-harness.js";
import { log, summarize, type Summary } from "../lib/util.js";

export interface DeleteResult {
  scenario: "delete";
  template: string;
  tenants: number;
  snapshots_each: number;
  delete_ms: Summary;
  checks_per_tenant: number;
  checks_passed: number;
  complete: boolean;
  failures: string[];
}

export async function gdprDelete(stack: TestStack, project: string, opts: { template: string; n: number; snapshots: number }): Promise<DeleteResult> {
  const h = stack.host;
  await h.client.buildTemplate(opts.template);
  const info = await h.client.call("host.info", {});
  const times: number[] = [];
  const failures: string[] = [];
  let checks = 0;
  let passed = 0;
  const check = (ok: boolean, what: string) => {
    checks++;
    if (ok) passed++;
    else failures.push(what);
  };
  const leftovers: string[] = [];
  log(`delete: ${opts.n} ${opts.template} tenants with ${opts.snapshots} snapshots each`);
  try {
    for (let i = 0; i < opts.n; i++) {
      const r = await stack.api("POST", `/projects/${project}/containers`, { template: opts.template, name: `bd${process.pid}x${i}` });
      if (r.status !== 201) throw new Error(`delete: create: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      const id: string = r.body.data.id;
      // The machine knows the tenant by its engine name (LXC container, subvolume, nft chain), not the API id.
      const eng: string = r.body.data.engine_name;
      leftovers.push(id);
      const marker = randomBytes(16).toString("hex");
      for (let s = 0; s < opts.snapshots; s++) {
        const w = await stack.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", `mkdir -p /data && echo ${marker}-${s} >> /data/personal.txt`] });
        if (w.status !== 200 || w.body.data.exit_code !== 0) throw new Error(`delete: write: ${JSON.stringify(w.body).slice(0, 300)}`);
        const snap = await stack.api("POST", `/containers/${id}/snapshots`, { alias: `s${s}` });
        if (snap.status !== 201) throw new Error(`delete: snapshot: ${snap.status} ${JSON.stringify(snap.body).slice(0, 300)}`);
      }
      const before = await h.client.call("tenants.get", { id: eng });
      const subvols = [before.subvolumeId, ...before.snapshots.map((s) => s.subvolumeId)];
      const t0 = performance.now();
      const d = await stack.api("DELETE", `/containers/${id}`);
      times.push(performance.now() - t0);
      if (d.status !== 200) throw new Error(`delete: ${d.status} ${JSON.stringify(d.body).slice(0, 300)}`);
      leftovers.pop();
      const receipt = JSON.stringify(d.body.data);
      check((receipt.match(/snapshot \S+ \(subvolume \d+\)/g) ?? []).length === opts.snapshots, `${id}: receipt names ${opts.snapshots} snapshots`);
      check((await stack.api("GET", `/containers/${id}`)).status === 404, `${id}: API answers 404`);
      const list = (await execa("btrfs", ["subvolume", "list", h.poolPath])).stdout;
      check(!list.includes(eng), `${id}: no subvolume named after it (btrfs subvolume list)`);
      for (const sv of subvols) {
        const q = await fs.stat(`/sys/fs/btrfs/${info.pool.uuid}/qgroups/0_${sv}`).then(
          () => true,
          () => false,
        );
        check(!q, `${id}: qgroup 0/${sv} gone`);
      }
      check(
        !(await fs.stat(path.join(h.lxcPath, eng)).then(
          () => true,
          () => false,
        )),
        `${id}: lxc directory gone`,
      );
      check((await execa("lxc-info", ["-P", h.lxcPath, "-n", eng], { reject: false })).exitCode !== 0, `${id}: lxc-info knows no container`);
      check((await execa("ip", ["link", "show", before.veth], { reject: false })).exitCode !== 0, `${id}: veth ${before.veth} gone`);
      const nft = (await execa("nft", ["list", "table", "inet", h.env.HOODY_NFT_TABLE!], { reject: false })).stdout;
      check(!nft.includes(eng) && !nft.includes(before.veth), `${id}: no nft chain or map entry`);
    }
  } finally {
    for (const id of leftovers) await stack.api("DELETE", `/containers/${id}`).catch(() => undefined);
  }
  const checksPer = opts.n ? checks / opts.n : 0;
  log(`delete: ${passed}/${checks} checks passed; median ${summarize(times).median} ms`);
  return {
    scenario: "delete",
    template: opts.template,
    tenants: opts.n,
    snapshots_each: opts.snapshots,
    delete_ms: summarize(times),
    checks_per_tenant: checksPer,
    checks_passed: passed,
    complete: passed === checks,
    failures,
  };
}

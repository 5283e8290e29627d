// Backup: time and size of a sealed backup of a tenant holding its own data (the delta on its
// template, not the tree), of restoring it over the tenant, of importing it as a new tenant, and of
// the Art. 20 export; checked by the restored files' checksum.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { TestStack } from "../../testkit/stack-harness.js";
import { log, MiB, round } from "../lib/util.js";

export interface BackupResult {
  scenario: "backup";
  template: string;
  data_mib: number;
  /** The template's bytes (its qgroup), which a full copy would also carry. */
  template_bytes: number;
  backup_bytes: number;
  backup_ms: number;
  restore_in_place_ms: number;
  import_ms: number;
  export_ms: number;
  export_bytes: number;
  checksum_ok: boolean;
}

export async function backupScenario(stack: TestStack, project: string, opts: { template: string; dataMiB: number }): Promise<BackupResult> {
  await stack.host.client.buildTemplate(opts.template);
  const tpl = (await stack.host.client.call("templates.list", {})).find((t) => t.name === opts.template)!;
  const c = await stack.api("POST", `/projects/${project}/containers`, { template: opts.template, name: `bb${process.pid}` });
  if (c.status !== 201) throw new Error(`backup: create: ${c.status} ${JSON.stringify(c.body).slice(0, 300)}`);
  const id: string = c.body.data.id;
  const eng: string = c.body.data.engine_name;
  const sh = async (cmd: string) => {
    const r = await stack.host.client.call("tenants.exec", { id: eng, command: ["/bin/sh", "-c", cmd], timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`backup: ${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  let imported: string | null = null;
  try {
    log(`backup: ${opts.template} tenant with ${opts.dataMiB} MiB of its own data`);
    await sh(`mkdir -p /data && head -c ${opts.dataMiB * MiB} /dev/urandom > /data/blob && sync`);
    const sum = (await sh("md5sum /data/blob")).split(" ")[0];
    let t0 = performance.now();
    const b = await stack.api("POST", `/containers/${id}/backups`);
    const backupMs = performance.now() - t0;
    if (b.status !== 201) throw new Error(`backup: ${b.status} ${JSON.stringify(b.body).slice(0, 300)}`);
    await sh("rm /data/blob && sync");
    t0 = performance.now();
    const r = await stack.api("POST", `/containers/${id}/backups/${b.body.data.id}/restore`);
    const restoreMs = performance.now() - t0;
    if (r.status !== 200) throw new Error(`backup: restore: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    const restoredSum = (await sh("md5sum /data/blob")).split(" ")[0];
    t0 = performance.now();
    const res = await fetch(`${stack.url}/api/v1/containers/${id}/export`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const exported = (await res.arrayBuffer()).byteLength;
    const exportMs = performance.now() - t0;
    t0 = performance.now();
    const imp = await fetch(`${stack.url}/api/v1/projects/${project}/containers/import?name=bb${process.pid}i`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/octet-stream" },
      body: Readable.toWeb(createReadStream(b.body.data.location)) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    const importMs = performance.now() - t0;
    const impBody = (await imp.json()) as { data: { id: string; engine_name: string } };
    if (imp.status !== 201) throw new Error(`backup: import: ${imp.status} ${JSON.stringify(impBody).slice(0, 300)}`);
    imported = impBody.data.id;
    const importedSum = (await stack.host.client.call("tenants.exec", { id: impBody.data.engine_name, command: ["/bin/sh", "-c", "md5sum /data/blob"] })).stdout.split(" ")[0];
    const out: BackupResult = {
      scenario: "backup",
      template: opts.template,
      data_mib: opts.dataMiB,
      template_bytes: tpl.bytes,
      backup_bytes: b.body.data.size_bytes,
      backup_ms: round(backupMs),
      restore_in_place_ms: round(restoreMs),
      import_ms: round(importMs),
      export_ms: round(exportMs),
      export_bytes: exported,
      checksum_ok: restoredSum === sum && importedSum === sum,
    };
    log(`backup: ${JSON.stringify(out)}`);
    return out;
  } finally {
    await stack.api("DELETE", `/containers/${id}`).catch(() => undefined);
    if (imported) await stack.api("DELETE", `/containers/${imported}`).catch(() => undefined);
  }
}

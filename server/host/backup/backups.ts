// Backups of a tenant: its filesystem as btrfs send streams against its template (only its delta),
// each of its snapshots against the one before, and its settings (env, limits, firewall), sealed
// with the operator's key (sealed.ts) into one file in the backup directory. A backup is restored
// as a new tenant on any box that has the same template (import) or over the tenant it came from.
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { EngineError } from "../../shared/errors.js";
import { Revert } from "../../shared/revert.js";
import type { TenantInfo } from "../../shared/protocol.js";
import { TenantMetaSchema } from "../meta.js";
import type { BackupInfo } from "../../shared/protocol.js";
import type { HostState } from "../state.js";
import { Kind, Sealer, keyId, unseal } from "./sealed.js";
import { receiveStream, sendStream, setReceived, streamParent, subvolumeUuid } from "./send-receive.js";
import { templateFingerprint } from "./fingerprint.js";
import { BACKUP_ID_RE } from "../../shared/host-api.js";

const SEND_CHUNK = 1024 * 1024;

const ManifestSchema = z.object({
  format: z.literal(1),
  backupId: z.string().regex(BACKUP_ID_RE),
  createdAt: z.string(),
  tenant: TenantMetaSchema.pick({
    id: true,
    name: true,
    initCmd: true,
    appPort: true,
    env: true,
    limits: true,
    ramdiskMiB: true,
    ksm: true,
    sharedPaths: true,
    firewall: true,
    autostart: true,
    labels: true,
  }).extend({ initCmd: z.array(z.string()).min(1) }),
  template: z.object({ name: z.string(), recipe: z.string().nullable(), uuid: z.string(), fingerprint: z.string() }),
  /** In send order: snapshots oldest first, each against the one before (the first against the template), then the tenant's current state. */
  parts: z
    .array(z.object({ snapshot: z.object({ name: z.string(), createdAt: z.string() }).nullable() }))
    .min(1)
    .max(1000),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** The operator's key: 32 bytes in a 0600 file, made on first use when absent (copy it to every box that restores). */
export async function backupKey(h: HostState): Promise<Buffer> {
  const file = h.config.backupKeyFile;
  const existing = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)));
  if (existing) {
    const hex = existing.toString("utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new EngineError("SYSTEM_ERROR", `${file} is not a backup key (64 hex digits)`);
    return Buffer.from(hex, "hex");
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  await fs.writeFile(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" }).catch((e: NodeJS.ErrnoException) => (e.code === "EEXIST" ? undefined : Promise.reject(e)));
  return backupKey(h);
}

const tenantDir = (h: HostState, id: string) => path.join(h.config.backupDir, id);
const backupFile = (h: HostState, id: string, bid: string) => path.join(tenantDir(h, id), `${bid}.hbk`);
const indexFile = (h: HostState, id: string, bid: string) => path.join(tenantDir(h, id), `${bid}.json`);

function newBackupId(): string {
  const iso = new Date().toISOString().replace(/[-:]/g, "");
  return `b${iso.slice(0, 8)}-${iso.slice(9, 15)}-${randomBytes(3).toString("hex")}`;
}

/**
 * Writes a backup of tenant id. Consistent: read-only snapshots of the tenant and of each of its
 * snapshots are taken together under its lock (O(1)), then sent while it keeps running.
 */
export async function createBackup(h: HostState, id: string): Promise<BackupInfo> {
  const key = await backupKey(h);
  const bid = newBackupId();
  const work = h.pool.path("backup-work", bid);
  return Revert.run(async (revert) => {
    await fs.mkdir(work, { recursive: true, mode: 0o700 });
    revert.add("work dir", () => dropWork(h, work));
    const { meta, pinned } = await h.lock.run(id, async () => {
      const m = h.getTenant(id);
      const snaps = [...m.snapshots].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const pins: { path: string; snapshot: { name: string; createdAt: string } | null }[] = [];
      for (const [i, s] of snaps.entries()) {
        const p = path.join(work, `s${i}`);
        await h.pool.snapshot(h.pool.path("snapshots", id, s.name), p, true);
        pins.push({ path: p, snapshot: { name: s.name, createdAt: s.createdAt } });
      }
      const cur = path.join(work, "current");
      await h.pool.snapshot(h.pool.path("tenants", id), cur, true);
      pins.push({ path: cur, snapshot: null });
      return { meta: structuredClone(m), pinned: pins };
    });
    const tpl = h.getTemplate(meta.template);
    const tplPath = h.pool.path("templates", tpl.name);
    const manifest: Manifest = {
      format: 1,
      backupId: bid,
      createdAt: new Date().toISOString(),
      tenant: {
        id: meta.id,
        name: meta.name,
        initCmd: meta.initCmd,
        appPort: meta.appPort,
        env: meta.env,
        limits: meta.limits,
        ramdiskMiB: meta.ramdiskMiB,
        ksm: meta.ksm,
        sharedPaths: meta.sharedPaths,
        firewall: meta.firewall,
        autostart: meta.autostart,
        labels: meta.labels,
      },
      template: { name: tpl.name, recipe: tpl.recipe, uuid: await subvolumeUuid(tplPath), fingerprint: await templateFingerprint(tplPath, tpl.subvolumeId) },
      parts: pinned.map((p) => ({ snapshot: p.snapshot })),
    };
    await fs.mkdir(tenantDir(h, id), { recursive: true, mode: 0o700 });
    const file = backupFile(h, id, bid);
    const partial = `${file}.partial`;
    const out = createWriteStream(partial, { mode: 0o600 });
    revert.add("partial file", () => fs.rm(partial, { force: true }));
    const write = (b: Buffer) => new Promise<void>((resolve, reject) => out.write(b, (e) => (e ? reject(e) : resolve())));
    const sealer = new Sealer(key, write);
    await sealer.start();
    await sealer.record(Kind.Manifest, 0, Buffer.from(JSON.stringify(manifest)));
    for (const [i, p] of pinned.entries()) {
      const { child, done } = sendStream(p.path, i === 0 ? tplPath : pinned[i - 1]!.path);
      let buf: Buffer[] = [];
      let size = 0;
      for await (const chunk of child.stdout!) {
        buf.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size >= SEND_CHUNK) {
          await sealer.record(Kind.Data, i, Buffer.concat(buf));
          buf = [];
          size = 0;
        }
      }
      if (size) await sealer.record(Kind.Data, i, Buffer.concat(buf));
      await done;
      await sealer.record(Kind.PartEnd, i);
    }
    await sealer.record(Kind.End, 0);
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    const fh = await fs.open(partial, "r");
    await fh.sync();
    await fh.close();
    const stat = await fs.stat(partial);
    const info: BackupInfo = {
      id: bid,
      tenant: id,
      name: meta.name,
      createdAt: manifest.createdAt,
      bytes: stat.size,
      template: tpl.name,
      snapshots: manifest.parts.flatMap((p) => (p.snapshot ? [p.snapshot.name] : [])),
      keyId: keyId(key),
      file,
    };
    await fs.rename(partial, file);
    revert.add("backup file", () => fs.rm(file, { force: true }));
    // The index holds no env and no data: listing needs no key.
    await fs.writeFile(indexFile(h, id, bid), JSON.stringify(info), { mode: 0o600 });
    await dropWork(h, work);
    return info;
  });
}

export async function listBackups(h: HostState, id: string): Promise<BackupInfo[]> {
  const dir = tenantDir(h, id);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: BackupInfo[] = [];
  for (const n of names) {
    if (!n.endsWith(".json")) continue;
    const info = await fs.readFile(path.join(dir, n), "utf8").then(
      (t) => JSON.parse(t) as BackupInfo,
      () => null,
    );
    if (
      info &&
      (await fs.stat(backupFile(h, id, info.id)).then(
        () => true,
        () => false,
      ))
    )
      out.push(info);
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function deleteBackup(h: HostState, id: string, bid: string): Promise<{ existed: boolean }> {
  if (!BACKUP_ID_RE.test(bid)) return { existed: false };
  const existed = await fs.stat(backupFile(h, id, bid)).then(
    () => true,
    () => false,
  );
  await fs.rm(backupFile(h, id, bid), { force: true });
  await fs.rm(indexFile(h, id, bid), { force: true });
  return { existed };
}

/** Erases every backup of a tenant (its erasure); what it erased, for the receipt. */
export async function eraseBackups(h: HostState, id: string): Promise<string[]> {
  const list = await listBackups(h, id);
  const dir = tenantDir(h, id);
  if (
    !(await fs.stat(dir).then(
      () => true,
      () => false,
    ))
  )
    return [];
  await fs.rm(dir, { recursive: true, force: true });
  return [
    `${list.length} backup file(s) in ${h.config.backupDir} (deleted; a copy made of that directory outside Hoody, e.g. the far side of a mount's own snapshots or replication, is not reached from here)`,
  ];
}

/** What a verified backup unpacked into the pool: read-only subvolumes per part, and its manifest. */
export interface Received {
  manifest: Manifest;
  dir: string;
  /** Per part, the received read-only subvolume. */
  parts: string[];
}

/**
 * Unseals a backup stream and receives its parts into a staging directory. Nothing outside that
 * directory changes; any failure (a chunk that does not verify, another template) removes it. The
 * end of the file is authenticated before this returns, so the caller commits only verified data.
 */
export async function receiveBackup(h: HostState, source: AsyncIterable<Buffer | Uint8Array | string>): Promise<Received> {
  const key = await backupKey(h);
  await h.assertPoolRoom();
  const dir = h.pool.path("backup-work", `import-${randomBytes(6).toString("hex")}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const anchor = path.join(dir, "anchor");
  const received: string[] = [];
  let manifest: Manifest | null = null;
  let tplPath = "";
  let current: { part: number; recv: ReturnType<typeof receiveStream>; head: Buffer[] | null } | null = null;
  const cleanup = async () => {
    if (current) current.recv.child.kill("SIGKILL");
    await current?.recv.done.catch(() => undefined);
    await dropWork(h, dir);
  };
  const feed = async (b: Buffer) => {
    const stdin = current!.recv.child.stdin!;
    if (!stdin.write(b))
      await new Promise<void>((resolve, reject) => {
        stdin.once("drain", resolve);
        current!.recv.done.catch(reject);
      });
  };
  try {
    let expected = 0;
    for await (const rec of unseal(key, source)) {
      if (!manifest) {
        if (rec.kind !== Kind.Manifest) throw new EngineError("BACKUP_INVALID", "the backup does not start with its manifest");
        const parsed = ManifestSchema.safeParse(JSON.parse(rec.payload.toString("utf8")));
        if (!parsed.success) throw new EngineError("BACKUP_INVALID", "the backup's manifest is not one this version reads");
        manifest = parsed.data;
        const tpl = h.templates.get(manifest.template.name);
        if (!tpl) throw new EngineError("TEMPLATE_MISMATCH", `the backup needs template ${manifest.template.name}, which this box does not have: build it (same recipe) or copy it here first`);
        tplPath = h.pool.path("templates", tpl.name);
        if ((await templateFingerprint(tplPath, tpl.subvolumeId)) !== manifest.template.fingerprint) {
          throw new EngineError(
            "TEMPLATE_MISMATCH",
            `template ${tpl.name} here holds other files than the one the backup was made against (fingerprint differs): restore where the same template exists`,
          );
        }
        continue;
      }
      if (rec.kind === Kind.Data) {
        if (rec.part !== expected) throw new EngineError("BACKUP_INVALID", "parts out of order");
        if (!current) {
          const partDir = path.join(dir, `p${rec.part}`);
          await fs.mkdir(partDir);
          current = { part: rec.part, recv: receiveStream(partDir), head: rec.part === 0 ? [] : null };
          current.recv.done.catch(() => undefined);
        }
        if (current.head) {
          // The first part's parent is the template: an anchor (a snapshot of this box's template,
          // marked as received from the backed-up one) lets `btrfs receive` find it here too.
          current.head.push(rec.payload);
          const head = Buffer.concat(current.head);
          const parent = streamParent(head);
          if (!parent) continue;
          await h.pool.snapshot(tplPath, anchor, false);
          setReceived(anchor, parent.uuid, parent.ctransid);
          await h.pool.setReadonly(anchor, true);
          current.head = null;
          await feed(head);
        } else await feed(rec.payload);
      } else if (rec.kind === Kind.PartEnd) {
        if (!current || rec.part !== expected) throw new EngineError("BACKUP_INVALID", "parts out of order");
        current.recv.child.stdin!.end();
        await current.recv.done;
        const partDir = path.join(dir, `p${rec.part}`);
        const names = await fs.readdir(partDir);
        if (names.length !== 1) throw new EngineError("BACKUP_INVALID", `part ${rec.part} held ${names.length} subvolumes`);
        received.push(path.join(partDir, names[0]!));
        current = null;
        expected++;
      } else if (rec.kind === Kind.End) {
        if (expected !== manifest.parts.length) throw new EngineError("BACKUP_INVALID", `the backup ends after ${expected} of ${manifest.parts.length} parts`);
      } else throw new EngineError("BACKUP_INVALID", "unknown record");
    }
    if (!manifest) throw new EngineError("BACKUP_INVALID", "empty backup");
    await h.pool.deleteSubvolume(anchor);
    return { manifest, dir, parts: received };
  } catch (e) {
    // The reason it failed is the answer; a cleanup problem is logged, not thrown over it.
    await cleanup().catch((c) => console.error(`[backup] cleanup of ${dir} failed: ${(c as Error).message}`));
    throw e;
  }
}

/** Removes a work directory: the subvolumes in it (directly or one level down), then the rest. */
export async function dropWork(h: HostState, dir: string): Promise<void> {
  for (const e of await fs.readdir(dir).catch(() => [] as string[])) {
    const p = path.join(dir, e);
    if (!(await h.pool.isSubvolume(p))) for (const n of await fs.readdir(p).catch(() => [] as string[])) await h.pool.deleteSubvolume(path.join(p, n));
    await h.pool.deleteSubvolume(p);
  }
  await fs.rm(dir, { recursive: true, force: true });
}

/** Removes what receiveBackup left (after its parts were moved into place, or on failure). */
export function dropReceived(h: HostState, r: Received): Promise<void> {
  return dropWork(h, r.dir);
}

/** A backup file as a stream (for restore in place). */
export async function openBackup(h: HostState, id: string, bid: string) {
  if (!BACKUP_ID_RE.test(bid)) throw new EngineError("BACKUP_NOT_FOUND", `backup ${bid} not found`);
  const file = backupFile(h, id, bid);
  const fh = await fs.open(file, "r").catch(() => {
    throw new EngineError("BACKUP_NOT_FOUND", `backup ${bid} of ${id} not found`);
  });
  return fh.createReadStream();
}

export type { TenantInfo };

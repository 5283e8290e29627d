// Adoption: the disk is the host's state. On start it takes over every template and tenant there,
// finishes what a crash left half done, and never stops a tenant because the daemon restarted.
import fs from "node:fs/promises";
import path from "node:path";
import { dropWork } from "./backup/backups.js";
import type { HostConfig } from "./config.js";
import { BtrfsPool } from "./drivers/btrfs.js";
import { enableKsmd } from "./drivers/ksm.js";
import { UID_RANGE } from "./drivers/lxc.js";
import { fitHostSysctls } from "./drivers/kernel.js";
import { ensureLxcfs } from "./drivers/lxcfs.js";
import { detachableParent } from "./drivers/launch.js";
import { run } from "../shared/sys.js";
import { TENANT_ID_RE } from "../shared/protocol.js";
import { META_FILE, TemplateMetaSchema, TenantMetaSchema, type TenantMeta } from "./meta.js";
import { HostState } from "./state.js";
import { deleteTenant } from "./erase.js";
import { hostSideNetSysctls } from "./network.js";
import { removeStaleChangeSnapshots } from "./changes.js";
import { isMountPoint } from "./mountinfo.js";

/** Opens the pool, checks tools once, and adopts every template and tenant on disk. */
export async function openHost(config: HostConfig): Promise<HostState> {
  const [lxcVersion] = await Promise.all([
    run("lxc-start", ["--version"]).then((r) => r.stdout.trim()),
    run("nft", ["--version"]),
    // Every tenant start runs them (the LXC hook that writes its kernel shares).
    run("nsenter", ["--version"]),
    run("sysctl", ["--version"]),
    // Every start runs lxc-start through launch.pl (perl-base is Essential on Debian).
    run("perl", ["-e", "1"]),
  ]);
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o711 });
  await fs.chmod(config.dataDir, 0o711);
  const pool = await BtrfsPool.open({ mountPath: config.poolPath, image: config.poolImage, imageSizeMiB: config.poolImageSizeMiB });
  await fs.mkdir(config.lxcPath, { recursive: true, mode: 0o711 });
  await fs.chmod(config.lxcPath, 0o711);
  enableKsmd();
  await ensureSubIdRange(config.uidBase, config.uidRanges * UID_RANGE);
  const lxcfs = await ensureLxcfs(path.join(config.dataDir, "lxcfs.log"));
  console.log(`hostd: ${lxcfs.message}`);
  const host = new HostState(config, pool, { lxc: lxcVersion, btrfs: pool.progsVersion }, lxcfs.serving);
  // Before any tenant starts: the parents a start's launch namespace drops (launch.ts).
  for (const dir of host.launchParents()) {
    await fs.mkdir(dir, { recursive: true, mode: 0o711 });
    detachableParent(dir);
  }
  await host.firewall.ensureBase(config.tenantConntrackMax);
  // After ensureBase: its conntrack rules load nf_conntrack, whose limit is one of these.
  const fit = await fitHostSysctls(config);
  for (const r of fit.raised) console.log(`hostd: raised ${r.key} from ${r.from} to ${r.to}`);
  for (const r of fit.lowered)
    console.warn(
      `hostd: ${r.key} is ${r.limit} and this kernel refuses to raise it to ${r.floor}: each tenant's ${r.share} is ${r.given} (${r.asked} asked) so that all ${config.uidRanges} tenant ranges fit beside root's reserve`,
    );
  // Before any tenant config is written (adoption rewrites them): tenants get the shares that fit.
  Object.assign(config, fit.shares);
  await host.firewall.ensureBase(config.tenantConntrackMax);
  // Each running tenant has a /32 route to its veth. Without a route for the rest of the subnet, a
  // packet for a stopped or unknown tenant address (the router racing a stop) would follow the
  // default route off the box; "unreachable" answers it on the spot instead.
  await run("ip", ["route", "replace", "unreachable", config.subnet]);
  const t0 = performance.now();
  await adopt(host);
  console.log(`hostd: adopted ${host.tenants.size} tenant(s) in ${Math.round(performance.now() - t0)} ms`);
  return host;
}

export async function adopt(h: HostState): Promise<void> {
  for (const f of await fs.readdir(h.pool.path("templates"))) {
    if (!f.endsWith(".json")) continue;
    const meta = TemplateMetaSchema.parse(JSON.parse(await fs.readFile(h.pool.path("templates", f), "utf8")));
    if (await h.pool.isSubvolume(h.pool.path("templates", meta.name))) h.templates.set(meta.name, meta);
  }
  // Unfinished template builds (crash mid-build) are ours by name: remove them.
  for (const f of await fs.readdir(h.pool.path("templates"))) {
    if (f.startsWith(".build-")) await h.pool.deleteSubvolume(h.pool.path("templates", f));
  }
  // A backup, restore or export that died left read-only copies in backup-work: never a tenant's only copy.
  for (const f of await fs.readdir(h.pool.path("backup-work")).catch(() => [] as string[])) await dropWork(h, h.pool.path("backup-work", f));
  // At 10,000 tenants each step per tenant counts: records are read a few dozen at a time, firewall
  // chains go in batched transactions and configs are written a few at a time (bench/scenarios/scale.ts
  // measures the daemon's start).
  const ids = await fs.readdir(h.config.lxcPath);
  const texts = await inChunks(ids, 64, (id) => fs.readFile(path.join(h.config.lxcPath, id, META_FILE), "utf8").catch(() => null));
  const ready: TenantMeta[] = [];
  const spares = await h.spares.leftovers();
  for (const [i, id] of ids.entries()) {
    const text = texts[i];
    if (text === null || text === undefined) {
      // A create that died between making the tenant's directory and writing its hoody.json (the
      // subvolume comes after): nothing else of it exists, so the directory goes too.
      if (TENANT_ID_RE.test(id) && !(await h.pool.isSubvolume(h.pool.path("tenants", id)))) await h.lxc.removeDir(id);
      continue;
    }
    const meta = TenantMetaSchema.parse(JSON.parse(text));
    h.tenants.set(meta.id, meta);
    if (meta.phase !== "ready") {
      // Half-created or half-deleted when we last stopped: finish the removal.
      await deleteTenant(h, meta.id).catch(() => undefined);
      continue;
    }
    if (meta.pooled && !h.cgroups.running(meta.id)) {
      // A pool member whose waiting init is gone (a reboot): core's refill makes a new one.
      await deleteTenant(h, meta.id).catch(() => undefined);
      continue;
    }
    // A create's rename of a spare that the pool had not committed when the host went down.
    if (spares.has(meta.subvolumeId) && !(await h.pool.isSubvolume(h.pool.path("tenants", meta.id))) && (await h.spares.giveBack(spares, meta.subvolumeId, h.pool.path("tenants", meta.id)))) {
      console.log(`hostd: ${meta.id}'s filesystem was still a spare: given back`);
    }
    await finishDeadRestore(h, meta);
    await removeStaleChangeSnapshots(h, meta.id);
    ready.push(meta);
  }
  // Spares an earlier run made are never taken (their templates may have changed since): they go meanwhile.
  void h.spares.dropLeftovers(spares);
  await h.firewall.setTenants(ready.map((m) => ({ id: m.id, veth: m.veth, ip: m.ip, rules: m.firewall })));
  // A config written before a change of this daemon (e.g. new kernel shares) is current from the next start.
  await inChunks(ready, 16, (m) => h.writeLxcConfig(m));
  for (const meta of ready) {
    if (h.cgroups.running(meta.id)) {
      hostSideNetSysctls(meta);
      // A daemon that died between a start and its detach left the point (and, before the launcher,
      // the host's copy of the tenant's /proc and the hook's stage) mounted in the data dir.
      if (isMountPoint(h.procs.point(meta.id)) || isMountPoint(h.procs.stage(meta.id))) {
        await h.procs.detachHostCopy(meta.id).catch((e) => console.error(`hostd: could not detach ${meta.id}'s /proc copy: ${(e as Error).message}`));
      }
    } else if (meta.wantRunning && meta.autostart) {
      // Running when the host went down (reboot) and meant to come back: bring it back. A failure is logged, not fatal.
      await h.startLocked(meta).catch((e) => console.error(`hostd: could not restart ${meta.id}: ${(e as Error).message}`));
    }
  }
}

/** `fn` over `items`, `n` at a time, results in order. */
async function inChunks<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(fn))));
  return out;
}

/**
 * A restore that died midway left the previous filesystem aside: the metadata says which one is
 * the tenant's (it is saved only once the restored subvolume is in place); the other goes.
 */
export async function finishDeadRestore(h: HostState, m: TenantMeta): Promise<void> {
  const aside = h.restoreAsidePath(m.id);
  if (!(await h.pool.isSubvolume(aside))) return;
  const live = h.pool.path("tenants", m.id);
  if ((await h.pool.isSubvolume(live)) && (await h.pool.subvolumeId(live)) !== m.subvolumeId) await h.pool.deleteSubvolume(live);
  if (await h.pool.isSubvolume(live)) await h.pool.deleteSubvolume(aside);
  else await fs.rename(aside, live);
}

/** LXC maps tenant uids from root's ranges in /etc/subuid and /etc/subgid; make sure ours is there. */
export async function ensureSubIdRange(base: number, count: number): Promise<void> {
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    const text = await fs.readFile(file, "utf8").catch(() => "");
    const covered = text.split("\n").some((line) => {
      const [user, start, n] = line.split(":");
      return user === "root" && Number(start) <= base && Number(start) + Number(n) >= base + count;
    });
    if (!covered) await fs.appendFile(file, `${text && !text.endsWith("\n") ? "\n" : ""}root:${base}:${count}\n`);
  }
}

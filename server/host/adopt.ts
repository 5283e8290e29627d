// Adoption: the disk is the host's state. On start it takes over every template and tenant there,
// finishes what a crash left half done, and never stops a tenant because the daemon restarted.
import fs from "node:fs/promises";
import path from "node:path";
import { dropWork } from "./backup/backups.js";
import type { HostConfig } from "./config.js";
import { BtrfsPool } from "./drivers/btrfs.js";
import { enableKsmd } from "./drivers/ksm.js";
import { UID_RANGE } from "./drivers/lxc.js";
import { hostSysctlFloors, raiseHostSysctls } from "./drivers/kernel.js";
import { ensureLxcfs } from "./drivers/lxcfs.js";
import { run } from "../shared/sys.js";
import { TENANT_ID_RE } from "../shared/protocol.js";
import { META_FILE, TemplateMetaSchema, TenantMetaSchema, type TenantMeta } from "./meta.js";
import { HostState } from "./state.js";
import { deleteTenant } from "./erase.js";
import { applyFirewall, hostSideNetSysctls } from "./network.js";

/** Opens the pool, checks tools once, and adopts every template and tenant on disk. */
export async function openHost(config: HostConfig): Promise<HostState> {
  const [lxcVersion] = await Promise.all([
    run("lxc-start", ["--version"]).then((r) => r.stdout.trim()),
    run("nft", ["--version"]),
    // Every tenant start runs them (the LXC hook that writes its kernel shares).
    run("nsenter", ["--version"]),
    run("sysctl", ["--version"]),
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
  await host.firewall.ensureBase();
  // After ensureBase: its conntrack rules load nf_conntrack, whose limit is one of these.
  for (const r of await raiseHostSysctls(hostSysctlFloors(config))) console.log(`hostd: raised ${r.key} from ${r.from} to ${r.to}`);
  // Each running tenant has a /32 route to its veth. Without a route for the rest of the subnet, a
  // packet for a stopped or unknown tenant address (the router racing a stop) would follow the
  // default route off the box; "unreachable" answers it on the spot instead.
  await run("ip", ["route", "replace", "unreachable", config.subnet]);
  await adopt(host);
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
  for (const id of await fs.readdir(h.config.lxcPath)) {
    const file = path.join(h.config.lxcPath, id, META_FILE);
    const text = await fs.readFile(file, "utf8").catch(() => null);
    if (text === null) {
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
    await finishDeadRestore(h, meta);
    await applyFirewall(h, meta);
    // A config written before a change of this daemon (e.g. new kernel shares) is current from the next start.
    await h.writeLxcConfig(meta);
    if (h.cgroups.running(meta.id)) hostSideNetSysctls(meta);
    else if (meta.wantRunning && meta.autostart) {
      // Running when the host went down (reboot) and meant to come back: bring it back. A failure is logged, not fatal.
      await h.startLocked(meta).catch((e) => console.error(`hostd: could not restart ${meta.id}: ${(e as Error).message}`));
    }
  }
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

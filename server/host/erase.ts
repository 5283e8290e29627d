// Erase: a tenant's delete, verified piece by piece.
import fs from "node:fs/promises";
import path from "node:path";
import { UID_RANGE } from "./drivers/lxc.js";
import { EngineError } from "../shared/errors.js";
import { run } from "../shared/sys.js";
import type { DeleteReport } from "../shared/protocol.js";
import type { TenantMeta } from "./meta.js";
import type { HostState } from "./state.js";
import { eraseBackups } from "./backup/backups.js";
import { abortChanges } from "./changes.js";

/**
 * Erases the tenant: its processes (the whole cgroup subtree), ramdisk, firewall chains, every
 * snapshot, its subvolume with any nested in it, a failed restore's leftover (waiting for the BTRFS
 * cleaner so the blocks are gone), then a verification pass over all of it; only then
 * its LXC config, logs and metadata go, which also releases its uid range and IP. Anything still
 * there fails the call with what it is (the tenant stays "deleting", so a retry or the next start
 * finishes it): the receipt never claims what did not happen. Unknown id: `existed: false`.
 */
export async function deleteTenant(h: HostState, id: string): Promise<DeleteReport> {
  return h.lock.run(id, async () => {
    const m = h.tenants.get(id);
    if (!m) return { id, existed: false, erased: [] };
    const erased: string[] = [];
    m.phase = "deleting";
    await h.saveMeta(m).catch(() => undefined);
    // A change listing in flight holds a snapshot of the tenant (and its file names in memory).
    await abortChanges(h, id);
    // Processes first: a subvolume unlinked under a running tenant stays mounted in it, and the
    // cleaner would wait for it forever.
    if (h.cgroups.running(id)) {
      await h.lxc.stop(id, { force: true, timeoutS: 0 });
      erased.push("processes (force-stopped)");
    }
    const survivors = await h.cgroups.killAll(id);
    if (survivors.length) throw new EngineError("SYSTEM_ERROR", `erase of ${id} stopped before its files: processes ${survivors.join(", ")} survived SIGKILL`);
    h.cgroups.removeAll(id);
    if (await h.ramdisks.remove(id)) erased.push("ramdisk (tmpfs unmounted)");
    if (await h.shares.remove(id)) erased.push("shared read-only mounts (unmounted)");
    if (await h.procs.remove(id)) erased.push("its /proc on the host (unmounted)");
    const mounted = await tenantMounts(h, id);
    if (mounted.length) throw new EngineError("SYSTEM_ERROR", `erase of ${id} stopped before its files: still mounted at ${mounted.join(", ")}`);
    const fw = await h.firewall.removeTenant(id, m.veth, m.ip);
    erased.push(`firewall entries of ${m.veth} and ${m.ip}, and its flow count${fw.chains.length ? ` (its rules' chains ${fw.chains.join(", ")} with it: no other tenant used them)` : ""}`);
    // Its flows in the host-wide conntrack table: the address goes to the next tenant, which must not
    // find them "established" (that would pass both tenants' rules) for as long as they would live.
    const flows = await forgetFlows(m.ip);
    if (flows) erased.push(`${flows} connection-tracking entr${flows === 1 ? "y" : "ies"} of ${m.ip}`);
    // Every snapshot on disk, also one a crash left out of the metadata.
    const snapshotDir = h.pool.path("snapshots", id);
    for (const name of await fs.readdir(snapshotDir).catch(() => [] as string[])) {
      await h.pool.deleteSubvolume(path.join(snapshotDir, name));
      const known = m.snapshots.find((s) => s.name === name);
      erased.push(`snapshot ${name}${known ? ` (subvolume ${known.subvolumeId})` : ""}`);
    }
    await fs.rm(snapshotDir, { recursive: true, force: true });
    const aside = h.restoreAsidePath(id);
    if (
      await fs.lstat(aside).then(
        () => true,
        () => false,
      )
    ) {
      await h.pool.deleteSubvolume(aside);
      erased.push("filesystem left by a failed restore");
    }
    const nested = await h.pool.nestedSubvolumes(h.pool.path("tenants", id));
    await h.pool.deleteSubvolume(h.pool.path("tenants", id));
    await h.pool.waitDropped([m.subvolumeId, ...m.snapshots.map((s) => s.subvolumeId)]);
    const qgroup = h.pool.qgroupExists(m.subvolumeId) ? "" : `, qgroup 0/${m.subvolumeId}`;
    erased.push(`filesystem (subvolume ${m.subvolumeId}${qgroup}${nested.length ? `, ${nested.length} nested subvolume(s)` : ""})`);
    // Its backups are its data too (GDPR): the receipt says where they were and what is out of reach.
    erased.push(...(await eraseBackups(h, id)));
    erased.push(...(await h.dedup.around(() => h.dedup.forget(id))));
    // Freed blocks still hold the bytes: discard them (on a loop image this punches holes, so the
    // data is gone from the image file; on SSDs it is the device's TRIM).
    if (await h.pool.discardFreed()) erased.push("freed pool blocks discarded (by the commit that freed them)");
    const left = await erasureLeftovers(h, m);
    if (left.length) throw new EngineError("SYSTEM_ERROR", `erase of ${id} is incomplete, still present: ${left.join("; ")}`);
    erased.push("verified gone: processes, cgroups, mounts, paths, subvolumes, firewall entries, veth");
    await h.lxc.removeDir(id);
    if (
      await fs.lstat(h.lxc.dir(id)).then(
        () => true,
        () => false,
      )
    )
      throw new EngineError("SYSTEM_ERROR", `erase of ${id} is incomplete: ${h.lxc.dir(id)} is still present`);
    erased.push("lxc config, console and lxc logs, metadata");
    erased.push(`uid range ${m.uidBase}-${m.uidBase + UID_RANGE - 1} and address ${m.ip} released`);
    h.tenants.delete(id);
    return { id, existed: true, erased };
  });
}

/** What of an erased tenant is still on the host (empty when the erase is complete). */
export async function erasureLeftovers(h: HostState, m: TenantMeta): Promise<string[]> {
  const left: string[] = [];
  const pids = h.cgroups.pids(m.id);
  if (pids.length) left.push(`processes ${pids.join(", ")}`);
  left.push(...h.cgroups.removeAll(m.id).map((d) => `cgroup ${d}`));
  left.push(...(await tenantMounts(h, m.id)).map((mp) => `mount ${mp}`));
  for (const p of tenantPoolPaths(h, m.id))
    if (
      await fs.lstat(p).then(
        () => true,
        () => false,
      )
    )
      left.push(`path ${p}`);
  // Its subvolumes by id (a qgroup may rightly outlive them: with simple quotas a copy made from
  // the tenant keeps the extents it shares charged to the tenant's qgroup until they are freed).
  for (const subvolumeId of [m.subvolumeId, ...m.snapshots.map((s) => s.subvolumeId)]) {
    if (await h.pool.hasSubvolume(subvolumeId)) left.push(`subvolume ${subvolumeId}`);
  }
  left.push(...(await h.firewall.tenantLeftovers(m.veth, m.ip)));
  if (
    await fs.lstat(`/sys/class/net/${m.veth}`).then(
      () => true,
      () => false,
    )
  )
    left.push(`veth ${m.veth}`);
  return left;
}

export function tenantPoolPaths(h: HostState, id: string): string[] {
  return [h.pool.path("tenants", id), h.restoreAsidePath(id), h.pool.path("snapshots", id)];
}

/**
 * Host mounts of the tenant: on its ramdisk or pool paths, or of them (a bind mount elsewhere whose
 * root is in its subvolumes). BTRFS deletes a subvolume that is still mounted somewhere, and its
 * cleaner then waits for that mount for ever: the erase must refuse instead.
 */
export async function tenantMounts(h: HostState, id: string): Promise<string[]> {
  const rows = (await fs.readFile("/proc/self/mountinfo", "utf8")).split("\n").map((l) => l.split(" "));
  const poolDev = rows.find((r) => r[4] === h.pool.mountPath)?.[2];
  const under = (p: string, dir: string) => p === dir || p.startsWith(dir + "/");
  const points = [h.ramdisks.path(id), ...tenantPoolPaths(h, id)];
  const roots = tenantPoolPaths(h, id).map((p) => "/" + path.relative(h.pool.mountPath, p));
  return rows.filter((r) => points.some((p) => under(r[4] ?? "", p)) || (r[2] === poolDev && roots.some((root) => under(r[3] ?? "", root)))).map((r) => r[4]!);
}

/**
 * Deletes the connection-tracking entries to or from an address (conntrack's exit 1: there were
 * none); answers how many went. A missing `conntrack` tool fails the erase loudly rather than let
 * the entries pass to the address's next tenant.
 */
async function forgetFlows(ip: string): Promise<number> {
  let n = 0;
  for (const side of ["-s", "-d"]) {
    const r = await run("conntrack", ["-D", side, ip], { okCodes: [1] });
    n += Number(/(\d+) flow entries have been deleted/.exec(r.stderr)?.[1] ?? 0);
  }
  return n;
}

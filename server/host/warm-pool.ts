// The warm pool's privileged half: members of a template made ahead (snapshot, config, uid range,
// address, cgroup, firewall baseline, started) whose init waits for a claim. Core decides how many
// (sizes, pressure) and when; the daemon makes, claims and discards them.
//
// A member's init is `/bin/sh /ramdisk/.hoody-claim/go <template init…>`: the shell opens the FIFO
// as its script and blocks there, so nothing of the template's app runs and no customer's data
// exists yet. A claim sets the member's name, env, firewall, limits and labels, rewrites its LXC
// config as a fresh tenant's, sets its hostname, then writes `exec env -i <env> "$@"` into the FIFO:
// the waiting shell becomes the app, as PID 1, with exactly the environment a fresh start gives it.
// Started-and-waiting rather than stopped-but-prepared: lxc-start is most of a create's time, and
// this is the only way to take it out of the create. The member's uid range, address and hostname
// are its own from the start (nothing is shared between members), the FIFO's directory is removed
// at the claim, and pool bookkeeping lives only in the daemon's hoody.json (`pooled`), which the
// claim clears.
import { constants as fsc } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { LimitsSchema, NAME_RE, type CreateTenantInput, type Limits, type PoolInfo, type TenantInfo } from "../shared/protocol.js";
import { EngineError } from "../shared/errors.js";
import { parseCreateTenant } from "../shared/engine-input.js";
import { dnsLabel } from "../shared/names.js";
import { run } from "../shared/sys.js";
import { libcFunc } from "./ffi.js";
import { setHostnameOf } from "./drivers/uts.js";
import type { TenantMeta } from "./meta.js";
import { CLAIM_DIR, type HostState } from "./state.js";
import { createTenant } from "./tenants.js";
import { deleteTenant } from "./erase.js";
import { applyFirewall } from "./network.js";
import { ramdiskSizeMiB } from "./meta.js";

function claimDir(h: HostState, id: string): string {
  return path.join(h.ramdisks.path(id), CLAIM_DIR);
}

/** The member's FIFO, in its own ramdisk, owned by its root (host uid uidBase) and no one else's to open. */
async function makeClaimFifo(h: HostState, m: TenantMeta): Promise<void> {
  const dir = claimDir(h, m.id);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { mode: 0o700 });
  const fifo = path.join(dir, "go");
  const mkfifo = libcFunc<(p: string, mode: number) => number>("int mkfifo(const char *, unsigned int)");
  if (mkfifo?.(fifo, 0o600) !== 0) await run("mkfifo", ["-m", "600", fifo]);
  await fs.chown(fifo, m.uidBase, m.uidBase);
  await fs.chown(dir, m.uidBase, m.uidBase);
}

/** Makes one member of the template's pool, started and waiting. */
export async function prepareMember(h: HostState, template: string): Promise<{ id: string }> {
  const t = await createTenant(h, { template, start: true }, { beforeStart: (m) => makeClaimFifo(h, m) });
  return { id: t.id };
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What the FIFO carries: the environment LXC gives an init (container=lxc) plus the tenant's own. */
export function releaseScript(env: Record<string, string>): string {
  return `exec env -i container=lxc ${Object.entries(env)
    .map(([k, v]) => shq(`${k}=${v}`))
    .join(" ")} "$@"\n`;
}

/** Whether a member started with these limits serves a create that asks for `want` (disk is applied at the claim). */
function runLimitsMatch(a: Limits, want: Limits): boolean {
  return a.memoryMiB === want.memoryMiB && a.cpuMilli === want.cpuMilli && a.pids === want.pids;
}

/**
 * A create served from the pool: null when no ready member fits (none left, other cgroup limits or
 * KSM choice, a copy, or not to be started), and the caller makes the tenant the usual way. A claim
 * that fails midway erases its member (it may be half someone's) and also answers null.
 */
export async function claimMember(h: HostState, input: CreateTenantInput): Promise<TenantInfo | null> {
  const req = parseCreateTenant(input);
  if (req.sourceTenant || !req.start) return null;
  if (req.name !== undefined && !NAME_RE.test(req.name)) throw new EngineError("INVALID_INPUT", `invalid name ${req.name}`);
  const tpl = h.getTemplate(req.template);
  const limits = LimitsSchema.parse({ ...tpl.settings.limits, ...req.limits });
  const ksm = req.ksm ?? tpl.settings.ksm;
  // Picked and marked without an await in between: concurrent claims never take the same member.
  let m: TenantMeta | undefined;
  for (const x of h.tenants.values()) {
    if (x.pooled && x.phase === "ready" && x.template === tpl.name && !h.claiming.has(x.id) && x.ksm === ksm && runLimitsMatch(x.limits, limits) && h.cgroups.running(x.id)) {
      m = x;
      break;
    }
  }
  if (!m) return null;
  const member = m;
  h.claiming.add(member.id);
  try {
    return await h.lock.run(member.id, () => claimLocked(h, member, req, limits));
  } catch (e) {
    console.error(`hostd: claim of pool member ${member.id} failed, erasing it: ${(e as Error).message}`);
    await deleteTenant(h, member.id).catch(() => undefined);
    return null;
  } finally {
    h.claiming.delete(member.id);
  }
}

async function claimLocked(h: HostState, m: TenantMeta, req: ReturnType<typeof parseCreateTenant>, limits: Limits): Promise<TenantInfo> {
  const tpl = h.getTemplate(m.template);
  const pid = h.cgroups.pids(m.id)[0];
  if (pid === undefined || !h.tenants.has(m.id) || m.phase !== "ready") throw new EngineError("INVALID_STATE", `pool member ${m.id} is gone`);
  const prev = { firewall: m.firewall, limits: m.limits, ramdiskMiB: m.ramdiskMiB };
  const name = req.name ?? m.id;
  Object.assign(m, {
    name,
    env: { ...tpl.settings.env, TENANT_NAME: name, ...req.env },
    firewall: req.firewall ?? tpl.settings.firewall,
    limits,
    ramdiskMiB: req.ramdiskMiB ?? tpl.settings.ramdiskMiB,
    labels: req.labels,
    autostart: req.autostart,
    wantRunning: true,
    createdAt: new Date().toISOString(),
    pooled: false,
  });
  const label = dnsLabel(name);
  // Before any other step starts: a throw here leaves nothing in flight (the claim fails, the member goes).
  const named = setHostnameOf(pid, label);
  const work: Promise<unknown>[] = [h.writeLxcConfig(m)];
  if (!named) work.push(run("nsenter", ["--target", String(pid), "--uts", "--", "hostname", label]));
  if (JSON.stringify(prev.firewall) !== JSON.stringify(m.firewall)) work.push(applyFirewall(h, m));
  if (prev.limits.diskMiB !== m.limits.diskMiB) work.push(h.applyDiskLimit(m));
  if (ramdiskSizeMiB(prev) !== ramdiskSizeMiB(m)) work.push(h.ramdisks.ensure(m.id, ramdiskSizeMiB(m), m.uidBase));
  await Promise.all(work);
  // Saved as a tenant before its app starts: from here on a restart of the daemon adopts a tenant.
  await h.saveMeta(m);
  await release(h, m);
  return h.tenantInfo(m);
}

/** Hands the waiting init its script; ENXIO: nothing waits (the member's init died). */
async function release(h: HostState, m: TenantMeta): Promise<void> {
  const dir = claimDir(h, m.id);
  const fifo = path.join(dir, "go");
  // Non-blocking first: it fails at once when no reader waits, where a blocking open would hang.
  const probe = await fs.open(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
  try {
    const fh = await fs.open(fifo, fsc.O_WRONLY);
    try {
      await fh.writeFile(releaseScript(h.initEnv(m)));
    } finally {
      await fh.close();
    }
  } finally {
    await probe.close();
  }
  await fs.rm(dir, { recursive: true, force: true });
}

export function listPool(h: HostState): PoolInfo[] {
  const by = new Map<string, PoolInfo>();
  for (const m of h.tenants.values()) {
    if (!m.pooled) continue;
    const p = by.get(m.template) ?? { template: m.template, ready: 0, preparing: 0, memoryBytes: 0 };
    if (m.phase === "creating") p.preparing++;
    else if (m.phase === "ready" && !h.claiming.has(m.id) && h.cgroups.running(m.id)) {
      p.ready++;
      p.memoryBytes += h.cgroups.memoryBytes(m.id);
    }
    by.set(m.template, p);
  }
  return [...by.values()];
}

/** Erases the template's ready members beyond `keep` (and any whose init is not waiting). */
export async function discardMembers(h: HostState, template: string, keep: number): Promise<{ removed: number }> {
  let kept = 0;
  let removed = 0;
  for (const m of [...h.tenants.values()]) {
    if (!m.pooled || m.template !== template || m.phase !== "ready" || h.claiming.has(m.id)) continue;
    if (kept < keep && h.cgroups.running(m.id)) {
      kept++;
      continue;
    }
    // Marked as taken first, so no claim picks it while it goes.
    h.claiming.add(m.id);
    try {
      await deleteTenant(h, m.id);
    } finally {
      h.claiming.delete(m.id);
    }
    removed++;
  }
  return { removed };
}

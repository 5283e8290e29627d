// The delta browser: what a tenant added, modified and deleted relative to its template (or to one
// of its snapshots), and the content of one small file.
//
// How: a read-only snapshot of the tenant (an ioctl, under the tenant's lock, the only time the lock
// is held), then `btrfs send --no-data -p <base> <that snapshot>` parsed as it streams
// (drivers/send-stream.ts). The kernel builds that stream by comparing the two trees, skipping every
// block they still share, so the work follows the size of the delta, not of the tenant, and no file
// is read or hashed. `btrfs subvolume find-new` was the other candidate: it lists extents written
// since a generation, which names neither deletions nor renames, and says nothing against a
// snapshot. The listing is cached per tenant and base, keyed by the tenant subvolume's BTRFS
// generation right after the snapshot, so a second look at an idle tenant costs a commit (nothing to
// write back when it is idle) and one ioctl.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { buildChangeTree } from "./drivers/change-tree.js";
import { subvolumeGeneration } from "./drivers/btrfs.js";
import { readBeneath } from "./drivers/safe-open.js";
import { SendReplay, TooManyChanges } from "./drivers/send-stream.js";
import { type ChangesResult, type ChangeSort, type FileContent, listChanges, MAX_CONTENT_BYTES, normalizeTenantPath, type TreeNode } from "../shared/changes.js";
import { EngineError } from "../shared/errors.js";
import { runStreaming } from "../shared/sys.js";
import type { HostState } from "./state.js";

export interface ChangesInput {
  id: string;
  path: string;
  compare?: string;
  sort: ChangeSort;
  order?: "asc" | "desc";
  limit: number;
  maxAgeS: number;
}

interface Computed {
  /** Tenant subvolume id and the base's subvolume id: a restore or a rebuilt template is another listing. */
  subvolumeId: number;
  baseId: number;
  generation: number;
  at: number;
  computeMs: number;
  tree: TreeNode;
}

interface Job {
  abort: AbortController;
  /** Settles once the computation ended and its snapshot is gone. */
  done: Promise<void>;
}

/** Temporary snapshots are named so that adoption and erasure recognise them. */
export const CHANGES_SNAPSHOT_PREFIX = ".changes-";
/** Listings kept (the last ones looked at): a 100,000-entry tree is tens of MB. */
const CACHE_ENTRIES = 8;
/** Computations at once; more wait (each is a kernel tree walk and a stream to parse). */
const MAX_RUNNING = 2;
const SEND_TIMEOUT_MS = 10 * 60_000;

/** Per daemon state of this concern (the module's own, so HostState stays what every concern shares). */
class ChangesState {
  cache = new Map<string, Computed>();
  inflight = new Map<string, Promise<Computed>>();
  jobs = new Map<string, Set<Job>>();
  running = 0;
  waiting: (() => void)[] = [];
}
const states = new WeakMap<HostState, ChangesState>();
function stateOf(h: HostState): ChangesState {
  const s = states.get(h) ?? new ChangesState();
  states.set(h, s);
  return s;
}

export async function tenantChanges(h: HostState, input: ChangesInput): Promise<ChangesResult> {
  const path = normalizeTenantPath(input.path);
  if (path === null) throw new EngineError("PATH_REFUSED", "not a path inside the tenant");
  const m = h.getTenant(input.id);
  const base = baseOf(h, input.id, input.compare);
  const s = stateOf(h);
  const key = `${input.id}\0${input.compare ?? ""}`;
  const live = h.pool.path("tenants", input.id);
  const cached = s.cache.get(key);
  const fresh = async (c: Computed | undefined) => {
    if (!c || c.subvolumeId !== m.subvolumeId || c.baseId !== base.subvolumeId) return false;
    if (Date.now() - c.at <= input.maxAgeS * 1000) return true;
    // The generation moves at a commit: writes not committed yet would not show without one.
    await h.pool.commit();
    return c.generation === subvolumeGeneration(live);
  };
  let computed = (await fresh(cached)) ? cached! : null;
  const hit = computed !== null;
  if (!computed) {
    let p = s.inflight.get(key);
    if (!p) {
      p = compute(h, input.id, input.compare).finally(() => s.inflight.delete(key));
      s.inflight.set(key, p);
    }
    computed = await p;
    s.cache.delete(key);
    s.cache.set(key, computed);
    while (s.cache.size > CACHE_ENTRIES) s.cache.delete(s.cache.keys().next().value!);
  }
  return {
    base: { kind: input.compare ? "snapshot" : "template", name: input.compare ?? m.template },
    generation: computed.generation,
    computedAt: new Date(computed.at).toISOString(),
    computeMs: hit ? 0 : computed.computeMs,
    cached: hit,
    ...listChanges(computed.tree, path, input.sort, input.order, input.limit),
  };
}

function baseOf(h: HostState, id: string, compare: string | undefined): { path: string; subvolumeId: number } {
  const m = h.getTenant(id);
  if (compare) {
    const snap = m.snapshots.find((x) => x.name === compare);
    if (!snap) throw new EngineError("SNAPSHOT_NOT_FOUND", `snapshot ${compare} not found`);
    return { path: h.pool.path("snapshots", id, compare), subvolumeId: snap.subvolumeId };
  }
  const t = h.getTemplate(m.template);
  return { path: h.pool.path("templates", t.name), subvolumeId: t.subvolumeId };
}

async function compute(h: HostState, id: string, compare: string | undefined): Promise<Computed> {
  const s = stateOf(h);
  await slot(s);
  const job: Job = { abort: new AbortController(), done: Promise.resolve() };
  let finished!: () => void;
  job.done = new Promise<void>((r) => {
    finished = r;
  });
  const snap = h.pool.path("snapshots", id, `${CHANGES_SNAPSHOT_PREFIX}${randomBytes(6).toString("hex")}`);
  let made = false;
  try {
    const started = Date.now();
    // The lock only for the snapshot: an erase or snapshot delete that comes later aborts this job
    // (abortChanges) before it touches what the job reads.
    const taken = await h.lock.run(id, async () => {
      const m = h.getTenant(id);
      const base = baseOf(h, id, compare);
      await fs.mkdir(h.pool.path("snapshots", id), { recursive: true, mode: 0o700 });
      await h.pool.snapshot(h.pool.path("tenants", id), snap, true);
      made = true;
      const generation = subvolumeGeneration(h.pool.path("tenants", id)) ?? 0;
      const set = s.jobs.get(id) ?? new Set<Job>();
      s.jobs.set(id, set);
      set.add(job);
      return { subvolumeId: m.subvolumeId, base, generation };
    });
    const tree = await diffTree(taken.base.path, snap, job.abort.signal);
    if (job.abort.signal.aborted) throw new EngineError("TENANT_NOT_FOUND", `tenant ${id} changed while its changes were listed: try again`);
    return { subvolumeId: taken.subvolumeId, baseId: taken.base.subvolumeId, generation: taken.generation, at: Date.now(), computeMs: Date.now() - started, tree };
  } finally {
    // The snapshot pins the tenant's blocks (and holds its data): it is gone before the answer, so
    // nothing of a listing outlives the call.
    if (made) await h.pool.deleteSubvolume(snap).catch((e) => console.error(`hostd: cannot remove ${snap}: ${(e as Error).message}`));
    s.jobs.get(id)?.delete(job);
    if (!s.jobs.get(id)?.size) s.jobs.delete(id);
    finished();
    release(s);
  }
}

/**
 * The change tree of the read-only snapshot `snap` against `base` (a template or a snapshot of the
 * same lineage): the kernel's `btrfs send --no-data` diff, replayed as it streams. Also what the
 * Art. 20 export (backup/export.ts) takes a tenant's own files from.
 */
export async function diffTree(base: string, snap: string, signal?: AbortSignal): Promise<TreeNode> {
  const replay = new SendReplay();
  try {
    await runStreaming("btrfs", ["send", "--no-data", "-q", "-p", base, snap], (chunk) => replay.push(chunk), { signal, timeoutMs: SEND_TIMEOUT_MS });
  } catch (e) {
    // The listing is bounded: past the cap the stream is cut (the send is killed), not held.
    if (e instanceof TooManyChanges) throw new EngineError("INVALID_STATE", `the tenant changed ${e.message} relative to its base: too many to list`);
    throw e;
  }
  replay.finish();
  return buildChangeTree(replay, snap, base);
}

async function slot(s: ChangesState): Promise<void> {
  if (s.running < MAX_RUNNING) {
    s.running++;
    return;
  }
  await new Promise<void>((r) => s.waiting.push(r));
}

function release(s: ChangesState): void {
  const next = s.waiting.shift();
  if (next) next();
  else s.running--;
}

/**
 * Stops every listing of the tenant in flight and waits until their snapshots are gone; drops its
 * cached listings (file names are the tenant's data). Callers hold the tenant's lock: an erase, a
 * snapshot delete (a send must not hold the snapshot it compares with).
 */
export async function abortChanges(h: HostState, id: string): Promise<void> {
  const s = stateOf(h);
  const jobs = [...(s.jobs.get(id) ?? [])];
  for (const j of jobs) j.abort.abort();
  await Promise.all(jobs.map((j) => j.done));
  for (const key of [...s.cache.keys()]) if (key.startsWith(`${id}\0`)) s.cache.delete(key);
}

/** Temporary snapshots a daemon that died mid-listing left behind. */
export async function removeStaleChangeSnapshots(h: HostState, id: string): Promise<void> {
  const dir = h.pool.path("snapshots", id);
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (f.startsWith(CHANGES_SNAPSHOT_PREFIX)) await h.pool.deleteSubvolume(`${dir}/${f}`);
  }
}

/** A small file of the tenant as it is now, read beneath its root with no symlink followed. */
export function readTenantFile(h: HostState, id: string, p: string): FileContent {
  h.getTenant(id);
  const path = normalizeTenantPath(p);
  if (path === null || path === "/") throw new EngineError("PATH_REFUSED", "not a file path inside the tenant");
  const { size, data } = readBeneath(h.pool.path("tenants", id), path, MAX_CONTENT_BYTES);
  return { path, size, base64: data ? data.toString("base64") : null };
}

// What the box has left: tenants (each holds a uid range and an address), memory for more running
// ones, pool bytes, and the warm pool's share. One stats read of the host (no per-tenant scan) plus
// the containers table's counts.
import { count, type Actor, type CoreContext } from "./context";
import * as t from "../db/schema";
import { eq } from "drizzle-orm";
import { viaEngine } from "./errors";
import type { WarmPoolService, WarmPoolView } from "./warm-pool";

export interface CapacityView {
  tenants: { count: number; running: number /** More tenants the uid ranges and addresses allow. */; more: number | null };
  uid_ranges: { total: number; used: number; free: number } | null;
  addresses: { total: number; used: number; free: number } | null;
  memory: {
    total_bytes: number;
    available_bytes: number;
    /** Mean memory of a running tenant now (its cgroup), null with none running. */
    per_running_bytes: number | null;
    /** How many more could run at that mean, from what is available. */
    more_running: number | null;
  };
  pool: { size_bytes: number; used_bytes: number; free_bytes: number };
  warm_pool: WarmPoolView[];
}

export class CapacityService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly warmPool: WarmPoolService,
  ) {}

  async get(actor: Actor): Promise<CapacityView> {
    this.ctx.requireAdmin(actor);
    const [{ host, tenants }, warm] = await viaEngine(Promise.all([this.ctx.engine.stats(), this.warmPool.list()]));
    const c = host.capacity;
    const left = (x: { total: number; used: number } | undefined) => (x ? { total: x.total, used: x.used, free: Math.max(0, x.total - x.used) } : null);
    const uid = left(c?.uidRanges);
    const addr = left(c?.addresses);
    // The running tenants' own memory (their cgroups), not the host's: the host's use includes the control plane, caches and everything else.
    const up = tenants.filter((x) => x.running);
    const per = up.length ? Math.round(up.reduce((sum, x) => sum + x.memoryBytes, 0) / up.length) : null;
    return {
      tenants: {
        count: count(this.ctx.db, t.containers),
        running: count(this.ctx.db, t.containers, eq(t.containers.status, "running")),
        more: uid && addr ? Math.min(uid.free, addr.free) : null,
      },
      uid_ranges: uid,
      addresses: addr,
      memory: { total_bytes: host.memory.totalBytes, available_bytes: host.memory.availableBytes, per_running_bytes: per, more_running: per ? Math.floor(host.memory.availableBytes / per) : null },
      pool: { size_bytes: host.pool.sizeBytes, used_bytes: host.pool.usedBytes, free_bytes: Math.max(0, host.pool.sizeBytes - host.pool.usedBytes) },
      warm_pool: warm,
    };
  }
}

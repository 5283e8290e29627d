// Dedup under Incus: its storage pools can be BTRFS too, and FIDEDUPERANGE works on them the same
// way, but deduplicating needs root on the machine that holds the pool (an open file on each
// member's /var/lib/incus/storage-pools/<pool>), which the Incus API does not give a client. So the
// engine reports what it found and refuses to start; an operator runs duperemove on each member
// (see README, "Dedup").
import { EngineError } from "../../shared/errors";
import type { DedupStatus } from "../../shared/protocol";
import type { EngineDedup } from "../types";
import type { IncusContext } from "./context";

export function incusDedup(cx: IncusContext): EngineDedup {
  const reason = async () => {
    const pool = await cx.client.get<{ driver?: string }>(`/1.0/storage-pools/${cx.config.pool}`).catch(() => null);
    const driver = pool?.driver ?? "unknown";
    return driver === "btrfs"
      ? `the Incus pool ${cx.config.pool} is BTRFS, but dedup needs root on each member that holds it; run duperemove there (README, Dedup)`
      : `the Incus pool ${cx.config.pool} uses the ${driver} driver: FIDEDUPERANGE dedup needs BTRFS (or XFS)`;
  };
  return {
    async start() {
      throw new EngineError("INVALID_STATE", `dedup cannot run under the Incus engine: ${await reason()}`);
    },
    async status(): Promise<DedupStatus> {
      return { available: false, reason: await reason(), running: null, runs: [], totalSavedBytes: 0, accounting: null };
    },
  };
}

// Runs once when the Next.js server starts: open the control plane and reconcile the database
// with the engine before serving, then sweep expired snapshots periodically.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getCore } = await import("./server/core/instance");
  const { webConfig } = await import("./server/config");
  const core = getCore();
  try {
    const report = await core.reconciler.reconcile();
    console.log(`[core] reconciled: ${JSON.stringify(report)}`);
  } catch (e) {
    console.error(`[core] reconcile at start failed (engine unreachable?): ${(e as Error).message}`);
  }
  setInterval(() => void core.snapshots.expire().catch(() => undefined), 60_000).unref();
  // Grace-period erasures (e.g. a cancelled subscription) run when they are due.
  setInterval(() => void core.erasure.eraseDue().catch(() => undefined), webConfig().eraseSweepMs).unref();
  // Scheduled backups with their retention (server/core/backups.ts); a failed one is audited and logged.
  setInterval(() => void core.backups.runDue().catch(() => undefined), webConfig().backupSweepMs).unref();
  // Dedup of what tenants write alike, at idle priority, each run bounded (0 minutes: on demand only).
  const { dedupIntervalMin, dedupDeadlineS } = webConfig();
  if (dedupIntervalMin > 0) setInterval(() => void core.dedup.scheduled(dedupDeadlineS).catch(() => undefined), dedupIntervalMin * 60_000).unref();
  // Stats history for the dashboard's charts (persisted, server/core/stats-history.ts) and the
  // figures /metrics serves: one stats read for all tenants per interval.
  void core.stats.sample().catch(() => undefined);
  // Warm pool: members made ahead while no create runs (this process only; the router makes none).
  core.warmPool.start(webConfig().warmPoolTickMs);
  setInterval(() => void core.stats.sample().catch(() => undefined), webConfig().statsSampleMs).unref();
}

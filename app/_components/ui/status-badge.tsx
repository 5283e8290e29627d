export const STATUSES = ["creating", "claiming", "running", "paused", "stopped", "failed", "deleting"] as const;
export type Status = (typeof STATUSES)[number];

const BADGE: Record<string, string> = {
  running: "bg-green-50 text-green-800 ring-green-600/30",
  paused: "bg-sky-50 text-sky-800 ring-sky-600/30",
  stopped: "bg-neutral-100 text-neutral-700 ring-neutral-500/30",
  failed: "bg-red-50 text-red-800 ring-red-600/30",
  creating: "bg-amber-50 text-amber-800 ring-amber-600/30",
  claiming: "bg-amber-50 text-amber-800 ring-amber-600/30",
  deleting: "bg-amber-50 text-amber-800 ring-amber-600/30",
};
const DOT: Record<string, string> = {
  running: "bg-green-600",
  paused: "bg-sky-500",
  stopped: "bg-neutral-400",
  failed: "bg-red-600",
  creating: "bg-amber-500",
  claiming: "bg-amber-500",
  deleting: "bg-amber-500",
};

/** A suspended tenant (stopped by an operator, the API or billing) is not woken by requests: it says so. */
export function StatusBadge({ status, suspended = false }: { status: string; suspended?: boolean }) {
  const shown = suspended && status === "stopped" ? "suspended" : status;
  return (
    <span
      data-testid="status-badge"
      data-status={status}
      title={shown === "suspended" ? "Stopped and not woken by requests until started" : shown === "paused" ? "Frozen in place: requests get 503 until resumed" : undefined}
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${BADGE[status] ?? BADGE.stopped}`}
    >
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${DOT[status] ?? DOT.stopped}`} />
      {shown}
    </span>
  );
}

const PILL: Record<string, string> = {
  good: "bg-green-50 text-green-800 ring-green-600/30",
  bad: "bg-red-50 text-red-800 ring-red-600/30",
  neutral: "bg-neutral-100 text-neutral-700 ring-neutral-500/30",
};

/** A small word in a coloured pill: a result ("ok"/"error"), a firewall action, on/off. */
export function Pill({ tone, children }: { tone: keyof typeof PILL; children: React.ReactNode }) {
  return <span className={`inline-flex rounded px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset ${PILL[tone]}`}>{children}</span>;
}

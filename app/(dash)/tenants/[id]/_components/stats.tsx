"use client";
// Stats cards (from containers.get, refreshed by the page every 5 s) and a small history chart.
import { type ReactNode, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Button, Card, ErrorText, When } from "~/app/_components/ui";
import { bytes, cpuSeconds, fmtDate } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";
import type { Container } from "../../_components/types";

function Stat({ label, children, testId, hint, raw }: { label: string; children: ReactNode; testId?: string; hint?: string; raw?: number }) {
  return (
    <div className="rounded-lg border border-neutral-200 bg-white p-3 shadow-sm">
      <dt className="text-xs font-medium text-neutral-500">{label}</dt>
      <dd className="mt-1 text-lg font-semibold tabular-nums text-neutral-900" data-testid={testId} data-bytes={raw} title={hint}>
        {children}
      </dd>
    </div>
  );
}

export function StatsCards({ c }: { c: Container }) {
  const s = c.stats;
  return (
    <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7" aria-label="Tenant stats (refresh every 5 seconds)">
      <Stat label="Delta disk" testId="stat-delta" raw={s?.delta_disk_bytes} hint="Bytes this tenant wrote on top of its template (copy-on-write)">
        {bytes(s?.delta_disk_bytes)}
      </Stat>
      <Stat label="Snapshots" testId="stat-snapshots" raw={s?.snapshots_bytes} hint={`${c.snapshot_count} snapshot(s), bytes exclusive to them`}>
        {bytes(s?.snapshots_bytes)}
      </Stat>
      <Stat label="KSM saved" testId="stat-ksm" raw={s?.ksm_saved_bytes} hint="Memory shared with identical pages of other tenants">
        {bytes(s?.ksm_saved_bytes)}
      </Stat>
      <Stat label="Memory" testId="stat-memory" raw={s?.memory_bytes}>
        {bytes(s?.memory_bytes)}
      </Stat>
      <Stat label="CPU" testId="stat-cpu" hint="CPU time used since start">
        {cpuSeconds(s?.cpu_usage_ns)}
      </Stat>
      <Stat label="Requests" testId="stat-requests">
        {c.requests_total.toLocaleString()}
      </Stat>
      <Stat label="Last request" testId="stat-last-request">
        <When at={c.last_request_at} />
      </Stat>
    </dl>
  );
}

const RANGES = [
  { value: "1h", label: "1 hour", refetchMs: 15_000, tick: (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) },
  { value: "1d", label: "1 day", refetchMs: 60_000, tick: (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) },
  { value: "30d", label: "30 days", refetchMs: 300_000, tick: (iso: string) => new Date(iso).toLocaleDateString([], { month: "short", day: "numeric" }) },
] as const;

/** The server's persisted history (15 s samples for a day, 5-minute ones for a month): it survives restarts of the web server. */
export function HistoryChart({ id }: { id: string }) {
  const [rangeValue, setRange] = useState<(typeof RANGES)[number]["value"]>("1h");
  const range = RANGES.find((r) => r.value === rangeValue)!;
  const history = api.containers.statsHistory.useQuery({ id, range: range.value }, { refetchInterval: range.refetchMs });
  const data = history.data ?? [];
  const picker = (
    <div className="flex items-center gap-1" role="group" aria-label="History range">
      {RANGES.map((r) => (
        <Button key={r.value} variant={r.value === range.value ? "primary" : "secondary"} className="!px-2 !py-0.5 text-xs" aria-pressed={r.value === range.value} onClick={() => setRange(r.value)}>
          {r.label}
        </Button>
      ))}
    </div>
  );
  return (
    <Card title="History" actions={picker}>
      {history.isError ? (
        <ErrorText error={`Could not load the history: ${history.error.message}`} />
      ) : data.length < 2 ? (
        <p className="flex h-[160px] items-center justify-center text-sm text-neutral-500">
          {history.isPending ? "Loading…" : `Not enough history for the last ${range.label} yet — the chart needs two points (the server samples a running tenant every 15 s).`}
        </p>
      ) : (
        <div className="h-[160px] w-full" role="img" aria-label={`History of delta disk, memory and KSM saved over the last ${range.label} (${data.length} points)`}>
          <ResponsiveContainer width="100%" height={160}>
            <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid stroke="#e5e5e5" strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="at" tickFormatter={range.tick} tick={{ fontSize: 11, fill: "#737373" }} minTickGap={40} />
              <YAxis tickFormatter={(v: number) => bytes(v)} tick={{ fontSize: 11, fill: "#737373" }} width={76} />
              <Tooltip formatter={(v) => bytes(Number(v))} labelFormatter={(l) => (typeof l === "string" ? fmtDate(l) : String(l))} contentStyle={{ fontSize: 12 }} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Line type="monotone" dataKey="delta" name="Delta disk" stroke="#2563eb" strokeWidth={2} dot={false} isAnimationActive={false} />
              <Line type="monotone" dataKey="memory" name="Memory" stroke="#16a34a" strokeWidth={2} dot={false} isAnimationActive={false} />
              <Line type="monotone" dataKey="ksm" name="KSM saved" stroke="#d97706" strokeWidth={2} dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}

"use client";
// Overview: host-wide gauges (pool, deltas vs full copies, KSM, dedup, memory, tenant counts) and the
// tenants with the largest deltas and their bytes after sharing. Refreshes every 5 seconds.
import Link from "next/link";
import type { ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Alert, btn, Button, Card, EmptyState, HeadRow, Loading, linkCls, Table, tdCls } from "~/app/_components/ui";
import { errorCode, errorText } from "~/app/_lib/errors";
import { bytes } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";
import { CapacityCard } from "./capacity-card";
import { DedupCard, DedupTable } from "./_components/dedup";

function pct(part: number, whole: number): number {
  if (!Number.isFinite(part) || !Number.isFinite(whole) || whole <= 0) return 0;
  return Math.min(100, Math.max(0, (part / whole) * 100));
}

function overviewError(err: unknown): string {
  const text = errorText(err);
  if (errorCode(err) === "ENGINE_UNAVAILABLE" || /unreachable|not reachable/i.test(text)) return "The host daemon is not reachable — is `npm run up` running?";
  return text;
}

function Gauge({ label, value, max }: { label: string; value: number; max: number }) {
  const p = pct(value, max);
  const color = p >= 90 ? "bg-red-600" : p >= 75 ? "bg-amber-500" : "bg-blue-600";
  return (
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(p)}
      aria-valuetext={`${bytes(value)} of ${bytes(max)} (${p.toFixed(0)}%)`}
      className="h-2.5 w-full overflow-hidden rounded-full bg-neutral-100"
    >
      <div className={`h-full rounded-full ${color}`} style={{ width: `${p}%` }} />
    </div>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex flex-col">
      <dt className="text-xs text-neutral-500">{term}</dt>
      <dd className="font-medium">{children}</dd>
    </div>
  );
}

export default function OverviewPage() {
  const q = api.host.overview.useQuery(undefined, { refetchInterval: 5_000 });

  if (q.data === undefined && !q.isError) {
    return (
      <div>
        <h1 className="text-xl font-semibold">Overview</h1>
        <Loading className="mt-4">Loading host numbers…</Loading>
      </div>
    );
  }

  if (q.data === undefined) {
    return (
      <div>
        <h1 className="text-xl font-semibold">Overview</h1>
        <Alert className="mt-4">
          <p>{overviewError(q.error)}</p>
          <Button className="mt-3" onClick={() => void q.refetch()}>
            Try again
          </Button>
        </Alert>
      </div>
    );
  }

  const o = q.data;
  const pool = o.host.pool;
  const mem = o.host.memory;
  const memUsed = Math.max(0, mem.totalBytes - mem.availableBytes);
  const saved = Math.max(0, o.disk.full_copies_bytes - o.disk.tenant_deltas_bytes);
  const stopped = Math.max(0, o.tenants.total - o.tenants.running);
  const chartData = o.largest_deltas.map((d) => ({ name: d.name, delta_bytes: d.delta_bytes }));

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-xl font-semibold">Overview</h1>
        <p className="text-xs text-neutral-500">
          Host daemon {o.info.version} · refreshed every 5 s{q.isFetching ? " · updating…" : ""}
          {" · "}
          <Link href="/settings" className={linkCls}>
            Operator settings
          </Link>
        </p>
      </div>
      {q.isError && <Alert tone="warning">Showing the last numbers: {overviewError(q.error)}</Alert>}

      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        <Card title="Storage pool">
          <p className="text-2xl font-semibold">{bytes(pool.usedBytes)}</p>
          <p className="mb-2 text-sm text-neutral-600">
            used of {bytes(pool.sizeBytes)} ({pct(pool.usedBytes, pool.sizeBytes).toFixed(0)}%)
          </p>
          <Gauge label="Storage pool used" value={pool.usedBytes} max={pool.sizeBytes} />
          <p className="mt-2 text-xs text-neutral-500">{bytes(Math.max(0, pool.sizeBytes - pool.usedBytes))} free</p>
        </Card>

        <Card title="Disk: tenant deltas vs full copies">
          <dl className="grid grid-cols-2 gap-2 text-sm">
            <Fact term="Tenant deltas">{bytes(o.disk.tenant_deltas_bytes)}</Fact>
            <Fact term="As full copies">{bytes(o.disk.full_copies_bytes)}</Fact>
          </dl>
          <p className="mt-3 text-sm">
            <span className="rounded bg-green-50 px-2 py-0.5 font-medium text-green-800">saved {bytes(saved)}</span>
          </p>
          <p className="mt-2 text-xs text-neutral-500">Snapshots hold {bytes(o.disk.snapshots_bytes)}.</p>
        </Card>

        <Card title="KSM memory saved">
          <dl className="grid grid-cols-2 gap-2 text-sm">
            <Fact term="Host-wide">{bytes(o.host.ksm.savedBytes)}</Fact>
            <Fact term="Sum over tenants">{bytes(o.ksm_saved_bytes)}</Fact>
          </dl>
          <p className="mt-3 text-xs text-neutral-500">
            KSM is {o.host.ksm.run ? "running" : "not running"}
            {o.info.ksm.available ? "" : " (not available on this kernel)"} · {o.host.ksm.pagesSharing.toLocaleString()} pages sharing
          </p>
        </Card>

        <DedupCard />

        <Card title="Memory">
          <p className="text-2xl font-semibold">{bytes(memUsed)}</p>
          <p className="mb-2 text-sm text-neutral-600">
            used of {bytes(mem.totalBytes)} ({pct(memUsed, mem.totalBytes).toFixed(0)}%)
          </p>
          <Gauge label="Memory used" value={memUsed} max={mem.totalBytes} />
          <p className="mt-2 text-xs text-neutral-500">{bytes(mem.availableBytes)} available</p>
        </Card>

        <Card title="Tenants">
          <dl className="grid grid-cols-3 gap-2 text-sm">
            <Fact term="Running">
              <span className="text-2xl font-semibold text-green-700">{o.tenants.running}</span>
              {o.tenants.paused > 0 && <span className="block text-xs text-sky-700">{o.tenants.paused} paused</span>}
            </Fact>
            <Fact term="Stopped">
              <span className="text-2xl font-semibold text-neutral-700">{stopped}</span>
            </Fact>
            <Fact term="Total">
              <span className="text-2xl font-semibold">{o.tenants.total}</span>
            </Fact>
          </dl>
          <p className="mt-3 text-xs">
            <Link href="/tenants" className={linkCls}>
              All tenants
            </Link>
          </p>
        </Card>

        <CapacityCard />

        <Card title="Host facts">
          <dl className="grid grid-cols-2 gap-x-4 gap-y-2 text-sm">
            <Fact term="Quota mode">{o.host.pool.quotaMode}</Fact>
            <Fact term="cgroup layout">{o.info.cgroup}</Fact>
            <Fact term="LXC">{o.info.lxcVersion}</Fact>
            <Fact term="btrfs">{o.info.btrfsVersion}</Fact>
            <Fact term="Subnet">{o.info.subnet}</Fact>
            <Fact term="Outbound NAT">{o.info.outboundNat ? "on" : "off"}</Fact>
          </dl>
        </Card>
      </div>

      {o.tenants.total === 0 ? (
        <EmptyState
          title="No tenants yet"
          action={
            <Link href="/tenants/new" className={btn.primary}>
              Create a tenant
            </Link>
          }
        >
          Create the first one from a template; it shares the template&apos;s files and only stores its own changes.
        </EmptyState>
      ) : (
        <Card title="Largest tenant deltas">
          <div className="w-full" style={{ height: Math.max(120, chartData.length * 36 + 40) }}>
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={chartData} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 8 }}>
                <CartesianGrid strokeDasharray="3 3" horizontal={false} stroke="#e5e5e5" />
                <XAxis type="number" dataKey="delta_bytes" tickFormatter={(v: number) => bytes(v)} tick={{ fontSize: 12 }} />
                <YAxis type="category" dataKey="name" width={130} tick={{ fontSize: 12 }} interval={0} tickFormatter={(v: string) => (v.length > 18 ? `${v.slice(0, 17)}…` : v)} />
                <Tooltip formatter={(v) => [bytes(typeof v === "number" ? v : Number(v)), "Delta"]} cursor={{ fill: "#f5f5f5" }} />
                <Bar dataKey="delta_bytes" name="Delta" fill="#2563eb" radius={[0, 3, 3, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          {/* The same numbers as text, for screen readers and copy-paste. */}
          <details className="mt-3 text-sm">
            <summary className="cursor-pointer text-neutral-600">Show as a table</summary>
            <Table boxClassName="mt-2">
              <HeadRow cols={["Tenant", "Delta"]} />
              <tbody className="divide-y divide-neutral-100">
                {o.largest_deltas.map((d) => (
                  <tr key={d.id}>
                    <td className={tdCls}>
                      <Link href={`/tenants/${d.id}`} className={linkCls}>
                        {d.name}
                      </Link>
                    </td>
                    <td className={`${tdCls} tabular-nums`}>{bytes(d.delta_bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          </details>
        </Card>
      )}
      <DedupTable />
    </div>
  );
}

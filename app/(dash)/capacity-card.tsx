"use client";
// What the box has left (GET /api/v1/capacity): more tenants (uid ranges and addresses), more
// running ones at today's mean memory, pool bytes, and what the warm pools hold.
import { Card } from "~/app/_components/ui";
import { bytes } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";

const n = (x: number | null | undefined) => (x === null || x === undefined ? "—" : x.toLocaleString("en"));

export function CapacityCard() {
  const q = api.host.capacity.useQuery(undefined, { refetchInterval: 15_000 });
  const c = q.data;
  const warm = c?.warm_pool.filter((w) => w.size > 0 || w.ready > 0) ?? [];
  return (
    <Card title="Capacity left">
      {!c ? (
        <p className="text-sm text-neutral-500">{q.isError ? "Capacity unavailable." : "Loading…"}</p>
      ) : (
        <dl className="grid grid-cols-2 gap-2 text-sm" data-testid="capacity">
          <div>
            <dt className="text-xs text-neutral-500">More tenants</dt>
            <dd className="font-medium">{n(c.tenants.more)}</dd>
          </div>
          <div>
            <dt className="text-xs text-neutral-500">uid ranges free</dt>
            <dd className="font-medium">{c.uid_ranges ? `${n(c.uid_ranges.free)} of ${n(c.uid_ranges.total)}` : "—"}</dd>
          </div>
          <div>
            <dt className="text-xs text-neutral-500">Addresses free</dt>
            <dd className="font-medium">{c.addresses ? `${n(c.addresses.free)} of ${n(c.addresses.total)}` : "—"}</dd>
          </div>
          <div>
            <dt className="text-xs text-neutral-500">More running (at {c.memory.per_running_bytes ? bytes(c.memory.per_running_bytes) : "—"} each)</dt>
            <dd className="font-medium">{n(c.memory.more_running)}</dd>
          </div>
          <div>
            <dt className="text-xs text-neutral-500">Pool free</dt>
            <dd className="font-medium">{bytes(c.pool.free_bytes)}</dd>
          </div>
          <div>
            <dt className="text-xs text-neutral-500">Warm pools</dt>
            <dd className="font-medium">{warm.length ? warm.map((w) => `${w.template} ${w.ready}/${w.size} (${bytes(w.memory_bytes)})`).join(", ") : "off"}</dd>
          </div>
        </dl>
      )}
    </Card>
  );
}

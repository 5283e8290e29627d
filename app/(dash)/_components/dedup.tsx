"use client";
// The overview's dedup figures: what the last runs gave back, what sharing saves pool-wide, a button
// to run now, and per tenant the honest split of its bytes after sharing (what its qgroup counts,
// what it references, what it shares, what erasing it would free at least).
import Link from "next/link";
import { Button, Card, ErrorText, HeadRow, linkCls, Notice, Table, tdCls, When } from "~/app/_components/ui";
import { bytes } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";

function useDedup() {
  const utils = api.useUtils();
  const q = api.dedup.status.useQuery(undefined, { refetchInterval: (query) => (query.state.data?.running ? 2_000 : 15_000) });
  const run = api.dedup.run.useMutation({ onSettled: () => void utils.dedup.status.invalidate() });
  return { q, run };
}

export function DedupCard() {
  const { q, run } = useDedup();
  const s = q.data;
  const last = s?.runs.find((r) => r.state !== "running");
  const a = s?.accounting;
  return (
    <Card
      title="Disk dedup"
      actions={
        <Button busy={run.isPending || !!s?.running} disabled={!s?.available} onClick={() => run.mutate({})} aria-label="Run dedup now">
          {s?.running ? "Running…" : "Run dedup now"}
        </Button>
      }
    >
      {q.isError && <ErrorText error={q.error} />}
      {run.isError && <ErrorText error={run.error} />}
      {s && !s.available && <Notice>Not available here: {s.reason}</Notice>}
      {s && (
        <>
          <dl className="grid grid-cols-2 gap-2 text-sm">
            <div className="flex flex-col">
              <dt className="text-xs text-neutral-500">Saved by dedup</dt>
              <dd className="font-medium">{bytes(s.total_saved_bytes)}</dd>
            </div>
            <div className="flex flex-col">
              <dt className="text-xs text-neutral-500">All sharing saves</dt>
              <dd className="font-medium">{a ? bytes(a.shared_saved_bytes) : "—"}</dd>
            </div>
          </dl>
          <p className="mt-3 text-xs text-neutral-500">
            {s.running ? (
              <>
                Run {s.running.id} started <When at={s.running.started_at} /> (at most {s.running.deadline_s} s, idle I/O priority)
              </>
            ) : last ? (
              <>
                Last run <When at={last.finished_at} />: {last.state}
                {last.saved_bytes !== null ? `, gave back ${bytes(Math.max(0, last.saved_bytes))}` : ""}
              </>
            ) : (
              "No run yet."
            )}
          </p>
          {a && a.orphan_qgroup_bytes > 0 && (
            <p className="mt-1 text-xs text-neutral-500">
              {bytes(a.orphan_qgroup_bytes)} stay charged to quota groups of deleted subvolumes (erased tenants, filesystems a restore replaced, template builds) while others still share those
              extents.
            </p>
          )}
        </>
      )}
    </Card>
  );
}

export function DedupTable() {
  const { q } = useDedup();
  const a = q.data?.accounting;
  if (!a || a.containers.length === 0) return null;
  const rows = [...a.containers].sort((x, y) => y.shared_bytes - x.shared_bytes).slice(0, 20);
  return (
    <Card title="Tenant bytes after sharing">
      <p className="mb-2 text-xs text-neutral-500">
        Measured <When at={a.measured_at} /> with btrfs filesystem du. A quota group counts the extents its tenant wrote first, also once others share them; &ldquo;erase frees&rdquo; is what only the
        tenant&apos;s live files reference (extents it shares only with its own snapshots come on top).
      </p>
      <Table>
        <HeadRow cols={["Tenant", "Quota group counts", "References", "Shared", "Erase frees at least"]} />
        <tbody className="divide-y divide-neutral-100">
          {rows.map((c) => (
            <tr key={c.container_id}>
              <td className={tdCls}>
                <Link href={`/tenants/${c.container_id}`} className={linkCls}>
                  {c.name}
                </Link>
              </td>
              <td className={`${tdCls} tabular-nums`}>{bytes(c.qgroup_bytes)}</td>
              <td className={`${tdCls} tabular-nums`}>{bytes(c.referenced_bytes)}</td>
              <td className={`${tdCls} tabular-nums`}>{bytes(c.shared_bytes)}</td>
              <td className={`${tdCls} tabular-nums`}>{bytes(c.exclusive_bytes)}</td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}

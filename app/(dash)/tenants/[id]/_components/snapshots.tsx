"use client";
// Snapshots: list, create (optional alias / expiry), restore (confirmed in a dialog), delete.
import { useState } from "react";
import { Button, Card, ConfirmDialog, ErrorBox, Field, HeadRow, Input, Loading, Notice, RestoreDeleteActions, Table, tdCls, When } from "~/app/_components/ui";
import { bytes, fmtDate } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";
import { isSnapshotAlias } from "~/server/shared/api-rules";
import type { Container, Snapshot } from "../../_components/types";

export function SnapshotsSection({ c }: { c: Container }) {
  const utils = api.useUtils();
  const snaps = api.containers.snapshots.useQuery({ id: c.id }, { refetchInterval: 30_000 });
  const [alias, setAlias] = useState("");
  const [expiry, setExpiry] = useState("");
  const [restoring, setRestoring] = useState<Snapshot | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const refresh = async () => {
    await Promise.all([utils.containers.snapshots.invalidate({ id: c.id }), utils.containers.get.invalidate({ id: c.id }), utils.audit.list.invalidate()]);
  };
  const create = api.containers.createSnapshot.useMutation({
    onMutate: () => setNotice(null),
    onSuccess: async (s) => {
      setAlias("");
      setExpiry("");
      setNotice(`Snapshot ${s.snapshot.name} created${s.replaced.length ? ` (replaced ${s.replaced.join(", ")}, which had the same alias)` : ""}.`);
      await refresh();
    },
  });
  const restore = api.containers.restoreSnapshot.useMutation({
    onMutate: () => setNotice(null),
    onSuccess: async (r, v) => {
      utils.containers.get.setData({ id: c.id }, r.container);
      setRestoring(null);
      setNotice(`Restored snapshot ${v.name}.`);
      await refresh();
      await utils.containers.logs.invalidate({ id: c.id });
    },
  });
  const del = api.containers.deleteSnapshot.useMutation({
    onMutate: (v) => {
      setNotice(null);
      setDeleting(v.name);
    },
    onSuccess: (r) => setNotice(`Snapshot ${r.name} deleted.`),
    onSettled: async () => {
      setDeleting(null);
      await refresh();
    },
  });

  const aliasBad = alias !== "" && !isSnapshotAlias(alias);
  const expiryNum = expiry === "" ? undefined : Number(expiry);
  const expiryBad = expiryNum !== undefined && (!Number.isInteger(expiryNum) || expiryNum < 1 || expiryNum > 3650);
  const list = snaps.data?.snapshots ?? [];

  return (
    <Card title="Snapshots" actions={<span className="text-xs text-neutral-500">{list.length} snapshot(s)</span>}>
      <form
        className="mb-4 flex flex-col gap-3 sm:flex-row sm:items-end"
        onSubmit={(e) => {
          e.preventDefault();
          if (aliasBad || expiryBad) return;
          create.mutate({ id: c.id, ...(alias ? { alias } : {}), ...(expiryNum !== undefined ? { expiry: expiryNum } : {}) });
        }}
      >
        <Field className="sm:w-56" label="Alias">
          <Input mono value={alias} maxLength={100} placeholder="optional, e.g. before-upgrade" aria-invalid={aliasBad || undefined} onChange={(e) => setAlias(e.target.value)} />
        </Field>
        <Field className="sm:w-40" label="Expires after (days)">
          <Input type="number" min={1} max={3650} inputMode="numeric" placeholder="never" value={expiry} aria-invalid={expiryBad || undefined} onChange={(e) => setExpiry(e.target.value)} />
        </Field>
        <Button type="submit" variant="primary" busy={create.isPending} disabled={aliasBad || expiryBad}>
          Create snapshot
        </Button>
      </form>
      {aliasBad && <p className="-mt-2 mb-3 text-xs text-red-700">Aliases use letters, digits, _ . and - only.</p>}
      {expiryBad && <p className="-mt-2 mb-3 text-xs text-red-700">Expiry is a whole number of days from 1 to 3650.</p>}
      {alias && !aliasBad && list.some((s) => s.alias === alias) && <p className="-mt-2 mb-3 text-xs text-amber-800">The snapshot that has this alias now is replaced by the new one.</p>}
      <Notice className="mb-2 text-sm">{notice}</Notice>
      <ErrorBox error={create.error} className="mb-3" />
      <ErrorBox error={del.error} className="mb-3" />

      {snaps.isError ? (
        <ErrorBox error={snaps.error} title="Could not load snapshots" onRetry={() => void snaps.refetch()} />
      ) : snaps.isPending ? (
        <Loading>Loading snapshots…</Loading>
      ) : list.length === 0 ? (
        <p className="text-sm text-neutral-500">No snapshots yet. A snapshot is instant and only costs the blocks that change afterwards.</p>
      ) : (
        <Table boxClassName="-mx-4">
          <HeadRow cols={["Name", "Alias", "Created", { label: "Size", right: true }, "Expires"]} action="Actions" />
          <tbody className="divide-y divide-neutral-100">
            {list.map((s) => (
              <tr key={s.name} data-testid="snapshot-row">
                <td className={`${tdCls} font-mono text-xs`}>{s.name}</td>
                <td className={tdCls}>{s.alias ?? <span className="text-neutral-400">–</span>}</td>
                <td className={`${tdCls} text-neutral-600`}>
                  <When at={s.created_at} />
                </td>
                <td className={`${tdCls} text-right tabular-nums`}>{bytes(s.size)}</td>
                <td className={`${tdCls} text-neutral-600`}>
                  <When at={s.expires_at} absolute />
                </td>
                <td className={`${tdCls} text-right`}>
                  <RestoreDeleteActions
                    label={s.alias ?? s.name}
                    onRestore={() => {
                      restore.reset();
                      setRestoring(s);
                    }}
                    onDelete={() => del.mutate({ id: c.id, name: s.name })}
                    deleting={deleting === s.name}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}

      <ConfirmDialog
        open={restoring !== null}
        title="Restore snapshot"
        onClose={() => setRestoring(null)}
        onConfirm={() => restoring && restore.mutate({ id: c.id, name: restoring.name })}
        busy={restore.isPending}
        error={restore.error}
        confirmLabel="Restore snapshot"
      >
        {restoring && (
          <>
            <p className="text-sm text-neutral-700">
              Roll <span className="font-medium">{c.name}</span> back to snapshot <span className="font-mono">{restoring.name}</span>
              {restoring.alias ? ` (${restoring.alias})` : ""}, taken {fmtDate(restoring.created_at)}.
            </p>
            <p className="mt-2 text-sm text-neutral-700">
              Everything its filesystem gained since then is replaced by the snapshot&apos;s contents, and the tenant restarts. The snapshot itself is kept.
            </p>
          </>
        )}
      </ConfirmDialog>
    </Card>
  );
}

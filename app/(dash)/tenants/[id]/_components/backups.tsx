"use client";
// Backups: take one, list, restore (confirmed in a dialog), delete, a schedule with retention, and the
// customer's own files as a tar (GDPR Art. 20 export).
import { useState } from "react";
import { btn, Button, Card, ConfirmDialog, ErrorBox, Field, HeadRow, Input, Loading, Notice, RestoreDeleteActions, Table, tdCls, When } from "~/app/_components/ui";
import { bytes, fmtDate } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";
import type { Container } from "../../_components/types";

export function BackupsSection({ c }: { c: Container }) {
  const utils = api.useUtils();
  const list = api.backups.list.useQuery({ id: c.id }, { refetchInterval: 60_000 });
  const schedule = api.backups.schedule.useQuery({ id: c.id });
  const [restoring, setRestoring] = useState<{ id: string; created_at: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [every, setEvery] = useState("");
  const [keep, setKeep] = useState("");
  const refresh = () => Promise.all([utils.backups.list.invalidate({ id: c.id }), utils.backups.schedule.invalidate({ id: c.id }), utils.audit.list.invalidate()]);
  const done = async (message: string) => {
    setNotice(message);
    await refresh();
  };
  const create = api.backups.create.useMutation({ onMutate: () => setNotice(null), onSuccess: (b) => done(`Backup ${b.id} written (${bytes(b.size_bytes)}).`) });
  const del = api.backups.delete.useMutation({ onMutate: () => setNotice(null), onSuccess: (r) => done(`Backup ${r.backup_id} deleted.`) });
  const restore = api.backups.restore.useMutation({
    onMutate: () => setNotice(null),
    onSuccess: async (r, v) => {
      utils.containers.get.setData({ id: c.id }, r);
      setRestoring(null);
      setNotice(`Restored backup ${v.backup}.`);
      await Promise.all([refresh(), utils.containers.snapshots.invalidate({ id: c.id }), utils.containers.firewall.invalidate({ id: c.id })]);
    },
  });
  const setSched = api.backups.setSchedule.useMutation({ onSuccess: () => done("Schedule saved.") });
  const delSched = api.backups.deleteSchedule.useMutation({ onSuccess: () => done("Schedule removed; its backups stay.") });
  const everyNum = Number(every || schedule.data?.every_hours || 0);
  const keepNum = Number(keep || schedule.data?.keep || 0);
  const schedBad = !Number.isInteger(everyNum) || everyNum < 1 || everyNum > 8760 || !Number.isInteger(keepNum) || keepNum < 1 || keepNum > 1000;
  const rows = list.data?.backups ?? [];

  return (
    <Card
      title="Backups"
      actions={
        <div className="flex gap-2">
          <a className={btn.small} href={`/api/export/${c.id}`} download>
            Download export (tar)
          </a>
          <Button variant="primary" busy={create.isPending} onClick={() => create.mutate({ id: c.id })}>
            Back up now
          </Button>
        </div>
      }
    >
      <p className="mb-3 text-sm text-neutral-600">
        A backup holds what this tenant changed on its template, its snapshots, env, limits and firewall, sealed with the operator&apos;s key. The export is the customer&apos;s own files only.
      </p>
      <form
        className="mb-4 flex flex-col gap-3 sm:flex-row sm:items-end"
        onSubmit={(e) => {
          e.preventDefault();
          if (!schedBad) setSched.mutate({ id: c.id, every_hours: everyNum, keep: keepNum });
        }}
      >
        <Field className="sm:w-40" label="Every (hours)">
          <Input
            type="number"
            min={1}
            max={8760}
            placeholder={schedule.data?.every_hours ? String(schedule.data.every_hours) : "no schedule"}
            value={every}
            onChange={(e) => setEvery(e.target.value)}
          />
        </Field>
        <Field className="sm:w-40" label="Keep newest">
          <Input type="number" min={1} max={1000} placeholder={schedule.data?.keep ? String(schedule.data.keep) : "–"} value={keep} onChange={(e) => setKeep(e.target.value)} />
        </Field>
        <Button type="submit" busy={setSched.isPending} disabled={schedBad}>
          Save schedule
        </Button>
        {schedule.data?.every_hours && (
          <Button busy={delSched.isPending} onClick={() => delSched.mutate({ id: c.id })}>
            Remove schedule
          </Button>
        )}
      </form>
      <Notice className="mb-2 text-sm">{notice}</Notice>
      <ErrorBox error={create.error ?? del.error ?? setSched.error ?? delSched.error} className="mb-3" />
      {list.isError ? (
        <ErrorBox error={list.error} title="Could not load backups" onRetry={() => void list.refetch()} />
      ) : list.isPending ? (
        <Loading>Loading backups…</Loading>
      ) : rows.length === 0 ? (
        <p className="text-sm text-neutral-500">No backups yet.</p>
      ) : (
        <Table boxClassName="-mx-4">
          <HeadRow cols={["Backup", "Taken", { label: "Size", right: true }, "Snapshots", "Key"]} action="Actions" />
          <tbody className="divide-y divide-neutral-100">
            {rows.map((b) => (
              <tr key={b.id} data-testid="backup-row">
                <td className={`${tdCls} font-mono text-xs`} title={b.location}>
                  {b.id}
                </td>
                <td className={`${tdCls} text-neutral-600`}>
                  <When at={b.created_at} />
                </td>
                <td className={`${tdCls} text-right tabular-nums`}>{bytes(b.size_bytes)}</td>
                <td className={tdCls}>{b.snapshots.length}</td>
                <td className={`${tdCls} font-mono text-xs`}>{b.key_id}</td>
                <td className={`${tdCls} text-right`}>
                  <RestoreDeleteActions
                    label={b.id}
                    onRestore={() => {
                      restore.reset();
                      setRestoring(b);
                    }}
                    onDelete={() => del.mutate({ id: c.id, backup: b.id })}
                    deleting={del.isPending && del.variables?.backup === b.id}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <ConfirmDialog
        open={restoring !== null}
        title="Restore backup"
        onClose={() => setRestoring(null)}
        onConfirm={() => restoring && restore.mutate({ id: c.id, backup: restoring.id })}
        busy={restore.isPending}
        error={restore.error}
        confirmLabel="Restore backup"
      >
        {restoring && (
          <p className="text-sm text-neutral-700">
            Put <span className="font-medium">{c.name}</span> back as backup <span className="font-mono">{restoring.id}</span> has it ({fmtDate(restoring.created_at)}): its files, snapshots, env,
            limits and firewall. A running tenant restarts. If anything fails, it stays as it is now.
          </p>
        )}
      </ConfirmDialog>
    </Card>
  );
}

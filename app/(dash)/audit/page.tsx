"use client";
// Audit log (filterable, paginated) and erasure receipts (each downloadable as JSON).
import { keepPreviousData } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Button, Card, ErrorText, Field, focusCls, HeadRow, Input, Loading, Pager, Pill, QueryTable, Table, tdTopCls, When } from "~/app/_components/ui";
import { api } from "~/app/_lib/trpc";

const PAGE_SIZE = 50;
const td = `${tdTopCls} whitespace-nowrap`;

function Detail({ detail }: { detail: unknown }) {
  if (detail === null || detail === undefined) return <span className="text-neutral-400">–</span>;
  return (
    <details>
      <summary className={`cursor-pointer rounded text-xs text-blue-700 ${focusCls}`}>JSON</summary>
      <pre className="mt-1 max-w-md overflow-x-auto rounded bg-neutral-50 p-2 font-mono text-xs whitespace-pre-wrap break-all">{JSON.stringify(detail, null, 2)}</pre>
    </details>
  );
}

interface Filters {
  action: string;
  target: string;
  actor: string;
}

function AuditSection() {
  const [draft, setDraft] = useState<Filters>({ action: "", target: "", actor: "" });
  const [filters, setFilters] = useState<Filters>({ action: "", target: "", actor: "" });
  const [page, setPage] = useState(1);
  const q = api.audit.list.useQuery(
    {
      page,
      limit: PAGE_SIZE,
      ...(filters.action ? { action: filters.action } : {}),
      ...(filters.target ? { target: filters.target } : {}),
      ...(filters.actor ? { actor: filters.actor } : {}),
    },
    { placeholderData: keepPreviousData },
  );
  const filtered = Boolean(filters.action || filters.target || filters.actor);

  function apply(e: FormEvent) {
    e.preventDefault();
    setFilters({ action: draft.action.trim(), target: draft.target.trim(), actor: draft.actor.trim() });
    setPage(1);
  }
  function clear() {
    const empty = { action: "", target: "", actor: "" };
    setDraft(empty);
    setFilters(empty);
    setPage(1);
  }

  const p = q.data?.pagination;

  return (
    <section aria-labelledby="audit-h" className="space-y-4">
      <h2 id="audit-h" className="sr-only">
        Audit entries
      </h2>
      <Card>
        <form onSubmit={apply} aria-label="Filter the audit log">
          <div className="grid gap-3 sm:grid-cols-3">
            <Field label="Action starts with">
              <Input value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} maxLength={100} placeholder="container." autoComplete="off" />
            </Field>
            <Field label="Target">
              <Input value={draft.target} onChange={(e) => setDraft({ ...draft, target: e.target.value })} maxLength={200} placeholder="container:65a1f0c2e4b5d6a7b8c9d0e1" autoComplete="off" />
            </Field>
            <Field label="Actor">
              <Input value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} maxLength={200} placeholder="operator" autoComplete="off" />
            </Field>
          </div>
          <div className="mt-3 flex flex-wrap gap-2">
            <Button type="submit" variant="primary">
              Filter
            </Button>
            <Button onClick={clear} disabled={!filtered && !draft.action && !draft.target && !draft.actor}>
              Clear
            </Button>
          </div>
        </form>
      </Card>

      <Card bodyClassName="">
        {q.data === undefined ? (
          q.isError ? (
            <ErrorText error={q.error} className="p-4 text-sm" />
          ) : (
            <Loading className="p-4">Loading the audit log…</Loading>
          )
        ) : q.data.entries.length === 0 ? (
          <p className="p-4 text-sm text-neutral-600">{filtered ? "No entries match these filters." : "No audit entries yet."}</p>
        ) : (
          <Table caption="Audit log, newest first" boxClassName={q.isPlaceholderData ? "opacity-60" : ""} busy={q.isFetching}>
            <HeadRow cols={["Time", "Actor", "Action", "Target", "Result", "Detail"]} />
            <tbody className="divide-y divide-neutral-100">
              {q.data.entries.map((e) => (
                <tr key={e.id}>
                  <td className={td}>
                    <When at={e.at} absolute />
                  </td>
                  <td className={`${td} font-mono text-xs`}>{e.actor}</td>
                  <td className={`${td} font-mono text-xs`}>{e.action}</td>
                  <td className={`${td} font-mono text-xs`}>{e.target ?? <span className="text-neutral-400">–</span>}</td>
                  <td className={td}>
                    <Pill tone={e.result === "ok" ? "good" : "bad"}>{e.result}</Pill>
                  </td>
                  <td className={td}>
                    <Detail detail={e.detail} />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {p && p.total > 0 && (
          <Pager
            label="Audit log pages"
            page={p.page}
            totalPages={p.totalPages}
            disabled={q.isFetching}
            onPage={setPage}
            summary={`${p.total.toLocaleString()} ${p.total === 1 ? "entry" : "entries"}`}
          />
        )}
        {q.isRefetchError && <ErrorText error={q.error} className="border-t border-neutral-200 px-4 py-3 text-sm" />}
      </Card>
    </section>
  );
}

function download(filename: string, data: unknown) {
  const blob = new Blob([JSON.stringify(data, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}

function ReceiptsSection() {
  const q = api.audit.receipts.useQuery();
  return (
    <section aria-labelledby="receipts-h" className="space-y-3">
      <h2 id="receipts-h" className="text-lg font-semibold">
        Erasure receipts
      </h2>
      <p className="text-sm text-neutral-600">Written when a tenant is deleted: what was erased from the host and the database. The newest 500 are listed.</p>
      <Card bodyClassName="">
        <QueryTable
          query={q}
          loading="Loading receipts…"
          isEmpty={(d) => d.length === 0}
          empty="No tenants have been erased yet."
          cols={["Receipt", "Erased", "Tenant", "Project", "Requested by"]}
          action="Download"
        >
          {(receipts) =>
            receipts.map((r) => (
              <tr key={r.receipt_id}>
                <th scope="row" className={`${td} font-mono text-xs font-normal`}>
                  {r.receipt_id}
                </th>
                <td className={td}>
                  <When at={r.erased_at} absolute />
                </td>
                <td className={`${td} font-mono text-xs`}>{r.container_id}</td>
                <td className={`${td} font-mono text-xs`}>{r.project_id}</td>
                <td className={`${td} font-mono text-xs`}>{r.requested_by}</td>
                <td className={`${td} text-right`}>
                  <Button aria-label={`Download receipt ${r.receipt_id} as JSON`} onClick={() => download(`erasure-receipt-${r.receipt_id}.json`, r)}>
                    Download JSON
                  </Button>
                </td>
              </tr>
            ))
          }
        </QueryTable>
      </Card>
    </section>
  );
}

export default function AuditPage() {
  return (
    <div className="space-y-10">
      <h1 className="text-xl font-semibold">Audit log</h1>
      <AuditSection />
      <ReceiptsSection />
    </div>
  );
}

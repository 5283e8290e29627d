"use client";
// Audit log (filterable, paginated) and erasure receipts (each downloadable as JSON).
import { keepPreviousData } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { ago } from "../../_lib/format";
import { HeadRow } from "../../_lib/table";
import { api } from "../../_lib/trpc";
import { errorText } from "../../_lib/errors";
import { input, focus, primary, secondary, td } from "../../_lib/styles";

const PAGE_SIZE = 50;



/** SQLite's `datetime('now')` has no zone marker; it is UTC. */
function parseTime(s: string): Date {
  return new Date(/Z$|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(" ", "T")}Z`);
}

function When({ at }: { at: string }) {
  const d = parseTime(at);
  if (Number.isNaN(d.getTime())) return <>{at}</>;
  return (
    <time dateTime={d.toISOString()} title={ago(d.toISOString())}>
      {d.toLocaleString()}
    </time>
  );
}

function Result({ result }: { result: string }) {
  const ok = result === "ok";
  return <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${ok ? "bg-green-50 text-green-800" : "bg-red-50 text-red-800"}`}>{result}</span>;
}

function Detail({ detail }: { detail: unknown }) {
  if (detail === null || detail === undefined) return <span className="text-neutral-400">–</span>;
  return (
    <details>
      <summary className={`cursor-pointer rounded text-xs text-blue-700 ${focus}`}>JSON</summary>
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
  const actionId = useId();
  const targetId = useId();
  const actorId = useId();
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
      <form onSubmit={apply} aria-label="Filter the audit log" className="rounded-lg border border-neutral-200 bg-white p-4 shadow-sm">
        <div className="grid gap-3 sm:grid-cols-3">
          <div>
            <label htmlFor={actionId} className="mb-1 block text-sm text-neutral-600">
              Action starts with
            </label>
            <input id={actionId} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} maxLength={100} placeholder="container." className={input} autoComplete="off" />
          </div>
          <div>
            <label htmlFor={targetId} className="mb-1 block text-sm text-neutral-600">
              Target
            </label>
            <input id={targetId} value={draft.target} onChange={(e) => setDraft({ ...draft, target: e.target.value })} maxLength={200} placeholder="container:c0123456789" className={input} autoComplete="off" />
          </div>
          <div>
            <label htmlFor={actorId} className="mb-1 block text-sm text-neutral-600">
              Actor
            </label>
            <input id={actorId} value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} maxLength={200} placeholder="operator" className={input} autoComplete="off" />
          </div>
        </div>
        <div className="mt-3 flex flex-wrap gap-2">
          <button type="submit" className={primary}>
            Filter
          </button>
          <button type="button" className={secondary} onClick={clear} disabled={!filtered && !draft.action && !draft.target && !draft.actor}>
            Clear
          </button>
        </div>
      </form>

      <div className="rounded-lg border border-neutral-200 bg-white shadow-sm">
        {q.data === undefined ? (
          q.isError ? (
            <p role="alert" className="p-4 text-sm text-red-700">
              {errorText(q.error)}
            </p>
          ) : (
            <p role="status" className="p-4 text-sm text-neutral-500">
              Loading the audit log…
            </p>
          )
        ) : q.data.entries.length === 0 ? (
          <p className="p-4 text-sm text-neutral-600">{filtered ? "No entries match these filters." : "No audit entries yet."}</p>
        ) : (
          <div className={`overflow-x-auto ${q.isPlaceholderData ? "opacity-60" : ""}`} aria-busy={q.isFetching}>
            <table className="relative w-full text-left text-sm">
              <caption className="sr-only">Audit log, newest first</caption>
              <thead className="bg-neutral-50 text-xs text-neutral-500">
                <HeadRow cols={["Time", "Actor", "Action", "Target", "Result", "Detail"]} />
              </thead>
              <tbody>
                {q.data.entries.map((e) => (
                  <tr key={e.id} className="border-t border-neutral-100">
                    <td className={`${td} whitespace-nowrap`}>
                      <When at={e.at} />
                    </td>
                    <td className={`${td} font-mono text-xs whitespace-nowrap`}>{e.actor}</td>
                    <td className={`${td} font-mono text-xs whitespace-nowrap`}>{e.action}</td>
                    <td className={`${td} font-mono text-xs whitespace-nowrap`}>{e.target ?? <span className="text-neutral-400">–</span>}</td>
                    <td className={td}>
                      <Result result={e.result} />
                    </td>
                    <td className={td}>
                      <Detail detail={e.detail} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {p && p.total > 0 && (
          <nav aria-label="Audit log pages" className="flex flex-wrap items-center justify-between gap-2 border-t border-neutral-200 px-4 py-3 text-sm">
            <p className="text-neutral-600">
              Page {p.page} of {p.totalPages} · {p.total.toLocaleString()} {p.total === 1 ? "entry" : "entries"}
            </p>
            <div className="flex gap-2">
              <button type="button" className={secondary} disabled={page <= 1 || q.isFetching} onClick={() => setPage((x) => Math.max(1, x - 1))}>
                Previous
              </button>
              <button type="button" className={secondary} disabled={page >= p.totalPages || q.isFetching} onClick={() => setPage((x) => x + 1)}>
                Next
              </button>
            </div>
          </nav>
        )}
        {q.isRefetchError && (
          <p role="alert" className="border-t border-neutral-200 px-4 py-3 text-sm text-red-700">
            {errorText(q.error)}
          </p>
        )}
      </div>
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
      <div className="rounded-lg border border-neutral-200 bg-white shadow-sm">
        {q.isPending ? (
          <p role="status" className="p-4 text-sm text-neutral-500">
            Loading receipts…
          </p>
        ) : q.isError ? (
          <p role="alert" className="p-4 text-sm text-red-700">
            {errorText(q.error)}
          </p>
        ) : q.data.length === 0 ? (
          <p className="p-4 text-sm text-neutral-600">No tenants have been erased yet.</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="bg-neutral-50 text-xs text-neutral-500">
                <HeadRow cols={["Receipt", "Erased", "Container", "Project", "Requested by"]} action="Download" />
              </thead>
              <tbody>
                {q.data.map((r) => (
                  <tr key={r.receipt_id} className="border-t border-neutral-100">
                    <th scope="row" className={`${td} font-mono text-xs font-normal whitespace-nowrap`}>
                      {r.receipt_id}
                    </th>
                    <td className={`${td} whitespace-nowrap`}>
                      <When at={r.erased_at} />
                    </td>
                    <td className={`${td} font-mono text-xs whitespace-nowrap`}>{r.container_id}</td>
                    <td className={`${td} font-mono text-xs whitespace-nowrap`}>{r.project_id}</td>
                    <td className={`${td} font-mono text-xs whitespace-nowrap`}>{r.requested_by}</td>
                    <td className={`${td} text-right whitespace-nowrap`}>
                      <button type="button" className={secondary} aria-label={`Download receipt ${r.receipt_id} as JSON`} onClick={() => download(`erasure-receipt-${r.receipt_id}.json`, r)}>
                        Download JSON
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
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

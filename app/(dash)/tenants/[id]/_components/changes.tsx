"use client";
// The Changes tab: what the tenant added, modified and deleted relative to its template (or since
// one of its snapshots), one directory at a time with per-directory totals; sortable; a small text
// file's content in a dialog. Every listing and view is audited on the server.
import { useState } from "react";
import { btn, Button, Card, Dialog, ErrorBox, HeadRow, Loading, Pill, Select, Table, tdCls, When } from "~/app/_components/ui";
import { errorCode } from "~/app/_lib/errors";
import { bytes } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";
import type { Container } from "../../_components/types";

type SortBy = "name" | "size" | "change";
const MAX_VIEW = 64 * 1024;
const TONE = { added: "good", modified: "neutral", deleted: "bad" } as const;
/** Drilling through one listing reuses it this long (seconds) even if the tenant wrote since; Refresh recomputes. */
const DRILL_MAX_AGE = 300;

export function ChangesSection({ c }: { c: Container }) {
  const [path, setPath] = useState("/");
  const [compare, setCompare] = useState("");
  const [sort, setSort] = useState<{ by: SortBy; order: "asc" | "desc" }>({ by: "size", order: "desc" });
  const [maxAge, setMaxAge] = useState(0);
  const [viewing, setViewing] = useState<string | null>(null);
  const snaps = api.containers.snapshots.useQuery({ id: c.id });
  const q = api.containers.changes.useQuery(
    { id: c.id, path, ...(compare ? { compare } : {}), sort_by: sort.by, sort_order: sort.order, limit: 500, max_age: maxAge },
    { placeholderData: (prev) => prev, retry: false },
  );
  const go = (p: string) => {
    setMaxAge(DRILL_MAX_AGE);
    setPath(p);
  };
  const sortBy = (by: SortBy) => ({
    active: sort.by === by,
    order: sort.order,
    onClick: () => setSort((s) => (s.by === by ? { by, order: s.order === "asc" ? "desc" : "asc" } : { by, order: by === "size" ? "desc" : "asc" })),
  });
  const crumbs = path.split("/").filter(Boolean);
  const d = q.data;

  return (
    <Card
      title="Changes"
      actions={
        <>
          <label className="flex items-center gap-2 whitespace-nowrap text-xs text-neutral-600">
            Compared with
            <Select
              aria-label="Compare with"
              value={compare}
              onChange={(e) => {
                setMaxAge(0);
                setCompare(e.target.value);
              }}
              options={[{ value: "", label: `template ${c.template}` }, ...(snaps.data?.snapshots ?? []).map((s) => ({ value: s.name, label: `snapshot ${s.alias ?? s.name}` }))]}
            />
          </label>
          <Button
            busy={q.isFetching}
            onClick={() => {
              setMaxAge(0);
              void q.refetch();
            }}
          >
            Refresh
          </Button>
        </>
      }
    >
      <nav aria-label="Path" className="mb-3 flex flex-wrap items-center gap-1 font-mono text-sm" data-testid="changes-path">
        <button type="button" className="text-blue-700 hover:underline" onClick={() => go("/")}>
          /
        </button>
        {crumbs.map((name, i) => (
          <span key={crumbs.slice(0, i + 1).join("/")} className="flex items-center gap-1">
            <button type="button" className="text-blue-700 hover:underline" onClick={() => go("/" + crumbs.slice(0, i + 1).join("/"))}>
              {name}
            </button>
            {i < crumbs.length - 1 && <span className="text-neutral-400">/</span>}
          </span>
        ))}
      </nav>
      {d && (
        <p className="mb-3 text-xs text-neutral-600" data-testid="changes-totals">
          Here and below: {d.entry.totals.added} added, {d.entry.totals.modified} modified, {d.entry.totals.deleted} deleted · {bytes(d.entry.totals.bytes)} now in changed files
          {d.entry.totals.deleted_bytes ? `, ${bytes(d.entry.totals.deleted_bytes)} deleted` : ""} · computed <When at={d.computed_at} />
          {d.cached ? " (cached)" : ` in ${d.compute_ms} ms`}
        </p>
      )}
      {q.isError ? (
        <ErrorBox
          error={q.error}
          title={errorCode(q.error) === "FEATURE_NOT_OFFERED" ? "Not available on this engine" : "Could not list the changes"}
          onRetry={errorCode(q.error) === "FEATURE_NOT_OFFERED" ? undefined : () => void q.refetch()}
        />
      ) : !d ? (
        <Loading>Comparing the tenant with its base…</Loading>
      ) : d.entries.length === 0 ? (
        <p className="text-sm text-neutral-500">{path === "/" ? "No changes: the tenant's filesystem is its base's." : "No changes here."}</p>
      ) : (
        <Table boxClassName="-mx-4" label="Changed paths" busy={q.isFetching}>
          <HeadRow cols={[{ label: "Name", sort: sortBy("name") }, { label: "Change", sort: sortBy("change") }, { label: "Size", right: true, sort: sortBy("size") }, "Below"]} action="Actions" />
          <tbody className="divide-y divide-neutral-100">
            {d.entries.map((e) => (
              <tr key={e.path} data-testid="change-row" data-path={e.path}>
                <td className={`${tdCls} font-mono text-xs`}>
                  {e.type === "dir" && e.children > 0 ? (
                    <button type="button" className="text-blue-700 hover:underline" onClick={() => go(e.path)}>
                      {e.name}/
                    </button>
                  ) : (
                    <span>
                      {e.name}
                      {e.type === "symlink" ? " →" : e.type === "dir" ? "/" : ""}
                    </span>
                  )}
                  {e.from && <span className="ml-2 text-neutral-500">from {e.from}</span>}
                </td>
                <td className={tdCls}>{e.change ? <Pill tone={TONE[e.change]}>{e.change}</Pill> : <span className="text-neutral-400">–</span>}</td>
                <td className={`${tdCls} text-right tabular-nums`}>{bytes(e.size)}</td>
                <td className={`${tdCls} text-xs text-neutral-600`}>{e.type === "dir" ? `+${e.totals.added} ~${e.totals.modified} −${e.totals.deleted}` : ""}</td>
                <td className={`${tdCls} text-right`}>
                  {e.type === "file" && e.change !== "deleted" && e.size <= MAX_VIEW && (
                    <button type="button" className={btn.small} aria-label={`View ${e.path}`} onClick={() => setViewing(e.path)}>
                      View
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {d?.truncated && <p className="mt-2 text-xs text-neutral-500">Showing the first {d.entries.length} entries of this directory in this order.</p>}
      <ContentDialog id={c.id} path={viewing} onClose={() => setViewing(null)} />
    </Card>
  );
}

function ContentDialog({ id, path, onClose }: { id: string; path: string | null; onClose: () => void }) {
  const content = api.containers.changeContent.useQuery({ id, path: path ?? "/" }, { enabled: path !== null, retry: false, staleTime: 0, gcTime: 0 });
  return (
    <Dialog open={path !== null} title={path ?? ""} onClose={onClose}>
      {content.isError ? (
        <ErrorBox error={content.error} title="Cannot show this file" />
      ) : content.isPending ? (
        <Loading>Reading…</Loading>
      ) : (
        <pre data-testid="change-content" className="max-h-[60vh] overflow-auto whitespace-pre-wrap break-all rounded bg-neutral-50 p-3 font-mono text-xs">
          {content.data.content}
        </pre>
      )}
      <p className="mt-2 text-xs text-neutral-500">This view is recorded in the audit log.</p>
      <div className="mt-4 flex justify-end">
        <Button onClick={onClose}>Close</Button>
      </div>
    </Dialog>
  );
}

// Tables: a sideways-scrolling box around a table (the box is the table's parent, which the e2e
// layout check measures), one header row built from labels, and one pager.
import type { ReactNode } from "react";
import { Spinner } from "./spinner";
import { btn, tableCls, thCls } from "./styles";

export function Table({
  caption,
  label,
  busy,
  className = "",
  boxClassName = "",
  children,
}: {
  caption?: string;
  label?: string;
  busy?: boolean;
  className?: string;
  boxClassName?: string;
  children: ReactNode;
}) {
  return (
    <div className={`relative overflow-x-auto ${boxClassName}`}>
      <table className={`${tableCls} ${className}`} aria-label={label} aria-busy={busy}>
        {caption && <caption className="sr-only">{caption}</caption>}
        {children}
      </table>
    </div>
  );
}

export interface Sort {
  active: boolean;
  order: "asc" | "desc";
  onClick: () => void;
}
export type Col = string | { label: string; right?: boolean; sort?: Sort };

function SortButton({ label, sort }: { label: string; sort: Sort }) {
  return (
    <button type="button" className="inline-flex items-center gap-1 rounded hover:text-neutral-900 focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600" onClick={sort.onClick}>
      {label}
      <span aria-hidden="true" className={sort.active ? "text-neutral-900" : "text-neutral-300"}>
        {sort.active ? (sort.order === "asc" ? "▲" : "▼") : "↕"}
      </span>
    </button>
  );
}

/**
 * The head of a table: one column-scoped <th> per label (right-aligned or sortable when asked), and
 * optionally a last, visually empty column (row actions) named for screen readers.
 */
export function HeadRow({ cols, action, cellClassName = thCls, actionClassName = "" }: { cols: Col[]; action?: string; cellClassName?: string; actionClassName?: string }) {
  return (
    <thead className="bg-neutral-50">
      <tr>
        {cols.map((c) => {
          const col = typeof c === "string" ? { label: c } : c;
          const sort = col.sort;
          return (
            <th
              key={col.label}
              scope="col"
              className={`${cellClassName} ${col.right ? "text-right" : ""}`}
              aria-sort={sort ? (sort.active ? (sort.order === "asc" ? "ascending" : "descending") : "none") : undefined}
            >
              {sort ? <SortButton label={col.label} sort={sort} /> : col.label}
            </th>
          );
        })}
        {action && (
          <th scope="col" className={`${cellClassName} ${actionClassName}`}>
            <span className="sr-only">{action}</span>
          </th>
        )}
      </tr>
    </thead>
  );
}

/** Previous / "Page n of m" / Next, with a summary on the left and extra controls (page size) before the buttons. */
export function Pager({
  label,
  page,
  totalPages,
  summary,
  onPage,
  busy,
  disabled,
  children,
}: {
  label: string;
  page: number;
  totalPages: number;
  summary: ReactNode;
  onPage: (page: number) => void;
  busy?: boolean;
  disabled?: boolean;
  children?: ReactNode;
}) {
  return (
    <nav aria-label={label} className="flex flex-wrap items-center justify-between gap-3 border-t border-neutral-200 px-4 py-3 text-sm text-neutral-600">
      <div className="flex items-center gap-3">
        <span>{summary}</span>
        {busy && <Spinner className="h-3.5 w-3.5 text-neutral-400" />}
      </div>
      <div className="flex flex-wrap items-center gap-2">
        {children}
        <button type="button" className={btn.secondary} disabled={disabled || page <= 1} onClick={() => onPage(page - 1)}>
          Previous
        </button>
        <span aria-live="polite">
          Page {page} of {totalPages}
        </span>
        <button type="button" className={btn.secondary} disabled={disabled || page >= totalPages} onClick={() => onPage(page + 1)}>
          Next
        </button>
      </div>
    </nav>
  );
}

/** The line under a table whose live refresh failed while the last data stays on screen. */
export function StaleNote({ error }: { error: { message: string } | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="border-t border-neutral-200 px-4 py-2 text-xs text-amber-800">
      Live refresh failed ({error.message}); showing the last data.
    </p>
  );
}

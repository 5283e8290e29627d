"use client";
import { ENV_KEY_RE, isReservedEnvKey } from "~/server/shared/env";
import { errorText } from "../../../../_lib/errors";
export { errorText };
// Small UI pieces shared by the tenant pages: status badge, error text, dialog, cards, env rows.
import { TRPCClientError } from "@trpc/client";
import { useEffect, useId, useRef, type ReactNode } from "react";

export const STATUSES = ["creating", "running", "paused", "stopped", "failed", "deleting"] as const;
export type Status = (typeof STATUSES)[number];

const BADGE: Record<string, string> = {
  running: "bg-green-50 text-green-800 ring-green-600/30",
  paused: "bg-sky-50 text-sky-800 ring-sky-600/30",
  stopped: "bg-neutral-100 text-neutral-700 ring-neutral-500/30",
  failed: "bg-red-50 text-red-800 ring-red-600/30",
  creating: "bg-amber-50 text-amber-800 ring-amber-600/30",
  deleting: "bg-amber-50 text-amber-800 ring-amber-600/30",
};
const DOT: Record<string, string> = {
  running: "bg-green-600",
  paused: "bg-sky-500",
  stopped: "bg-neutral-400",
  failed: "bg-red-600",
  creating: "bg-amber-500",
  deleting: "bg-amber-500",
};

/** A suspended tenant (stopped by an operator, the API or billing) is not woken by requests: it says so. */
export function StatusBadge({ status, suspended = false }: { status: string; suspended?: boolean }) {
  const shown = suspended && status === "stopped" ? "suspended" : status;
  return (
    <span
      data-testid="status-badge"
      data-status={status}
      title={shown === "suspended" ? "Stopped and not woken by requests until started" : shown === "paused" ? "Frozen in place: requests get 503 until resumed" : undefined}
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${BADGE[status] ?? BADGE.stopped}`}
    >
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${DOT[status] ?? DOT.stopped}`} />
      {shown}
    </span>
  );
}

/** Hoody's stable error code of a tRPC error, when it has one. */
export function errorCode(e: unknown): string | null {
  if (e instanceof TRPCClientError) {
    const data = e.data as { hoodyCode?: string | null; code?: string } | undefined;
    return data?.hoodyCode ?? data?.code ?? null;
  }
  return null;
}

/** Field paths named by an input-validation error (e.g. ["name"]). */
export function errorPaths(e: unknown): string[] {
  const msg = e instanceof Error ? e.message : "";
  if (!msg.trimStart().startsWith("[")) return [];
  try {
    const issues = JSON.parse(msg) as { path?: (string | number)[] }[];
    return Array.isArray(issues) ? issues.map((i) => (i.path ?? []).join(".")) : [];
  } catch {
    return [];
  }
}

export function ErrorBox({ error, title, hint, onRetry }: { error: unknown; title?: string; hint?: ReactNode; onRetry?: () => void }) {
  if (!error) return null;
  const code = errorCode(error);
  return (
    <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800">
      {title && <p className="font-medium">{title}</p>}
      <p className="break-words">
        {errorText(error)}
        {code && <span className="ml-2 font-mono text-xs text-red-700/80">({code})</span>}
      </p>
      {hint && <p className="mt-1 text-red-700">{hint}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry} className={`${btn.secondary} mt-2`}>
          Retry
        </button>
      )}
    </div>
  );
}

const base =
  "inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium whitespace-nowrap transition-colors focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 disabled:cursor-not-allowed disabled:opacity-50";
export const btn = {
  primary: `${base} bg-neutral-900 text-white hover:bg-neutral-700`,
  secondary: `${base} border border-neutral-300 bg-white text-neutral-800 hover:bg-neutral-50`,
  danger: `${base} bg-red-600 text-white hover:bg-red-700`,
  dangerOutline: `${base} border border-red-300 bg-white text-red-700 hover:bg-red-50`,
  small: "inline-flex items-center rounded px-2 py-1 text-xs font-medium whitespace-nowrap focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600 disabled:cursor-not-allowed disabled:opacity-50",
};
export const inputCls =
  "w-full rounded-md border border-neutral-300 bg-white px-2.5 py-1.5 text-sm text-neutral-900 placeholder:text-neutral-400 focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600 disabled:bg-neutral-100";
export const labelCls = "mb-1 block text-xs font-medium text-neutral-600";
export const tableCls = "min-w-full divide-y divide-neutral-200 text-left text-sm";
export const thCls = "px-3 py-2 text-xs font-medium uppercase tracking-wide text-neutral-500 whitespace-nowrap";
export const tdCls = "px-3 py-2 align-middle whitespace-nowrap";

export function Card({ title, actions, children, className = "", id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  const hid = useId();
  return (
    <section aria-labelledby={title ? hid : undefined} id={id} className={`min-w-0 rounded-lg border border-neutral-200 bg-white shadow-sm ${className}`}>
      {(title || actions) && (
        <div className="flex flex-wrap items-center justify-between gap-2 border-b border-neutral-200 px-4 py-3">
          {title && (
            <h2 id={hid} className="text-sm font-semibold text-neutral-900">
              {title}
            </h2>
          )}
          {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
        </div>
      )}
      <div className="p-4">{children}</div>
    </section>
  );
}

export function Spinner({ className = "h-4 w-4" }: { className?: string }) {
  return (
    <svg aria-hidden="true" className={`animate-spin ${className}`} viewBox="0 0 24 24" fill="none">
      <circle className="opacity-25" cx="12" cy="12" r="10" stroke="currentColor" strokeWidth="4" />
      <path className="opacity-75" fill="currentColor" d="M4 12a8 8 0 018-8v4a4 4 0 00-4 4H4z" />
    </svg>
  );
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: role="dialog", aria-modal, labelled by its heading; Escape and the backdrop close it; Tab stays inside. */
export function Dialog({ open, title, onClose, children, initialFocus }: { open: boolean; title: string; onClose: () => void; children: ReactNode; initialFocus?: React.RefObject<HTMLElement | null> }) {
  const ref = useRef<HTMLDivElement>(null);
  const hid = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  // biome-ignore lint/correctness/useExhaustiveDependencies: set up once per opening; onClose is read through closeRef, initialFocus only at opening.
  useEffect(() => {
    if (!open) return;
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = initialFocus?.current ?? el?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        closeRef.current();
      } else if (e.key === "Tab" && el) {
        const items = Array.from(el.querySelectorAll<HTMLElement>(FOCUSABLE));
        if (!items.length) return;
        const a = items[0]!;
        const z = items[items.length - 1]!;
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && document.activeElement === z) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    document.addEventListener("keydown", onKey);
    const overflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    return () => {
      document.removeEventListener("keydown", onKey);
      document.body.style.overflow = overflow;
      before?.focus?.();
    };
  }, [open]);
  if (!open) return null;
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click on the backdrop closes the dialog; keyboard users have Escape (above).
    <div className="fixed inset-0 z-50 flex items-end justify-center bg-neutral-900/40 p-0 sm:items-center sm:p-4" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={hid}
        tabIndex={-1}
        className="max-h-[90vh] w-full overflow-y-auto rounded-t-lg border border-neutral-200 bg-white p-5 shadow-xl focus:outline-none sm:max-w-lg sm:rounded-lg"
      >
        <h2 id={hid} className="mb-3 text-base font-semibold text-neutral-900">
          {title}
        </h2>
        {children}
      </div>
    </div>
  );
}

export interface EnvRow {
  id: number;
  key: string;
  value: string;
}

let rowSeq = 0;
export const newRow = (key = "", value = ""): EnvRow => ({ id: ++rowSeq, key, value });

/** Client-side check of env rows; returns per-row messages keyed by row id. */
export function envProblems(rows: EnvRow[]): Map<number, string> {
  const out = new Map<number, string>();
  const seen = new Set<string>();
  for (const r of rows) {
    const k = r.key.trim();
    if (!k && !r.value) continue;
    if (!k) out.set(r.id, "Enter a key (or remove the row).");
    else if (!ENV_KEY_RE.test(k)) out.set(r.id, "Keys start with a letter or _ and contain only letters, digits and _.");
    else if (isReservedEnvKey(k)) out.set(r.id, "The HOODY_ prefix is reserved.");
    else if (seen.has(k)) out.set(r.id, `Duplicate key ${k}.`);
    else if (/[\n\r\0]/.test(r.value)) out.set(r.id, "Values cannot contain newlines.");
    seen.add(k);
  }
  return out;
}

/** Editable key/value rows: inputs labelled "Key" and "Value", "Add variable", a remove button per row. */
export function EnvEditor({ rows, onChange, disabled }: { rows: EnvRow[]; onChange: (rows: EnvRow[]) => void; disabled?: boolean }) {
  const problems = envProblems(rows);
  const set = (id: number, patch: Partial<EnvRow>) => onChange(rows.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  return (
    <div>
      {rows.length === 0 ? (
        <p className="mb-3 text-sm text-neutral-500">No environment variables.</p>
      ) : (
        <ul className="mb-3 space-y-2">
          {rows.map((r, i) => {
            const problem = problems.get(r.id);
            return (
              <li key={r.id}>
                <div className="flex flex-col gap-2 sm:flex-row sm:items-end">
                  <label className="block sm:w-2/5">
                    <span className={i === 0 ? labelCls : `${labelCls} sm:sr-only`}>Key</span>
                    <input
                      className={`${inputCls} font-mono`}
                      value={r.key}
                      disabled={disabled}
                      aria-invalid={problem ? true : undefined}
                      autoComplete="off"
                      spellCheck={false}
                      placeholder="DATABASE_URL"
                      onChange={(e) => set(r.id, { key: e.target.value })}
                    />
                  </label>
                  <label className="block flex-1">
                    <span className={i === 0 ? labelCls : `${labelCls} sm:sr-only`}>Value</span>
                    <input
                      className={`${inputCls} font-mono`}
                      value={r.value}
                      disabled={disabled}
                      autoComplete="off"
                      spellCheck={false}
                      onChange={(e) => set(r.id, { value: e.target.value })}
                    />
                  </label>
                  <button
                    type="button"
                    className={`${btn.secondary} sm:mb-px`}
                    disabled={disabled}
                    aria-label={`Remove variable ${r.key || i + 1}`}
                    onClick={() => onChange(rows.filter((x) => x.id !== r.id))}
                  >
                    Remove
                  </button>
                </div>
                {problem && <p className="mt-1 text-xs text-red-700">{problem}</p>}
              </li>
            );
          })}
        </ul>
      )}
      <button type="button" className={btn.secondary} disabled={disabled} onClick={() => onChange([...rows, newRow()])}>
        Add variable
      </button>
    </div>
  );
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

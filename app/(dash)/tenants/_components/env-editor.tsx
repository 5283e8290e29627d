"use client";
// Editable env rows for a new tenant and a tenant's Environment card, checked by the server's own rules.
import { Button, Input, labelCls } from "~/app/_components/ui";
import { ENV_KEY_RE, isReservedEnvKey } from "~/server/shared/env";

export interface EnvRow {
  id: number;
  key: string;
  value: string;
}

let rowSeq = 0;
export const newRow = (key = "", value = ""): EnvRow => ({ id: ++rowSeq, key, value });
export const toRows = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => newRow(k, v));

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
  // Labels show above the first row only; later rows keep them for screen readers.
  const label = (i: number) => (i === 0 ? labelCls : `${labelCls} sm:sr-only`);
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
                    <span className={label(i)}>Key</span>
                    <Input
                      mono
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
                    <span className={label(i)}>Value</span>
                    <Input mono value={r.value} disabled={disabled} autoComplete="off" spellCheck={false} onChange={(e) => set(r.id, { value: e.target.value })} />
                  </label>
                  <Button className="sm:mb-px" disabled={disabled} aria-label={`Remove variable ${r.key || i + 1}`} onClick={() => onChange(rows.filter((x) => x.id !== r.id))}>
                    Remove
                  </Button>
                </div>
                {problem && <p className="mt-1 text-xs text-red-700">{problem}</p>}
              </li>
            );
          })}
        </ul>
      )}
      <Button disabled={disabled} onClick={() => onChange([...rows, newRow()])}>
        Add variable
      </Button>
    </div>
  );
}

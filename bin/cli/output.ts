// Output: plain lines, JSON, aligned tables, and the small formatters they use.

export const out = (s: string): void => void process.stdout.write(s.endsWith("\n") ? s : s + "\n");
export const note = (s: string): void => void process.stderr.write(s + "\n");
export const json = (v: unknown): void => out(JSON.stringify(v, null, 2));

export function table(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  out([line(headers), ...cells.map(line)].join("\n"));
}

export const when = (iso: string | null | undefined) => (iso ? iso.replace(/\.\d+Z$/, "Z") : null);

export function bytes(n: number | null | undefined): string | null {
  if (n === null || n === undefined) return null;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  for (; v >= 1024 && u < units.length - 1; u++) v /= 1024;
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export interface Pagination {
  total: number;
  page: number;
  limit: number;
  totalPages: number;
}
export function pageNote(p: Pagination | undefined, what: string): void {
  if (p && p.totalPages > 1) note(`page ${p.page} of ${p.totalPages} (${p.total} ${what}); use --page N for more`);
}

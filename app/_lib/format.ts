// Small formatting helpers shared by the dashboard pages.
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A server time: ISO, or SQLite's `datetime('now')`, which has no zone marker and is UTC. */
export function parseTime(s: string): Date {
  return new Date(/Z$|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(" ", "T")}Z`);
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return "never";
  const s = Math.round((Date.now() - parseTime(iso).getTime()) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** The local date and time of a server time; "–" for none, the text itself when it is no date. */
export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = parseTime(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function cpuSeconds(ns: number | null | undefined): string {
  return ns ? `${(ns / 1e9).toFixed(1)} s` : "–";
}

/** "1 snapshot", "3 snapshots". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// One way to show a server time: relative ("3m ago") with the full date on hover, or the full date
// with the relative one on hover (`absolute`); none is a grey "never".
import { ago, fmtDate, parseTime } from "~/app/_lib/format";

export function When({ at, absolute = false, never = "never" }: { at: string | null | undefined; absolute?: boolean; never?: string }) {
  if (!at) return <span className="text-neutral-400">{never}</span>;
  const d = parseTime(at);
  if (Number.isNaN(d.getTime())) return <>{at}</>;
  return (
    <time dateTime={d.toISOString()} title={absolute ? ago(at) : fmtDate(at)}>
      {absolute ? fmtDate(at) : ago(at)}
    </time>
  );
}

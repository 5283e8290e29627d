// A plain header row for the dashboard's tables: one column-scoped <th> per label, and optionally a
// last, visually empty column (row actions) named for screen readers.
import { th } from "./styles";

export function HeadRow({ cols, action }: { cols: string[]; action?: string }) {
  return (
    <tr>
      {cols.map((c) => (
        <th key={c} scope="col" className={th}>
          {c}
        </th>
      ))}
      {action && (
        <th scope="col" className={`${th} relative`}>
          <span className="sr-only">{action}</span>
        </th>
      )}
    </tr>
  );
}

// A plain header row for the dashboard's tables: one column-scoped <th> per label.
import { th } from "./styles";

export function HeadRow({ cols }: { cols: string[] }) {
  return (
    <tr>
      {cols.map((c) => (
        <th key={c} scope="col" className={th}>
          {c}
        </th>
      ))}
    </tr>
  );
}

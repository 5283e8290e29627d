// What a card shows for one query: loading, its error, an empty message, or the data (usually a table).
import type { ReactNode } from "react";
import { ErrorText } from "./alert";
import { Loading } from "./spinner";
import { type Col, HeadRow, Table } from "./table";

interface QueryLike<T> {
  data: T | undefined;
  error: unknown;
  isPending: boolean;
}

export function Loaded<T>({ query, loading, empty, isEmpty, children }: { query: QueryLike<T>; loading: string; empty: ReactNode; isEmpty: (data: T) => boolean; children: (data: T) => ReactNode }) {
  if (query.data === undefined) {
    return query.isPending ? <Loading className="p-4">{loading}</Loading> : <ErrorText error={query.error} className="p-4 text-sm" />;
  }
  if (isEmpty(query.data)) return <p className="p-4 text-sm text-neutral-600">{empty}</p>;
  return <>{children(query.data)}</>;
}

/** A query's rows as a table (head from `cols`), or its loading, error or empty line. */
export function QueryTable<T>({
  cols,
  action,
  caption,
  children,
  ...loaded
}: {
  query: QueryLike<T>;
  loading: string;
  empty: ReactNode;
  isEmpty: (data: T) => boolean;
  cols: Col[];
  action?: string;
  caption?: string;
  children: (data: T) => ReactNode;
}) {
  return (
    <Loaded {...loaded}>
      {(data) => (
        <Table caption={caption}>
          <HeadRow cols={cols} action={action} />
          <tbody className="divide-y divide-neutral-100">{children(data)}</tbody>
        </Table>
      )}
    </Loaded>
  );
}

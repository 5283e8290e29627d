"use client";
// Recent audit events about the tenant, and its app log tail (refreshed every 5 s).
import Link from "next/link";
import { useEffect, useRef } from "react";
import { Button, Card, Loading, ErrorBox, HeadRow, Pill, Table, tdCls, When } from "~/app/_components/ui";
import { api } from "~/app/_lib/trpc";

export function AuditSection({ id }: { id: string }) {
  const audit = api.audit.list.useQuery({ target: `container:${id}`, limit: 20 }, { refetchInterval: 15_000 });
  const entries = audit.data?.entries ?? [];
  return (
    <Card
      title="Recent audit events"
      actions={
        <Link href="/audit" className="text-xs text-blue-700 hover:underline">
          Open audit log
        </Link>
      }
    >
      {audit.isError ? (
        <ErrorBox error={audit.error} title="Could not load audit events" onRetry={() => void audit.refetch()} />
      ) : audit.isPending ? (
        <Loading>Loading…</Loading>
      ) : entries.length === 0 ? (
        <p className="text-sm text-neutral-500">No audit events for this tenant yet.</p>
      ) : (
        <Table boxClassName="-mx-4 -mb-4">
          <HeadRow cols={["When", "Action", "Actor", "Result"]} />
          <tbody className="divide-y divide-neutral-100">
            {entries.map((e) => (
              <tr key={e.id}>
                <td className={`${tdCls} text-neutral-600`}>
                  <When at={e.at} />
                </td>
                <td className={`${tdCls} font-mono text-xs`}>{e.action}</td>
                <td className={`${tdCls} font-mono text-xs text-neutral-600`}>{e.actor}</td>
                <td className={tdCls}>
                  <Pill tone={e.result === "ok" ? "good" : "bad"}>{e.result}</Pill>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

export function LogSection({ id }: { id: string }) {
  const logs = api.containers.logs.useQuery({ id }, { refetchInterval: 5000 });
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const text = logs.data?.log ?? "";
  // Keep following the tail unless the reader scrolled up.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the text changes, which the effect reads through the DOM.
  useEffect(() => {
    const el = pre.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <Card
      title="App log"
      actions={
        <>
          <span className="text-xs text-neutral-500">last 64 KiB, refreshes every 5 s</span>
          <Button onClick={() => void logs.refetch()} disabled={logs.isFetching}>
            Refresh
          </Button>
        </>
      }
    >
      {logs.isError && !logs.data ? (
        <ErrorBox error={logs.error} title="Could not load the log" onRetry={() => void logs.refetch()} />
      ) : (
        <pre
          ref={pre}
          data-testid="tenant-log"
          role="region"
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to be scrolled (WCAG 2.1.1).
          tabIndex={0}
          aria-label="App log"
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
          className="max-h-80 min-h-24 overflow-auto whitespace-pre-wrap break-all rounded-md bg-neutral-950 p-3 font-mono text-xs leading-relaxed text-neutral-100 focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600"
        >
          {logs.isPending ? "Loading…" : text || "No output yet."}
        </pre>
      )}
    </Card>
  );
}

"use client";
// Tenants: a server-paginated, sortable, filterable table (built for thousands of rows); stats refresh live.
import { keepPreviousData } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useMemo, useState } from "react";
import { btn, Card, EmptyState, ErrorBox, Field, HeadRow, Input, Loading, Pager, Select, StaleNote, STATUSES, type Status, StatusBadge, Table, When } from "~/app/_components/ui";
import { bytes, cpuSeconds } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";

// Compact cells: ten columns (the URL under the name, the template under the project) fit a 1280 px
// screen without truncating anything; narrower screens scroll the table sideways, with the actions
// column pinned on the right.
const thCls = "px-2 py-2 text-xs font-medium text-neutral-600 whitespace-nowrap";
const tdCls = "px-2 py-2 align-middle whitespace-nowrap";
const pinned = "sticky right-0 shadow-[-6px_0_6px_-6px_rgba(0,0,0,0.15)]";

type SortBy = "name" | "status" | "created_at";
const SORTABLE: SortBy[] = ["name", "status", "created_at"];
const PAGE_SIZES = [20, 50, 100];

export default function TenantsPage() {
  return (
    <Suspense fallback={<Loading>Loading tenants…</Loading>}>
      <Tenants />
    </Suspense>
  );
}

function Tenants() {
  const params = useSearchParams();
  const pathname = usePathname();
  const page = Math.max(1, Number(params.get("page")) || 1);
  const limitParam = Number(params.get("limit"));
  const limit = PAGE_SIZES.includes(limitParam) ? limitParam : 20;
  const sortParam = params.get("sort") as SortBy | null;
  const sortBy: SortBy = sortParam && SORTABLE.includes(sortParam) ? sortParam : "created_at";
  const sortOrder: "asc" | "desc" = params.get("order") === "asc" ? "asc" : "desc";
  const projectId = params.get("project") ?? "";
  const statusParam = params.get("status") ?? "";
  const status = (STATUSES as readonly string[]).includes(statusParam) ? (statusParam as Status) : "";
  const template = params.get("template") ?? "";
  const search = params.get("q") ?? "";

  /** Updates the query string without a server round trip (Next syncs useSearchParams with history.replaceState). */
  const setParams = (patch: Record<string, string | number | null>, resetPage = true) => {
    // Read the URL now, not the render's params: a debounced call must not undo a newer change.
    const next = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, String(v));
    }
    if (resetPage && !("page" in patch)) next.delete("page");
    const qs = next.toString();
    window.history.replaceState(null, "", qs ? `${pathname}?${qs}` : pathname);
  };

  // Search box: debounced into the query string.
  const [searchInput, setSearchInput] = useState(search);
  // biome-ignore lint/correctness/useExhaustiveDependencies: debounces typing only; a query-string change from elsewhere must not re-arm it.
  useEffect(() => {
    if (searchInput.trim() === search) return;
    const t = setTimeout(() => setParams({ q: searchInput.trim().slice(0, 100) || null }), 300);
    return () => clearTimeout(t);
  }, [searchInput]);

  const input = {
    page,
    limit,
    sort_by: sortBy,
    sort_order: sortOrder,
    ...(projectId && { projectId }),
    ...(status && { status }),
    ...(template && { template }),
    ...(search && { search }),
  };
  const list = api.containers.list.useQuery(input, { refetchInterval: 5000, placeholderData: keepPreviousData });
  const projects = api.projects.list.useQuery({ page: 1, limit: 100 });
  const templates = api.templates.list.useQuery();
  const alias = useMemo(() => new Map((projects.data?.projects ?? []).map((p) => [p.id, p.alias])), [projects.data]);

  const utils = api.useUtils();
  const [opError, setOpError] = useState<unknown>(null);
  const [pendingId, setPendingId] = useState<string | null>(null);
  const op = api.containers.operation.useMutation({
    onMutate: (v) => {
      setOpError(null);
      setPendingId(v.id);
    },
    onError: (e) => setOpError(e),
    onSettled: async () => {
      setPendingId(null);
      await utils.containers.list.invalidate();
    },
  });

  const filtered = Boolean(projectId || status || template || search);
  const rows = list.data?.containers ?? [];
  const pg = list.data?.pagination;

  const sort = (col: SortBy) => {
    const active = sortBy === col;
    return { active, order: sortOrder, onClick: () => setParams({ sort: col, order: active ? (sortOrder === "asc" ? "desc" : "asc") : col === "created_at" ? "desc" : "asc" }) };
  };

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Tenants</h1>
          <p className="text-sm text-neutral-500">One isolated tenant per customer.{pg ? ` ${pg.total.toLocaleString()} ${filtered ? "matching" : "in total"}.` : ""}</p>
        </div>
        <Link href="/tenants/new" className={btn.primary}>
          New tenant
        </Link>
      </div>

      <Card>
        <form role="search" aria-label="Filter tenants" className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4" onSubmit={(e) => e.preventDefault()}>
          <Field label="Search by name">
            <Input type="search" placeholder="e.g. acme" value={searchInput} maxLength={100} onChange={(e) => setSearchInput(e.target.value)} />
          </Field>
          <Field label="Project">
            <Select
              value={projectId}
              onChange={(e) => setParams({ project: e.target.value })}
              empty="All projects"
              options={(projects.data?.projects ?? []).map((p) => ({ value: p.id, label: p.alias }))}
            />
          </Field>
          <Field label="Status">
            <Select value={status} onChange={(e) => setParams({ status: e.target.value })} empty="Any status" options={STATUSES} />
          </Field>
          <Field label="Template">
            <Select value={template} onChange={(e) => setParams({ template: e.target.value })} empty="Any template" options={(templates.data ?? []).map((t) => t.name)} />
          </Field>
        </form>
      </Card>

      {opError ? <ErrorBox error={opError} title="The operation failed" hint="Refresh the list to see the tenant's current state, then try again." /> : null}

      {list.isError && !list.data ? (
        <ErrorBox
          error={list.error}
          title="Could not load tenants"
          hint="Check that the Hoody server and its host daemon are running (npm run up), then retry. If you were signed out, sign in again."
          onRetry={() => void list.refetch()}
        />
      ) : list.isPending ? (
        <Loading className="rounded-lg border border-neutral-200 bg-white p-8">Loading tenants…</Loading>
      ) : rows.length === 0 && !filtered && page === 1 ? (
        <EmptyState
          title="No tenants yet — create one"
          action={
            <Link href="/tenants/new" className={btn.primary}>
              New tenant
            </Link>
          }
        >
          Each tenant is a real LXC container snapshotted from a template, with its own URL.
        </EmptyState>
      ) : (
        <Card bodyClassName="">
          <Table caption={`Tenants, page ${page}; stats refresh every 5 seconds`} busy={list.isFetching && list.isPlaceholderData}>
            <HeadRow
              cellClassName={thCls}
              actionClassName={`${pinned} bg-neutral-50`}
              action="Actions"
              cols={[
                { label: "Name and URL", sort: sort("name") },
                "Project / template",
                { label: "Status", sort: sort("status") },
                { label: "Delta disk", right: true },
                { label: "KSM saved", right: true },
                { label: "Memory", right: true },
                { label: "CPU", right: true },
                "Last request",
                { label: "Created", sort: sort("created_at") },
              ]}
            />
            <tbody className="divide-y divide-neutral-100">
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={10} className="px-3 py-8 text-center text-sm text-neutral-500">
                    {filtered ? "No tenants match these filters." : "No tenants on this page."}{" "}
                    <button
                      type="button"
                      className="text-blue-700 underline"
                      onClick={() => {
                        setSearchInput("");
                        window.history.replaceState(null, "", filtered ? pathname : `${pathname}?${new URLSearchParams({ ...Object.fromEntries(params), page: "1" }).toString()}`);
                      }}
                    >
                      {filtered ? "Clear filters" : "Go to the first page"}
                    </button>
                  </td>
                </tr>
              ) : (
                rows.map((c) => {
                  const busy = pendingId === c.id;
                  return (
                    <tr key={c.id} className="group hover:bg-neutral-50" data-testid="tenant-row" data-id={c.id}>
                      <td className="px-2 py-2 align-middle">
                        {/* The color the API stores (Hoody's clients set it): a dot, decoration only. */}
                        <span aria-hidden="true" className="mr-1.5 inline-block h-2 w-2 rounded-full align-middle" style={{ backgroundColor: c.color }} />
                        <Link href={`/tenants/${c.id}`} className="font-medium text-neutral-900 hover:underline focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600">
                          {c.name}
                        </Link>
                        {/* The whole URL, wrapping where it must: never cut off. */}
                        <a href={c.url} target="_blank" rel="noreferrer" className="block break-all text-xs text-blue-700 hover:underline" data-testid="tenant-url-cell">
                          {c.url.replace(/^https?:\/\//, "").replace(/\/$/, "")}
                          <span className="sr-only"> (opens in a new tab)</span>
                        </a>
                      </td>
                      <td className={`${tdCls} text-neutral-600`}>
                        {alias.get(c.project_id) ?? <span className="font-mono text-xs">{c.project_id}</span>}
                        <span className="block text-xs text-neutral-500">{c.template}</span>
                      </td>
                      <td className={tdCls}>
                        <StatusBadge status={c.status} suspended={c.suspended} />
                      </td>
                      <td className={`${tdCls} text-right tabular-nums`}>{bytes(c.stats?.delta_disk_bytes)}</td>
                      <td className={`${tdCls} text-right tabular-nums`}>{bytes(c.stats?.ksm_saved_bytes)}</td>
                      <td className={`${tdCls} text-right tabular-nums`}>{bytes(c.stats?.memory_bytes)}</td>
                      <td className={`${tdCls} text-right tabular-nums`}>{cpuSeconds(c.stats?.cpu_usage_ns)}</td>
                      <td className={`${tdCls} text-neutral-600`}>
                        <When at={c.last_request_at} />
                      </td>
                      <td className={`${tdCls} text-neutral-600`}>
                        <When at={c.created_at} />
                      </td>
                      <td className={`${tdCls} ${pinned} bg-white text-right group-hover:bg-neutral-50`}>
                        <div className="flex justify-end gap-0.5">
                          <Link href={`/tenants/${c.id}`} className={btn.small} aria-label={`Open ${c.name}`}>
                            Open
                          </Link>
                          {c.status === "running" || c.status === "paused" ? (
                            <button type="button" disabled={busy} className={btn.small} aria-label={`Stop ${c.name}`} onClick={() => op.mutate({ id: c.id, op: "stop" })}>
                              {busy ? "Stopping…" : "Stop"}
                            </button>
                          ) : (
                            <button type="button" disabled={busy || c.status !== "stopped"} className={btn.small} aria-label={`Start ${c.name}`} onClick={() => op.mutate({ id: c.id, op: "start" })}>
                              {busy ? "Starting…" : "Start"}
                            </button>
                          )}
                          <Link href={`/tenants/${c.id}?erase=1`} className={btn.smallDanger} aria-label={`Delete ${c.name}`}>
                            Delete
                          </Link>
                        </div>
                      </td>
                    </tr>
                  );
                })
              )}
            </tbody>
          </Table>
          {pg && (
            <Pager
              label="Pagination"
              page={page}
              totalPages={pg.totalPages}
              busy={list.isFetching}
              onPage={(n) => setParams({ page: n > 1 ? n : null }, false)}
              summary={pg.total === 0 ? "0 tenants" : `${((pg.page - 1) * pg.limit + 1).toLocaleString()}–${Math.min(pg.page * pg.limit, pg.total).toLocaleString()} of ${pg.total.toLocaleString()}`}
            >
              <label className="flex items-center gap-2 whitespace-nowrap">
                <span>Rows per page</span>
                <Select className="w-auto py-1" value={limit} onChange={(e) => setParams({ limit: Number(e.target.value) })} options={PAGE_SIZES.map(String)} />
              </label>
            </Pager>
          )}
          <StaleNote error={list.isError && list.data ? list.error : null} />
        </Card>
      )}
    </div>
  );
}

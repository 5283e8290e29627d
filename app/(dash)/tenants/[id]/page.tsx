"use client";
// One tenant: header with URL and lifecycle buttons, then two tabs: Overview (live stats and history,
// environment, snapshots, firewall, audit events, app log, GDPR erasure, opened on load with
// ?erase=1) and Changes (the delta browser; ?tab=changes).
import Link from "next/link";
import { useParams, usePathname, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState } from "react";
import { btn, Button, ErrorBox, Loading, StatusBadge, When } from "~/app/_components/ui";
import { errorCode } from "~/app/_lib/errors";
import { api } from "~/app/_lib/trpc";
import { Breadcrumb } from "../_components/breadcrumb";
import type { Container, Receipt } from "../_components/types";
import { AuditSection, LogSection } from "./_components/activity";
import { ChangesSection } from "./_components/changes";
import { DomainsSection } from "./_components/domains";
import { EnvSection } from "./_components/env";
import { EraseDialog, ReceiptView } from "./_components/erase";
import { FirewallSection } from "./_components/firewall";
import { SnapshotsSection } from "./_components/snapshots";
import { BackupsSection } from "./_components/backups";
import { HistoryChart, StatsCards } from "./_components/stats";

export default function TenantPage() {
  return (
    <Suspense fallback={<Loading>Loading tenant…</Loading>}>
      <Tenant />
    </Suspense>
  );
}

function Tenant() {
  const { id } = useParams<{ id: string }>();
  const search = useSearchParams();
  const pathname = usePathname();
  const [receipt, setReceipt] = useState<{ receipt: Receipt; name: string } | null>(null);
  const [eraseOpen, setEraseOpen] = useState(search.get("erase") === "1");
  const [tab, setTab] = useState<"overview" | "changes">(search.get("tab") === "changes" ? "changes" : "overview");
  const get = api.containers.get.useQuery({ id }, { refetchInterval: 5000, enabled: receipt === null, retry: (n, e) => !["CONTAINER_NOT_FOUND", "BAD_REQUEST"].includes(errorCode(e) ?? "") && n < 1 });

  const closeErase = () => {
    setEraseOpen(false);
    if (search.get("erase")) window.history.replaceState(null, "", pathname);
  };

  if (receipt) return <ReceiptView receipt={receipt.receipt} name={receipt.name} />;

  if (get.isPending) {
    return <Loading>Loading tenant…</Loading>;
  }
  if (get.isError && !get.data) {
    const missing = errorCode(get.error) === "CONTAINER_NOT_FOUND" || errorCode(get.error) === "BAD_REQUEST";
    return (
      <div className="mx-auto max-w-xl space-y-4">
        <Breadcrumb here={id} />
        <ErrorBox
          error={get.error}
          title={missing ? "Tenant not found" : "Could not load this tenant"}
          hint={missing ? "It may have been erased. Pick another from the list." : "Check that the Hoody server and its host daemon are running, then retry."}
          onRetry={missing ? undefined : () => void get.refetch()}
        />
        <Link href="/tenants" className={btn.secondary}>
          Back to tenants
        </Link>
      </div>
    );
  }
  const c = get.data;
  return (
    <div className="space-y-5">
      <Breadcrumb here={c.name} />
      <Header c={c} stale={get.isError} />
      <Tabs
        tab={tab}
        onChange={(t) => {
          setTab(t);
          window.history.replaceState(null, "", t === "changes" ? `${pathname}?tab=changes` : pathname);
        }}
      />
      {tab === "changes" ? <ChangesSection c={c} /> : <Overview c={c} onErase={() => setEraseOpen(true)} />}
      <EraseDialog
        c={c}
        open={eraseOpen}
        onClose={closeErase}
        onErased={(r) => {
          setEraseOpen(false);
          window.history.replaceState(null, "", pathname);
          setReceipt({ receipt: r, name: c.name });
        }}
      />
    </div>
  );
}

function Tabs({ tab, onChange }: { tab: "overview" | "changes"; onChange: (t: "overview" | "changes") => void }) {
  const tabs = [
    { key: "overview", label: "Overview" },
    { key: "changes", label: "Changes" },
  ] as const;
  return (
    <div role="tablist" aria-label="Tenant views" className="flex gap-1 border-b border-neutral-200">
      {tabs.map((t) => (
        <button
          key={t.key}
          type="button"
          role="tab"
          aria-selected={tab === t.key}
          className={`-mb-px rounded-t border-b-2 px-3 py-2 text-sm font-medium ${tab === t.key ? "border-blue-600 text-blue-700" : "border-transparent text-neutral-600 hover:text-neutral-900"}`}
          onClick={() => onChange(t.key)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

function Overview({ c, onErase }: { c: Container; onErase: () => void }) {
  return (
    <>
      <StatsCards c={c} />
      <HistoryChart id={c.id} />
      <div className="grid grid-cols-1 items-start gap-5 lg:grid-cols-2">
        <EnvSection c={c} />
        <AuditSection id={c.id} />
      </div>
      <SnapshotsSection c={c} />
      <BackupsSection c={c} />
      <FirewallSection c={c} />
      <DomainsSection c={c} />
      <LogSection id={c.id} />
      <section aria-labelledby="danger-zone" className="rounded-lg border border-red-200 bg-white shadow-sm">
        <div className="flex flex-col gap-3 p-4 sm:flex-row sm:items-center sm:justify-between">
          <div>
            <h2 id="danger-zone" className="text-sm font-semibold text-red-800">
              Danger zone
            </h2>
            <p className="text-sm text-neutral-600">Erase this tenant and all its data for good (GDPR right to erasure). Only a receipt is kept.</p>
          </div>
          <Button variant="danger" onClick={onErase}>
            Delete tenant (GDPR)
          </Button>
        </div>
      </section>
    </>
  );
}

function Header({ c, stale }: { c: Container; stale: boolean }) {
  const utils = api.useUtils();
  const [copied, setCopied] = useState<"ok" | "fail" | null>(null);
  const [pendingOp, setPendingOp] = useState<string | null>(null);
  const op = api.containers.operation.useMutation({
    onMutate: (v) => setPendingOp(v.op),
    onSettled: async () => {
      setPendingOp(null);
      await Promise.all([utils.containers.get.invalidate({ id: c.id }), utils.audit.list.invalidate(), utils.containers.list.invalidate()]);
    },
  });
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(null), 2000);
    return () => clearTimeout(t);
  }, [copied]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(c.url);
      setCopied("ok");
    } catch {
      setCopied("fail");
    }
  };
  const running = c.status === "running";
  const stopped = c.status === "stopped";
  const paused = c.status === "paused";
  const busy = op.isPending;

  return (
    <header className="rounded-lg border border-neutral-200 bg-white p-4 shadow-sm">
      <div className="flex flex-col gap-4 lg:flex-row lg:items-start lg:justify-between">
        <div className="min-w-0 space-y-1.5">
          <div className="flex flex-wrap items-center gap-2">
            <h1 className="truncate text-xl font-semibold tracking-tight" data-testid="tenant-name">
              {c.name}
            </h1>
            <StatusBadge status={c.status} suspended={c.suspended} />
            {stale && <span className="text-xs text-amber-700">(live refresh failing; showing the last data)</span>}
          </div>
          <div className="flex min-w-0 flex-wrap items-center gap-2 text-sm">
            <span data-testid="tenant-url" className="min-w-0 break-all">
              <a href={c.url} target="_blank" rel="noreferrer" className="font-mono text-blue-700 hover:underline">
                {c.url}
              </a>
            </span>
            <button type="button" className={`${btn.small} border border-neutral-300 bg-white`} onClick={() => void copy()} aria-label="Copy the tenant URL">
              Copy
            </button>
            <span role="status" aria-live="polite" className="text-xs text-neutral-500">
              {copied === "ok" ? "Copied" : copied === "fail" ? "Copy failed; select the URL instead" : ""}
            </span>
          </div>
          <p className="text-xs text-neutral-500">
            <span aria-hidden="true" className="mr-1 inline-block h-2 w-2 rounded-full align-middle" style={{ backgroundColor: c.color }} />
            <span className="font-mono">{c.id}</span> · engine name{" "}
            <span className="font-mono" title="what LXC or Incus calls it (not an API id)">
              {c.engine_name}
            </span>{" "}
            · template {c.template} · {c.ip ?? "no IP"}
            {c.server_name && <span data-testid="tenant-server"> · server {c.server_name}</span>}
            {c.member && <span data-testid="tenant-member"> · member {c.member}</span>} · created <When at={c.created_at} />
            {c.source_container_id && (
              <>
                {" "}
                · copied from{" "}
                <Link href={`/tenants/${c.source_container_id}`} className="font-mono underline">
                  {c.source_container_id}
                </Link>
              </>
            )}
          </p>
        </div>
        <div className="flex flex-wrap gap-2" role="group" aria-label="Lifecycle">
          <Button busy={pendingOp === "start"} disabled={busy || !stopped} onClick={() => op.mutate({ id: c.id, op: "start" })}>
            Start
          </Button>
          <Button busy={pendingOp === "stop"} disabled={busy || !(running || paused)} onClick={() => op.mutate({ id: c.id, op: "stop" })}>
            Stop
          </Button>
          <Button busy={pendingOp === "restart"} disabled={busy || !(running || stopped)} onClick={() => op.mutate({ id: c.id, op: "restart" })}>
            Restart
          </Button>
          {paused ? (
            <Button busy={pendingOp === "resume"} disabled={busy} onClick={() => op.mutate({ id: c.id, op: "resume" })}>
              Resume
            </Button>
          ) : (
            <Button
              busy={pendingOp === "pause"}
              disabled={busy || !running}
              onClick={() => op.mutate({ id: c.id, op: "pause" })}
              title="Freeze its processes in place; its URL answers 503 until resumed"
            >
              Pause
            </Button>
          )}
        </div>
      </div>
      <ErrorBox error={op.error} title="The operation failed" hint="The tenant's current state is shown above; try again or check the app log." className="mt-3" />
    </header>
  );
}

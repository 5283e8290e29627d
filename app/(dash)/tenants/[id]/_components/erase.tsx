"use client";
// GDPR erasure: a dialog that says exactly what goes, typed-name confirmation, then the receipt (downloadable as JSON).
import Link from "next/link";
import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "~/app/_lib/trpc";
import { Button, btn, Card, Dialog, ErrorBox, Field, Input, Loading, When } from "~/app/_components/ui";
import { plural } from "~/app/_lib/format";
import type { Container, Receipt } from "../../_components/types";

export function EraseDialog({ c, open, onClose, onErased }: { c: Container; open: boolean; onClose: () => void; onErased: (r: Receipt) => void }) {
  const utils = api.useUtils();
  const fw = api.containers.firewall.useQuery({ id: c.id }, { enabled: open });
  const [typed, setTyped] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);
  const erase = api.containers.delete.useMutation({
    onSuccess: async (r) => {
      onErased(r);
      await utils.containers.list.invalidate();
    },
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on opening only; the mutation object changes on every render.
  useEffect(() => {
    if (open) {
      setTyped("");
      erase.reset();
    }
  }, [open]);

  const envCount = Object.keys(c.environment_vars).length;
  const ruleCount = fw.data?.rule_count;
  const matches = typed === c.name;

  return (
    <Dialog open={open} title={`Delete tenant ${c.name} (GDPR erasure)`} onClose={() => !erase.isPending && onClose()} initialFocus={inputRef}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (matches && !erase.isPending) erase.mutate({ id: c.id });
        }}
      >
        <p className="text-sm text-neutral-700">This permanently erases every byte of the tenant&apos;s data:</p>
        <ul className="mt-2 list-disc space-y-1 pl-5 text-sm text-neutral-700" data-testid="erase-list">
          <li>its processes (force-stopped)</li>
          <li>its filesystem and all {plural(c.snapshot_count, "snapshot")}</li>
          <li>its {plural(envCount, "environment variable")}</li>
          <li>its {ruleCount === undefined ? "firewall rules" : plural(ruleCount, "firewall rule")}</li>
          <li>its logs: app and console logs, status history and the audit entries about it</li>
          <li>its uid range and IP address{c.ip ? ` (${c.ip})` : ""}, released for reuse</li>
        </ul>
        <p className="mt-3 rounded-md border border-red-200 bg-red-50 p-2.5 text-sm text-red-800">
          <span className="font-semibold">This is irreversible.</span> Only an erasure receipt is kept (its id, the time, who asked and what was erased — none of the tenant&apos;s data).
        </p>
        <Field
          className="mt-4"
          label="Type the tenant name to confirm"
          hint={
            <>
              Type <span className="font-mono font-medium text-neutral-800">{c.name}</span> exactly to enable the button.
            </>
          }
        >
          <Input ref={inputRef} mono value={typed} autoComplete="off" spellCheck={false} disabled={erase.isPending} onChange={(e) => setTyped(e.target.value)} />
        </Field>
        <ErrorBox error={erase.error} title="The tenant was not erased" hint="Its status may now be failed; retrying the erasure is safe." className="mt-3" />
        {erase.isPending && <Loading className="mt-3 text-neutral-600">Erasing… stopping it, removing its filesystem and snapshots, scrubbing its records.</Loading>}
        <div className="mt-5 flex flex-wrap justify-end gap-2">
          <Button disabled={erase.isPending} onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="danger" disabled={!matches || erase.isPending}>
            Erase permanently
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The erased items of a receipt, whatever shape the server stored ({host:[…], database:[…]}). */
function erasedGroups(erased: unknown): { label: string; items: string[] }[] {
  if (Array.isArray(erased)) return [{ label: "Erased", items: erased.map(String) }];
  if (erased && typeof erased === "object") {
    return Object.entries(erased as Record<string, unknown>).map(([k, v]) => ({
      label: k === "host" ? "On the host" : k === "database" ? "In the database" : k,
      items: Array.isArray(v) ? v.map(String) : [String(v)],
    }));
  }
  return [];
}

export function ReceiptView({ receipt, name }: { receipt: Receipt; name: string }) {
  const json = useMemo(() => JSON.stringify({ ...receipt, container_name: name }, null, 2), [receipt, name]);
  const [href, setHref] = useState<string | null>(null);
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([json], { type: "application/json" }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [json]);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);

  return (
    <div className="mx-auto max-w-3xl space-y-5" data-testid="erasure-receipt">
      <div>
        <h1 ref={headingRef} tabIndex={-1} className="text-xl font-semibold tracking-tight focus:outline-none">
          Tenant {name} erased
        </h1>
        <p className="text-sm text-neutral-500">Its processes, filesystem, snapshots, environment, firewall rules, logs, uid range and IP are gone. This receipt is all that remains.</p>
      </div>
      <Card title="Erasure receipt">
        <dl className="grid grid-cols-1 gap-x-6 gap-y-3 text-sm sm:grid-cols-[10rem_1fr]">
          <dt className="text-neutral-500">Receipt id</dt>
          <dd className="font-mono" data-testid="receipt-id">
            {receipt.receipt_id}
          </dd>
          <dt className="text-neutral-500">Erased at</dt>
          <dd data-testid="receipt-time">
            <When at={receipt.erased_at} absolute /> <span className="font-mono text-xs text-neutral-500">({receipt.erased_at})</span>
          </dd>
          <dt className="text-neutral-500">Tenant</dt>
          <dd>
            {name} <span className="font-mono text-xs text-neutral-500">{receipt.container_id}</span>
          </dd>
          <dt className="text-neutral-500">Project</dt>
          <dd className="font-mono text-xs">{receipt.project_id}</dd>
          <dt className="text-neutral-500">Requested by</dt>
          <dd className="font-mono text-xs">{receipt.requested_by}</dd>
        </dl>
        <div className="mt-4 space-y-3" data-testid="receipt-erased">
          {erasedGroups(receipt.erased).map((g) => (
            <div key={g.label}>
              <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-500">{g.label}</h3>
              <ul className="mt-1 list-disc space-y-0.5 pl-5 text-sm text-neutral-700">
                {g.items.map((it) => (
                  <li key={it}>{it}</li>
                ))}
              </ul>
            </div>
          ))}
        </div>
        <div className="mt-5 flex flex-wrap gap-2">
          {href ? (
            <a href={href} download={`hoody-erasure-receipt-${receipt.receipt_id}.json`} className={btn.primary}>
              Download receipt (JSON)
            </a>
          ) : (
            <span className={`${btn.primary} opacity-50`}>Download receipt (JSON)</span>
          )}
          <Link href="/tenants" className={btn.secondary}>
            Back to tenants
          </Link>
        </div>
      </Card>
    </div>
  );
}

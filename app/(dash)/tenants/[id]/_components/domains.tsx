"use client";
// Custom domains: a customer's own name (app.acme.com) pointed at this tenant. The server checks that
// the name resolves to this box before it attaches it; Caddy gets its certificate on the first visit.
import { useState } from "react";
import { btn, Button, Card, ErrorBox, Field, HeadRow, Input, Loading, Notice, Table, tdCls, When } from "~/app/_components/ui";
import { isHostname } from "~/server/shared/hostnames";
import { api } from "~/app/_lib/trpc";
import type { Container } from "../../_components/types";

export function DomainsSection({ c }: { c: Container }) {
  const utils = api.useUtils();
  const domains = api.containers.domains.useQuery({ id: c.id });
  const [name, setName] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => Promise.all([utils.containers.domains.invalidate({ id: c.id }), utils.audit.list.invalidate()]);
  const add = api.containers.addDomain.useMutation({
    onMutate: () => setNotice(null),
    onSuccess: async (d) => {
      setName("");
      setNotice(`${d.hostname} now reaches ${c.name}.`);
      await refresh();
    },
  });
  const remove = api.containers.removeDomain.useMutation({
    onMutate: () => setNotice(null),
    onSuccess: async (r) => {
      setNotice(`${r.hostname} detached.`);
      await refresh();
    },
  });
  const wanted = name.trim().toLowerCase().replace(/\.$/, "");
  const bad = wanted !== "" && !isHostname(wanted);
  const list = domains.data?.domains ?? [];

  return (
    <Card title="Custom domains" actions={<span className="text-xs text-neutral-500">{list.length} domain(s)</span>}>
      <form
        className="mb-4 flex flex-col gap-3 sm:flex-row sm:items-end"
        onSubmit={(e) => {
          e.preventDefault();
          if (!bad && wanted) add.mutate({ id: c.id, hostname: wanted });
        }}
      >
        <Field className="sm:w-72" label="Domain">
          <Input mono value={name} maxLength={253} placeholder="app.customer.com" aria-invalid={bad || undefined} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Button type="submit" variant="primary" busy={add.isPending} disabled={bad || !wanted}>
          Attach domain
        </Button>
      </form>
      {bad && <p className="-mt-2 mb-3 text-xs text-red-700">A domain name looks like app.customer.com.</p>}
      <p className="-mt-2 mb-3 text-xs text-neutral-500">Point the name at this server first (an A record); it is checked before it is attached.</p>
      <Notice className="mb-2 text-sm">{notice}</Notice>
      <ErrorBox error={add.error} className="mb-3" />
      <ErrorBox error={remove.error} className="mb-3" />
      {domains.isError ? (
        <ErrorBox error={domains.error} title="Could not load domains" onRetry={() => void domains.refetch()} />
      ) : domains.isPending ? (
        <Loading>Loading domains…</Loading>
      ) : list.length === 0 ? (
        <p className="text-sm text-neutral-500">No custom domains.</p>
      ) : (
        <Table boxClassName="-mx-4">
          <HeadRow cols={["Domain", "Resolves to", "Added"]} action="Actions" />
          <tbody className="divide-y divide-neutral-100">
            {list.map((d) => (
              <tr key={d.hostname} data-testid="domain-row">
                <td className={`${tdCls} font-mono text-xs`}>
                  <a className="underline" href={d.url} target="_blank" rel="noreferrer">
                    {d.hostname}
                  </a>
                </td>
                <td className={`${tdCls} font-mono text-xs`}>{d.addresses.join(", ")}</td>
                <td className={`${tdCls} text-neutral-600`}>
                  <When at={d.created_at} />
                </td>
                <td className={`${tdCls} text-right`}>
                  <button type="button" className={btn.smallDanger} aria-label={`Detach ${d.hostname}`} disabled={remove.isPending} onClick={() => remove.mutate({ id: c.id, hostname: d.hostname })}>
                    Detach
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

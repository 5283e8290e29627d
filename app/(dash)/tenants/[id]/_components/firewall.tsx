"use client";
// Firewall: ingress and egress rule tables, enable/disable and remove per rule, add-rule form, reset to the template's rules.
import { useState } from "react";
import { btn, Button, Card, ErrorBox, Field, HeadRow, Input, Loading, Notice, Pill, Select, Table, tdCls } from "~/app/_components/ui";
import { api } from "~/app/_lib/trpc";
import { PortSpec } from "~/server/shared/protocol";
import type { AddRuleResult, Container, FirewallView, Rule } from "../../_components/types";

type Direction = "ingress" | "egress";
type Action = "allow" | "reject" | "drop";
type Protocol = "" | "tcp" | "udp" | "icmp4";

export function FirewallSection({ c }: { c: Container }) {
  const utils = api.useUtils();
  const fw = api.containers.firewall.useQuery({ id: c.id });
  const [busyKey, setBusyKey] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const done = (v: FirewallView) => {
    utils.containers.firewall.setData({ id: c.id }, v);
    void utils.audit.list.invalidate();
  };
  const patch = api.containers.patchRule.useMutation({ onSuccess: done, onSettled: () => setBusyKey(null) });
  const remove = api.containers.deleteRule.useMutation({ onSuccess: done, onSettled: () => setBusyKey(null) });
  const reset = api.containers.resetFirewall.useMutation({
    onSuccess: (v) => {
      done(v);
      setNotice("Firewall reset to the template's rules.");
    },
  });
  const opError = patch.error ?? remove.error ?? reset.error;

  const table = (direction: Direction, rules: Rule[]) => (
    <div>
      <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-neutral-500">{direction === "ingress" ? "Ingress (traffic to the tenant)" : "Egress (traffic from the tenant)"}</h3>
      {rules.length === 0 ? (
        <p className="mb-2 text-sm text-neutral-500">No {direction} rules.</p>
      ) : (
        <Table boxClassName="-mx-4" label={`${direction} rules`}>
          <HeadRow cols={["#", "Action", "Protocol", "Port", direction === "ingress" ? "Source" : "Destination", "Description", "State"]} action="Actions" />
          <tbody className="divide-y divide-neutral-100">
            {rules.map((r) => {
              const key = `${direction}:${r.index}`;
              const enabled = r.state !== "disabled";
              const peer = direction === "ingress" ? r.source : r.destination;
              const label = r.description || `${direction} rule ${r.index + 1}`;
              return (
                <tr key={key} data-testid={`rule-${direction}`} className={enabled ? "" : "text-neutral-400"}>
                  <td className={`${tdCls} tabular-nums text-neutral-500`}>{r.index + 1}</td>
                  <td className={tdCls}>
                    <Pill tone={r.action === "allow" ? "good" : "bad"}>{r.action}</Pill>
                  </td>
                  <td className={tdCls}>{r.protocol ?? "any"}</td>
                  <td className={`${tdCls} font-mono text-xs`}>
                    {r.protocol === "icmp4" ? (
                      r.icmp_type ? (
                        `type ${r.icmp_type}${r.icmp_code ? ` code ${r.icmp_code}` : ""}`
                      ) : (
                        "any"
                      )
                    ) : (
                      <>
                        {r.destination_port ?? "any"}
                        {r.source_port && <span className="block text-neutral-500">from port {r.source_port}</span>}
                      </>
                    )}
                  </td>
                  <td className={`${tdCls} font-mono text-xs`}>{peer ?? "any"}</td>
                  <td className={`${tdCls} max-w-[16rem] truncate`} title={r.description}>
                    {r.description ?? <span className="text-neutral-400">–</span>}
                  </td>
                  <td className={tdCls}>
                    <button
                      type="button"
                      role="switch"
                      aria-checked={enabled}
                      aria-label={`${label}: enabled`}
                      disabled={busyKey === key}
                      onClick={() => {
                        setBusyKey(key);
                        setNotice(null);
                        patch.mutate({ id: c.id, direction, index: r.index, state: enabled ? "disabled" : "enabled" });
                      }}
                      className="inline-flex items-center gap-2 rounded text-xs focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600 disabled:opacity-50"
                    >
                      <span aria-hidden="true" className={`relative inline-block h-4 w-7 rounded-full transition-colors ${enabled ? "bg-green-600" : "bg-neutral-300"}`}>
                        <span className={`absolute top-0.5 h-3 w-3 rounded-full bg-white shadow transition-all ${enabled ? "left-3.5" : "left-0.5"}`} />
                      </span>
                      <span className={enabled ? "text-neutral-800" : "text-neutral-500"}>{enabled ? "Enabled" : "Disabled"}</span>
                    </button>
                  </td>
                  <td className={`${tdCls} text-right`}>
                    <button
                      type="button"
                      className={btn.smallDanger}
                      aria-label={`Remove ${label}`}
                      disabled={busyKey === key}
                      onClick={() => {
                        setBusyKey(key);
                        setNotice(null);
                        remove.mutate({ id: c.id, direction, index: r.index });
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      )}
    </div>
  );

  return (
    <Card
      title="Firewall"
      actions={
        <>
          {fw.data && (
            <span className="text-xs text-neutral-500">
              {fw.data.rule_count} of {fw.data.max_rules} rules
            </span>
          )}
          <Button
            busy={reset.isPending}
            title={`Replace the rules with those of the template ${c.template}`}
            onClick={() => {
              setNotice(null);
              reset.mutate({ id: c.id });
            }}
          >
            Reset to template
          </Button>
        </>
      }
    >
      {fw.isError ? (
        <ErrorBox error={fw.error} title="Could not load the firewall" onRetry={() => void fw.refetch()} />
      ) : fw.isPending ? (
        <Loading>Loading rules…</Loading>
      ) : (
        <div className="space-y-5">
          <Notice>{notice}</Notice>
          {opError && <ErrorBox error={opError} title="The rule was not changed" />}
          {table("ingress", fw.data.ingress)}
          {table("egress", fw.data.egress)}
          <AddRule
            id={c.id}
            full={fw.data.rule_count >= fw.data.max_rules}
            onAdded={(v) => {
              // A repeat of an existing rule changes nothing; the API names the rule it repeats.
              if ("duplicate" in v) return setNotice(`The same rule exists already (${v.duplicate_of.direction} #${v.duplicate_of.index + 1}); nothing was added.`);
              done(v);
              setNotice("Rule added.");
            }}
          />
        </div>
      )}
    </Card>
  );
}

function AddRule({ id, full, onAdded }: { id: string; full: boolean; onAdded: (v: AddRuleResult) => void }) {
  const [direction, setDirection] = useState<Direction>("ingress");
  const [action, setAction] = useState<Action>("allow");
  const [protocol, setProtocol] = useState<Protocol>("tcp");
  const [port, setPort] = useState("");
  const [peer, setPeer] = useState("");
  const [description, setDescription] = useState("");
  const add = api.containers.addRule.useMutation({
    onSuccess: (v) => {
      setPort("");
      setPeer("");
      setDescription("");
      onAdded(v);
    },
  });
  const portAllowed = protocol === "tcp" || protocol === "udp";
  const portBad = port !== "" && !PortSpec.safeParse(port).success;

  return (
    <form
      className="rounded-md border border-neutral-200 bg-neutral-50 p-3"
      aria-label="Add a firewall rule"
      onSubmit={(e) => {
        e.preventDefault();
        if (portBad) return;
        add.mutate({
          id,
          direction,
          action,
          state: "enabled",
          ...(protocol ? { protocol } : {}),
          ...(portAllowed && port ? { destination_port: port } : {}),
          ...(peer.trim() ? (direction === "ingress" ? { source: peer.trim() } : { destination: peer.trim() }) : {}),
          ...(description.trim() ? { description: description.trim() } : {}),
        });
      }}
    >
      <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-neutral-500">Add rule</h3>
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
        <Field label="Direction">
          <Select value={direction} onChange={(e) => setDirection(e.target.value as Direction)} options={["ingress", "egress"]} />
        </Field>
        <Field label="Action">
          <Select value={action} onChange={(e) => setAction(e.target.value as Action)} options={["allow", "reject", "drop"]} />
        </Field>
        <Field label="Protocol">
          <Select value={protocol} onChange={(e) => setProtocol(e.target.value as Protocol)} empty="any" options={["tcp", "udp", "icmp4"]} />
        </Field>
        <Field label="Port">
          <Input
            mono
            value={portAllowed ? port : ""}
            disabled={!portAllowed}
            placeholder={portAllowed ? "any, or 80,443 / 8000-8100" : "tcp/udp only"}
            aria-invalid={portBad || undefined}
            onChange={(e) => setPort(e.target.value.replace(/\s/g, ""))}
          />
        </Field>
        <Field label={direction === "ingress" ? "Source" : "Destination"}>
          <Input mono value={peer} maxLength={512} placeholder={direction === "ingress" ? "any, host, or 10.0.0.0/8" : "any, or 1.2.3.4/32"} onChange={(e) => setPeer(e.target.value)} />
        </Field>
        <Field className="col-span-2 sm:col-span-1" label="Description">
          <Input value={description} maxLength={255} onChange={(e) => setDescription(e.target.value)} />
        </Field>
      </div>
      {portBad && <p className="mt-2 text-xs text-red-700">Ports are numbers 1–65535, ranges (8000-8100) or comma-separated lists.</p>}
      {full && <p className="mt-2 text-xs text-amber-800">This tenant has the maximum number of rules; remove one first.</p>}
      <ErrorBox error={add.error} title="The rule was not added" className="mt-3" />
      <div className="mt-3">
        <Button type="submit" variant="primary" busy={add.isPending} disabled={portBad || full}>
          Add rule
        </Button>
      </div>
    </form>
  );
}

"use client";
// API tokens (create, show the secret once, revoke) and projects (list, create).
import { type FormEvent, useRef, useState } from "react";
import { Button, Card, ErrorText, Field, FormCard, Input, QueryTable, Select, tdTopCls, When } from "~/app/_components/ui";
import { api } from "~/app/_lib/trpc";

const td = tdTopCls;

function SecretBox({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const codeRef = useRef<HTMLElement>(null);

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("yes");
    } catch {
      // Clipboard API unavailable (e.g. plain HTTP): select the text so Ctrl+C works.
      const el = codeRef.current;
      if (el) {
        const range = document.createRange();
        range.selectNodeContents(el);
        const sel = window.getSelection();
        sel?.removeAllRanges();
        sel?.addRange(range);
      }
      setCopied("failed");
    }
  }

  return (
    <div role="region" aria-labelledby="secret-h" className="rounded-lg border-2 border-amber-400 bg-amber-50 p-4">
      <h3 id="secret-h" className="text-sm font-semibold text-amber-900">
        Token “{name}” created
      </h3>
      <p className="mt-1 text-sm text-amber-900">Copy it now: it is not shown again.</p>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <code ref={codeRef} className="min-w-0 flex-1 break-all rounded border border-amber-300 bg-white px-3 py-2 font-mono text-sm select-all">
          {secret}
        </code>
        <Button onClick={() => void copy()}>Copy</Button>
        <Button onClick={onDone}>Done</Button>
      </div>
      <p role="status" aria-live="polite" className="mt-2 text-xs text-amber-900">
        {copied === "yes" ? "Copied to the clipboard." : copied === "failed" ? "Could not reach the clipboard; the token is selected, press Ctrl+C (⌘C)." : ""}
      </p>
    </div>
  );
}

function TokensSection({ projects }: { projects: { id: string; alias: string }[] }) {
  const utils = api.useUtils();
  const tokens = api.tokens.list.useQuery();
  const [name, setName] = useState("");
  const [scope, setScope] = useState("");
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const create = api.tokens.create.useMutation({
    onSuccess: (r) => {
      setCreated({ name: r.name, token: r.token });
      setName("");
      void utils.tokens.list.invalidate();
    },
  });
  const revoke = api.tokens.revoke.useMutation({
    onSuccess: () => {
      setConfirming(null);
      void utils.tokens.list.invalidate();
    },
  });
  const aliasOf = new Map(projects.map((p) => [p.id, p.alias]));

  function submit(e: FormEvent) {
    e.preventDefault();
    const n = name.trim();
    if (!n) return;
    setCreated(null);
    create.mutate({ name: n, project_id: scope || null });
  }

  return (
    <section aria-label="Tokens" className="space-y-4">
      <FormCard title="Create a token" onSubmit={submit} submit="Create token" pending={create.isPending} disabled={!name.trim()} error={create.error}>
        <Field label="Name">
          <Input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required autoComplete="off" disabled={create.isPending} />
        </Field>
        <Field label="Scope">
          <Select
            value={scope}
            onChange={(e) => setScope(e.target.value)}
            disabled={create.isPending}
            empty="admin (every project)"
            options={projects.map((p) => ({ value: p.id, label: `project ${p.alias} (${p.id})` }))}
          />
        </Field>
      </FormCard>

      {created && <SecretBox name={created.name} secret={created.token} onDone={() => setCreated(null)} />}

      <Card title="Tokens" bodyClassName="">
        <QueryTable
          query={tokens}
          loading="Loading tokens…"
          isEmpty={(d) => d.length === 0}
          empty="No tokens yet."
          cols={["Name", "Prefix", "Project", "Created", "Last used", "Revoked"]}
          action="Actions"
        >
          {(list) =>
            list.map((k) => (
              <tr key={k.id} className={k.revoked_at ? "text-neutral-400" : ""}>
                <th scope="row" className={`${td} font-medium`}>
                  {k.name}
                </th>
                <td className={`${td} font-mono text-xs whitespace-nowrap`}>{k.prefix}…</td>
                <td className={`${td} whitespace-nowrap`}>
                  {k.project_id ? (
                    <>
                      {aliasOf.get(k.project_id) ?? "unknown project"} <span className="font-mono text-xs text-neutral-500">{k.project_id}</span>
                    </>
                  ) : (
                    <span className="rounded bg-neutral-100 px-1.5 py-0.5 text-xs font-medium text-neutral-700">admin</span>
                  )}
                </td>
                <td className={`${td} whitespace-nowrap`}>
                  <When at={k.created_at} />
                </td>
                <td className={`${td} whitespace-nowrap`}>
                  <When at={k.last_used_at} />
                </td>
                <td className={`${td} whitespace-nowrap`}>{k.revoked_at ? <When at={k.revoked_at} /> : <span className="text-neutral-500">no</span>}</td>
                <td className={`${td} whitespace-nowrap text-right`}>
                  {k.revoked_at ? null : confirming === k.id ? (
                    <span className="inline-flex flex-wrap items-center justify-end gap-2">
                      {/* autoFocus: the confirmation replaces the Revoke button the keyboard was on; focus follows it. */}
                      <span className="text-xs text-neutral-700">Revoke “{k.name}”?</span>
                      <Button variant="dangerOutline" disabled={revoke.isPending} onClick={() => revoke.mutate({ id: k.id })} autoFocus>
                        {revoke.isPending ? "Revoking…" : "Yes, revoke"}
                      </Button>
                      <Button disabled={revoke.isPending} onClick={() => setConfirming(null)}>
                        Cancel
                      </Button>
                    </span>
                  ) : (
                    <Button
                      variant="dangerOutline"
                      aria-label={`Revoke token ${k.name}`}
                      onClick={() => {
                        revoke.reset();
                        setConfirming(k.id);
                      }}
                    >
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))
          }
        </QueryTable>
        <ErrorText error={revoke.error} className="border-t border-neutral-200 px-4 py-3 text-sm" />
      </Card>
    </section>
  );
}

function ProjectsSection() {
  const query = api.projects.list.useQuery({ page: 1, limit: 100 });
  const utils = api.useUtils();
  const [alias, setAlias] = useState("");
  const [max, setMax] = useState("");
  const create = api.projects.create.useMutation({
    onSuccess: () => {
      setAlias("");
      setMax("");
      void utils.projects.list.invalidate();
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const a = alias.trim();
    if (!a) return;
    const m = max.trim() === "" ? null : Number(max);
    create.mutate({ alias: a, max_containers: m });
  }

  return (
    <section aria-labelledby="projects-h" className="space-y-4">
      <h2 id="projects-h" className="border-t border-neutral-200 pt-8 text-lg font-semibold">
        Projects
      </h2>
      <Card bodyClassName="">
        <QueryTable
          query={query}
          loading="Loading projects…"
          isEmpty={(d) => d.projects.length === 0}
          empty="No projects yet."
          cols={["Alias", "ID", { label: "Tenants", right: true }, { label: "Max tenants", right: true }]}
        >
          {(data) =>
            data.projects.map((p) => (
              <tr key={p.id}>
                <th scope="row" className={`${td} font-medium`}>
                  {p.alias}
                </th>
                <td className={`${td} font-mono text-xs`}>{p.id}</td>
                <td className={`${td} text-right tabular-nums`}>{p.container_count}</td>
                <td className={`${td} text-right tabular-nums`}>{p.max_containers ?? <span className="text-neutral-400">no limit</span>}</td>
              </tr>
            ))
          }
        </QueryTable>
      </Card>

      <FormCard
        title="Create a project"
        onSubmit={submit}
        submit="Create project"
        pending={create.isPending}
        disabled={!alias.trim()}
        error={create.error}
        status={
          create.isSuccess ? (
            <span className="text-green-700">
              Created project {create.data.alias} ({create.data.id}).
            </span>
          ) : null
        }
      >
        <Field label="Alias">
          <Input value={alias} onChange={(e) => setAlias(e.target.value)} maxLength={100} required autoComplete="off" disabled={create.isPending} />
        </Field>
        <Field
          label={
            <>
              Max tenants <span className="font-normal text-neutral-400">(empty: no limit)</span>
            </>
          }
        >
          <Input type="number" inputMode="numeric" min={0} max={100000} step={1} value={max} onChange={(e) => setMax(e.target.value)} disabled={create.isPending} />
        </Field>
      </FormCard>
    </section>
  );
}

export default function TokensPage() {
  const projects = api.projects.list.useQuery({ page: 1, limit: 100 });
  const list = projects.data?.projects.map((p) => ({ id: p.id, alias: p.alias })) ?? [];
  return (
    <div className="space-y-10">
      <h1 className="text-xl font-semibold">API tokens</h1>
      <TokensSection projects={list} />
      <ProjectsSection />
    </div>
  );
}

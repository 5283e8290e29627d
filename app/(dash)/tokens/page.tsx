"use client";
// API tokens (create, show the secret once, revoke) and projects (list, create).
import { useId, useRef, useState, type FormEvent } from "react";
import { ago } from "../../_lib/format";
import { HeadRow } from "../../_lib/table";
import { api } from "../../_lib/trpc";
import { errorText } from "../../_lib/errors";
import { input, primary, secondary, danger, th, td } from "../../_lib/styles";



function When({ iso }: { iso: string | null }) {
  if (!iso) return <span className="text-neutral-400">never</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {ago(iso)}
    </time>
  );
}

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
        <button type="button" onClick={() => void copy()} className={secondary}>
          Copy
        </button>
        <button type="button" onClick={onDone} className={secondary}>
          Done
        </button>
      </div>
      <p role="status" aria-live="polite" className="mt-2 text-xs text-amber-900">
        {copied === "yes" ? "Copied to the clipboard." : copied === "failed" ? "Could not reach the clipboard; the token is selected, press Ctrl+C (⌘C)." : ""}
      </p>
    </div>
  );
}

function TokensSection({ projects }: { projects: { id: string; alias: string }[] }) {
  const utils = api.useUtils();
  const nameId = useId();
  const scopeId = useId();
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

      <form onSubmit={submit} aria-label="Create a token" className="space-y-3 rounded-lg border border-neutral-200 bg-white p-4 shadow-sm">
        <h2 className="text-base font-medium">Create a token</h2>
        <div className="grid gap-3 sm:grid-cols-2">
          <div>
            <label htmlFor={nameId} className="mb-1 block text-sm text-neutral-600">
              Name
            </label>
            <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required className={input} autoComplete="off" disabled={create.isPending} />
          </div>
          <div>
            <label htmlFor={scopeId} className="mb-1 block text-sm text-neutral-600">
              Scope
            </label>
            <select id={scopeId} value={scope} onChange={(e) => setScope(e.target.value)} className={input} disabled={create.isPending}>
              <option value="">admin (every project)</option>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  project {p.alias} ({p.id})
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className={primary} disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create token"}
          </button>
          {create.isError && (
            <p role="alert" className="text-sm text-red-700">
              {errorText(create.error)}
            </p>
          )}
        </div>
      </form>

      {created && <SecretBox name={created.name} secret={created.token} onDone={() => setCreated(null)} />}

      <div className="rounded-lg border border-neutral-200 bg-white shadow-sm">
        <h2 className="border-b border-neutral-200 px-4 py-3 text-base font-medium">Tokens</h2>
        {tokens.isPending ? (
          <p role="status" className="p-4 text-sm text-neutral-500">
            Loading tokens…
          </p>
        ) : tokens.isError ? (
          <p role="alert" className="p-4 text-sm text-red-700">
            {errorText(tokens.error)}
          </p>
        ) : tokens.data.length === 0 ? (
          <p className="p-4 text-sm text-neutral-600">No tokens yet.</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="bg-neutral-50 text-xs text-neutral-500">
                <HeadRow cols={["Name", "Prefix", "Project", "Created", "Last used", "Revoked"]} action="Actions" />
              </thead>
              <tbody>
                {tokens.data.map((k) => (
                  <tr key={k.id} className={`border-t border-neutral-100 ${k.revoked_at ? "text-neutral-400" : ""}`}>
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
                      <When iso={k.created_at} />
                    </td>
                    <td className={`${td} whitespace-nowrap`}>
                      <When iso={k.last_used_at} />
                    </td>
                    <td className={`${td} whitespace-nowrap`}>{k.revoked_at ? <When iso={k.revoked_at} /> : <span className="text-neutral-500">no</span>}</td>
                    <td className={`${td} whitespace-nowrap text-right`}>
                      {k.revoked_at ? null : confirming === k.id ? (
                        <span className="inline-flex flex-wrap items-center justify-end gap-2">
                          <span className="text-xs text-neutral-700">Revoke “{k.name}”?</span>
                          {/* biome-ignore lint/a11y/noAutofocus: the confirmation replaces the Revoke button the keyboard was on; focus follows it. */}
                          <button type="button" className={danger} disabled={revoke.isPending} onClick={() => revoke.mutate({ id: k.id })} autoFocus>
                            {revoke.isPending ? "Revoking…" : "Yes, revoke"}
                          </button>
                          <button type="button" className={secondary} disabled={revoke.isPending} onClick={() => setConfirming(null)}>
                            Cancel
                          </button>
                        </span>
                      ) : (
                        <button
                          type="button"
                          className={danger}
                          aria-label={`Revoke token ${k.name}`}
                          onClick={() => {
                            revoke.reset();
                            setConfirming(k.id);
                          }}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {revoke.isError && (
          <p role="alert" className="border-t border-neutral-200 px-4 py-3 text-sm text-red-700">
            {errorText(revoke.error)}
          </p>
        )}
      </div>
    </section>
  );
}

function ProjectsSection() {
  const query = api.projects.list.useQuery({ page: 1, limit: 100 });
  const utils = api.useUtils();
  const aliasId = useId();
  const maxId = useId();
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
      <div className="rounded-lg border border-neutral-200 bg-white shadow-sm">
        {query.isPending ? (
          <p role="status" className="p-4 text-sm text-neutral-500">
            Loading projects…
          </p>
        ) : query.isError ? (
          <p role="alert" className="p-4 text-sm text-red-700">
            {errorText(query.error)}
          </p>
        ) : query.data.projects.length === 0 ? (
          <p className="p-4 text-sm text-neutral-600">No projects yet.</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="bg-neutral-50 text-xs text-neutral-500">
                <tr>
                  <th scope="col" className={th}>
                    Alias
                  </th>
                  <th scope="col" className={th}>
                    ID
                  </th>
                  <th scope="col" className={`${th} text-right`}>
                    Containers
                  </th>
                  <th scope="col" className={`${th} text-right`}>
                    Max containers
                  </th>
                </tr>
              </thead>
              <tbody>
                {query.data.projects.map((p) => (
                  <tr key={p.id} className="border-t border-neutral-100">
                    <th scope="row" className={`${td} font-medium`}>
                      {p.alias}
                    </th>
                    <td className={`${td} font-mono text-xs`}>{p.id}</td>
                    <td className={`${td} text-right tabular-nums`}>{p.container_count}</td>
                    <td className={`${td} text-right tabular-nums`}>{p.max_containers ?? <span className="text-neutral-400">no limit</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>

      <form onSubmit={submit} aria-label="Create a project" className="space-y-3 rounded-lg border border-neutral-200 bg-white p-4 shadow-sm">
        <h3 className="text-base font-medium">Create a project</h3>
        <div className="grid gap-3 sm:grid-cols-2">
          <div>
            <label htmlFor={aliasId} className="mb-1 block text-sm text-neutral-600">
              Alias
            </label>
            <input id={aliasId} value={alias} onChange={(e) => setAlias(e.target.value)} maxLength={100} required className={input} autoComplete="off" disabled={create.isPending} />
          </div>
          <div>
            <label htmlFor={maxId} className="mb-1 block text-sm text-neutral-600">
              Max containers <span className="text-neutral-400">(empty: no limit)</span>
            </label>
            <input
              id={maxId}
              type="number"
              inputMode="numeric"
              min={0}
              max={100000}
              step={1}
              value={max}
              onChange={(e) => setMax(e.target.value)}
              className={input}
              disabled={create.isPending}
            />
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className={primary} disabled={create.isPending || !alias.trim()}>
            {create.isPending ? "Creating…" : "Create project"}
          </button>
          <p role="status" aria-live="polite" className="text-sm text-green-700">
            {create.isSuccess ? `Created project ${create.data.alias} (${create.data.id}).` : ""}
          </p>
          {create.isError && (
            <p role="alert" className="text-sm text-red-700">
              {errorText(create.error)}
            </p>
          )}
        </div>
      </form>
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

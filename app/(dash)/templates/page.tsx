"use client";
// Templates: the list, building one from a recipe, and promoting a tenant into a new template.
import { useId, useState, type FormEvent } from "react";
import { ago, bytes } from "../../_lib/format";
import { api } from "../../_lib/trpc";
import { errorText } from "../../_lib/errors";
import { input, th, td } from "../../_lib/styles";

const RECIPES = ["mini", "starter"] as const;
const TEMPLATE_NAME_RE = /^[a-z][a-z0-9-]{1,40}$/;


function idle(s: number | null): string {
  if (s === null || s === 0) return "never";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${+(s / 3600).toFixed(1)} h`;
  return `${+(s / 86400).toFixed(1)} d`;
}

const button =
  "rounded bg-neutral-900 px-4 py-2 text-sm font-medium text-white hover:bg-neutral-700 disabled:cursor-not-allowed disabled:opacity-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600";

function Spinner() {
  return <span aria-hidden="true" className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-neutral-300 border-t-blue-600 align-[-2px]" />;
}

function BuildForm() {
  const utils = api.useUtils();
  const recipeId = useId();
  const nameId = useId();
  const [recipe, setRecipe] = useState<(typeof RECIPES)[number]>("mini");
  const [name, setName] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const build = api.templates.build.useMutation({
    onSuccess: () => {
      setName("");
      void utils.templates.list.invalidate();
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setLocalError(null);
    const n = name.trim();
    if (n && !TEMPLATE_NAME_RE.test(n)) {
      setLocalError("Template names are 2–41 characters: lowercase letters, digits and '-', starting with a letter.");
      return;
    }
    build.mutate({ recipe, ...(n ? { name: n } : {}) });
  }

  return (
    <form onSubmit={submit} aria-labelledby="build-h" className="space-y-3 rounded-lg border border-neutral-200 bg-white p-4 shadow-sm">
      <h2 id="build-h" className="text-base font-medium">
        Build from recipe
      </h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor={recipeId} className="mb-1 block text-sm text-neutral-600">
            Recipe
          </label>
          <select id={recipeId} value={recipe} onChange={(e) => setRecipe(e.target.value as (typeof RECIPES)[number])} className={input} disabled={build.isPending}>
            {RECIPES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={nameId} className="mb-1 block text-sm text-neutral-600">
            Name <span className="text-neutral-400">(optional, defaults to the recipe)</span>
          </label>
          <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} placeholder={recipe} className={input} disabled={build.isPending} autoComplete="off" />
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" className={button} disabled={build.isPending}>
          Build template
        </button>
        <p role="status" aria-live="polite" className="text-sm text-neutral-600">
          {build.isPending ? (
            <span className="inline-flex items-center gap-2">
              <Spinner /> Building… (starter takes about a minute the first time)
            </span>
          ) : build.isSuccess ? (
            <span className="text-green-700">Built template {build.data.name}.</span>
          ) : null}
        </p>
      </div>
      {(localError || build.isError) && (
        <p role="alert" className="text-sm text-red-700">
          {localError ?? errorText(build.error)}
        </p>
      )}
    </form>
  );
}

function PromoteForm() {
  const utils = api.useUtils();
  const tenantId = useId();
  const nameId = useId();
  const tenants = api.containers.list.useQuery({ limit: 100 });
  const [containerId, setContainerId] = useState("");
  const [name, setName] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const promote = api.templates.promote.useMutation({
    onSuccess: () => {
      setName("");
      void utils.templates.list.invalidate();
    },
  });
  const list = tenants.data?.containers ?? [];

  function submit(e: FormEvent) {
    e.preventDefault();
    setLocalError(null);
    const n = name.trim();
    if (!containerId) return setLocalError("Choose a tenant.");
    if (!TEMPLATE_NAME_RE.test(n)) return setLocalError("Template names are 2–41 characters: lowercase letters, digits and '-', starting with a letter.");
    promote.mutate({ container_id: containerId, name: n });
  }

  return (
    <form onSubmit={submit} aria-labelledby="promote-h" className="space-y-3 rounded-lg border border-neutral-200 bg-white p-4 shadow-sm">
      <h2 id="promote-h" className="text-base font-medium">
        Promote a tenant
      </h2>
      <p className="text-sm text-neutral-600">Turns a tenant&apos;s current files into a new template that new tenants can start from.</p>
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor={tenantId} className="mb-1 block text-sm text-neutral-600">
            Tenant
          </label>
          <select id={tenantId} value={containerId} onChange={(e) => setContainerId(e.target.value)} className={input} disabled={promote.isPending || tenants.isPending} required>
            <option value="">{tenants.isPending ? "Loading tenants…" : list.length ? "Choose a tenant" : "No tenants"}</option>
            {list.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.id}, {c.template}, {c.status})
              </option>
            ))}
          </select>
          {tenants.isError && (
            <p role="alert" className="mt-1 text-sm text-red-700">
              {errorText(tenants.error)}
            </p>
          )}
        </div>
        <div>
          <label htmlFor={nameId} className="mb-1 block text-sm text-neutral-600">
            Template name
          </label>
          <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} className={input} disabled={promote.isPending} required autoComplete="off" />
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" className={button} disabled={promote.isPending}>
          Promote
        </button>
        <p role="status" aria-live="polite" className="text-sm text-neutral-600">
          {promote.isPending ? (
            <span className="inline-flex items-center gap-2">
              <Spinner /> Promoting…
            </span>
          ) : promote.isSuccess ? (
            <span className="text-green-700">Created template {promote.data.name}.</span>
          ) : null}
        </p>
      </div>
      {(localError || promote.isError) && (
        <p role="alert" className="text-sm text-red-700">
          {localError ?? errorText(promote.error)}
        </p>
      )}
    </form>
  );
}

export default function TemplatesPage() {
  const q = api.templates.list.useQuery();
    
  return (
    <div className="space-y-6">
      <h1 className="text-xl font-semibold">Templates</h1>

      <section aria-labelledby="list-h" className="rounded-lg border border-neutral-200 bg-white shadow-sm">
        <h2 id="list-h" className="border-b border-neutral-200 px-4 py-3 text-base font-medium">
          All templates
        </h2>
        {q.isPending ? (
          <p role="status" className="p-4 text-sm text-neutral-500">
            Loading templates…
          </p>
        ) : q.isError ? (
          <p role="alert" className="p-4 text-sm text-red-700">
            {errorText(q.error)}
          </p>
        ) : q.data.length === 0 ? (
          <p className="p-4 text-sm text-neutral-600">No templates yet. Build one from a recipe below.</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="bg-neutral-50 text-xs text-neutral-500">
                <tr>
                  <th scope="col" className={th}>
                    Name
                  </th>
                  <th scope="col" className={th}>
                    Recipe
                  </th>
                  <th scope="col" className={`${th} text-right`}>
                    Size
                  </th>
                  <th scope="col" className={`${th} text-right`}>
                    Tenants
                  </th>
                  <th scope="col" className={`${th} text-right`}>
                    App port
                  </th>
                  <th scope="col" className={th}>
                    Shared paths
                  </th>
                  <th scope="col" className={th}>
                    KSM
                  </th>
                  <th scope="col" className={th}>
                    Idle timeout
                  </th>
                  <th scope="col" className={th}>
                    Created
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.map((t) => (
                  <tr key={t.name} className="border-t border-neutral-100">
                    <th scope="row" className={`${td} font-medium whitespace-nowrap`}>
                      {t.name}
                    </th>
                    <td className={td}>{t.recipe ?? <span className="text-neutral-400">promoted</span>}</td>
                    <td className={`${td} text-right tabular-nums whitespace-nowrap`}>{bytes(t.size_bytes)}</td>
                    <td className={`${td} text-right tabular-nums`}>{t.tenants}</td>
                    <td className={`${td} text-right tabular-nums`}>{t.app_port}</td>
                    <td className={td}>
                      {t.shared_paths.length ? <span className="font-mono text-xs">{t.shared_paths.join(", ")}</span> : <span className="text-neutral-400">none</span>}
                    </td>
                    <td className={td}>
                      <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${t.ksm ? "bg-green-50 text-green-800" : "bg-neutral-100 text-neutral-600"}`}>{t.ksm ? "on" : "off"}</span>
                    </td>
                    <td className={`${td} whitespace-nowrap`}>{idle(t.idle_timeout_s)}</td>
                    <td className={`${td} whitespace-nowrap`}>
                      <time dateTime={t.created_at} title={new Date(t.created_at).toLocaleString()}>
                        {ago(t.created_at)}
                      </time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <div className="grid gap-6 lg:grid-cols-2">
        <BuildForm />
        <PromoteForm />
      </div>
    </div>
  );
}

"use client";
// Templates: the list, building one from a recipe, and promoting a tenant into a new template.
import { type FormEvent, useState } from "react";
import { Card, Field, FormCard, Input, Pill, QueryTable, Select, tdTopCls, When } from "~/app/_components/ui";
import { errorText } from "~/app/_lib/errors";
import { bytes } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";
import { TEMPLATE_NAME_RE } from "~/server/shared/protocol";
import { WarmPoolCard } from "./warm-pool";

const RECIPES = ["mini", "starter"] as const;
const NAME_RULE = "Template names are 2–41 characters: lowercase letters, digits and '-', starting with a letter.";
const td = tdTopCls;

function idle(s: number | null): string {
  if (s === null || s === 0) return "never";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${+(s / 3600).toFixed(1)} h`;
  return `${+(s / 86400).toFixed(1)} d`;
}

/**
 * What both forms share: the new template's name, a message of their own, and after a success an
 * emptied name and a fresh list. `check` returns the trimmed name, or null after saying what is wrong.
 */
function useTemplateName() {
  const utils = api.useUtils();
  const [name, setName] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const onSuccess = () => {
    setName("");
    void utils.templates.list.invalidate();
  };
  const check = (e: FormEvent, optional: boolean): string | null => {
    e.preventDefault();
    setLocalError(null);
    const n = name.trim();
    if ((n || !optional) && !TEMPLATE_NAME_RE.test(n)) {
      setLocalError(NAME_RULE);
      return null;
    }
    return n;
  };
  return { name, setName, localError, setLocalError, onSuccess, check };
}

function BuildForm() {
  const [recipe, setRecipe] = useState<(typeof RECIPES)[number]>("mini");
  const { name, setName, localError, onSuccess, check } = useTemplateName();
  const build = api.templates.build.useMutation({ onSuccess });

  function submit(e: FormEvent) {
    const n = check(e, true);
    if (n !== null) build.mutate({ recipe, ...(n ? { name: n } : {}) });
  }

  return (
    <FormCard
      title="Build from recipe"
      onSubmit={submit}
      submit="Build template"
      pending={build.isPending}
      error={localError ?? build.error}
      status={build.isPending ? "Building… (starter takes about a minute the first time)" : build.isSuccess ? <span className="text-green-700">Built template {build.data.name}.</span> : null}
    >
      <Field label="Recipe">
        <Select value={recipe} onChange={(e) => setRecipe(e.target.value as (typeof RECIPES)[number])} disabled={build.isPending} options={RECIPES} />
      </Field>
      <Field
        label={
          <>
            Name <span className="font-normal text-neutral-400">(optional, defaults to the recipe)</span>
          </>
        }
      >
        <Input value={name} onChange={(e) => setName(e.target.value)} placeholder={recipe} disabled={build.isPending} autoComplete="off" />
      </Field>
    </FormCard>
  );
}

function PromoteForm() {
  const tenants = api.containers.list.useQuery({ limit: 100 });
  const [containerId, setContainerId] = useState("");
  const { name, setName, localError, setLocalError, onSuccess, check } = useTemplateName();
  const promote = api.templates.promote.useMutation({ onSuccess });
  const list = tenants.data?.containers ?? [];

  function submit(e: FormEvent) {
    if (!containerId) {
      e.preventDefault();
      return setLocalError("Choose a tenant.");
    }
    const n = check(e, false);
    if (n !== null) promote.mutate({ container_id: containerId, name: n });
  }

  return (
    <FormCard
      title="Promote a tenant"
      intro="Turns a tenant's current files into a new template that new tenants can start from."
      onSubmit={submit}
      submit="Promote"
      pending={promote.isPending}
      error={localError ?? promote.error}
      status={promote.isPending ? "Promoting…" : promote.isSuccess ? <span className="text-green-700">Created template {promote.data.name}.</span> : null}
    >
      <Field label="Tenant" problem={tenants.isError ? errorText(tenants.error) : undefined}>
        <Select
          value={containerId}
          onChange={(e) => setContainerId(e.target.value)}
          disabled={promote.isPending || tenants.isPending}
          required
          empty={tenants.isPending ? "Loading tenants…" : list.length ? "Choose a tenant" : "No tenants"}
          options={list.map((c) => ({ value: c.id, label: `${c.name} (${c.id}, ${c.template}, ${c.status})` }))}
        />
      </Field>
      <Field label="Template name">
        <Input value={name} onChange={(e) => setName(e.target.value)} disabled={promote.isPending} required autoComplete="off" />
      </Field>
    </FormCard>
  );
}

export default function TemplatesPage() {
  const q = api.templates.list.useQuery();
  return (
    <div className="space-y-6">
      <h1 className="text-xl font-semibold">Templates</h1>

      <Card title="All templates" bodyClassName="">
        <QueryTable
          query={q}
          loading="Loading templates…"
          isEmpty={(d) => d.length === 0}
          empty="No templates yet. Build one from a recipe below."
          cols={["Name", "Recipe", { label: "Size", right: true }, { label: "Tenants", right: true }, { label: "App port", right: true }, "Shared paths", "KSM", "Idle timeout", "Created"]}
        >
          {(templates) =>
            templates.map((t) => (
              <tr key={t.name}>
                <th scope="row" className={`${td} font-medium whitespace-nowrap`}>
                  {t.name}
                </th>
                <td className={td}>{t.recipe ?? <span className="text-neutral-400">promoted</span>}</td>
                <td className={`${td} text-right tabular-nums whitespace-nowrap`}>{bytes(t.size_bytes)}</td>
                <td className={`${td} text-right tabular-nums`}>{t.tenants}</td>
                <td className={`${td} text-right tabular-nums`}>{t.app_port}</td>
                <td className={td}>{t.shared_paths.length ? <span className="font-mono text-xs">{t.shared_paths.join(", ")}</span> : <span className="text-neutral-400">none</span>}</td>
                <td className={td}>
                  <Pill tone={t.ksm ? "good" : "neutral"}>{t.ksm ? "on" : "off"}</Pill>
                </td>
                <td className={`${td} whitespace-nowrap`}>{idle(t.idle_timeout_s)}</td>
                <td className={`${td} whitespace-nowrap`}>
                  <When at={t.created_at} />
                </td>
              </tr>
            ))
          }
        </QueryTable>
      </Card>

      <WarmPoolCard />

      <div className="grid gap-6 lg:grid-cols-2">
        <BuildForm />
        <PromoteForm />
      </div>
    </div>
  );
}

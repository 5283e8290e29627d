"use client";
// New tenant: project, template, optional name, environment variables → containers.create → the tenant's page.
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { btn, Button, Card, ErrorBox, ErrorText, Field, Input, Loading, Select, Spinner } from "~/app/_components/ui";
import { errorCode, errorPaths, errorText } from "~/app/_lib/errors";
import { api } from "~/app/_lib/trpc";
import { NAME_RE } from "~/server/shared/protocol";
import { Breadcrumb } from "../_components/breadcrumb";
import { EnvEditor, type EnvRow, envProblems } from "../_components/env-editor";

export default function NewTenantPage() {
  const router = useRouter();
  const utils = api.useUtils();
  const projects = api.projects.list.useQuery({ page: 1, limit: 100 });
  const templates = api.templates.list.useQuery();

  const [projectId, setProjectId] = useState("");
  const [template, setTemplate] = useState("mini");
  const [name, setName] = useState("");
  const [env, setEnv] = useState<EnvRow[]>([]);
  const [newAlias, setNewAlias] = useState("");
  const [tried, setTried] = useState(false);
  const [elapsed, setElapsed] = useState(0);

  const projectList = projects.data?.projects ?? [];
  const templateList = templates.data ?? [];
  const selectedProject = projectList.find((p) => p.id === projectId);

  // Defaults once the lists arrive: the first project; "mini" if it exists, else the first template.
  useEffect(() => {
    if (!projectId && projectList[0]) setProjectId(projectList[0].id);
  }, [projectList, projectId]);
  useEffect(() => {
    if (templateList.length && !templateList.some((t) => t.name === template)) setTemplate(templateList.find((t) => t.name === "mini")?.name ?? templateList[0]!.name);
  }, [templateList, template]);

  const createProject = api.projects.create.useMutation({
    onSuccess: async (p) => {
      setNewAlias("");
      setProjectId(p.id);
      await utils.projects.list.invalidate();
    },
  });
  const create = api.containers.create.useMutation({
    onSuccess: async (c) => {
      await utils.containers.list.invalidate();
      router.push(`/tenants/${c.id}`);
    },
  });

  useEffect(() => {
    if (!create.isPending) return;
    setElapsed(0);
    const t0 = Date.now();
    const iv = setInterval(() => setElapsed(Math.round((Date.now() - t0) / 1000)), 1000);
    return () => clearInterval(iv);
  }, [create.isPending]);

  const nameProblem = name && !NAME_RE.test(name) ? "Use 3–100 letters, digits, - or _ (or leave it empty for a random name)." : null;
  const envIssues = envProblems(env);
  const serverPaths = errorPaths(create.error);
  const serverNameError = create.error && (errorCode(create.error) === "CONTAINER_NAME_TAKEN" || serverPaths.some((p) => p === "name")) ? errorText(create.error) : null;
  const busy = create.isPending || create.isSuccess;

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!projectId || nameProblem || envIssues.size) return;
    const vars: Record<string, string> = {};
    for (const r of env) if (r.key.trim()) vars[r.key.trim()] = r.value;
    create.mutate({
      projectId,
      template,
      ...(name ? { name } : {}),
      ...(Object.keys(vars).length ? { environment_vars: vars } : {}),
    });
  };

  return (
    <div className="mx-auto max-w-3xl space-y-5">
      <Breadcrumb here="New" />
      <div>
        <h1 className="text-xl font-semibold tracking-tight">New tenant</h1>
        <p className="text-sm text-neutral-500">A copy-on-write snapshot of a template, started with its own URL, uid range and IP.</p>
      </div>

      {(projects.isError || templates.isError) && (
        <ErrorBox
          error={projects.error ?? templates.error}
          title={projects.isError ? "Could not load projects" : "Could not load templates"}
          hint="Check that the Hoody server and its host daemon are running, then retry."
          onRetry={() => {
            void projects.refetch();
            void templates.refetch();
          }}
        />
      )}

      <form onSubmit={submit} noValidate aria-describedby={create.error ? "create-error" : undefined}>
        <Card>
          <fieldset disabled={busy} className="space-y-5">
            <legend className="sr-only">Tenant settings</legend>
            {/* Project */}
            <div>
              {projects.isPending ? (
                <Loading>Loading projects…</Loading>
              ) : projectList.length > 0 ? (
                <Field
                  label="Project"
                  hint={
                    selectedProject && `${selectedProject.container_count} tenant(s)${selectedProject.max_containers !== null ? ` of at most ${selectedProject.max_containers}` : ""} in this project.`
                  }
                >
                  <Select value={projectId} onChange={(e) => setProjectId(e.target.value)} required options={projectList.map((p) => ({ value: p.id, label: p.alias }))} />
                </Field>
              ) : (
                <div className="rounded-md border border-amber-200 bg-amber-50 p-3">
                  <p className="mb-2 text-sm text-amber-900">
                    <span className="font-medium">Project:</span> there are no projects yet. Tenants belong to a project; create one first.
                  </p>
                  <div className="flex flex-col gap-2 sm:flex-row sm:items-end">
                    <Field className="flex-1" label="Project name">
                      <Input
                        value={newAlias}
                        maxLength={100}
                        placeholder="e.g. production"
                        onChange={(e) => setNewAlias(e.target.value)}
                        onKeyDown={(e) => {
                          if (e.key === "Enter") {
                            e.preventDefault();
                            if (newAlias.trim()) createProject.mutate({ alias: newAlias.trim() });
                          }
                        }}
                      />
                    </Field>
                    <Button disabled={!newAlias.trim() || createProject.isPending} onClick={() => createProject.mutate({ alias: newAlias.trim() })}>
                      {createProject.isPending ? "Creating…" : "Create project"}
                    </Button>
                  </div>
                  <ErrorText error={createProject.error} className="mt-2 text-sm" />
                  {tried && !projectId && <p className="mt-2 text-sm text-red-700">Create a project first.</p>}
                </div>
              )}
            </div>

            <Field
              label="Template"
              hint={
                templates.isSuccess &&
                templateList.length === 0 && (
                  <span className="text-amber-800">
                    No templates are built yet. Build one on the{" "}
                    <Link href="/templates" className="underline">
                      Templates
                    </Link>{" "}
                    page first.
                  </span>
                )
              }
            >
              <Select
                value={template}
                onChange={(e) => setTemplate(e.target.value)}
                options={templateList.length ? templateList.map((t) => ({ value: t.name, label: t.recipe && t.recipe !== t.name ? `${t.name} (${t.recipe})` : t.name })) : [template]}
              />
            </Field>

            <Field
              label={
                <>
                  Name <span className="font-normal text-neutral-400">(optional)</span>
                </>
              }
              hint="3–100 letters, digits, - _; empty = random. It also becomes the tenant's URL label."
              problem={nameProblem ?? serverNameError}
            >
              <Input mono value={name} maxLength={100} autoComplete="off" spellCheck={false} placeholder="random, e.g. tenant-3f9a1c2b" onChange={(e) => setName(e.target.value.trim())} />
            </Field>

            {/* Environment */}
            <fieldset>
              <legend className="mb-1 text-sm font-medium text-neutral-900">Environment variables</legend>
              <p className="mb-3 text-xs text-neutral-500">Passed to the tenant&apos;s app. Keys: letters, digits and _; the HOODY_ prefix is reserved.</p>
              <EnvEditor rows={env} onChange={setEnv} disabled={busy} />
            </fieldset>
          </fieldset>

          <div className="mt-6 space-y-3 border-t border-neutral-200 pt-4">
            {create.error && (
              <div id="create-error">
                <ErrorBox error={create.error} title="The tenant was not created" hint={hintFor(errorCode(create.error))} />
              </div>
            )}
            {busy && (
              <div role="status" aria-live="polite" className="flex items-center gap-3 rounded-md border border-blue-200 bg-blue-50 p-3 text-sm text-blue-900">
                <Spinner className="h-5 w-5 text-blue-700" />
                <div className="flex-1">
                  <p className="font-medium">{create.isSuccess ? "Created; opening the tenant…" : "Creating… snapshotting the template and starting it"}</p>
                  <div className="mt-2 h-1.5 overflow-hidden rounded bg-blue-100" aria-hidden="true">
                    <div className="h-full w-1/3 animate-pulse rounded bg-blue-600" />
                  </div>
                  <p className="mt-1 text-xs text-blue-800/80">{elapsed}s elapsed</p>
                </div>
              </div>
            )}
            <div className="flex flex-wrap items-center gap-3">
              <Button type="submit" variant="primary" busy={create.isPending} disabled={busy}>
                Create tenant
              </Button>
              <Link href="/tenants" className={btn.secondary}>
                Cancel
              </Link>
            </div>
          </div>
        </Card>
      </form>
    </div>
  );
}

function hintFor(code: string | null): string | undefined {
  switch (code) {
    case "CONTAINER_NAME_TAKEN":
      return "Pick another name, or leave it empty for a random one.";
    case "PROJECT_CONTAINER_LIMIT":
      return "The project is at its tenant limit: delete a tenant or raise the project's limit.";
    case "INVALID_ENV_KEY":
    case "RESERVED_ENV_PREFIX":
    case "TOO_MANY_ENV_VARS":
      return "Fix the environment variables above and submit again.";
    case "TEMPLATE_NOT_FOUND":
      return "Build the template on the Templates page, or pick another.";
    case "UNAUTHORIZED":
      return "Your session ended: sign in again.";
    default:
      return undefined;
  }
}

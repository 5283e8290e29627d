"use client";
// Exec scripts: the files in scripts/, their settings and (masked) secrets, and every run with its output.
import { useState } from "react";
import { Button, Card, ErrorText, Field, HeadRow, Input, Loading, Notice, Select, Table, tdTopCls, When } from "~/app/_components/ui";
import { api } from "~/app/_lib/trpc";

const td = tdTopCls;
const pairs = (o: Record<string, string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ") || "–";

export default function ScriptsPage() {
  const q = api.scripts.list.useQuery(undefined, { refetchInterval: 5000 });
  const set = api.scripts.set.useMutation({ onSuccess: () => q.refetch() });
  const [form, setForm] = useState({ script: "", kind: "secret" as "secret" | "setting", key: "", value: "" });
  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-xl font-semibold">Exec scripts</h1>
        <p className="text-sm text-neutral-600">A file in scripts/ answers at /exec/&lt;path&gt;; each call runs in its own process with a time and memory limit.</p>
      </div>
      {q.isLoading && <Loading>Loading scripts…</Loading>}
      <ErrorText error={q.error} />
      {q.data && (
        <Card bodyClassName="">
          <Table caption="Scripts">
            <HeadRow cols={["Script", "Route", "Settings", "Secrets (masked)"]} />
            <tbody className="divide-y divide-neutral-100">
              {q.data.scripts.length === 0 && (
                <tr>
                  <td className={td} colSpan={4}>
                    No scripts yet: add a .ts file to scripts/.
                  </td>
                </tr>
              )}
              {q.data.scripts.map((sc) => (
                <tr key={sc.name}>
                  <td className={`${td} font-medium`}>{sc.name}</td>
                  <td className={`${td} font-mono text-xs`}>{sc.route}</td>
                  <td className={`${td} font-mono text-xs`}>{pairs(sc.settings)}</td>
                  <td className={`${td} font-mono text-xs`}>{pairs(sc.secrets)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        </Card>
      )}
      <Card title="Set a secret or setting">
        <form
          className="grid gap-3 sm:grid-cols-5"
          onSubmit={(e) => {
            e.preventDefault();
            set.mutate({ script: form.script, kind: form.kind, values: { [form.key]: form.value } });
          }}
        >
          <Field label="Script">
            <Select value={form.script} onChange={(e) => setForm({ ...form, script: e.target.value })} required empty="Choose…" options={q.data?.scripts.map((sc) => sc.name)} />
          </Field>
          <Field label="Kind">
            <Select value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as "secret" | "setting" })} options={["secret", "setting"]} />
          </Field>
          <Field label="Key">
            <Input value={form.key} onChange={(e) => setForm({ ...form, key: e.target.value })} required />
          </Field>
          <Field label="Value">
            <Input type={form.kind === "secret" ? "password" : "text"} value={form.value} onChange={(e) => setForm({ ...form, value: e.target.value })} required />
          </Field>
          <div className="flex items-end">
            <Button type="submit" variant="primary" busy={set.isPending}>
              Save
            </Button>
          </div>
        </form>
        <ErrorText error={set.error} className="mt-2 text-sm" />
        <Notice className="mt-2 text-sm">{set.isSuccess ? "Saved." : null}</Notice>
      </Card>
      <Card title="Recent runs" bodyClassName="">
        <Table>
          <HeadRow cols={["When", "Script", "Status", "Duration", "Run-once key", "Output"]} />
          <tbody className="divide-y divide-neutral-100">
            {q.data?.runs.map((r) => (
              <tr key={r.id}>
                <td className={td}>
                  <When at={r.at} />
                </td>
                <td className={td}>{r.script}</td>
                <td className={`${td} ${r.status >= 500 ? "text-red-700" : r.status >= 400 ? "text-amber-700" : "text-green-700"}`}>{r.status}</td>
                <td className={td}>{r.duration_ms} ms</td>
                <td className={`${td} font-mono text-xs`}>{r.key ?? "–"}</td>
                <td className={td}>
                  {r.output ? (
                    <details>
                      <summary className="cursor-pointer text-neutral-600">show</summary>
                      <pre className="mt-1 max-h-48 max-w-xl overflow-auto whitespace-pre-wrap text-xs">{r.output}</pre>
                    </details>
                  ) : (
                    "–"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
    </div>
  );
}

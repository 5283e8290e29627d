"use client";
// Exec scripts: the files in scripts/, their settings and (masked) secrets, and every run with its output.
import { useState } from "react";
import { errorText } from "../../_lib/errors";
import { ago } from "../../_lib/format";
import { input, primary, td } from "../../_lib/styles";
import { HeadRow } from "../../_lib/table";
import { api } from "../../_lib/trpc";

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
      {q.isLoading && <p className="text-sm text-neutral-600">Loading scripts…</p>}
      {q.error && <p role="alert" className="text-sm text-red-700">{errorText(q.error)}</p>}
      {q.data && (
        <section className="overflow-x-auto rounded-lg border border-neutral-200 bg-white">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Scripts</caption>
            <thead className="bg-neutral-50 text-xs text-neutral-500">
              <HeadRow cols={["Script", "Route", "Settings", "Secrets (masked)"]} />
            </thead>
            <tbody>
              {q.data.scripts.length === 0 && (
                <tr>
                  <td className={td} colSpan={4}>No scripts yet: add a .ts file to scripts/.</td>
                </tr>
              )}
              {q.data.scripts.map((sc) => (
                <tr key={sc.name} className="border-t border-neutral-100">
                  <td className={`${td} font-medium`}>{sc.name}</td>
                  <td className={`${td} font-mono text-xs`}>{sc.route}</td>
                  <td className={`${td} font-mono text-xs`}>{Object.entries(sc.settings).map(([k, v]) => `${k}=${v}`).join(" ") || "–"}</td>
                  <td className={`${td} font-mono text-xs`}>{Object.entries(sc.secrets).map(([k, v]) => `${k}=${v}`).join(" ") || "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section className="rounded-lg border border-neutral-200 bg-white p-4">
        <h2 className="mb-3 font-medium">Set a secret or setting</h2>
        <form
          className="grid gap-3 sm:grid-cols-5"
          onSubmit={(e) => {
            e.preventDefault();
            set.mutate({ script: form.script, kind: form.kind, values: { [form.key]: form.value } });
          }}
        >
          <label className="text-sm">
            <span className="mb-1 block text-neutral-600">Script</span>
            <select className={input} value={form.script} onChange={(e) => setForm({ ...form, script: e.target.value })} required>
              <option value="">Choose…</option>
              {q.data?.scripts.map((sc) => (
                <option key={sc.name} value={sc.name}>{sc.name}</option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            <span className="mb-1 block text-neutral-600">Kind</span>
            <select className={input} value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as "secret" | "setting" })}>
              <option value="secret">secret</option>
              <option value="setting">setting</option>
            </select>
          </label>
          <label className="text-sm">
            <span className="mb-1 block text-neutral-600">Key</span>
            <input className={input} value={form.key} onChange={(e) => setForm({ ...form, key: e.target.value })} required />
          </label>
          <label className="text-sm">
            <span className="mb-1 block text-neutral-600">Value</span>
            <input className={input} type={form.kind === "secret" ? "password" : "text"} value={form.value} onChange={(e) => setForm({ ...form, value: e.target.value })} required />
          </label>
          <div className="flex items-end">
            <button type="submit" className={primary} disabled={set.isPending}>Save</button>
          </div>
        </form>
        {set.error && <p role="alert" className="mt-2 text-sm text-red-700">{errorText(set.error)}</p>}
        {set.isSuccess && <p className="mt-2 text-sm text-green-700">Saved.</p>}
      </section>
      <section className="overflow-x-auto rounded-lg border border-neutral-200 bg-white">
        <h2 className="px-4 pt-4 font-medium">Recent runs</h2>
        <table className="mt-2 w-full text-left text-sm">
          <thead className="bg-neutral-50 text-xs text-neutral-500">
            <HeadRow cols={["When", "Script", "Status", "Duration", "Run-once key", "Output"]} />
          </thead>
          <tbody>
            {q.data?.runs.map((r) => (
              <tr key={r.id} className="border-t border-neutral-100 align-top">
                <td className={td}>{ago(r.at)}</td>
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
        </table>
      </section>
    </div>
  );
}

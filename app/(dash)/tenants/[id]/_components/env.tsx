"use client";
// Environment editor: edits a copy of the tenant's variables; saving sends a patch (null = removed key).
import { useEffect, useRef, useState } from "react";
import { api } from "~/app/_lib/trpc";
import { Button, Card, ErrorBox, Notice } from "~/app/_components/ui";
import { EnvEditor, type EnvRow, envProblems, toRows } from "../../_components/env-editor";
import type { Container } from "../../_components/types";

export function EnvSection({ c }: { c: Container }) {
  const utils = api.useUtils();
  const [rows, setRows] = useState<EnvRow[]>(() => toRows(c.environment_vars));
  const [dirty, setDirty] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const serverEnv = JSON.stringify(c.environment_vars);
  const lastServerEnv = useRef(serverEnv);

  // Follow the server's values while the operator has not edited anything.
  useEffect(() => {
    if (serverEnv !== lastServerEnv.current) {
      lastServerEnv.current = serverEnv;
      if (!dirty) setRows(toRows(c.environment_vars));
    }
  }, [serverEnv, dirty, c.environment_vars]);

  const update = api.containers.update.useMutation({
    onSuccess: (r) => {
      utils.containers.get.setData({ id: c.id }, r.container);
      lastServerEnv.current = JSON.stringify(r.container.environment_vars);
      setRows(toRows(r.container.environment_vars));
      setDirty(false);
      setNotice(r.restarted ? "Saved; tenant restarted" : "Saved; tenant not restarted (it is not running, so it picks the change up when it starts)");
      void utils.audit.list.invalidate();
    },
  });

  const problems = envProblems(rows);
  const patch: Record<string, string | null> = {};
  const current = c.environment_vars;
  const kept = new Set<string>();
  for (const r of rows) {
    const k = r.key.trim();
    if (!k) continue;
    kept.add(k);
    if (current[k] !== r.value) patch[k] = r.value;
  }
  for (const k of Object.keys(current)) if (!kept.has(k)) patch[k] = null;
  const changes = Object.keys(patch).length;

  return (
    <Card title="Environment" actions={<span className="text-xs text-neutral-500">{Object.keys(current).length} variable(s)</span>}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setNotice(null);
          if (problems.size || !changes) return;
          update.mutate({ id: c.id, environment_vars: patch });
        }}
      >
        <EnvEditor
          rows={rows}
          disabled={update.isPending}
          onChange={(r) => {
            setRows(r);
            setDirty(true);
            setNotice(null);
          }}
        />
        <p className="mt-4 text-xs text-neutral-500">Saving restarts the tenant so its app sees the change.</p>
        <div className="mt-3 flex flex-wrap items-center gap-3">
          <Button type="submit" variant="primary" busy={update.isPending} disabled={problems.size > 0 || changes === 0}>
            Save environment
          </Button>
          {dirty && changes > 0 && (
            <Button
              disabled={update.isPending}
              onClick={() => {
                setRows(toRows(current));
                setDirty(false);
                update.reset();
              }}
            >
              Discard changes
            </Button>
          )}
          {changes > 0 && !update.isPending && <span className="text-xs text-neutral-500">{changes} unsaved change(s)</span>}
          {update.isPending && <span className="text-xs text-neutral-500">Saving and restarting…</span>}
          <Notice>{notice}</Notice>
        </div>
        <ErrorBox error={update.error} title="The environment was not saved" className="mt-3" />
      </form>
    </Card>
  );
}

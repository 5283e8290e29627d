"use client";
// Each template's warm pool: members made ahead and waiting, so a create takes one instead of
// starting a container. The size is set here (0 turns it off; "default" returns to the default).
import { useState } from "react";
import { Button, Card, Input, QueryTable, tdTopCls } from "~/app/_components/ui";
import { errorText } from "~/app/_lib/errors";
import { bytes } from "~/app/_lib/format";
import { api } from "~/app/_lib/trpc";

const td = tdTopCls;

function SizeForm({ template, size }: { template: string; size: number }) {
  const utils = api.useUtils();
  const [value, setValue] = useState(String(size));
  const set = api.templates.setPool.useMutation({ onSuccess: () => void utils.templates.pools.invalidate() });
  const parsed = Number(value);
  const valid = value.trim() !== "" && Number.isInteger(parsed) && parsed >= 0 && parsed <= 64;
  return (
    <form
      className="flex items-center gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) set.mutate({ template, size: parsed });
      }}
    >
      <Input aria-label={`Warm pool size of ${template}`} className="w-20" value={value} onChange={(e) => setValue(e.target.value)} inputMode="numeric" disabled={set.isPending} />
      <Button type="submit" disabled={!valid || set.isPending}>
        Set
      </Button>
      <Button type="button" variant="secondary" disabled={set.isPending} onClick={() => set.mutate({ template, size: null })}>
        Default
      </Button>
      {!valid && <span className="text-xs text-red-700">0–64</span>}
      {set.error && <span className="text-xs text-red-700">{errorText(set.error)}</span>}
    </form>
  );
}

export function WarmPoolCard() {
  const q = api.templates.pools.useQuery(undefined, { refetchInterval: 5_000 });
  return (
    <Card title="Warm pool" bodyClassName="">
      <QueryTable
        query={q}
        loading="Loading warm pools…"
        isEmpty={(d) => d.length === 0}
        empty="No templates."
        cols={["Template", "Size", { label: "Ready", right: true }, { label: "Being made", right: true }, { label: "Memory", right: true }]}
      >
        {(pools) =>
          pools.map((p) => (
            <tr key={p.template}>
              <th scope="row" className={`${td} font-medium`}>
                {p.template}
                {p.default && <span className="ml-1 text-xs font-normal text-neutral-400">(default)</span>}
              </th>
              <td className={td}>
                <SizeForm key={p.size} template={p.template} size={p.size} />
              </td>
              <td className={`${td} text-right tabular-nums`}>{p.ready}</td>
              <td className={`${td} text-right tabular-nums`}>{p.preparing}</td>
              <td className={`${td} text-right tabular-nums`}>{bytes(p.memory_bytes)}</td>
            </tr>
          ))
        }
      </QueryTable>
    </Card>
  );
}

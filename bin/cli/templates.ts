// `hoody templates ...`: the warm pool per template, and what the box has left (admin).
import { allowOnly, positionals, UsageError, type Handler } from "./args";
import { call, enc } from "./http";
import { json, out, table } from "./output";
import type { WarmPoolView } from "../../server/core/core";

type Pool = WarmPoolView;

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

export const templates: Record<string, Handler> = {
  async pools(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const d = await call<{ pools: Pool[] }>(cfg, "GET", "/warm-pool");
    if (inv.values.json) return json(d);
    table(
      ["TEMPLATE", "SIZE", "READY", "BEING MADE", "MEMORY"],
      d.pools.map((p) => [p.template, `${p.size}${p.default ? " (default)" : ""}`, String(p.ready), String(p.preparing), mib(p.memory_bytes)]),
    );
  },
  async pool(cfg, inv) {
    allowOnly(inv, []);
    const [template, sizeArg] = positionals(inv, ["template", "size"]);
    const size = sizeArg === "default" ? null : Number(sizeArg);
    if (size !== null && !(Number.isInteger(size) && size >= 0 && size <= 64)) throw new UsageError("size is 0–64 or 'default'", inv.topic);
    const d = await call<Pool>(cfg, "PUT", `/warm-pool/${enc(template!)}`, { body: { size } });
    if (inv.values.json) return json(d);
    out(`warm pool of ${d.template}: size ${d.size}${d.default ? " (default)" : ""}, ${d.ready} ready`);
  },
  async capacity(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const d = await call<Record<string, unknown>>(cfg, "GET", "/capacity");
    json(d);
  },
};

// `hoody snapshots ...`
import type { ContainerView } from "../../server/core/core";
import { UsageError, allowOnly, intOption, positionals, type Handler } from "./args";
import { call, enc } from "./http";
import { bytes, json, out, table, when } from "./output";

export interface Snapshot {
  name: string;
  alias: string | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  size: number | null;
  replaced?: string[];
}

export const snapshots: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["container-id"]);
    const d = await call<{ snapshots: Snapshot[] }>(cfg, "GET", `/containers/${enc(id!)}/snapshots`);
    if (inv.values.json) return json(d);
    table(
      ["NAME", "ALIAS", "CREATED", "EXPIRES", "SIZE"],
      d.snapshots.map((s) => [s.name, s.alias, when(s.created_at), when(s.expires_at), bytes(s.size)]),
    );
  },
  async create(cfg, inv) {
    allowOnly(inv, ["alias", "expiry"]);
    const [id, positionalAlias] = positionals(inv, ["container-id"], ["alias"]);
    if (positionalAlias !== undefined && inv.values.alias !== undefined && positionalAlias !== inv.values.alias) {
      throw new UsageError("give the alias once (as an argument or with --alias)", inv.topic);
    }
    const alias = inv.values.alias ?? positionalAlias;
    const expiry = intOption(inv, "expiry", 1, 3650);
    json(await call<Snapshot>(cfg, "POST", `/containers/${enc(id!)}/snapshots`, { body: { ...(alias !== undefined && { alias }), ...(expiry !== undefined && { expiry }) } }));
  },
  async restore(cfg, inv) {
    allowOnly(inv, []);
    const [id, name] = positionals(inv, ["container-id", "name-or-alias"]);
    const r = await call<{ container: ContainerView }>(cfg, "PUT", `/containers/${enc(id!)}/snapshots/${enc(name!)}`);
    if (inv.values.json) return json(r);
    out(`${r.container.id}: restored ${name} (status ${r.container.status})`);
  },
  async rm(cfg, inv) {
    allowOnly(inv, []);
    const [id, name] = positionals(inv, ["container-id", "name-or-alias"]);
    const d = await call<{ name: string; deleted: boolean }>(cfg, "DELETE", `/containers/${enc(id!)}/snapshots/${enc(name!)}`);
    if (inv.values.json) return json(d);
    out(`deleted snapshot ${d.name}`);
  },
};

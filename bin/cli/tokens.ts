// `hoody tokens ...` (admin)
import { allowOnly, positionals, type Handler } from "./args";
import { call, enc } from "./http";
import { json, note, out, table, when } from "./output";

interface Token {
  id: string;
  name: string;
  prefix: string;
  project_id: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export const tokens: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const d = await call<{ tokens: Token[] }>(cfg, "GET", "/tokens");
    if (inv.values.json) return json(d);
    table(
      ["ID", "NAME", "PREFIX", "PROJECT", "CREATED", "LAST USED", "STATE"],
      d.tokens.map((t) => [t.id, t.name, t.prefix, t.project_id ?? "(admin)", when(t.created_at), when(t.last_used_at), t.revoked_at ? `revoked ${when(t.revoked_at)}` : "active"]),
    );
  },
  async create(cfg, inv) {
    allowOnly(inv, ["project"]);
    const [name] = positionals(inv, ["name"]);
    // No Idempotency-Key here: the server stores keyed answers for 24 h to replay them, and this
    // answer holds the token's secret, which must not be kept anywhere. Hence no retry either.
    const body = { name, ...(inv.values.project !== undefined && { project_id: inv.values.project }) };
    const d = await call<{ id: string; name: string; project_id: string | null; token: string }>(cfg, "POST", "/tokens", { body, idempotencyKey: false });
    if (inv.values.json) return json(d);
    note(`created token ${d.id} '${d.name}' (${d.project_id ? `project ${d.project_id}` : "admin"}); its secret is shown only now:`);
    out(d.token);
  },
  async revoke(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["token-id"]);
    const d = await call<{ id: string; revoked: boolean }>(cfg, "DELETE", `/tokens/${enc(id!)}`);
    if (inv.values.json) return json(d);
    out(`revoked token ${d.id}`);
  },
};

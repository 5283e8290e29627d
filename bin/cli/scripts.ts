// `hoody scripts ...` (admin): exec scripts' settings and secrets.
import { UsageError, allowOnly, positionals, type Handler } from "./args";
import { call, enc } from "./http";
import { json, out, table, when } from "./output";

/** `secrets|settings set|unset <script> ...` → PUT /scripts/{script}/{kind}. */
function scriptValues(kind: "secrets" | "settings"): Handler {
  return async (cfg, inv) => {
    allowOnly(inv, []);
    const [verb, script, ...pairs] = inv.args;
    if ((verb !== "set" && verb !== "unset") || !script || !pairs.length) throw new UsageError(`usage: hoody scripts ${kind} set|unset <script> ...`, "scripts");
    const body: Record<string, string | null> = {};
    for (const p of pairs) {
      if (verb === "unset") body[p] = null;
      else {
        const i = p.indexOf("=");
        if (i < 1) throw new UsageError(`expected KEY=VALUE, got '${p}'`, "scripts");
        body[p.slice(0, i)] = p.slice(i + 1);
      }
    }
    const d = await call<Record<string, Record<string, string>>>(cfg, "PUT", `/scripts/${enc(script)}/${kind}`, { body });
    if (inv.values.json) return json(d);
    for (const [k, v] of Object.entries(d[kind] ?? {})) out(`${k}=${v}`);
  };
}

export const scripts: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const d = await call<{
      scripts: { name: string; route: string; settings: Record<string, string>; secrets: Record<string, string> }[];
      runs: { at: string; script: string; status: number; duration_ms: number }[];
    }>(cfg, "GET", "/scripts");
    if (inv.values.json) return json(d);
    table(
      ["SCRIPT", "ROUTE", "SETTINGS", "SECRETS"],
      d.scripts.map((x) => [x.name, x.route, Object.keys(x.settings).join(",") || "-", Object.keys(x.secrets).join(",") || "-"]),
    );
    out("");
    table(
      ["WHEN", "SCRIPT", "STATUS", "MS"],
      d.runs.slice(0, 20).map((r) => [when(r.at), r.script, String(r.status), String(r.duration_ms)]),
    );
  },
  secrets: scriptValues("secrets"),
  settings: scriptValues("settings"),
};

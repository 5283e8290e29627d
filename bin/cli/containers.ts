// `hoody containers ...`: create, copy, list, lifecycle, erase, env, custom domains and exec.
import type { ContainerView } from "../../server/core/core";
import type { DomainView } from "../../server/core/domains";
import { UsageError, allowOnly, envPairs, intOption, positionals, type Handler, type Invocation } from "./args";
import { call, enc } from "./http";
import { json, note, out, pageNote, table, when, type Pagination } from "./output";

interface Receipt {
  receipt_id: string;
  container_id: string;
  project_id: string;
  erased_at: string;
  requested_by: string;
  erased: unknown;
}
interface OperationResult {
  operation: string;
  container_id: string;
  status: string;
  message: string;
}
interface EnvResult {
  environment_vars: Record<string, string>;
  restarted?: boolean;
}
interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  truncated: boolean;
}

function printContainer(inv: Invocation, c: ContainerView): void {
  if (inv.values["url-only"] && !inv.values.json) out(c.url);
  else json(c);
}

function printReceipt(r: Receipt): void {
  out(`erased container ${r.container_id} (project ${r.project_id})`);
  out(`receipt:      ${r.receipt_id}`);
  out(`erased at:    ${when(r.erased_at)}`);
  out(`requested by: ${r.requested_by}`);
  if (r.erased && typeof r.erased === "object" && !Array.isArray(r.erased)) {
    for (const [where, what] of Object.entries(r.erased as Record<string, unknown>)) {
      out(`${where}:`);
      for (const item of Array.isArray(what) ? what : [what]) out(`  - ${typeof item === "string" ? item : JSON.stringify(item)}`);
    }
  } else out(`erased: ${JSON.stringify(r.erased)}`);
}

function printEnv(env: Record<string, string>): void {
  const lines = Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
  if (lines.length) out(lines.join("\n"));
}

const operation =
  (op: "start" | "stop" | "restart" | "force-stop" | "pause" | "resume"): Handler =>
  async (cfg, inv) => {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["id"]);
    const d = await call<OperationResult>(cfg, "POST", `/containers/${enc(id!)}/${op}`);
    if (inv.values.json) return json(d);
    out(`${d.container_id}: ${d.message} (status ${d.status})`);
  };

export const containers: Record<string, Handler> = {
  async create(cfg, inv) {
    allowOnly(inv, ["template", "name", "env", "no-start", "url-only"]);
    const [projectId] = positionals(inv, ["project-id"]);
    const body = {
      ...(inv.values.template !== undefined && { template: inv.values.template }),
      ...(inv.values.name !== undefined && { name: inv.values.name }),
      ...(inv.values.env && { environment_vars: envPairs(inv.values.env, inv.topic) }),
      ...(inv.values["no-start"] && { autostart: false }),
    };
    printContainer(inv, await call<ContainerView>(cfg, "POST", `/projects/${enc(projectId!)}/containers`, { body }));
  },
  async copy(cfg, inv) {
    allowOnly(inv, ["project", "name", "snapshot", "copy-firewall", "env", "no-start", "url-only"]);
    const [source] = positionals(inv, ["source-id-or-template"]);
    if (!inv.values.project) throw new UsageError("'containers copy' needs --project <project-id>", inv.topic);
    const body = {
      target_project_id: inv.values.project,
      ...(inv.values.name !== undefined && { name: inv.values.name }),
      ...(inv.values.snapshot !== undefined && { source_snapshot: inv.values.snapshot }),
      ...(inv.values["copy-firewall"] && { copy_firewall_rules: true }),
      ...(inv.values.env && { environment_vars: envPairs(inv.values.env, inv.topic) }),
      ...(inv.values["no-start"] && { autostart: false }),
    };
    printContainer(inv, await call<ContainerView>(cfg, "POST", `/containers/${enc(source!)}/copy`, { body }));
  },
  async list(cfg, inv) {
    allowOnly(inv, ["project", "status", "template", "search", "page", "limit"]);
    positionals(inv, []);
    const { project, status, template, search, page, limit } = inv.values;
    const route = project !== undefined ? `/projects/${enc(project)}/containers` : "/containers";
    const d = await call<{ containers: ContainerView[]; pagination: Pagination }>(cfg, "GET", route, { query: { status, template, search, page, limit } });
    if (inv.values.json) return json(d);
    table(
      ["ID", "NAME", "PROJECT", "TEMPLATE", "STATUS", "URL"],
      d.containers.map((c) => [c.id, c.name, c.project_id, c.template, c.status, c.url]),
    );
    pageNote(d.pagination, "containers");
  },
  async get(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["id"]);
    json(await call<ContainerView>(cfg, "GET", `/containers/${enc(id!)}`));
  },
  start: operation("start"),
  stop: operation("stop"),
  restart: operation("restart"),
  "force-stop": operation("force-stop"),
  pause: operation("pause"),
  resume: operation("resume"),
  async rm(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["id"]);
    const r = await call<Receipt>(cfg, "DELETE", `/containers/${enc(id!)}`);
    if (inv.values.json) return json(r);
    printReceipt(r);
  },
  async env(cfg, inv) {
    const [id, action = "list", ...rest] = inv.args;
    if (!id) throw new UsageError("'containers env' needs <id>", inv.topic);
    if (action === "list") {
      allowOnly(inv, []);
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, inv.topic);
      const d = await call<EnvResult>(cfg, "GET", `/containers/${enc(id)}/env`);
      if (inv.values.json) return json(d);
      return printEnv(d.environment_vars);
    }
    if (action !== "set" && action !== "unset") throw new UsageError(`unknown env action '${action}' (list, set or unset)`, inv.topic);
    allowOnly(inv, ["no-restart"]);
    if (!rest.length) throw new UsageError(action === "set" ? "'env set' needs K=V [K=V ...]" : "'env unset' needs K [K ...]", inv.topic);
    const patch: Record<string, string | null> = action === "set" ? envPairs(rest, inv.topic) : Object.fromEntries(rest.map((k) => [k, null]));
    const d = await call<EnvResult>(cfg, "PUT", `/containers/${enc(id)}/env`, { body: { environment_vars: patch, restart: !inv.values["no-restart"] } });
    if (inv.values.json) return json(d);
    printEnv(d.environment_vars);
    if (d.restarted) note(`(${id} was restarted to apply the change)`);
  },
  async domains(cfg, inv) {
    allowOnly(inv, []);
    const [id, action = "list", ...rest] = inv.args;
    if (!id) throw new UsageError("'containers domains' needs <id>", inv.topic);
    if (action === "list") {
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, inv.topic);
      const d = await call<{ domains: DomainView[] }>(cfg, "GET", `/containers/${enc(id)}/domains`);
      if (inv.values.json) return json(d);
      if (!d.domains.length) return note("no custom domains");
      return table(
        ["DOMAIN", "URL", "RESOLVES TO", "ADDED"],
        d.domains.map((x) => [x.hostname, x.url, x.addresses.join(","), when(x.created_at)]),
      );
    }
    if (action !== "add" && action !== "rm") throw new UsageError(`unknown domains action '${action}' (list, add or rm)`, inv.topic);
    const [hostname, extra] = rest;
    if (!hostname || extra) throw new UsageError(`'domains ${action}' needs exactly one <domain>`, inv.topic);
    if (action === "add") {
      const d = await call<DomainView>(cfg, "POST", `/containers/${enc(id)}/domains`, { body: { hostname } });
      return inv.values.json ? json(d) : out(`${d.hostname} → ${id}: ${d.url}`);
    }
    const d = await call<{ hostname: string }>(cfg, "DELETE", `/containers/${enc(id)}/domains/${enc(hostname)}`);
    return inv.values.json ? json(d) : out(`${d.hostname} detached from ${id}`);
  },
  async exec(cfg, inv) {
    allowOnly(inv, ["timeout"]);
    const [id, ...inline] = inv.args;
    if (!id) throw new UsageError("'containers exec' needs <id> -- <cmd> [args...]", inv.topic);
    const command = [...inline, ...(inv.tail ?? [])];
    if (!command.length) throw new UsageError("'containers exec' needs a command after --", inv.topic);
    const timeout = intOption(inv, "timeout", 1, 600);
    const d = await call<ExecResult>(cfg, "POST", `/containers/${enc(id)}/exec`, { body: { command, ...(timeout !== undefined && { timeout }) } });
    if (inv.values.json) json(d);
    else {
      if (d.stdout) process.stdout.write(d.stdout);
      if (d.stderr) process.stderr.write(d.stderr);
      if (d.truncated) note("hoody: output was truncated to 256 KiB per stream");
      if (d.timed_out) note(`hoody: the command timed out after ${timeout ?? 30}s`);
    }
    process.exitCode = d.timed_out ? 124 : d.exit_code;
  },
};

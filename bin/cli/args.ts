// Arguments: every option of every command, parsing, and the usage and API errors the CLI reports.
import { parseArgs } from "node:util";
import type { Config } from "./http";
import { USAGE } from "./usage";

export class UsageError extends Error {
  constructor(
    message: string,
    readonly topic: string = "main",
  ) {
    super(message);
  }
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly data: unknown = null,
  ) {
    super(message);
  }
}

/** Every option of every command; each command says which of them it accepts. */
export const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  max: { type: "string" },
  page: { type: "string" },
  limit: { type: "string" },
  template: { type: "string" },
  name: { type: "string" },
  env: { type: "string", multiple: true },
  "no-start": { type: "boolean" },
  "erase-containers": { type: "boolean" },
  "url-only": { type: "boolean" },
  project: { type: "string" },
  snapshot: { type: "string" },
  "copy-firewall": { type: "boolean" },
  status: { type: "string" },
  search: { type: "string" },
  "no-restart": { type: "boolean" },
  timeout: { type: "string" },
  alias: { type: "string" },
  expiry: { type: "string" },
  deadline: { type: "string" },
  wait: { type: "boolean" },
} as const;
export type OptionName = keyof typeof OPTIONS;
export const GLOBAL: OptionName[] = ["url", "token", "json", "help"];

export interface Values {
  url?: string;
  token?: string;
  json?: boolean;
  help?: boolean;
  max?: string;
  page?: string;
  limit?: string;
  template?: string;
  name?: string;
  env?: string[];
  "no-start"?: boolean;
  "erase-containers"?: boolean;
  "url-only"?: boolean;
  project?: string;
  snapshot?: string;
  "copy-firewall"?: boolean;
  status?: string;
  search?: string;
  "no-restart"?: boolean;
  timeout?: string;
  alias?: string;
  expiry?: string;
  deadline?: string;
  wait?: boolean;
}

export interface Invocation {
  values: Values;
  /** Positionals after the group and subcommand. */
  args: string[];
  /** What followed a literal `--` (exec's command), or null. */
  tail: string[] | null;
  topic: string;
  name: string;
}

export function parse(argv: string[]): { values: Values; positionals: string[]; tail: string[] | null } {
  const dd = argv.indexOf("--");
  const head = dd < 0 ? argv : argv.slice(0, dd);
  const tail = dd < 0 ? null : argv.slice(dd + 1);
  try {
    const { values, positionals } = parseArgs({ args: head, options: OPTIONS, allowPositionals: true, strict: true });
    return { values: values as Values, positionals, tail };
  } catch (e) {
    const group = head.find((a) => Object.hasOwn(USAGE, a) && a !== "main");
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""), group);
  }
}

export function allowOnly(inv: Invocation, allowed: OptionName[]): void {
  const ok = new Set<string>([...GLOBAL, ...allowed]);
  for (const k of Object.keys(inv.values)) {
    if (!ok.has(k)) throw new UsageError(`option --${k} does not apply to '${inv.name}'`, inv.topic);
  }
}

export function positionals(inv: Invocation, names: string[], optional: string[] = []): string[] {
  const { args } = inv;
  if (args.length < names.length) throw new UsageError(`'${inv.name}' needs ${names.map((n) => `<${n}>`).join(" ")}`, inv.topic);
  if (args.length > names.length + optional.length) throw new UsageError(`unexpected argument '${args[names.length + optional.length]}'`, inv.topic);
  return args;
}

export function intOption(inv: Invocation, name: OptionName, min: number, max: number): number | undefined {
  const raw = inv.values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`, inv.topic);
  }
  return Number(raw);
}

/** K=V pairs into a map; the value may be empty and may itself contain '='. */
export function envPairs(pairs: string[], topic: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`expected KEY=VALUE, got '${p}'`, topic);
    map[p.slice(0, i)] = p.slice(i + 1);
  }
  return map;
}

/** One subcommand: what it does with the parsed invocation. */
export type Handler = (cfg: Config, inv: Invocation) => Promise<void>;

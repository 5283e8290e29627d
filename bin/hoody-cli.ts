// `hoody`: a command-line client of the REST API (/api/v1). It talks HTTP only (fetch) and imports
// nothing from server/ but types and its three settings (server/config.ts clientConfig), so it behaves
// exactly like any other API client would. One module per command group under bin/cli/, with the
// shared argument, HTTP and output helpers beside them.
import { ApiError, UsageError, parse, type Handler } from "./cli/args";
import { containers } from "./cli/containers";
import { dedup } from "./cli/dedup";
import { baseUrl, type Config } from "./cli/http";
import { note, out } from "./cli/output";
import { projects } from "./cli/projects";
import { scripts } from "./cli/scripts";
import { snapshots } from "./cli/snapshots";
import { templates } from "./cli/templates";
import { tokens } from "./cli/tokens";
import { USAGE } from "./cli/usage";

const GROUPS: Record<string, Record<string, Handler>> = { projects, containers, snapshots, tokens, scripts, templates, dedup };

// ------------------------------------------------------------------ main

export async function main(argv: string[]): Promise<number> {
  let topic = "main";
  try {
    const { values, positionals: pos, tail } = parse(argv);
    let [group, sub, ...args] = pos;
    let help = values.help === true;
    if (group === "help") [help, group, sub] = [true, sub, undefined];
    if (sub === "help") help = true;
    if (group !== undefined && !Object.hasOwn(GROUPS, group)) throw new UsageError(`unknown command '${group}'`);
    if (group) topic = group;
    if (help) {
      out(USAGE[topic] ?? USAGE.main!);
      return 0;
    }
    if (!group) {
      note(USAGE.main!);
      return 2;
    }
    const handlers = GROUPS[group]!;
    if (!sub) throw new UsageError(`'${group}' needs a subcommand`, topic);
    const handler = Object.hasOwn(handlers, sub) ? handlers[sub] : undefined;
    if (!handler) throw new UsageError(`unknown command '${group} ${sub}'`, topic);
    if (tail && !(group === "containers" && sub === "exec")) args.push(...tail);
    const cfg: Config = { base: baseUrl(values.url), tokenFlag: values.token };
    await handler(cfg, { values, args, tail: group === "containers" && sub === "exec" ? tail : null, topic, name: `${group} ${sub}` });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      note(`error USAGE: ${e.message}`);
      note(`(see 'hoody ${e.topic === "main" ? "" : `${e.topic} `}--help')`);
      return 2;
    }
    if (e instanceof ApiError) {
      note(`error ${e.code}: ${e.message}`);
      return 1;
    }
    note(`error INTERNAL: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

// A closed pipe (hoody ... | head) ends the output quietly, like any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));

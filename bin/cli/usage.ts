// The CLI's help texts, one per command group (`hoody <group> --help`).
export const USAGE: Record<string, string> = {
  main: `Usage: hoody [--url URL] [--token TOKEN] [--json] <command> ...

Commands:
  projects     list, create, get and delete projects
  containers   create, copy, list, inspect, start/stop, pause/resume, erase containers; env vars; domains; exec
  snapshots    list, create, restore and delete a container's snapshots
  tokens       list, create and revoke API tokens (admin)
  templates    warm pools per template, and the capacity left (admin)
  scripts      exec scripts: list, and set their secrets and settings (admin)
  dedup        deduplicate the pool's identical extents now; what sharing saves (admin)

Global options:
  --url URL      API base URL (env HOODY_URL; default http://localhost:3000)
  --token TOKEN  API token (env HOODY_TOKEN; else the file $HOODY_DATA_DIR/admin-token,
                 HOODY_DATA_DIR defaulting to /var/lib/hoody)
  --json         print the response's raw "data" as JSON
  -h, --help     show help (hoody <command> --help for a command's)

Errors print "error CODE: message" on stderr and exit 1; usage errors exit 2.`,

  projects: `Usage:
  hoody projects list [--page N] [--limit N]
  hoody projects create <alias> [--max N]     N: the most containers it may hold
  hoody projects get <project-id>
  hoody projects rm <project-id> [--erase-containers]
                                              without the flag the project must be empty`,

  containers: `Usage:
  hoody containers create <project-id> [--template T] [--name N] [--env K=V ...] [--no-start] [--url-only]
  hoody containers copy <source-id-or-template> --project <project-id> [--name N] [--snapshot S]
                        [--copy-firewall] [--env K=V ...] [--no-start] [--url-only]
  hoody containers list [--project ID] [--status S] [--template T] [--search Q] [--page N] [--limit N]
  hoody containers get <id>
  hoody containers start|stop|restart|force-stop|pause|resume <id>
  hoody containers rm <id>                            erase it and all its data; prints the receipt
  hoody containers env <id>                           list its env vars
  hoody containers env <id> set K=V [K=V ...] [--no-restart]
  hoody containers env <id> unset K [K ...] [--no-restart]
  hoody containers domains <id>                       list its custom domains
  hoody containers domains <id> add|rm <domain>       attach (it must resolve to this server) or detach one
  hoody containers exec <id> [--timeout SECONDS] -- <cmd> [args...]

  create/copy print the container as JSON (--url-only: just its URL); --template defaults to mini;
  --name defaults to a random one. Status is one of creating, running, paused, stopped, failed, deleting.
  Env changes restart a running container unless --no-restart. exec prints the command's stdout
  and stderr and exits with its exit code (124 if it timed out; --timeout 1-600, default 30).`,

  dedup: `Usage:
  hoody dedup run [--deadline SECONDS] [--wait]   start a run (or show the one in flight); --wait: until it ends
  hoody dedup status                              runs, bytes saved, and per container what its qgroup counts,
                                                  what it references and shares, and what erasing it frees at least

  A run reads only what changed since the last (duperemove's hash file), at idle I/O priority; at its
  deadline (1-86400 s, default the server's) it stops and the next run resumes.`,

  snapshots: `Usage:
  hoody snapshots list <container-id>
  hoody snapshots create <container-id> [alias] [--alias A] [--expiry DAYS]
  hoody snapshots restore <container-id> <name-or-alias>
  hoody snapshots rm <container-id> <name-or-alias>

  The server names snapshots (snap-YYYYMMDD-HHMMSS); an alias is your name for one, and
  reusing an alias replaces the snapshot it named. --expiry: delete it after DAYS days.`,

  tokens: `Usage:
  hoody tokens list
  hoody tokens create <name> [--project ID]    the secret is printed once, on stdout
  hoody tokens revoke <token-id>

  A token with --project sees only that project; without, it is an admin token.`,

  templates: `Usage:
  hoody templates pools                        each template's warm pool: size, ready, being made, memory
  hoody templates pool <template> <size>       0–64 members kept ready (0: off); 'default' returns to the default
  hoody templates capacity                     what the box has left (tenants, uid ranges, addresses, memory, pool)`,

  scripts: `Usage:
  hoody scripts list                                   scripts, settings, masked secrets, recent runs
  hoody scripts secrets set <script> KEY=VALUE ...     values are never shown again (masked)
  hoody scripts secrets unset <script> KEY ...
  hoody scripts settings set <script> KEY=VALUE ...    e.g. project_id=6650f1c2a1b2c3d4e5f60718 TEMPLATE=starter
  hoody scripts settings unset <script> KEY ...`,
};

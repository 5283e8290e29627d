// One consistency check shared by the reliability tests: the database (read-only) and the machine
// must agree. It reads the SQLite file, `btrfs subvolume list`, the lxcpath (config + hoody.json),
// `nft -j list table`, `ip -o link`, `lxc-ls --active` and the daemon's own list, and returns every
// disagreement as a sentence (an empty list = consistent), so a failing test says what leaked.
import fs from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { Firewall } from "../../server/host/drivers/nft.js";
import type { FirewallRule } from "../../server/shared/protocol.js";
import type { TestHost } from "../../testkit/host-harness.js";

const UID_RANGE = 65536;

export interface Snapshot {
  /** id: the API's; engine: the engine's name, which is what the machine (lxcpath, subvolumes, chains) knows. */
  rows: { id: string; engine: string; status: string; ip: string | null; name: string }[];
  tenantSubvolumes: string[];
  otherSubvolumes: string[];
  metas: Map<string, { phase: string; ip: string; uidBase: number; veth: string; firewall: FirewallRule[] } | null>;
  configs: Map<string, { ip: string | null; uidBase: number | null } | null>;
  /** The tenant chains (eg_/in_), which belong to rulesets (eg_r<hash>) that tenants jump to. */
  chains: string[];
  /** Ruleset number (a veth's netdev group) → the chain its map element jumps to, per direction. */
  jumps: { egress: Map<number, string>; ingress: Map<number, string> };
  /** Addresses with a flow count (the dynamic set's elements). */
  flowCounts: string[];
  /** Elements of the source-address set, as "<veth> <ip>". */
  sources: string[];
  veths: string[];
  /** Each veth's netdev group, as `ip -j link` lists it (0 for "default"). */
  vethGroups: Map<string, number>;
  active: string[];
  daemon: { id: string; state: string }[] | null;
}

export async function observe(host: TestHost): Promise<Snapshot> {
  const env = host.env;
  const db = new Database(path.join(host.dir, "hoody.db"), { readonly: true, fileMustExist: true });
  let rows: Snapshot["rows"];
  try {
    rows = db.prepare("SELECT id, engine_name AS engine, status, ip, name FROM containers").all() as Snapshot["rows"];
  } finally {
    db.close();
  }
  const list = await execa("btrfs", ["subvolume", "list", host.poolPath]);
  const subPaths = list.stdout
    .split("\n")
    .map((l) => /\spath (.+)$/.exec(l)?.[1])
    .filter((p): p is string => !!p);
  const tenantSubvolumes = subPaths.filter((p) => /^tenants\/[^/]+$/.test(p)).map((p) => p.slice("tenants/".length));
  // Templates are the daemon's own (not tenants); everything else (snapshots, restore and build leftovers) is checked.
  // So is a template's spare (server/host/spares.ts), named by the template and its subvolume id:
  // one of a template that is gone, or was rebuilt, is checked like any leftover.
  const idOf = new Map([...list.stdout.matchAll(/^ID (\d+) .*\spath (.+)$/gm)].map((m) => [m[2]!, m[1]!]));
  const isSpare = (p: string) => {
    const m = /^spares\/([a-z][a-z0-9-]*)\.(\d+)\.[0-9a-f]{8}$/.exec(p);
    return !!m && idOf.get(`templates/${m[1]}`) === m[2];
  };
  const otherSubvolumes = subPaths.filter((p) => !p.startsWith("tenants/") && !/^templates\/[a-z][a-z0-9-]*$/.test(p) && !isSpare(p));

  const metas: Snapshot["metas"] = new Map();
  const configs: Snapshot["configs"] = new Map();
  for (const id of await fs.readdir(host.lxcPath).catch(() => [] as string[])) {
    const metaText = await fs.readFile(path.join(host.lxcPath, id, "hoody.json"), "utf8").catch(() => null);
    metas.set(id, metaText ? (JSON.parse(metaText) as { phase: string; ip: string; uidBase: number; veth: string; firewall: FirewallRule[] }) : null);
    const cfg = await fs.readFile(path.join(host.lxcPath, id, "config"), "utf8").catch(() => null);
    configs.set(
      id,
      cfg === null
        ? null
        : {
            ip: /^lxc\.net\.0\.ipv4\.address\s*=\s*([\d.]+)/m.exec(cfg)?.[1] ?? null,
            uidBase: Number(/^lxc\.idmap\s*=\s*u 0 (\d+) /m.exec(cfg)?.[1] ?? NaN) || null,
          },
    );
  }

  const nft = await execa("nft", ["-j", "list", "table", "inet", env.HOODY_NFT_TABLE!], { reject: false });
  const objs = nft.exitCode === 0 ? (JSON.parse(nft.stdout).nftables as any[]) : [];
  const chains = objs.map((o) => o.chain?.name).filter((n): n is string => typeof n === "string" && /^(eg|in)_/.test(n));
  const jumps = { egress: new Map<number, string>(), ingress: new Map<number, string>() };
  for (const o of objs) {
    if (!o.map || !["ruleset_egress", "ruleset_ingress"].includes(o.map.name)) continue;
    const dir = o.map.name === "ruleset_egress" ? "egress" : "ingress";
    for (const e of o.map.elem ?? []) jumps[dir].set(Number(e[0]), String(e[1]?.jump?.target));
  }
  const flowCounts = objs
    .filter((o) => typeof o.set?.name === "string" && o.set.name.startsWith("tenant_flows"))
    .flatMap((o) => (o.set.elem ?? []).map((e: any) => String(typeof e === "object" && e?.elem ? e.elem.val : e)));
  const sources = objs.filter((o) => o.set?.name === "tenant_source").flatMap((o) => (o.set.elem ?? []).map((e: any) => (e.concat as string[]).join(" ")));

  const links = JSON.parse((await execa("ip", ["-j", "link", "show"])).stdout) as { ifname: string; group: string }[];
  const prefix = env.HOODY_VETH_PREFIX!;
  const ours = links.filter((l) => l.ifname.startsWith(prefix));
  const veths = ours.map((l) => l.ifname);
  const vethGroups = new Map(ours.map((l) => [l.ifname, l.group === "default" ? 0 : Number(l.group)]));

  const ls = await execa("lxc-ls", ["-P", host.lxcPath, "--active", "-1"], { reject: false });
  const active = ls.stdout
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);

  const daemon = host.daemon
    ? await host.client.call("tenants.list", {}).then(
        (l) => l.map((t) => ({ id: t.id, state: t.state })),
        () => null,
      )
    : null;
  return { rows, tenantSubvolumes, otherSubvolumes, metas, configs, chains, jumps, flowCounts, sources, veths, vethGroups, active, daemon };
}

/**
 * Every disagreement between the database and the machine. `settled` (after a reconcile) also
 * demands that no row is left mid-lifecycle (creating, deleting, failed).
 */
export function problems(s: Snapshot, opts: { settled?: boolean; uidBase?: number; uidRanges?: number } = {}): string[] {
  const out: string[] = [];
  // The machine names tenants by engine name; sentences name rows by their API id.
  const rowIds = new Set(s.rows.map((r) => r.engine));
  for (const r of s.rows) {
    if (opts.settled && !["running", "stopped"].includes(r.status)) out.push(`row ${r.id} left in status ${r.status}`);
    if (r.status === "deleting") continue;
    const meta = s.metas.get(r.engine);
    const cfg = s.configs.get(r.engine);
    if (!s.tenantSubvolumes.includes(r.engine)) out.push(`row ${r.id} has no subvolume`);
    if (!meta) out.push(`row ${r.id} has no hoody.json`);
    else if (meta.phase !== "ready") out.push(`row ${r.id}: tenant phase ${meta.phase}`);
    if (!cfg) out.push(`row ${r.id} has no lxc config`);
    if (meta && cfg) {
      if (r.ip !== meta.ip || cfg.ip !== meta.ip) out.push(`row ${r.id}: ip row=${r.ip} meta=${meta.ip} config=${cfg.ip}`);
      if (cfg.uidBase !== meta.uidBase) out.push(`row ${r.id}: uid base meta=${meta.uidBase} config=${cfg.uidBase}`);
      if (opts.uidBase !== undefined && opts.uidRanges !== undefined) {
        const i = (meta.uidBase - opts.uidBase) / UID_RANGE;
        if (!Number.isInteger(i) || i < 0 || i >= opts.uidRanges) out.push(`row ${r.id}: uid base ${meta.uidBase} outside the host's ranges`);
      }
      const ruleset = Firewall.ruleset(meta.firewall).name;
      for (const c of [`eg_${ruleset}`, `in_${ruleset}`]) if (!s.chains.includes(c)) out.push(`row ${r.id}: its ruleset's nft chain ${c} is missing`);
      // A running tenant reaches its chains by the number its veth carries.
      const group = r.status === "running" ? s.vethGroups.get(meta.veth) : undefined;
      if (group !== undefined && (s.jumps.egress.get(group) !== `eg_${ruleset}` || s.jumps.ingress.get(group) !== `in_${ruleset}`)) {
        out.push(
          `row ${r.id}: its veth ${meta.veth} carries group ${group}, which leads to ${s.jumps.egress.get(group) ?? "nothing"} and ${s.jumps.ingress.get(group) ?? "nothing"}, not its ruleset ${ruleset}`,
        );
      }
      if (!s.sources.includes(`${meta.veth} ${meta.ip}`)) out.push(`row ${r.id}: ${meta.veth} ${meta.ip} not in the nft source set`);
    }
    if (r.status === "running") {
      if (!s.active.includes(r.engine)) out.push(`row ${r.id} says running but lxc-ls does not list it active`);
      if (meta && !s.veths.includes(meta.veth)) out.push(`row ${r.id} says running but its veth ${meta.veth} is absent`);
    }
  }
  // Unowned: anything on the machine that no row accounts for.
  for (const id of s.tenantSubvolumes) if (!rowIds.has(id)) out.push(`unowned subvolume tenants/${id}`);
  for (const p of s.otherSubvolumes) {
    const owner = /^snapshots\/([^/]+)\//.exec(p)?.[1];
    if (!owner || !rowIds.has(owner)) out.push(`unowned subvolume ${p}`);
  }
  for (const id of s.metas.keys()) if (!rowIds.has(id)) out.push(`unowned lxc dir ${id} (hoody.json: ${s.metas.get(id) ? s.metas.get(id)!.phase : "none"})`);
  const ownedVeths = new Set([...s.rows].map((r) => s.metas.get(r.engine)?.veth).filter(Boolean));
  // A chain belongs to its ruleset's tenants: one that no owned tenant's rules render to is left over.
  const ownedChains = new Set(
    s.rows.flatMap((r) => {
      const m = s.metas.get(r.engine);
      if (!m) return [];
      const name = Firewall.ruleset(m.firewall).name;
      return [`eg_${name}`, `in_${name}`];
    }),
  );
  for (const c of s.chains) if (!ownedChains.has(c)) out.push(`unowned nft chain ${c}`);
  const ownedIps = new Set([...s.rows].map((r) => s.metas.get(r.engine)?.ip).filter(Boolean));
  for (const ip of s.flowCounts) if (!ownedIps.has(ip)) out.push(`unowned nft flow count of ${ip}`);
  for (const dir of ["egress", "ingress"] as const) for (const [g, c] of s.jumps[dir]) if (!ownedChains.has(c)) out.push(`unowned nft ${dir} map element ${g} (to ${c})`);
  for (const e of s.sources) if (!ownedVeths.has(e.split(" ")[0])) out.push(`unowned nft source element ${e}`);
  for (const v of s.veths) if (!ownedVeths.has(v)) out.push(`unowned veth ${v}`);
  for (const a of s.active) if (!rowIds.has(a)) out.push(`unowned running container ${a}`);
  // Leases: no IP or uid range twice (among everything on disk, owned or not).
  const seenIp = new Map<string, string>();
  const seenUid = new Map<number, string>();
  for (const [id, m] of s.metas) {
    if (!m) continue;
    if (seenIp.has(m.ip)) out.push(`ip ${m.ip} leased twice: ${seenIp.get(m.ip)} and ${id}`);
    seenIp.set(m.ip, id);
    if (seenUid.has(m.uidBase)) out.push(`uid range ${m.uidBase} leased twice: ${seenUid.get(m.uidBase)} and ${id}`);
    seenUid.set(m.uidBase, id);
  }
  const rowIps = s.rows.map((r) => r.ip).filter(Boolean);
  if (new Set(rowIps).size !== rowIps.length) out.push(`the database holds an ip twice`);
  // The daemon's view must match too (it is what the API reports).
  if (s.daemon) {
    const d = new Set(s.daemon.map((t) => t.id));
    for (const id of d) if (!rowIds.has(id)) out.push(`daemon reports ${id}, which has no row`);
    for (const r of s.rows) if (r.status !== "deleting" && !d.has(r.engine)) out.push(`row ${r.id} unknown to the daemon`);
    for (const t of s.daemon) if (t.state === "creating" || t.state === "deleting") out.push(`daemon holds ${t.id} in state ${t.state}`);
  } else out.push("the daemon did not answer tenants.list");
  return out;
}

export async function checkConsistency(host: TestHost, opts: { settled?: boolean } = {}): Promise<{ problems: string[]; snapshot: Snapshot }> {
  const snapshot = await observe(host);
  return {
    snapshot,
    problems: problems(snapshot, { ...opts, uidBase: Number(host.env.HOODY_UID_BASE), uidRanges: Number(host.env.HOODY_UID_RANGES) }),
  };
}

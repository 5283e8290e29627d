// Firewall: one nftables table of Hoody's own (inet family; never touches other tables).
// Tenants sit on routed veths (no shared L2), so every packet to, from or between tenants
// crosses the inet hooks with conntrack:
//   forward: tenant -> tenant (egress chain of the source, then ingress chain of the destination)
//   input:   tenant -> host   (dropped unless it answers a host connection)
//   output:  host -> tenant   (the destination's ingress chain; the template allows the app port from "host")
// Tenants reach their firewall chains through verdict maps keyed by the host-side veth name, which
// a tenant cannot forge. The chains belong to a *ruleset*, not to a tenant: tenants whose rules are
// the same (most keep their template's) share one pair, eg_r<hash>/in_r<hash>. libnftables (1.0.6)
// reads every chain of the table before each change, so a pair per tenant made every create and
// erase cost ~48 ms at 10,000 tenants against 0.3 ms at none (measured in process); with a pair
// per ruleset the cost stays flat. Source addresses are checked against the set of (veth, address)
// pairs before anything else: a forged packet that copies another tenant's flow tuple would
// otherwise pass as "established". Each tenant's new flows (conntrack entries) are capped by a
// count kept per source address, which the source check has made the tenant's own.
import { createHash } from "node:crypto";
import { run, SysError, trace } from "../../shared/sys.js";
import { libFunc } from "../ffi.js";
import type { FirewallRule } from "../../shared/protocol.js";

export interface NftTenant {
  id: string;
  veth: string;
  ip: string;
  rules: FirewallRule[];
}

/** What a tenant has in the table: its map and set elements, and the ruleset chains they jump to. */
interface Entry {
  veth: string;
  ip: string;
  ruleset: string;
}

/** A ruleset's chains: its name (the hash of what it renders to) and its rule lines. */
interface Ruleset {
  name: string;
  egress: string[];
  ingress: string[];
}

export class Firewall {
  /** Tenant id → its entries, as the last successful change left them. */
  private readonly entries = new Map<string, Entry>();
  /** Ruleset name → the tenants that jump to its chains (a ruleset's chains go with its last tenant). */
  private readonly users = new Map<string, Set<string>>();
  /** Changes one at a time: each script is built from the state the previous one left. */
  private lock: Promise<unknown> = Promise.resolve();
  /** The flow-count set in force (named after its cap, see baseScript). */
  private flowSet = flowSetName(0);

  constructor(
    readonly table: string,
    readonly vethPrefix: string,
    readonly subnet: string,
    readonly outboundNat: boolean,
    /** Runs one nft script and answers what it printed; dryRun: checked by the kernel, then undone (unit tests pass a recorder). */
    private readonly runScript: (script: string, dryRun?: boolean) => Promise<string> = nftScript,
  ) {}

  /** One nft transaction. */
  private async apply(script: string): Promise<void> {
    await this.runScript(script);
  }

  /** A listing's text (nft's own output). */
  private query(command: string): Promise<string> {
    return this.runScript(`${command}\n`);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /**
   * Creates or refreshes the base table, sets, maps and chains with each tenant's cap on its own new
   * flows; tenant chains and elements are kept (and so are the flow counts).
   */
  async ensureBase(conntrackMax: number): Promise<void> {
    await this.locked(async () => {
      await this.apply(this.baseScript(conntrackMax));
      this.flowSet = flowSetName(conntrackMax);
      // Sets of another cap: no rule refers to them any more (the base chains were just rewritten).
      const stale = (await this.listed("sets")).filter((s) => /^tenant_flows/.test(s) && s !== this.flowSet);
      if (stale.length) await this.apply(stale.map((s) => `delete set inet ${this.table} ${s}`).join("\n") + "\n");
    });
    if (this.outboundNat) {
      const nat = `ip ${this.table}_nat`;
      const p = `"${this.vethPrefix}*"`;
      await this.apply(
        [
          `add table ${nat}`,
          `add chain ${nat} postrouting { type nat hook postrouting priority 100 ; policy accept ; }`,
          `flush chain ${nat} postrouting`,
          `add rule ${nat} postrouting ip saddr ${this.subnet} oifname != ${p} masquerade`,
        ].join("\n") + "\n",
      );
    }
  }

  /** The base table, sets, maps and chains (one transaction; tenant chains and elements are kept). */
  baseScript(conntrackMax: number): string {
    const t = `inet ${this.table}`;
    const p = `"${this.vethPrefix}*"`;
    // One count per tenant address: over the cap, its new flows are dropped before they are
    // confirmed, so they never take a table entry; other tenants' flows are not counted here. The
    // kernel keeps the cap in each address's element, so a new cap needs a new set (named after it):
    // in the old one, a tenant holding a flow open would keep its old cap for as long as it does.
    const flows = flowSetName(conntrackMax);
    const cap = (chain: string) => `add rule ${t} ${chain} iifname ${p} ct state new add @${flows} { ip saddr ct count over ${conntrackMax} } drop`;
    const lines = [
      `add table ${t}`,
      `add map ${t} tenant_egress { type ifname : verdict ; }`,
      `add map ${t} tenant_ingress { type ifname : verdict ; }`,
      `add set ${t} tenant_source { type ifname . ipv4_addr ; }`,
      `add set ${t} ${flows} { type ipv4_addr ; size ${FLOW_SET_SIZE} ; flags dynamic ; }`,
      `add chain ${t} forward { type filter hook forward priority 0 ; policy accept ; }`,
      `add chain ${t} input { type filter hook input priority 0 ; policy accept ; }`,
      `add chain ${t} output { type filter hook output priority 0 ; policy accept ; }`,
      `flush chain ${t} forward`,
      `flush chain ${t} input`,
      `flush chain ${t} output`,
      // Before any conntrack acceptance: a packet from a tenant carries that tenant's address, and
      // tenants have no IPv6 at all.
      ...["forward", "input"].flatMap((chain) => [
        `add rule ${t} ${chain} iifname ${p} meta nfproto ipv6 drop`,
        `add rule ${t} ${chain} iifname ${p} iifname . ip saddr != @tenant_source drop`,
        cap(chain),
      ]),
      `add rule ${t} forward iifname ${p} ct state established,related accept`,
      `add rule ${t} forward oifname ${p} ct state established,related accept`,
      `add rule ${t} forward iifname vmap @tenant_egress`,
      `add rule ${t} forward oifname vmap @tenant_ingress`,
      ...(this.outboundNat ? [`add rule ${t} forward iifname ${p} oifname != ${p} accept`] : []),
      `add rule ${t} forward iifname ${p} drop`,
      `add rule ${t} forward oifname ${p} drop`,
      `add rule ${t} input iifname ${p} ct state established,related accept`,
      `add rule ${t} input iifname vmap @tenant_egress`,
      `add rule ${t} input iifname ${p} drop`,
      `add rule ${t} output oifname ${p} ct state established,related accept`,
      `add rule ${t} output oifname vmap @tenant_ingress`,
      `add rule ${t} output oifname ${p} drop`,
    ];
    return lines.join("\n") + "\n";
  }

  /** A ruleset's chains and rules, named by a hash of what they render to (so equal rules share them). */
  static ruleset(rules: FirewallRule[]): Ruleset {
    const egress: string[] = [];
    const ingress: string[] = [];
    for (const r of rules) {
      if (r.state === "disabled") continue;
      const expr = ruleExpr(r);
      if (r.direction === "egress") egress.push(`${expr} ${verdict(r, "return")}`);
      else ingress.push(`${expr} ${verdict(r, "accept")}`);
    }
    ingress.push("drop");
    const name = `r${createHash("sha256")
      .update(JSON.stringify([egress, ingress]))
      .digest("hex")
      .slice(0, 32)}`;
    return { name, egress, ingress };
  }

  /** The chains of a ruleset, made or remade in place (re-adding them is harmless). */
  rulesetScript(r: Ruleset): string {
    const t = `inet ${this.table}`;
    const lines = [
      `add chain ${t} eg_${r.name}`,
      `add chain ${t} in_${r.name}`,
      `flush chain ${t} eg_${r.name}`,
      `flush chain ${t} in_${r.name}`,
      ...r.egress.map((x) => `add rule ${t} eg_${r.name} ${x}`),
      ...r.ingress.map((x) => `add rule ${t} in_${r.name} ${x}`),
    ];
    return lines.join("\n") + "\n";
  }

  private elementLines(veth: string, ip: string, ruleset: string): string[] {
    const t = `inet ${this.table}`;
    return [
      `add element ${t} tenant_source { "${veth}" . ${ip} }`,
      `add element ${t} tenant_egress { "${veth}" : jump eg_${ruleset} }`,
      `add element ${t} tenant_ingress { "${veth}" : jump in_${ruleset} }`,
    ];
  }

  /** Lines that delete what `e` put in the table, and its ruleset's chains when no one else uses them. */
  private releaseLines(id: string, e: Entry, keep?: { veth: string; ip: string; ruleset: string }): { lines: string[]; chains: string[] } {
    const t = `inet ${this.table}`;
    const lines: string[] = [];
    if (!keep || keep.veth !== e.veth || keep.ruleset !== e.ruleset) lines.push(`delete element ${t} tenant_egress { "${e.veth}" }`, `delete element ${t} tenant_ingress { "${e.veth}" }`);
    if (!keep || keep.veth !== e.veth || keep.ip !== e.ip) lines.push(`delete element ${t} tenant_source { "${e.veth}" . ${e.ip} }`);
    const others = [...(this.users.get(e.ruleset) ?? [])].filter((u) => u !== id);
    const chains = keep?.ruleset === e.ruleset || others.length ? [] : [`eg_${e.ruleset}`, `in_${e.ruleset}`];
    lines.push(...chains.map((c) => `delete chain ${t} ${c}`));
    return { lines, chains };
  }

  private record(id: string, e: Entry | null): void {
    const prev = this.entries.get(id);
    if (prev) this.users.get(prev.ruleset)?.delete(id);
    if (prev && !this.users.get(prev.ruleset)?.size) this.users.delete(prev.ruleset);
    if (!e) {
      this.entries.delete(id);
      return;
    }
    this.entries.set(id, e);
    const u = this.users.get(e.ruleset) ?? new Set<string>();
    u.add(id);
    this.users.set(e.ruleset, u);
  }

  /** Installs or replaces a tenant's firewall atomically (one nft transaction). */
  setTenant(tenant: NftTenant): Promise<void> {
    return this.locked(async () => {
      const r = Firewall.ruleset(tenant.rules);
      const prev = this.entries.get(tenant.id);
      const next = { veth: tenant.veth, ip: tenant.ip, ruleset: r.name };
      const release = prev ? this.releaseLines(tenant.id, prev, next) : { lines: [], chains: [] };
      // A ruleset nobody uses yet gets its chains; one in use already has them.
      const chains = this.users.get(r.name)?.size ? "" : this.rulesetScript(r);
      // Elements go before the chains they leave (a chain still jumped to cannot be deleted).
      const dropped = release.lines.filter((l) => !l.startsWith("delete chain"));
      const gone = release.lines.filter((l) => l.startsWith("delete chain"));
      await this.apply(chains + [...dropped, ...this.elementLines(tenant.veth, tenant.ip, r.name), ...gone].join("\n") + "\n");
      this.record(tenant.id, next);
    });
  }

  /**
   * Every tenant's firewall at once (the daemon's start): one transaction empties the maps, makes
   * each ruleset's chains, adds every tenant's elements and deletes the chains no one jumps to
   * (an older version's per-tenant ones, a ruleset whose tenants are gone). Flow counts are kept.
   */
  setTenants(tenants: NftTenant[]): Promise<void> {
    return this.locked(async () => {
      const t = `inet ${this.table}`;
      const rulesets = new Map<string, Ruleset>();
      const next = new Map<string, Entry>();
      for (const x of tenants) {
        const r = Firewall.ruleset(x.rules);
        rulesets.set(r.name, r);
        next.set(x.id, { veth: x.veth, ip: x.ip, ruleset: r.name });
      }
      const wanted = new Set([...rulesets.keys()].flatMap((n) => [`eg_${n}`, `in_${n}`]));
      const stale = (await this.chains()).filter((c) => /^(eg|in)_/.test(c) && !wanted.has(c));
      const lines = [`flush map ${t} tenant_egress`, `flush map ${t} tenant_ingress`, `flush set ${t} tenant_source`];
      const all = [...next.values()];
      // A few hundred elements per line: one statement each would make a 30,000-line script.
      for (let i = 0; i < all.length; i += 256) {
        const part = all.slice(i, i + 256);
        lines.push(
          `add element ${t} tenant_source { ${part.map((e) => `"${e.veth}" . ${e.ip}`).join(", ")} }`,
          `add element ${t} tenant_egress { ${part.map((e) => `"${e.veth}" : jump eg_${e.ruleset}`).join(", ")} }`,
          `add element ${t} tenant_ingress { ${part.map((e) => `"${e.veth}" : jump in_${e.ruleset}`).join(", ")} }`,
        );
      }
      lines.push(...stale.map((c) => `delete chain ${t} ${c}`));
      await this.apply([...rulesets.values()].map((r) => this.rulesetScript(r)).join("") + lines.join("\n") + "\n");
      this.entries.clear();
      this.users.clear();
      for (const [id, e] of next) this.record(id, e);
    });
  }

  /**
   * Removes a tenant's elements, its flow count and its ruleset's chains if it was their last user;
   * missing pieces are not an error. Answers the chains it deleted (the erasure receipt names them).
   */
  removeTenant(id: string, veth: string, ip: string): Promise<{ chains: string[] }> {
    return this.locked(async () => {
      const t = `inet ${this.table}`;
      const known = this.entries.get(id);
      const release = this.releaseLines(id, known ?? { veth, ip, ruleset: "" });
      // Adding first makes the delete succeed whether or not the tenant had opened a flow.
      const flows = `add element ${t} ${this.flowSet} { ${ip} }\ndelete element ${t} ${this.flowSet} { ${ip} }`;
      let chains = known ? release.chains : [];
      const lines = known ? release.lines : release.lines.filter((l) => !l.startsWith("delete chain"));
      try {
        await this.apply([...lines, flows].join("\n") + "\n");
      } catch {
        // Something was not there (a create that failed half way, a table changed by hand): each
        // piece alone; the answer names only the chains whose delete succeeded.
        const gone: string[] = [];
        for (const s of [...lines, flows]) {
          const ok = await this.apply(s + "\n").then(
            () => true,
            () => false,
          );
          const chain = /^delete chain \S+ \S+ (\S+)$/.exec(s)?.[1];
          if (ok && chain) gone.push(chain);
        }
        chains = gone;
      }
      this.record(id, null);
      return { chains };
    });
  }

  /** The chains of the table (for the daemon's start and leak checks). */
  chains(): Promise<string[]> {
    return this.listed("chains");
  }

  /** Names of the table's chains or sets; nft 1.0.6 lists them per family only, each table's under its own header. */
  private async listed(kind: "chains" | "sets"): Promise<string[]> {
    const text = await this.query(`list ${kind} inet`).catch(() => "");
    const word = kind === "chains" ? "chain" : "set";
    const names: string[] = [];
    let ours = false;
    for (const line of text.split("\n")) {
      const table = /^table inet (\S+) \{/.exec(line);
      if (table) ours = table[1] === this.table;
      const item = new RegExp(`^\\s+${word} (\\S+) \\{`).exec(line);
      if (ours && item) names.push(item[1]!);
    }
    return names;
  }

  /** What of a tenant is still in the table: elements naming its veth or address (empty once it is removed). */
  async tenantLeftovers(veth: string, ip: string): Promise<string[]> {
    // Each element a tenant can have, by its exact key, asked with a delete the kernel checks and
    // then undoes (nft -c): a listing or `get element` fetches the whole set first. At 11,000 tenants
    // the four listings took 184 ms (p50, in process), these four deletes 36 ms.
    const t = `inet ${this.table}`;
    const left: string[] = [];
    for (const [what, element] of [
      ["set tenant_source", `tenant_source { "${veth}" . ${ip} }`],
      ["map tenant_egress", `tenant_egress { "${veth}" }`],
      ["map tenant_ingress", `tenant_ingress { "${veth}" }`],
      [`set ${this.flowSet}`, `${this.flowSet} { ${ip} }`],
    ] as const) {
      const present = await this.runScript(`delete element ${t} ${element}\n`, true).then(
        () => true,
        (e: Error) => {
          // Absent is the kernel's ENOENT; anything else (no table, a bad name) is not an answer.
          if (/No such file or directory/.test(e.message)) return false;
          throw e;
        },
      );
      if (present) left.push(`nft ${what} element of ${veth} / ${ip}`);
    }
    return left;
  }

  /** Deletes the whole table (tests, `down --destroy`). */
  async destroy(): Promise<void> {
    await run("nft", ["delete", "table", "inet", this.table], { okCodes: [1] });
    if (this.outboundNat) await run("nft", ["delete", "table", "ip", `${this.table}_nat`], { okCodes: [1] });
  }
}

/** Elements the flow-count set can hold: one per tenant address of the largest subnet (a /16). */
const FLOW_SET_SIZE = 65_536;

/** The flow-count set of a cap: its elements keep the cap they were made with. */
function flowSetName(conntrackMax: number): string {
  return `tenant_flows_${conntrackMax}`;
}

/** One script through libnftables in this process where it loads, else `nft -f -`; answers its output. */
async function nftScript(script: string, dryRun = false): Promise<string> {
  const lib = NftLibrary.get(dryRun);
  if (lib) return lib.run(script);
  return (await run("nft", [...(dryRun ? ["-c"] : []), "-f", "-"], { input: script, timeoutMs: 30_000 })).stdout;
}

/** Whether ruleset changes run through libnftables in this process (else through the nft tool). */
export function nftInProcess(): boolean {
  return NftLibrary.get() !== null;
}

type NftFn<A extends unknown[], R> = ((...args: A) => R) & { async: (...args: [...A, (err: unknown, res: R) => void]) => void };

/**
 * libnftables, the library the nft tool is a front end of. Starting `nft` costs ~25 ms on this
 * 2-core VM (measured: median 24.9 ms for `nft -f -` against 0.13 ms in process), and a create's
 * chains are on its critical path, so the daemon runs scripts in process. Calls run on koffi's
 * worker thread (off the event loop), one at a time on one context, whose error buffer then holds
 * that call's messages, the same text nft prints.
 */
class NftLibrary {
  /** One context for changes, one in dry-run mode (the kernel checks a batch, then it is aborted). */
  private static loaded = new Map<boolean, NftLibrary | null>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: unknown,
    private readonly runCmd: NftFn<[unknown, string], number>,
    private readonly errorBuffer: (ctx: unknown) => string | null,
    private readonly outputBuffer: (ctx: unknown) => string | null,
  ) {}

  static get(dryRun = false): NftLibrary | null {
    const known = NftLibrary.loaded.get(dryRun);
    if (known !== undefined) return known;
    const fn = <F>(signature: string) => libFunc<F>("libnftables.so.1", signature);
    const ctxNew = fn<(flags: number) => unknown>("void *nft_ctx_new(uint32_t flags)");
    const bufferOutput = fn<(ctx: unknown) => number>("int nft_ctx_buffer_output(void *ctx)");
    const bufferError = fn<(ctx: unknown) => number>("int nft_ctx_buffer_error(void *ctx)");
    const errorBuffer = fn<(ctx: unknown) => string | null>("const char *nft_ctx_get_error_buffer(void *ctx)");
    const outputBuffer = fn<(ctx: unknown) => string | null>("const char *nft_ctx_get_output_buffer(void *ctx)");
    const runCmd = fn<NftFn<[unknown, string], number>>("int nft_run_cmd_from_buffer(void *ctx, const char *buf)");
    const setDryRun = fn<(ctx: unknown, dry: boolean) => void>("void nft_ctx_set_dry_run(void *ctx, bool dry)");
    const ctx = ctxNew?.(0); // NFT_CTX_DEFAULT
    let lib: NftLibrary | null = null;
    if (ctx && bufferOutput && bufferError && errorBuffer && outputBuffer && runCmd && setDryRun && bufferOutput(ctx) === 0 && bufferError(ctx) === 0) {
      setDryRun(ctx, dryRun);
      lib = new NftLibrary(ctx, runCmd, errorBuffer, outputBuffer);
    }
    NftLibrary.loaded.set(dryRun, lib);
    return lib;
  }

  /** Runs a script; answers what it printed (a listing's text; nothing for changes). */
  run(script: string): Promise<string> {
    trace({ lib: "libnftables", input: script });
    const call = this.queue.then(
      () =>
        new Promise<string>((resolve, reject) =>
          this.runCmd.async(this.ctx, script, (err, rc) => {
            const stderr = this.errorBuffer(this.ctx) ?? "";
            const stdout = this.outputBuffer(this.ctx) ?? ""; // read, so the buffer does not grow
            if (err) reject(err);
            else if (rc !== 0) reject(new SysError("nft", ["-f", "-"], 1, stderr, false));
            else resolve(stdout);
          }),
        ),
    );
    this.queue = call.catch(() => undefined);
    return call;
  }
}

function verdict(r: FirewallRule, allow: "accept" | "return"): string {
  if (r.action === "allow") return allow;
  if (r.action === "drop") return "drop";
  return r.protocol === "tcp" ? "reject with tcp reset" : "reject";
}

/** Builds the match part of a rule from validated fields only (the schema's regexes guard every value). */
export function ruleExpr(r: FirewallRule): string {
  const parts: string[] = [];
  const addr = r.direction === "ingress" ? r.source : r.destination;
  if (addr === "host") parts.push("fib saddr type local");
  else if (addr) parts.push(`ip ${r.direction === "ingress" ? "saddr" : "daddr"} ${addrSet(addr)}`);
  if (r.protocol === "icmp4") {
    parts.push("meta l4proto icmp");
    if (r.icmp_type) parts.push(`icmp type ${icmpNumber(r.icmp_type)}`);
    if (r.icmp_code) parts.push(`icmp code ${icmpNumber(r.icmp_code)}`);
  } else if (r.protocol) {
    parts.push(`meta l4proto ${r.protocol}`);
    if (r.source_port) parts.push(`${r.protocol} sport { ${portSet(r.source_port)} }`);
    if (r.destination_port) parts.push(`${r.protocol} dport { ${portSet(r.destination_port)} }`);
  }
  return parts.join(" ");
}

/** One address as is; a list as an anonymous set (items were checked by the schema). */
function addrSet(list: string): string {
  const items = list.split(",");
  if (!items.every((i) => /^[\d./-]+$/.test(i))) throw new RangeError(`invalid address list ${list}`);
  return items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`;
}

function icmpNumber(v: string): number {
  const n = Number(v);
  if (!/^\d{1,3}$/.test(v) || n > 255) throw new RangeError(`invalid icmp number ${v}`);
  return n;
}

export function portSet(spec: string): string {
  return spec
    .split(",")
    .map((part) => {
      const [lo, hi] = part.split("-").map(Number);
      if (lo === undefined || !(lo >= 1 && lo <= 65535) || (hi !== undefined && !(hi >= lo && hi <= 65535))) {
        throw new RangeError(`invalid port spec ${spec}`);
      }
      return hi === undefined ? String(lo) : `${lo}-${hi}`;
    })
    .join(", ");
}

// Firewall: one nftables table of Hoody's own (inet family; never touches other tables).
// Tenants sit on routed veths (no shared L2), so every packet to, from or between tenants
// crosses the inet hooks with conntrack:
//   forward: tenant -> tenant (egress chain of the source, then ingress chain of the destination)
//   input:   tenant -> host   (dropped unless it answers a host connection)
//   output:  host -> tenant   (the destination's ingress chain; the template allows the app port from "host")
// The chains belong to a *ruleset*, not to a tenant: tenants whose rules are the same (most keep
// their template's) share one pair, eg_r<hash>/in_r<hash>. libnftables (1.0.6) reads every chain of
// the table before each change, so a pair per tenant made every create and erase cost ~48 ms at
// 10,000 tenants against 0.3 ms at none (measured in process); with a pair per ruleset the cost
// stays flat. Tenants reach their ruleset's chains through its number, written as the netdev group
// of their host-side veth (which a tenant cannot change: that side is in the host's namespace),
// and two verdict maps keyed by that group, one element per ruleset. Keyed by veth name, with an
// element per tenant, each create's jump elements made the kernel re-validate every element of the
// maps: 2.3 ms per element at 10,000 tenants against 0.1 ms for a plain set's (measured in
// process), and a create added two. A veth whose group names no ruleset (0 from LXC until its
// start's write, a retired number) is dropped both ways: a verdict map that misses falls through
// to the next rule, so a miss on the egress map alone would skip the tenant's egress rules; the
// set of live numbers stands before it. Source addresses are checked against the set of (veth, address)
// pairs before anything else: a forged packet that copies another tenant's flow tuple would
// otherwise pass as "established". Each tenant's new flows (conntrack entries) are capped by a
// count kept per source address, which the source check has made the tenant's own.
import { createHash } from "node:crypto";
import { run } from "../../shared/sys.js";
import type { FirewallRule } from "../../shared/protocol.js";
import { type LinkGroups, netdevGroups } from "./netdev-group.js";
import { ruleExpr, verdict } from "./nft-rules.js";
import { nftScript } from "./nft-script.js";

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
  /** Ruleset name → its number, the netdev group its tenants' veths carry (the maps' key). */
  private readonly groups = new Map<string, number>();
  /**
   * The next number to give a ruleset. Numbers are never given twice while the daemon runs, nor
   * below any number the table held at its start: a veth still carrying an old ruleset's number
   * can never land in another ruleset's chains.
   */
  private nextGroup = 1;
  /** Changes one at a time: each script is built from the state the previous one left. */
  private lock: Promise<unknown> = Promise.resolve();
  /** The flow-count set in force (named after its cap, see baseScript). */
  private flowSet = flowSetName(0);
  /** A base that waits for setTenants (an older version's table, see ensureBase): its cap, and the old maps to drop. */
  private deferredBase: { conntrackMax: number; legacy: string[] } | null = null;

  constructor(
    readonly table: string,
    readonly vethPrefix: string,
    readonly subnet: string,
    readonly outboundNat: boolean,
    /** Runs one nft script and answers what it printed; dryRun: checked by the kernel, then undone (unit tests pass a recorder). */
    private readonly runScript: (script: string, dryRun?: boolean) => Promise<string> = nftScript,
    /** Reads and writes the veths' netdev groups (unit tests pass a recorder). */
    private readonly links: LinkGroups = netdevGroups,
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
      // An older version's table reaches tenants' chains by veth name. Its base stays until
      // setTenants swaps it in the transaction that fills the maps: swapped now, every running
      // tenant would have no rules in force until the daemon's start got there.
      const legacy = (await this.listed("maps")).filter((m) => LEGACY_MAPS.includes(m));
      if (legacy.length) {
        this.deferredBase = { conntrackMax, legacy };
        return;
      }
      await this.apply(this.baseScript(conntrackMax));
      await this.dropOtherFlowSets(conntrackMax);
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

  /** Once the base chains count flows in the cap's set: the sets of other caps, which no rule refers to any more, go. */
  private async dropOtherFlowSets(conntrackMax: number): Promise<void> {
    this.flowSet = flowSetName(conntrackMax);
    const stale = (await this.listed("sets")).filter((s) => /^tenant_flows/.test(s) && s !== this.flowSet);
    if (stale.length) await this.apply(stale.map((s) => `delete set inet ${this.table} ${s}`).join("\n") + "\n");
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
      `add map ${t} ruleset_egress { type devgroup : verdict ; }`,
      `add map ${t} ruleset_ingress { type devgroup : verdict ; }`,
      `add set ${t} ruleset_live { type devgroup ; }`,
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
      `add rule ${t} forward iifname ${p} iifgroup != @ruleset_live drop`,
      `add rule ${t} forward iifname ${p} iifgroup vmap @ruleset_egress`,
      `add rule ${t} forward oifname ${p} oifgroup vmap @ruleset_ingress`,
      ...(this.outboundNat ? [`add rule ${t} forward iifname ${p} oifname != ${p} accept`] : []),
      `add rule ${t} forward iifname ${p} drop`,
      `add rule ${t} forward oifname ${p} drop`,
      `add rule ${t} input iifname ${p} ct state established,related accept`,
      `add rule ${t} input iifname ${p} iifgroup != @ruleset_live drop`,
      `add rule ${t} input iifname ${p} iifgroup vmap @ruleset_egress`,
      `add rule ${t} input iifname ${p} drop`,
      `add rule ${t} output oifname ${p} ct state established,related accept`,
      `add rule ${t} output oifname ${p} oifgroup vmap @ruleset_ingress`,
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

  /** The map elements that lead a ruleset's number to its chains. */
  private groupLines(op: "add" | "delete", ruleset: string, group: number): string[] {
    const t = `inet ${this.table}`;
    if (op === "delete") return [`delete element ${t} ruleset_live { ${group} }`, `delete element ${t} ruleset_egress { ${group} }`, `delete element ${t} ruleset_ingress { ${group} }`];
    return [`add element ${t} ruleset_egress { ${group} : jump eg_${ruleset} }`, `add element ${t} ruleset_ingress { ${group} : jump in_${ruleset} }`, `add element ${t} ruleset_live { ${group} }`];
  }

  private sourceLine(op: "add" | "delete", veth: string, ip: string): string {
    return `${op} element inet ${this.table} tenant_source { "${veth}" . ${ip} }`;
  }

  /** Lines that delete a ruleset no tenant uses any more: its map elements, then its chains. */
  private retireLines(ruleset: string): string[] {
    const t = `inet ${this.table}`;
    const group = this.groups.get(ruleset);
    return [...(group === undefined ? [] : this.groupLines("delete", ruleset, group)), `delete chain ${t} eg_${ruleset}`, `delete chain ${t} in_${ruleset}`];
  }

  /** Whether no tenant but `id` uses the ruleset. */
  private onlyUser(ruleset: string, id: string): boolean {
    return [...(this.users.get(ruleset) ?? [])].every((u) => u === id);
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

  /**
   * Installs or replaces a tenant's firewall. A ruleset already in use costs one plain set element
   * (the tenant's source); a new one also gets its chains and map elements in the same transaction.
   * A running tenant's veth takes the new number only once its chains are in place, and the old
   * ruleset (if this was its last tenant) goes after that: no flow of it falls between the two.
   */
  setTenant(tenant: NftTenant): Promise<void> {
    return this.locked(async () => {
      const r = Firewall.ruleset(tenant.rules);
      const prev = this.entries.get(tenant.id);
      // A ruleset nobody uses yet gets its chains and number; one in use already has them.
      const fresh = !this.users.get(r.name)?.size;
      const group = this.groups.get(r.name) ?? this.nextGroup;
      // Taken before the transaction: one that committed but did not answer (a killed nft) must not
      // leave its number to the next ruleset.
      if (fresh) this.nextGroup = Math.max(this.nextGroup, group + 1);
      const lines = [
        ...(prev && (prev.veth !== tenant.veth || prev.ip !== tenant.ip) ? [this.sourceLine("delete", prev.veth, prev.ip)] : []),
        ...(fresh ? this.groupLines("add", r.name, group) : []),
        this.sourceLine("add", tenant.veth, tenant.ip),
      ];
      await this.apply((fresh ? this.rulesetScript(r) : "") + lines.join("\n") + "\n");
      if (fresh) this.groups.set(r.name, group);
      const left = prev && prev.ruleset !== r.name && this.onlyUser(prev.ruleset, tenant.id) ? prev.ruleset : null;
      this.record(tenant.id, { veth: tenant.veth, ip: tenant.ip, ruleset: r.name });
      this.links.write(tenant.veth, group);
      if (left) await this.retire(left);
    });
  }

  /** Deletes a ruleset's elements and chains; a failure leaves them to the next start's rebuild (nothing reaches them). */
  private async retire(ruleset: string): Promise<void> {
    const lines = this.retireLines(ruleset);
    this.groups.delete(ruleset);
    await this.apply(lines.join("\n") + "\n").catch((e: Error) => console.error(`hostd: ruleset ${ruleset} left in the table: ${e.message}`));
  }

  /**
   * Every tenant's firewall at once (the daemon's start): one transaction empties the maps and the
   * source set, makes each ruleset's chains and elements, adds every tenant's source and deletes the
   * chains no one jumps to (an older version's, a ruleset whose tenants are gone); then each
   * running tenant's veth gets its ruleset's number. A ruleset keeps the number its running
   * tenants' veths carry; a new number is above every number any of this prefix's veths carries,
   * so no veth lands in another ruleset's chains between the transaction and the writes. Flow
   * counts are kept.
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
      // Every veth of this prefix and the number it carries: read once, for both the numbers kept and the writes.
      const carried = this.links.read(this.vethPrefix);
      const groups = this.keptGroups(next, carried);
      // (A number past 2^31 on a veth, which this daemon never gives, is left out of the count: above it there would be no room.)
      let top = Math.max(this.nextGroup - 1, ...[...carried.values()].filter((g) => g < 2 ** 31));
      for (const name of rulesets.keys()) if (!groups.has(name)) groups.set(name, ++top);
      const wanted = new Set([...rulesets.keys()].flatMap((n) => [`eg_${n}`, `in_${n}`]));
      const stale = (await this.chains()).filter((c) => /^(eg|in)_/.test(c) && !wanted.has(c));
      const lines = [`flush map ${t} ruleset_egress`, `flush map ${t} ruleset_ingress`, `flush set ${t} ruleset_live`, `flush set ${t} tenant_source`];
      for (const [name, group] of groups) lines.push(...this.groupLines("add", name, group));
      const all = [...next.values()];
      // A few hundred elements per line: one statement each would make a 10,000-line script.
      for (let i = 0; i < all.length; i += 256) {
        lines.push(
          `add element ${t} tenant_source { ${all
            .slice(i, i + 256)
            .map((e) => `"${e.veth}" . ${e.ip}`)
            .join(", ")} }`,
        );
      }
      // An older version's base goes in the same transaction (its maps before the chains they jump to).
      const base = this.deferredBase;
      if (base !== null) lines.push(...base.legacy.map((m) => `delete map ${t} ${m}`));
      lines.push(...stale.map((c) => `delete chain ${t} ${c}`));
      await this.apply((base === null ? "" : this.baseScript(base.conntrackMax)) + [...rulesets.values()].map((r) => this.rulesetScript(r)).join("") + lines.join("\n") + "\n");
      if (base !== null) {
        this.deferredBase = null;
        await this.dropOtherFlowSets(base.conntrackMax);
      }
      this.entries.clear();
      this.users.clear();
      this.groups.clear();
      for (const [name, group] of groups) this.groups.set(name, group);
      this.nextGroup = top + 1;
      for (const [id, e] of next) this.record(id, e);
      // Only running tenants have a veth, and only one whose number changed needs a write (a stopped
      // tenant's would fail with ENOENT: an exception each).
      for (const e of all) if (carried.has(e.veth) && carried.get(e.veth) !== groups.get(e.ruleset)) this.links.write(e.veth, groups.get(e.ruleset)!);
    });
  }

  /**
   * The numbers running tenants' veths carry that can stay: each names one ruleset only. A number
   * carried by veths of two rulesets (which no run of this daemon makes) stays with neither.
   */
  private keptGroups(next: Map<string, Entry>, carried: Map<string, number>): Map<string, number> {
    const rulesetOf = new Map<number, string | null>();
    for (const e of next.values()) {
      const group = carried.get(e.veth);
      if (!group) continue;
      const known = rulesetOf.get(group);
      rulesetOf.set(group, known === undefined || known === e.ruleset ? e.ruleset : null);
    }
    // Veths of no tenant (an orphan a start left) hold their number too.
    const owned = new Set([...next.values()].map((e) => e.veth));
    for (const [veth, group] of carried) if (!owned.has(veth)) rulesetOf.set(group, null);
    const kept = new Map<string, number>();
    for (const [group, ruleset] of rulesetOf) if (ruleset && !kept.has(ruleset)) kept.set(ruleset, group);
    return kept;
  }

  /**
   * A started tenant's veth gets its ruleset's number (LXC made the veth, with group 0: nothing
   * reaches it until this). False when the veth is not there or the tenant has no firewall entry.
   */
  bindLink(id: string): boolean {
    const e = this.entries.get(id);
    const group = e && this.groups.get(e.ruleset);
    return !!e && group !== undefined && this.links.write(e.veth, group);
  }

  /**
   * Removes a tenant's source element, its flow count and its ruleset (elements and chains) if it
   * was its last tenant; missing pieces are not an error. Answers the chains it deleted (the
   * erasure receipt names them).
   */
  removeTenant(id: string, veth: string, ip: string): Promise<{ chains: string[] }> {
    return this.locked(async () => {
      const t = `inet ${this.table}`;
      const known = this.entries.get(id);
      const retiring = known && this.onlyUser(known.ruleset, id) ? known.ruleset : null;
      const lines = [this.sourceLine("delete", known?.veth ?? veth, known?.ip ?? ip), ...(retiring ? this.retireLines(retiring) : [])];
      // Adding first makes the delete succeed whether or not the tenant had opened a flow.
      const flows = `add element ${t} ${this.flowSet} { ${ip} }\ndelete element ${t} ${this.flowSet} { ${ip} }`;
      let chains = retiring ? [`eg_${retiring}`, `in_${retiring}`] : [];
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
      if (retiring) this.groups.delete(retiring);
      this.record(id, null);
      return { chains };
    });
  }

  /** The chains of the table (for the daemon's start and leak checks). */
  chains(): Promise<string[]> {
    return this.listed("chains");
  }

  /** Names of the table's chains, sets or maps; nft 1.0.6 lists them per family only, each table's under its own header. */
  private async listed(kind: "chains" | "sets" | "maps"): Promise<string[]> {
    const text = await this.query(`list ${kind} inet`).catch(() => "");
    const word = kind.slice(0, -1);
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

  /** What of a tenant is still in the table: elements naming its veth or address (empty once it is removed; its ruleset's number is its veth's, which goes with the veth). */
  async tenantLeftovers(veth: string, ip: string): Promise<string[]> {
    // Each element a tenant can have, by its exact key, asked with a delete the kernel checks and
    // then undoes (nft -c): a listing or `get element` fetches the whole set first. At 11,000 tenants
    // four listings took 184 ms (p50, in process), four such deletes 36 ms.
    const t = `inet ${this.table}`;
    const left: string[] = [];
    for (const [what, element] of [
      ["set tenant_source", `tenant_source { "${veth}" . ${ip} }`],
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

/** An older version's verdict maps, keyed by veth name. */
const LEGACY_MAPS = ["tenant_egress", "tenant_ingress"];

/** Elements the flow-count set can hold: one per tenant address of the largest subnet (a /16). */
const FLOW_SET_SIZE = 65_536;

/** The flow-count set of a cap: its elements keep the cap they were made with. */
function flowSetName(conntrackMax: number): string {
  return `tenant_flows_${conntrackMax}`;
}

// Firewall: one nftables table of Hoody's own (inet family; never touches other tables).
// Tenants sit on routed veths (no shared L2), so every packet to, from or between tenants
// crosses the inet hooks with conntrack:
//   forward: tenant -> tenant (egress chain of the source, then ingress chain of the destination)
//   input:   tenant -> host   (dropped unless it answers a host connection)
//   output:  host -> tenant   (the destination's ingress chain; the template allows the app port from "host")
// Per-tenant chains eg_<id>/in_<id> are reached through verdict maps keyed by the host-side veth
// name, which a tenant cannot forge. Source addresses are checked against the set of (veth, address)
// pairs before anything else: a forged packet that copies another tenant's flow tuple would otherwise
// pass as "established". The egress chain caps the tenant's new flows (conntrack entries).
import { run, SysError, trace } from "../../shared/sys.js";
import { libFunc } from "../ffi.js";
import type { FirewallRule } from "../../shared/protocol.js";

export interface NftTenant {
  id: string;
  veth: string;
  ip: string;
  rules: FirewallRule[];
  /** Most conntrack entries the tenant's own new flows may hold at once (the table is host-wide). */
  conntrackMax: number;
}

export class Firewall {
  constructor(
    readonly table: string,
    readonly vethPrefix: string,
    readonly subnet: string,
    readonly outboundNat: boolean,
  ) {}

  /** One nft transaction: through libnftables in this process where it loads, else `nft -f -`. */
  private async apply(script: string): Promise<void> {
    const lib = NftLibrary.get();
    if (lib) await lib.run(script);
    else await run("nft", ["-f", "-"], { input: script, timeoutMs: 30_000 });
  }

  /** Creates or refreshes the base table and chains; tenant chains and map elements are kept. */
  async ensureBase(): Promise<void> {
    await this.apply(this.baseScript());
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
  baseScript(): string {
    const t = `inet ${this.table}`;
    const p = `"${this.vethPrefix}*"`;
    const lines = [
      `add table ${t}`,
      `add map ${t} tenant_egress { type ifname : verdict ; }`,
      `add map ${t} tenant_ingress { type ifname : verdict ; }`,
      `add set ${t} tenant_source { type ifname . ipv4_addr ; }`,
      `add chain ${t} forward { type filter hook forward priority 0 ; policy accept ; }`,
      `add chain ${t} input { type filter hook input priority 0 ; policy accept ; }`,
      `add chain ${t} output { type filter hook output priority 0 ; policy accept ; }`,
      `flush chain ${t} forward`,
      `flush chain ${t} input`,
      `flush chain ${t} output`,
      // Before any conntrack acceptance: a packet from a tenant carries that tenant's address, and
      // tenants have no IPv6 at all.
      ...["forward", "input"].flatMap((chain) => [`add rule ${t} ${chain} iifname ${p} meta nfproto ipv6 drop`, `add rule ${t} ${chain} iifname ${p} iifname . ip saddr != @tenant_source drop`]),
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

  /** Installs or replaces a tenant's chains atomically (one nft transaction). */
  async setTenant(tenant: NftTenant): Promise<void> {
    await this.apply(this.tenantScript(tenant));
  }

  /**
   * Many tenants' chains (the daemon's start): a few hundred per transaction, where one transaction
   * each cost a library call per tenant (10,000 at start on a full box).
   */
  async setTenants(tenants: NftTenant[], perTransaction = 250): Promise<void> {
    for (let i = 0; i < tenants.length; i += perTransaction)
      await this.apply(
        tenants
          .slice(i, i + perTransaction)
          .map((t) => this.tenantScript(t))
          .join(""),
      );
  }

  tenantScript({ id, veth, ip, rules, conntrackMax }: NftTenant): string {
    const t = `inet ${this.table}`;
    const eg = `eg_${id}`;
    const ing = `in_${id}`;
    const lines = [
      `add chain ${t} ${eg}`,
      `add chain ${t} ${ing}`,
      `flush chain ${t} ${eg}`,
      `flush chain ${t} ${ing}`,
      // One count per tenant (this rule's own list): over the cap, its new flows are dropped before
      // they are confirmed, so they never take a table entry; other tenants' flows are not counted here.
      `add rule ${t} ${eg} ct state new ct count over ${conntrackMax} drop`,
    ];
    for (const r of rules) {
      if (r.state === "disabled") continue;
      const expr = ruleExpr(r);
      if (r.direction === "egress") lines.push(`add rule ${t} ${eg} ${expr} ${verdict(r, "return")}`);
      else lines.push(`add rule ${t} ${ing} ${expr} ${verdict(r, "accept")}`);
    }
    lines.push(`add rule ${t} ${ing} drop`);
    // Re-adding an identical map or set element is a no-op, so this script also serves updates.
    lines.push(`add element ${t} tenant_source { "${veth}" . ${ip} }`);
    lines.push(`add element ${t} tenant_egress { "${veth}" : jump ${eg} }`);
    lines.push(`add element ${t} tenant_ingress { "${veth}" : jump ${ing} }`);
    return lines.join("\n") + "\n";
  }

  /** Removes a tenant's map elements and chains; missing pieces are not an error. */
  async removeTenant(id: string, veth: string, ip: string): Promise<void> {
    const t = `inet ${this.table}`;
    const steps = [
      `delete element ${t} tenant_source { "${veth}" . ${ip} }`,
      `delete element ${t} tenant_egress { "${veth}" }`,
      `delete element ${t} tenant_ingress { "${veth}" }`,
      `delete chain ${t} eg_${id}`,
      `delete chain ${t} in_${id}`,
    ];
    try {
      await this.apply(steps.join("\n") + "\n");
    } catch {
      for (const s of steps) await this.apply(s + "\n").catch(() => undefined);
    }
  }

  /** The tenant chains present in the table (for adoption and leak checks). */
  async tenantChains(): Promise<string[]> {
    const r = await run("nft", ["-j", "list", "chains", "inet"], { okCodes: [1] });
    if (r.exitCode !== 0) return [];
    const data = JSON.parse(r.stdout) as { nftables: { chain?: { table: string; name: string } }[] };
    return data.nftables
      .map((o) => o.chain)
      .filter((c): c is { table: string; name: string } => !!c && c.table === this.table && /^(eg|in)_/.test(c.name))
      .map((c) => c.name);
  }

  /** Deletes the whole table (tests, `down --destroy`). */
  async destroy(): Promise<void> {
    await run("nft", ["delete", "table", "inet", this.table], { okCodes: [1] });
    if (this.outboundNat) await run("nft", ["delete", "table", "ip", `${this.table}_nat`], { okCodes: [1] });
  }
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
  private static loaded: NftLibrary | null | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: unknown,
    private readonly runCmd: NftFn<[unknown, string], number>,
    private readonly errorBuffer: (ctx: unknown) => string | null,
    private readonly outputBuffer: (ctx: unknown) => string | null,
  ) {}

  static get(): NftLibrary | null {
    if (NftLibrary.loaded !== undefined) return NftLibrary.loaded;
    const fn = <F>(signature: string) => libFunc<F>("libnftables.so.1", signature);
    const ctxNew = fn<(flags: number) => unknown>("void *nft_ctx_new(uint32_t flags)");
    const bufferOutput = fn<(ctx: unknown) => number>("int nft_ctx_buffer_output(void *ctx)");
    const bufferError = fn<(ctx: unknown) => number>("int nft_ctx_buffer_error(void *ctx)");
    const errorBuffer = fn<(ctx: unknown) => string | null>("const char *nft_ctx_get_error_buffer(void *ctx)");
    const outputBuffer = fn<(ctx: unknown) => string | null>("const char *nft_ctx_get_output_buffer(void *ctx)");
    const runCmd = fn<NftFn<[unknown, string], number>>("int nft_run_cmd_from_buffer(void *ctx, const char *buf)");
    const ctx = ctxNew?.(0); // NFT_CTX_DEFAULT
    if (!ctx || !bufferOutput || !bufferError || !errorBuffer || !outputBuffer || !runCmd || bufferOutput(ctx) !== 0 || bufferError(ctx) !== 0) NftLibrary.loaded = null;
    else NftLibrary.loaded = new NftLibrary(ctx, runCmd, errorBuffer, outputBuffer);
    return NftLibrary.loaded;
  }

  run(script: string): Promise<void> {
    trace({ lib: "libnftables", input: script });
    const call = this.queue.then(
      () =>
        new Promise<void>((resolve, reject) =>
          this.runCmd.async(this.ctx, script, (err, rc) => {
            const stderr = this.errorBuffer(this.ctx) ?? "";
            this.outputBuffer(this.ctx); // drained, so it does not grow
            if (err) reject(err);
            else if (rc !== 0) reject(new SysError("nft", ["-f", "-"], 1, stderr, false));
            else resolve();
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

// The daemon's tenants by id, with what allocation needs kept up to date as they come and go: the
// uid ranges and addresses in use, and the lowest slot of each that may be free. A create used to
// build both sets from every tenant and scan from the first slot, so its cost grew with the tenants
// on the box (10,000 of them: a set of 10,000 and a scan past 10,000 addresses per create). Now it
// is the same first free slot, found from the hint (amortized constant).
import { UID_RANGE } from "./drivers/lxc.js";
import { cidrBlock, intToIp, ipToInt } from "../shared/ip.js";
import type { TenantMeta } from "./meta.js";

/** Slots 0…size-1, each held by some count of tenants (a restore or an adoption may briefly double one). */
export class SlotIndex {
  private readonly held = new Map<number, number>();
  /** No slot below it is free. */
  private low = 0;
  constructor(readonly size: number) {}

  take(slot: number): void {
    this.held.set(slot, (this.held.get(slot) ?? 0) + 1);
  }

  release(slot: number): void {
    const n = (this.held.get(slot) ?? 0) - 1;
    if (n > 0) this.held.set(slot, n);
    else {
      this.held.delete(slot);
      if (slot < this.low) this.low = slot;
    }
  }

  /** The lowest free slot, or -1 when all are held. */
  firstFree(): number {
    while (this.low < this.size && this.held.has(this.low)) this.low++;
    return this.low < this.size ? this.low : -1;
  }

  get used(): number {
    return this.held.size;
  }
}

export class TenantMap extends Map<string, TenantMeta> {
  private readonly uids: SlotIndex;
  private readonly ips: SlotIndex;
  private readonly network: number;

  constructor(private readonly cfg: { uidBase: number; uidRanges: number; subnet: string }) {
    super();
    const { network, size } = cidrBlock(cfg.subnet);
    this.network = network;
    // Addresses network+2 … broadcast-1, as firstFreeIp hands them out (network+1 is the host's side).
    this.uids = new SlotIndex(cfg.uidRanges);
    this.ips = new SlotIndex(Math.max(0, size - 3));
  }

  private uidSlot(m: TenantMeta): number {
    return (m.uidBase - this.cfg.uidBase) / UID_RANGE;
  }

  private ipSlot(m: TenantMeta): number {
    return ipToInt(m.ip) - this.network - 2;
  }

  override set(id: string, m: TenantMeta): this {
    const prev = super.get(id);
    if (prev) this.unindex(prev);
    super.set(id, m);
    // Outside the configured span (a tenant from an older setting): held, never handed out again.
    this.uids.take(this.uidSlot(m));
    this.ips.take(this.ipSlot(m));
    return this;
  }

  override delete(id: string): boolean {
    const prev = super.get(id);
    if (prev) this.unindex(prev);
    return super.delete(id);
  }

  private unindex(m: TenantMeta): void {
    this.uids.release(this.uidSlot(m));
    this.ips.release(this.ipSlot(m));
  }

  /** The lowest free uid range's base, or null. */
  freeUidBase(): number | null {
    const s = this.uids.firstFree();
    return s < 0 ? null : this.cfg.uidBase + s * UID_RANGE;
  }

  /** The lowest free address, or null. */
  freeIp(): string | null {
    const s = this.ips.firstFree();
    return s < 0 ? null : intToIp(this.network + 2 + s);
  }
}

import { describe, expect, it } from "vitest";
import { SlotIndex, TenantMap } from "./tenant-map";
import { firstFreeIp } from "../shared/ip";
import type { TenantMeta } from "./meta";

const meta = (id: string, uidBase: number, ip: string) => ({ id, uidBase, ip }) as TenantMeta;

describe("SlotIndex", () => {
  it("hands out the lowest free slot, again after a release below the hint, and -1 when full", () => {
    const s = new SlotIndex(4);
    for (const i of [0, 1, 2]) s.take(i);
    expect(s.firstFree()).toBe(3);
    s.release(1);
    expect(s.firstFree()).toBe(1);
    s.take(1);
    s.take(3);
    expect(s.firstFree()).toBe(-1);
    // Held twice (an adoption racing a create), freed once: still held.
    s.take(2);
    s.release(2);
    expect(s.firstFree()).toBe(-1);
  });
});

describe("TenantMap", () => {
  const cfg = { uidBase: 1_000_000, uidRanges: 3, subnet: "10.9.0.0/29" };
  it("gives the same first free uid range and address as a scan of every tenant did", () => {
    const m = new TenantMap(cfg);
    expect([m.freeUidBase(), m.freeIp()]).toEqual([1_000_000, "10.9.0.2"]);
    m.set("a", meta("a", 1_000_000, "10.9.0.2"));
    m.set("b", meta("b", 1_065_536, "10.9.0.3"));
    expect([m.freeUidBase(), m.freeIp()]).toEqual([1_131_072, firstFreeIp(cfg.subnet, new Set(["10.9.0.2", "10.9.0.3"]))]);
    m.delete("a");
    expect([m.freeUidBase(), m.freeIp()]).toEqual([1_000_000, "10.9.0.2"]);
    m.set("a", meta("a", 1_000_000, "10.9.0.2"));
    m.set("c", meta("c", 1_131_072, "10.9.0.4"));
    expect(m.freeUidBase()).toBeNull();
    // /29: .2 … .6 are tenants' (5 addresses).
    m.set("d", meta("d", 9, "10.9.0.5"));
    m.set("e", meta("e", 9, "10.9.0.6"));
    expect(m.freeIp()).toBeNull();
  });

  it("replacing a tenant's record (a save after a change) keeps its slots held once", () => {
    const m = new TenantMap(cfg);
    m.set("a", meta("a", 1_000_000, "10.9.0.2"));
    m.set("a", meta("a", 1_000_000, "10.9.0.2"));
    m.delete("a");
    expect([m.freeUidBase(), m.freeIp()]).toEqual([1_000_000, "10.9.0.2"]);
  });
});

import { describe, expect, it } from "vitest";
import { cidrBlock, firstFreeIp, intToIp, ipToInt } from "./ip";

describe("firstFreeIp", () => {
  it("starts at .2 in a /24 (skips the network address and the .1 gateway)", () => {
    expect(firstFreeIp("10.9.0.0/24", new Set())).toBe("10.9.0.2");
  });

  it("skips used addresses and fills gaps", () => {
    expect(firstFreeIp("10.9.0.0/24", new Set(["10.9.0.2", "10.9.0.3"]))).toBe("10.9.0.4");
    expect(firstFreeIp("10.9.0.0/24", new Set(["10.9.0.2", "10.9.0.4"]))).toBe("10.9.0.3");
  });

  it("normalizes a subnet written with host bits to its network", () => {
    expect(firstFreeIp("10.9.0.77/24", new Set())).toBe("10.9.0.2");
  });

  it("hands out .254 last and never the broadcast in a /24", () => {
    const used = new Set<string>();
    for (let i = 2; i <= 253; i++) used.add(`10.9.0.${i}`);
    expect(firstFreeIp("10.9.0.0/24", used)).toBe("10.9.0.254");
    used.add("10.9.0.254");
    expect(firstFreeIp("10.9.0.0/24", used)).toBeNull();
  });

  it("gives 13 addresses (.2-.14) in a /28, then null", () => {
    const used = new Set<string>();
    const got: string[] = [];
    for (;;) {
      const ip = firstFreeIp("192.168.5.16/28", used);
      if (ip === null) break;
      got.push(ip);
      used.add(ip);
      expect(got.length).toBeLessThanOrEqual(14);
    }
    expect(got).toEqual(Array.from({ length: 13 }, (_, i) => `192.168.5.${18 + i}`));
    expect(got).not.toContain("192.168.5.16");
    expect(got).not.toContain("192.168.5.17");
    expect(got).not.toContain("192.168.5.31");
  });

  it("ignores used addresses outside the subnet", () => {
    expect(firstFreeIp("192.168.5.16/28", new Set(["192.168.5.2", "10.0.0.18"]))).toBe("192.168.5.18");
  });

  it("crosses octet boundaries in a /16", () => {
    const used = new Set<string>();
    for (let i = 2; i <= 255; i++) used.add(`10.77.0.${i}`);
    expect(firstFreeIp("10.77.0.0/16", used)).toBe("10.77.1.0");
  });
});

describe("ipToInt / intToIp / cidrBlock", () => {
  it("round-trip, and the block of an address with host bits set", () => {
    for (const ip of ["0.0.0.0", "10.77.1.2", "255.255.255.255", "192.168.5.31"]) expect(intToIp(ipToInt(ip))).toBe(ip);
    expect(ipToInt("1.2.3.4")).toBe(0x01020304);
    expect(cidrBlock("10.9.0.77/24")).toEqual({ network: ipToInt("10.9.0.0"), size: 256, bits: 24 });
    expect(cidrBlock("10.9.0.77")).toEqual({ network: ipToInt("10.9.0.77"), size: 1, bits: 32 });
  });
});

import { describe, expect, it } from "vitest";
import { dnsLabel, firstFreeIp, ramdiskSizeMiB } from "./host.js";

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

describe("dnsLabel", () => {
  it("lowercases", () => {
    expect(dnsLabel("MyTenant")).toBe("mytenant");
  });

  it("replaces invalid characters with dashes", () => {
    expect(dnsLabel("my_tenant.v2")).toBe("my-tenant-v2");
    expect(dnsLabel("a b")).toBe("a-b");
  });

  it("trims leading and trailing dashes", () => {
    expect(dnsLabel("--abc--")).toBe("abc");
    expect(dnsLabel("_abc_")).toBe("abc");
  });

  it("caps at 63 characters", () => {
    const label = dnsLabel("a".repeat(100));
    expect(label).toBe("a".repeat(63));
  });

  // The cap comes before the trim, so a cut never leaves a trailing dash (RFC 1123).
  it("never ends with a dash after capping", () => {
    expect(dnsLabel(`${"a".repeat(62)}_b`)).toBe("a".repeat(62));
  });

  it("falls back to tenant when nothing is left", () => {
    expect(dnsLabel("")).toBe("tenant");
    expect(dnsLabel("___")).toBe("tenant");
    expect(dnsLabel("---")).toBe("tenant");
  });

  it("keeps a valid label unchanged", () => {
    expect(dnsLabel("web-01")).toBe("web-01");
  });
});

describe("ramdiskSizeMiB", () => {
  it("is what was asked for, at most three quarters of the memory limit (its pages count against it)", () => {
    expect(ramdiskSizeMiB({ ramdiskMiB: 16, limits: { memoryMiB: 64 } })).toBe(16);
    expect(ramdiskSizeMiB({ ramdiskMiB: 200, limits: { memoryMiB: 64 } })).toBe(48);
    expect(ramdiskSizeMiB({ ramdiskMiB: 64, limits: { memoryMiB: 16 } })).toBe(12);
  });
});

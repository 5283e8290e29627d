import { describe, expect, it } from "vitest";
import { dnsLabel } from "./names";

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

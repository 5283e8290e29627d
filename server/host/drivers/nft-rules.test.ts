import { describe, expect, it } from "vitest";
import { FirewallRuleSchema, type FirewallRule } from "../../shared/protocol.js";
import { portSet, ruleExpr } from "./nft-rules.js";

type RuleInput = Omit<FirewallRule, "state"> & { state?: FirewallRule["state"] };
const rule = (r: RuleInput): FirewallRule => ({ state: "enabled", ...r });

describe("portSet", () => {
  it("renders a single port", () => {
    expect(portSet("80")).toBe("80");
  });

  it("renders a range", () => {
    expect(portSet("80-90")).toBe("80-90");
  });

  it("renders a list of ports and ranges as nft set elements", () => {
    expect(portSet("80,443,1000-2000")).toBe("80, 443, 1000-2000");
  });

  it("accepts the port bounds 1 and 65535", () => {
    expect(portSet("1,65535,1-65535")).toBe("1, 65535, 1-65535");
  });

  it("normalizes leading zeros", () => {
    expect(portSet("0080")).toBe("80");
  });

  it.each(["0", "70000", "65536", "90-80", "80-70000", "0-10", "", "80,", "abc"])("rejects %j with a RangeError", (spec) => {
    expect(() => portSet(spec)).toThrow(RangeError);
  });

  it("relies on the schema for shape: extra range parts are ignored, not rejected", () => {
    // FirewallRuleSchema's regex never lets "80-90-100" through; portSet alone would render it as 80-90.
    expect(portSet("80-90-100")).toBe("80-90");
  });

  it("names the whole spec in the error", () => {
    expect(() => portSet("80,0")).toThrow("invalid port spec 80,0");
  });
});

describe("ruleExpr", () => {
  it('turns an ingress source "host" into a fib local-address match', () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "host" }))).toBe("fib saddr type local");
  });

  it("matches an ingress CIDR source on saddr", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "10.0.0.0/8" }))).toBe("ip saddr 10.0.0.0/8");
  });

  it("matches an ingress single address on saddr", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "drop", source: "192.168.1.7" }))).toBe("ip saddr 192.168.1.7");
  });

  it("matches an egress destination on daddr", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "drop", destination: "1.1.1.1/32" }))).toBe("ip daddr 1.1.1.1/32");
  });

  it("ignores the field that does not belong to the direction", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "drop", source: "10.0.0.1" }))).toBe("");
    expect(ruleExpr(rule({ direction: "ingress", action: "drop", destination: "10.0.0.1" }))).toBe("");
  });

  it("matches icmp4 as l4proto icmp", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", protocol: "icmp4" }))).toBe("meta l4proto icmp");
  });

  it("matches a protocol without ports", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "drop", protocol: "udp" }))).toBe("meta l4proto udp");
  });

  it("combines address, protocol and a port set", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "10.9.0.0/24", protocol: "tcp", destination_port: "80,443,1000-2000" }))).toBe(
      "ip saddr 10.9.0.0/24 meta l4proto tcp tcp dport { 80, 443, 1000-2000 }",
    );
  });

  it("uses the protocol name for the dport match", () => {
    expect(ruleExpr(rule({ direction: "egress", action: "allow", protocol: "udp", destination_port: "53" }))).toBe("meta l4proto udp udp dport { 53 }");
  });

  it("propagates an invalid port spec as a RangeError", () => {
    expect(() => ruleExpr(rule({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "0" }))).toThrow(RangeError);
  });

  it("is empty for a rule that matches everything", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "drop" }))).toBe("");
  });
});

describe("FirewallRuleSchema", () => {
  const ok = (r: unknown) => FirewallRuleSchema.safeParse(r).success;

  it("accepts valid rules and defaults state to enabled", () => {
    const parsed = FirewallRuleSchema.parse({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: "80,443,1000-2000", source: "host" });
    expect(parsed).toEqual({
      direction: "ingress",
      action: "allow",
      protocol: "tcp",
      destination_port: "80,443,1000-2000",
      source: "host",
      state: "enabled",
    });
    expect(ok({ direction: "egress", action: "reject", protocol: "udp", destination_port: "53", destination: "10.0.0.0/8" })).toBe(true);
    expect(ok({ direction: "ingress", action: "drop", protocol: "icmp4", source: "192.168.0.1", state: "disabled" })).toBe(true);
    expect(ok({ direction: "egress", action: "drop", description: "x".repeat(255) })).toBe(true);
  });

  it("rejects a destination_port without tcp or udp", () => {
    const noProto = FirewallRuleSchema.safeParse({ direction: "ingress", action: "allow", destination_port: "80" });
    expect(noProto.success).toBe(false);
    expect(noProto.error?.issues[0]?.path).toEqual(["destination_port"]);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", destination_port: "80" })).toBe(false);
  });

  it.each([
    ["source", "1.2.3.4; flush ruleset"],
    ["source", "1.2.3.4 accept"],
    ["source", "host\n"],
    ["source", "1.2.3.4/24\nflush ruleset"],
    ["destination", "1.2.3.4; flush ruleset"],
    ["destination", "host"],
    ["destination_port", "80 } accept; flush ruleset; {"],
    ["destination_port", "80\n"],
  ])("rejects injection in %s: %j", (field, value) => {
    expect(ok({ direction: "ingress", action: "allow", protocol: "tcp", [field]: value })).toBe(false);
  });

  // Out-of-range ports must fail validation (INVALID_INPUT), not later inside nft (a 500).
  it.each(["0", "70000", "90-80"])("rejects the out-of-range port spec %j", (port) => {
    expect(ok({ direction: "ingress", action: "allow", protocol: "tcp", destination_port: port })).toBe(false);
  });

  it.each(["999.1.1.1", "10.0.0.0/40", "256.0.0.1/24"])("rejects the impossible address %j", (addr) => {
    expect(ok({ direction: "ingress", action: "allow", source: addr })).toBe(false);
    expect(ok({ direction: "egress", action: "allow", destination: addr })).toBe(false);
  });

  it("rejects a description longer than 255 chars", () => {
    expect(ok({ direction: "egress", action: "drop", description: "x".repeat(256) })).toBe(false);
  });

  it("rejects unknown enums", () => {
    expect(ok({ direction: "forward", action: "allow" })).toBe(false);
    expect(ok({ direction: "ingress", action: "accept" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp6" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", state: "off" })).toBe(false);
  });
});

describe("the SDK's rule fields", () => {
  const ok = (r: unknown) => FirewallRuleSchema.safeParse(r).success;

  it("renders a source port set before the destination ports", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", protocol: "udp", source_port: "53,1000-2000", destination_port: "5353" }))).toBe(
      "meta l4proto udp udp sport { 53, 1000-2000 } udp dport { 5353 }",
    );
  });

  it("renders icmp type and code as numbers", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "drop", protocol: "icmp4", icmp_type: "8", icmp_code: "0" }))).toBe("meta l4proto icmp icmp type 8 icmp code 0");
    expect(ruleExpr(rule({ direction: "egress", action: "allow", protocol: "icmp4", icmp_type: "0" }))).toBe("meta l4proto icmp icmp type 0");
  });

  it("renders address lists as a set and ranges as they are", () => {
    expect(ruleExpr(rule({ direction: "ingress", action: "allow", source: "10.0.0.0/8,192.168.1.1-192.168.1.9" }))).toBe("ip saddr { 10.0.0.0/8, 192.168.1.1-192.168.1.9 }");
    expect(ruleExpr(rule({ direction: "egress", action: "drop", destination: "1.1.1.1-1.1.1.3" }))).toBe("ip daddr 1.1.1.1-1.1.1.3");
  });

  it("refuses fields the protocol cannot honour", () => {
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", source_port: "80" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", source_port: "80" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "tcp", icmp_type: "8" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_code: "0" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_type: "256" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_type: "8; flush ruleset" })).toBe(false);
    expect(ok({ direction: "ingress", action: "allow", protocol: "icmp4", icmp_type: "8", icmp_code: "3" })).toBe(true);
  });

  it.each(["10.0.0.9-10.0.0.1", "10.0.0.1,", "10.0.0.1, 10.0.0.2", "10.0.0.1,host", "1.2.3.4-1.2.3.5/24"])("refuses the address list %j", (v) => {
    expect(ok({ direction: "ingress", action: "allow", source: v })).toBe(false);
  });
});

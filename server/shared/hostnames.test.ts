import { describe, expect, it } from "vitest";
import { hostName, hostReaches, isPortFormLabel, isPublicDomain, parseTenantHost } from "./hostnames";
import type { FirewallRule } from "./protocol";

const rule = (r: Partial<FirewallRule>): FirewallRule => ({ direction: "ingress", action: "allow", state: "enabled", ...r }) as FirewallRule;

describe("host names", () => {
  it("reads Host headers", () => {
    expect(hostName("Shop.Example.COM.:8443")).toBe("shop.example.com");
    expect([hostName(undefined), hostName("localhost"), hostName("127.0.0.1"), hostName("a..b"), hostName("-a.b")]).toEqual([null, null, null, null, null]);
  });

  it("parses tenant names and per-port names under the domain", () => {
    expect(parseTenantHost("acme.ex.com", "ex.com")).toEqual({ label: "acme", port: null });
    expect(parseTenantHost("acme-http-8081.ex.com", "ex.com")).toEqual({ label: "acme", port: 8081 });
    expect(parseTenantHost("my-app-http-3000.ex.com", "ex.com")).toEqual({ label: "my-app", port: 3000 });
    expect([parseTenantHost("acme-http-70000.ex.com", "ex.com"), parseTenantHost("a.b.ex.com", "ex.com"), parseTenantHost("ex.com", "ex.com"), parseTenantHost("acme.other.com", "ex.com")]).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect([isPortFormLabel("acme-http-80"), isPortFormLabel("acme-http"), isPortFormLabel("http-80")]).toEqual([true, false, false]);
  });

  it("reads whether the host reaches a port as nft applies the rules: first match, default drop", () => {
    expect(hostReaches([], 8080)).toBe(false);
    expect(hostReaches([rule({ protocol: "tcp", destination_port: "8080", source: "host" })], 8080)).toBe(true);
    expect(hostReaches([rule({ protocol: "tcp", destination_port: "8000-8100", source: "host" })], 8081)).toBe(true);
    expect(hostReaches([rule({ protocol: "tcp", destination_port: "80,443" })], 443)).toBe(true);
    expect(hostReaches([rule({ action: "drop", protocol: "tcp", destination_port: "9000" }), rule({ protocol: "tcp" })], 9000)).toBe(false);
    expect(hostReaches([rule({ protocol: "tcp", destination_port: "9000", state: "disabled" })], 9000)).toBe(false);
    expect(hostReaches([rule({ protocol: "udp", destination_port: "9000" })], 9000)).toBe(false);
    expect(hostReaches([rule({ protocol: "tcp", destination_port: "9000", source: "10.0.0.0/8" })], 9000)).toBe(false);
    expect(hostReaches([rule({ direction: "egress", protocol: "tcp", destination_port: "9000" })], 9000)).toBe(false);
  });

  it("puts Caddy in front of public domains only", () => {
    expect([isPublicDomain("example.com"), isPublicDomain("localhost"), isPublicDomain("app.localhost"), isPublicDomain("10.0.0.1")]).toEqual([true, false, false, false]);
  });
});

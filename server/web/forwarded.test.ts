import { describe, expect, it } from "vitest";
import { dropUntrustedForwarding, trustedProxies } from "./forwarded";

const forwarded = () => ({ host: "hoody.example", "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https", forwarded: "for=203.0.113.9", "x-real-ip": "203.0.113.9", cookie: "c=1" });

describe("forwarding headers", () => {
  it("keeps them from the default trusted proxies: loopback, also as an IPv4-mapped address", () => {
    for (const peer of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
      const h = forwarded();
      dropUntrustedForwarding(h, peer, trustedProxies(undefined));
      expect(h["x-forwarded-for"], peer).toBe("203.0.113.9");
    }
  });

  it("drops all of them from anyone else, and only them", () => {
    for (const peer of ["127.0.0.2", "10.0.0.5", "::ffff:10.0.0.5", "2001:db8::1", undefined]) {
      const h = forwarded();
      dropUntrustedForwarding(h, peer, trustedProxies(undefined));
      expect(h, String(peer)).toEqual({ host: "hoody.example", cookie: "c=1" });
    }
  });

  it("trusts exactly the configured list; an empty list trusts nobody", () => {
    const list = trustedProxies(" 10.0.0.5 , 2001:DB8::1 ");
    const a = forwarded();
    dropUntrustedForwarding(a, "::ffff:10.0.0.5", list);
    expect(a["x-forwarded-proto"]).toBe("https");
    const b = forwarded();
    dropUntrustedForwarding(b, "2001:db8::1", list);
    expect(b["x-forwarded-for"]).toBe("203.0.113.9");
    const c = forwarded();
    dropUntrustedForwarding(c, "127.0.0.1", list);
    expect(c["x-forwarded-for"]).toBeUndefined();
    const d = forwarded();
    dropUntrustedForwarding(d, "127.0.0.1", trustedProxies(""));
    expect(d["x-forwarded-for"]).toBeUndefined();
  });

  it("takes CIDR blocks and any IPv6 spelling", () => {
    const list = trustedProxies("10.1.0.0/16,2001:db8:0:0::/64,0:0:0:0:0:0:0:1");
    for (const peer of ["10.1.2.3", "::ffff:10.1.255.255", "2001:db8::abcd", "::1"]) expect(list.has(peer), peer).toBe(true);
    for (const peer of ["10.2.0.1", "2001:db8:1::1", "127.0.0.1", "not-an-ip", undefined]) expect(list.has(peer), String(peer)).toBe(false);
  });

  it("refuses an entry that is no address or block, instead of never matching it", () => {
    for (const bad of ["localhost", "10.0.0.0/33", "10.0.0.0/8/1", "10.0.0/8", "::1/129", "10.0.0.0/x"]) {
      expect(() => trustedProxies(bad), bad).toThrow(/HOODY_TRUSTED_PROXIES/);
    }
  });
});

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
});

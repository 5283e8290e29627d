import type http from "node:http";
import { describe, expect, it } from "vitest";
import { setForwarding } from "./router";

describe("setForwarding", () => {
  it("replaces every client forwarding header with what the router knows: peer, scheme, Host, its own port", () => {
    const req = {
      headers: {
        host: "shop.localhost:8080",
        "x-forwarded-for": "203.0.113.1",
        "x-forwarded-host": "bank.example",
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        forwarded: "for=203.0.113.1",
        "x-real-ip": "203.0.113.1",
        "x-other": "kept",
      },
      socket: { remoteAddress: "::ffff:10.1.2.3", localPort: 8080 },
    } as unknown as http.IncomingMessage;
    setForwarding(req);
    expect(req.headers).toEqual({
      host: "shop.localhost:8080",
      "x-forwarded-for": "10.1.2.3",
      "x-forwarded-host": "shop.localhost:8080",
      "x-forwarded-proto": "http",
      "x-forwarded-port": "8080",
      "x-other": "kept",
    });
  });
});

describe("setForwarding behind Caddy", () => {
  const proxy = { secret: "s3cret-s3cret", publicPort: 443 };
  const request = (peer: string, secret?: string) =>
    ({
      headers: { host: "shop.example.com", "x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https", ...(secret !== undefined && { "x-hoody-proxy": secret }) },
      socket: { remoteAddress: peer, localPort: 8080 },
    }) as unknown as http.IncomingMessage;

  it("keeps Caddy's client address and scheme when a loopback peer shows the secret, and never passes the secret on", () => {
    const req = request("127.0.0.1", proxy.secret);
    setForwarding(req, proxy);
    expect(req.headers).toEqual({ host: "shop.example.com", "x-forwarded-for": "198.51.100.7", "x-forwarded-host": "shop.example.com", "x-forwarded-proto": "https", "x-forwarded-port": "443" });
  });

  it.each([
    ["a loopback peer without the secret", "127.0.0.1", undefined],
    ["a loopback peer with a wrong secret", "::1", "s3cret-s3creX"],
    ["the right secret from another peer", "10.77.0.5", "s3cret-s3cret"],
  ])("drops what %s claims", (_what, peer, secret) => {
    const req = request(peer, secret);
    setForwarding(req, proxy);
    expect(req.headers).toEqual({ host: "shop.example.com", "x-forwarded-for": peer, "x-forwarded-host": "shop.example.com", "x-forwarded-proto": "http", "x-forwarded-port": "8080" });
  });
});

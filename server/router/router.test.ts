import type http from "node:http";
import { describe, expect, it } from "vitest";
import { setForwarding } from "./router";

describe("setForwarding", () => {
  it("replaces every client forwarding header with what the router knows: peer, scheme, Host, its own port", () => {
    const req = {
      headers: { host: "shop.localhost:8080", "x-forwarded-for": "203.0.113.1", "x-forwarded-host": "bank.example", "x-forwarded-proto": "https", "x-forwarded-port": "443", forwarded: "for=203.0.113.1", "x-real-ip": "203.0.113.1", "x-other": "kept" },
      socket: { remoteAddress: "::ffff:10.1.2.3", localPort: 8080 },
    } as unknown as http.IncomingMessage;
    setForwarding(req);
    expect(req.headers).toEqual({ host: "shop.localhost:8080", "x-forwarded-for": "10.1.2.3", "x-forwarded-host": "shop.localhost:8080", "x-forwarded-proto": "http", "x-forwarded-port": "8080", "x-other": "kept" });
  });
});

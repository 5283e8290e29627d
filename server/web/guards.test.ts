import { describe, expect, it } from "vitest";
import { crossSiteReason, hostName, isServedHost, SAME_ORIGIN_HEADER, SAME_ORIGIN_VALUE, servedHosts } from "./guards";
import { webConfig } from "../config";

describe("served hosts", () => {
  it("normalises Host values: case, port, trailing dot, IPv6 brackets", () => {
    expect(hostName("LocalHost:3000")).toBe("localhost");
    expect(hostName("example.com.")).toBe("example.com");
    expect(hostName("[::1]:3000")).toBe("::1");
    expect(hostName("::1")).toBe("::1");
    expect(hostName("127.0.0.1")).toBe("127.0.0.1");
  });

  it("defaults to loopback and HOODY_DOMAIN; HOODY_WEB_HOSTS replaces that; * answers any", () => {
    const def = servedHosts(webConfig({ HOODY_DOMAIN: "apps.example.com" }));
    for (const h of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "apps.example.com", "APPS.example.com."]) expect(isServedHost({ host: h }, def), h).toBe(true);
    for (const h of ["evil.example", "rebind.attacker.test:3000", "x.apps.example.com", "", "10.0.0.1"]) expect(isServedHost({ host: h }, def), h).toBe(false);
    const set = servedHosts(webConfig({ HOODY_WEB_HOSTS: "dash.example.com, 10.0.0.5" }));
    expect(isServedHost({ host: "dash.example.com" }, set)).toBe(true);
    expect(isServedHost({ host: "10.0.0.5:3000" }, set)).toBe(true);
    expect(isServedHost({ host: "localhost" }, set)).toBe(false);
    expect(isServedHost({ host: "anything" }, servedHosts(webConfig({ HOODY_WEB_HOSTS: "*" })))).toBe(true);
  });

  it("checks a trusted proxy's X-Forwarded-Host too", () => {
    const def = servedHosts(webConfig({}));
    expect(isServedHost({ host: "127.0.0.1:3000", "x-forwarded-host": "localhost" }, def)).toBe(true);
    expect(isServedHost({ host: "127.0.0.1:3000", "x-forwarded-host": "evil.example" }, def)).toBe(false);
  });
});

describe("same-origin proof for mutations", () => {
  const h = (o: Record<string, string>) => new Headers({ host: "127.0.0.1:3000", ...o });
  const ok = { [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE };
  it("accepts the dashboard's header with no Origin or its own origin", () => {
    expect(crossSiteReason(h(ok))).toBeNull();
    expect(crossSiteReason(h({ ...ok, origin: "http://127.0.0.1:3000" }))).toBeNull();
    expect(crossSiteReason(h({ ...ok, origin: "https://dash.example.com", "x-forwarded-host": "dash.example.com" }))).toBeNull();
  });
  it("refuses no header, another origin, a null or malformed Origin", () => {
    expect(crossSiteReason(h({}))).toMatch(/header is missing/);
    expect(crossSiteReason(h({ origin: "http://127.0.0.1:3000" }))).toMatch(/header is missing/);
    expect(crossSiteReason(h({ ...ok, origin: "http://evil.example" }))).toMatch(/not this site/);
    expect(crossSiteReason(h({ ...ok, origin: "http://127.0.0.1:3001" }))).toMatch(/not this site/);
    expect(crossSiteReason(h({ ...ok, origin: "null" }))).toMatch(/not this site/);
  });
});

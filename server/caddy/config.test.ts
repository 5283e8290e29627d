import { describe, expect, it } from "vitest";
import { publicUrl, tlsOn, webConfig } from "../config";
import { caddySettings } from "./caddy";
import { caddyConfig as build, type CaddySettings } from "./config";

// biome-ignore lint/suspicious/noExplicitAny: the generated JSON is read by path, as Caddy reads it
const caddyConfig = (s: CaddySettings): any => build(s);

const base: CaddySettings = {
  domain: "ex.com",
  dashboardHost: "hoody.ex.com",
  httpPort: 80,
  httpsPort: 443,
  routerAddress: "127.0.0.1:8080",
  webAddress: "127.0.0.1:3000",
  proxySecret: "sec",
  adminSocket: "/d/caddy/admin.sock",
  storageDir: "/d/caddy/storage",
  accessLog: "/d/caddy/access.log",
  issuer: { kind: "acme", email: "ops@ex.com" },
};

describe("caddyConfig", () => {
  it("sends the dashboard host to the web server and everything else to the router with the secret", () => {
    const c = caddyConfig(base);
    const routes = c.apps.http.servers.https.routes;
    expect(routes[1]).toMatchObject({ match: [{ host: ["hoody.ex.com"] }], handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "127.0.0.1:3000" }] }] });
    expect(routes[1].handle[0].headers).toBeUndefined();
    expect(routes[2].handle[0]).toMatchObject({ upstreams: [{ dial: "127.0.0.1:8080" }], headers: { request: { set: { "X-Hoody-Proxy": ["sec"] } } } });
    expect(routes[0].handle[0].response.set["Strict-Transport-Security"]).toEqual(["max-age=31536000"]);
    expect(c.admin.listen).toBe("unix//d/caddy/admin.sock");
  });

  it("issues on demand after our ask, by ACME or the internal CA, and loads a provided certificate", () => {
    const acme = caddyConfig(base);
    expect(acme.apps.tls.automation).toEqual({ policies: [{ on_demand: true, issuers: [{ module: "acme", email: "ops@ex.com" }] }], on_demand: { ask: "http://127.0.0.1:8080/.hoody/tls-ask" } });
    expect(acme.apps.pki.certificate_authorities.local.install_trust).toBe(false);
    const internal = caddyConfig({ ...base, issuer: { kind: "internal" }, certificate: { cert: "/c.pem", key: "/k.pem" } });
    expect(internal.apps.tls.automation.policies[0].issuers).toEqual([{ module: "internal" }]);
    expect(internal.apps.tls.certificates.load_files).toEqual([{ certificate: "/c.pem", key: "/k.pem", tags: ["operator"] }]);
  });

  it("redirects plain HTTP to the HTTPS port and keeps credentials out of the access log", () => {
    const c = caddyConfig({ ...base, httpPort: 8081, httpsPort: 8443 });
    expect(c.apps.http.servers.http.routes[0].handle[0]).toEqual({ handler: "static_response", status_code: 308, headers: { Location: ["https://{http.request.host}:8443{http.request.uri}"] } });
    const fields = c.logging.logs.hoody.encoder.fields;
    expect(Object.keys(fields).sort()).toEqual(["request>headers>Authorization", "request>headers>Cookie", "request>headers>Proxy-Authorization", "request>uri", "resp_headers>Set-Cookie"]);
  });
});

describe("caddySettings (what npm run up gives Caddy)", () => {
  it("derives names, ports, issuer, certificate and files from the web settings", () => {
    const c = webConfig({
      HOODY_DATA_DIR: "/d",
      HOODY_DOMAIN: "apps.ex.com",
      HOODY_PORT: "3001",
      HOODY_ROUTER_PORT: "8081",
      HOODY_TLS_CERT: "/c.pem",
      HOODY_TLS_KEY: "/k.pem",
      HOODY_ACME_EMAIL: "ops@ex.com",
    });
    expect(tlsOn(c)).toBe(true);
    expect(publicUrl(c)).toEqual({ scheme: "https", port: 443 });
    expect(caddySettings(c, "sec")).toEqual({
      domain: "apps.ex.com",
      dashboardHost: "hoody.apps.ex.com",
      httpPort: 80,
      httpsPort: 443,
      routerAddress: "127.0.0.1:8081",
      webAddress: "127.0.0.1:3001",
      proxySecret: "sec",
      adminSocket: "/d/caddy/admin.sock",
      storageDir: "/d/caddy/storage",
      accessLog: "/d/caddy/access.log",
      issuer: { kind: "acme", email: "ops@ex.com", ca: undefined },
      certificate: { cert: "/c.pem", key: "/k.pem" },
    });
    expect(caddySettings(webConfig({ HOODY_DOMAIN: "ex.com", HOODY_TLS_ISSUER: "internal", HOODY_DASHBOARD_HOST: "dash.ex.com" }), "s")).toMatchObject({
      issuer: { kind: "internal" },
      dashboardHost: "dash.ex.com",
    });
    expect([tlsOn(webConfig({})), tlsOn(webConfig({ HOODY_DOMAIN: "ex.com", HOODY_CADDY: "off" })), publicUrl(webConfig({})).scheme]).toEqual([false, false, "http"]);
  });
});

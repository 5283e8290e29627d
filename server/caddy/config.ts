// Caddy's configuration, generated from Hoody's settings (never hand-edited): TLS in front of the
// tenant router and the web server. Every name gets its certificate on demand, after our `ask`
// endpoint (the router's /.hoody/tls-ask) says the name is ours. Plain HTTP only redirects; HSTS on
// every answer; HTTP/2 and HTTP/3 as Caddy offers them. The access log keeps no credentials: no
// Authorization, Cookie or Set-Cookie, and no query string (tokens travel there too).
export interface CaddySettings {
  domain: string;
  dashboardHost: string;
  httpPort: number;
  httpsPort: number;
  /** Loopback addresses of the tenant router and the web server. */
  routerAddress: string;
  webAddress: string;
  /** What Caddy sends the router in X-Hoody-Proxy so the router trusts its forwarding headers. */
  proxySecret: string;
  /** Caddy's admin API: a unix socket (root only), never a TCP port. */
  adminSocket: string;
  /** Certificates, keys and Caddy's internal CA. */
  storageDir: string;
  accessLog: string;
  issuer: { kind: "internal" } | { kind: "acme"; email?: string; ca?: string };
  /** A certificate the operator provides for the domain's names (a wildcard), used before on-demand issuance. */
  certificate?: { cert: string; key: string };
  /** Where Caddy listens; unset: every address. Tests bind loopback only. */
  bindHost?: string;
}

const HSTS = "max-age=31536000";

export function caddyConfig(s: CaddySettings): Record<string, unknown> {
  const listen = (port: number) => `${s.bindHost ?? ""}:${port}`;
  const httpsSuffix = s.httpsPort === 443 ? "" : `:${s.httpsPort}`;
  const proxy = (address: string, headers?: Record<string, string[]>) => ({
    handler: "reverse_proxy",
    upstreams: [{ dial: address }],
    // Streaming answers (server-sent events, long downloads) flow at once.
    flush_interval: -1,
    ...(headers && { headers: { request: { set: headers } } }),
  });
  const issuer = s.issuer.kind === "internal" ? { module: "internal" } : { module: "acme", ...(s.issuer.email && { email: s.issuer.email }), ...(s.issuer.ca && { ca: s.issuer.ca }) };
  return {
    admin: { listen: `unix/${s.adminSocket}` },
    storage: { module: "file_system", root: s.storageDir },
    logging: {
      logs: {
        default: { exclude: ["http.log.access.hoody"] },
        hoody: {
          writer: { output: "file", filename: s.accessLog, roll_size_mb: 100, roll_keep: 5 },
          encoder: {
            format: "filter",
            wrap: { format: "json" },
            fields: {
              "request>uri": { filter: "regexp", regexp: "\\?.*$", value: "?REDACTED" },
              "request>headers>Authorization": { filter: "delete" },
              "request>headers>Proxy-Authorization": { filter: "delete" },
              "request>headers>Cookie": { filter: "delete" },
              "resp_headers>Set-Cookie": { filter: "delete" },
            },
          },
          include: ["http.log.access.hoody"],
        },
      },
    },
    apps: {
      http: {
        http_port: s.httpPort,
        https_port: s.httpsPort,
        // At a reload the old servers get this long to finish the requests they hold (Caddy's default
        // is none: requests in flight at the swap were cancelled with a 502, "context canceled").
        grace_period: "30s",
        servers: {
          https: {
            listen: [listen(s.httpsPort)],
            // TLS on every name (no host matchers to tell Caddy which): certificates come on demand.
            tls_connection_policies: [{}],
            automatic_https: { disable_redirects: true },
            logs: { default_logger_name: "hoody" },
            routes: [
              { handle: [{ handler: "headers", response: { set: { "Strict-Transport-Security": [HSTS] } } }] },
              { match: [{ host: [s.dashboardHost] }], handle: [proxy(s.webAddress)], terminal: true },
              { handle: [proxy(s.routerAddress, { "X-Hoody-Proxy": [s.proxySecret] })] },
            ],
          },
          http: {
            listen: [listen(s.httpPort)],
            automatic_https: { disable: true },
            routes: [
              {
                handle: [{ handler: "static_response", status_code: 308, headers: { Location: [`https://{http.request.host}${httpsSuffix}{http.request.uri}`] } }],
              },
            ],
          },
        },
      },
      tls: {
        ...(s.certificate && { certificates: { load_files: [{ certificate: s.certificate.cert, key: s.certificate.key, tags: ["operator"] }] } }),
        automation: {
          policies: [{ on_demand: true, issuers: [issuer] }],
          on_demand: { ask: `http://${s.routerAddress}/.hoody/tls-ask` },
        },
      },
      // Caddy's own CA must stay out of this machine's trust store: tests and operators trust its root explicitly.
      pki: { certificate_authorities: { local: { install_trust: false } } },
    },
  };
}

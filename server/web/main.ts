// The web server process (dashboard, REST API, tRPC, /exec): Next.js behind Node's own HTTP server
// rather than `next start`, because only here is the request's socket known: forwarding headers from
// a peer that is not a trusted proxy are dropped before Next sees them (see forwarded.ts).
// Usage: node --import tsx server/web/main.ts [-p PORT] [-H HOST]   (run from the project root)
import http from "node:http";
import { parseArgs } from "node:util";
import next from "next";
import { dashboardHost, tlsOn, webConfig } from "../config";
import { dropUntrustedForwarding, trustedProxies } from "./forwarded";
import { isServedHost, SECURITY_HEADERS, servedHosts } from "./guards";
import { serveMetrics } from "../metrics/http";
import { withoutApiTrailingSlash } from "./paths";
import { keepAnswersBeforeUnreadBodies } from "./unread-body";

const settings = webConfig();
const { values } = parseArgs({ options: { port: { type: "string", short: "p", default: String(settings.listenPort) }, hostname: { type: "string", short: "H", default: "0.0.0.0" } } });
const port = Number(values.port);
const hostname = values.hostname!;
const trusted = trustedProxies(settings.trustedProxies);
// Behind Caddy the dashboard has its own name (HOODY_DASHBOARD_HOST), which it answers for too.
const served = servedHosts({ ...settings, dashboardHost: tlsOn(settings) ? dashboardHost(settings) : undefined });

const server = http.createServer();
keepAnswersBeforeUnreadBodies(server);
// A port in use must end the process (exit 1, as `next start` does), not leave it up with Next's
// handlers only logging the error while something else answers the health check.
server.on("error", (e) => {
  console.error(`[web] cannot serve on ${hostname}:${port}: ${e.message}`);
  process.exit(1);
});
// Requests that arrive while Next prepares (as with `next start`, it listens first) wait for it.
const app = next({ dev: false, dir: process.cwd(), hostname, port });
const ready = app.prepare().then(
  () => app.getRequestHandler(),
  (e: unknown) => {
    console.error("[web] Next.js did not start:", e);
    process.exit(1);
  },
);
let stopping = false;

/** A request for a name this server does not serve: 421 in the error envelope, nothing else runs. */
function misdirected(headers: http.IncomingHttpHeaders): string {
  const names = [headers.host ?? "", ...(headers["x-forwarded-host"] ? [String(headers["x-forwarded-host"])] : [])].map((n) => JSON.stringify(n.slice(0, 100)));
  const message = `this server does not answer for ${names.join(" (forwarded for ")}${names.length > 1 ? ")" : ""}; see HOODY_WEB_HOSTS`;
  return JSON.stringify({ statusCode: 421, error: "Misdirected Request", message, code: "UNKNOWN_HOST", data: null });
}

server.on("request", (req, res) => {
  dropUntrustedForwarding(req.headers, req.socket.remoteAddress, trusted);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  if (!isServedHost(req.headers, served)) {
    res.writeHead(421, { "content-type": "application/json" }).end(misdirected(req.headers));
    return;
  }
  // While stopping, kept-alive clients (a proxy's pool) are told to reconnect elsewhere.
  if (stopping) res.setHeader("connection", "close");
  if (req.url) req.url = withoutApiTrailingSlash(req.url);
  if (req.url === "/metrics" || req.url?.startsWith("/metrics?")) {
    void ready.then(() => serveMetrics(req, res, settings.metricsToken));
    return;
  }
  ready
    .then((handle) => handle(req, res))
    .catch((e: unknown) => {
      console.error("[web] request failed:", e);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
});
server.on("upgrade", (req, socket) => {
  dropUntrustedForwarding(req.headers, req.socket.remoteAddress, trusted);
  if (!isServedHost(req.headers, served)) {
    const body = misdirected(req.headers);
    socket.end(`HTTP/1.1 421 Misdirected Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    return;
  }
  // Next adds its own upgrade listener on the first request (this one runs before it); until then
  // nothing would answer the upgrade, so refuse it rather than leave the socket hanging.
  if (server.listenerCount("upgrade") === 1) socket.destroy();
});
await new Promise<void>((resolve) => server.listen(port, hostname, resolve));
console.log(`[web] listening on http://${hostname}:${port} (hosts: ${served === "any" ? "any" : [...served].join(", ")}; trusted proxies: ${trusted.entries.join(", ") || "none"})`);
await ready;

// A stop drains: no new connections, idle ones closed, requests in flight get up to 12 s to finish
// (the service manager waits 15 s before SIGKILL).
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    stopping = true;
    server.close(() => process.exit(0)).closeIdleConnections();
    setTimeout(() => process.exit(0), 12_000).unref();
  });
}

// The web server process (dashboard, REST API, tRPC, /exec): Next.js behind Node's own HTTP server
// rather than `next start`, because only here is the request's socket known: forwarding headers from
// a peer that is not a trusted proxy are dropped before Next sees them (see forwarded.ts).
// Usage: node --import tsx server/web/main.ts [-p PORT] [-H HOST]   (run from the project root)
import http from "node:http";
import { parseArgs } from "node:util";
import next from "next";
import { dropUntrustedForwarding, trustedProxies } from "./forwarded";

const { values } = parseArgs({ options: { port: { type: "string", short: "p", default: process.env.PORT ?? "3000" }, hostname: { type: "string", short: "H", default: "0.0.0.0" } } });
const port = Number(values.port);
const hostname = values.hostname!;
const trusted = trustedProxies();

const server = http.createServer();
const app = next({ dev: false, dir: process.cwd(), hostname, port });
await app.prepare();
const handle = app.getRequestHandler();

server.on("request", (req, res) => {
  dropUntrustedForwarding(req.headers, req.socket.remoteAddress, trusted);
  void handle(req, res);
});
// Next adds its own upgrade listener on the first request; this one, added first, runs before it.
server.on("upgrade", (req) => dropUntrustedForwarding(req.headers, req.socket.remoteAddress, trusted));
server.listen(port, hostname, () => console.log(`[web] listening on http://${hostname}:${port} (trusted proxies: ${[...trusted].join(", ") || "none"})`));

// A stop drains: no new connections, idle ones closed, requests in flight get up to 5 s to finish.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0)).closeIdleConnections();
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}

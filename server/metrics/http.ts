// GET /metrics, answered by the web server itself (server/web/main.ts) before Next.js: only there
// is the client's socket known, which the loopback-only default needs, and a scrape skips Next's routing.
import type { IncomingMessage, ServerResponse } from "node:http";
import { metricsRefusal } from "./access";

function refuse(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const error = status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : status === 405 ? "Method Not Allowed" : "Service Unavailable";
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify({ statusCode: status, error, message, code, data: null }));
}

export async function serveMetrics(req: IncomingMessage, res: ServerResponse, token: string | undefined): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") return refuse(res, 405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed here`, { allow: "GET, HEAD" });
  const refusal = metricsRefusal(token, req.socket.remoteAddress, req.headers);
  if (refusal) return refuse(res, refusal.status, refusal.code, refusal.message, refusal.status === 401 ? { "www-authenticate": 'Bearer realm="metrics"' } : {});
  try {
    // Loaded on the first scrape: the Core is the one instrumentation.ts made (one per process, on globalThis).
    const [{ getCore }, { scrape }] = await Promise.all([import("../core/instance"), import("./registry")]);
    const { contentType, body } = await scrape(getCore());
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    console.error(`[metrics] scrape failed: ${(e as Error).message}`);
    refuse(res, 503, "METRICS_UNAVAILABLE", "the stats could not be read (engine unreachable?)", { "retry-after": "15" });
  }
}

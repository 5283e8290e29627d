// The router's own answers: a small clear HTML page, or JSON when the client asks for it.
import type http from "node:http";

const TITLES: Record<number, string> = {
  404: "No such tenant",
  410: "This tenant is being deleted",
  413: "Request too large",
  502: "The app is not answering",
  503: "The app is starting",
};
/** Where one status has answers of different kinds. */
const CODE_TITLES: Record<string, string> = { TENANT_SUSPENDED: "This tenant is suspended", TENANT_PAUSED: "This tenant is paused" };
/** Held by an operator's decision, not by something that passes: nothing to retry soon. */
const DELIBERATE = new Set(["TENANT_SUSPENDED", "TENANT_PAUSED"]);

export function sendProblem(req: http.IncomingMessage, res: http.ServerResponse, status: number, detail: string, code: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const title = CODE_TITLES[code] ?? TITLES[status] ?? "Error";
  const wantsJson = /application\/json/.test(req.headers.accept ?? "") && !/text\/html/.test(req.headers.accept ?? "");
  const headers: Record<string, string> = { "cache-control": "no-store", "x-hoody-router": code };
  // A suspended or paused tenant stays so until its operator starts or resumes it.
  if (status === 503 && !DELIBERATE.has(code)) headers["retry-after"] = "2";
  if (wantsJson) {
    res.writeHead(status, { ...headers, "content-type": "application/json" });
    res.end(JSON.stringify({ statusCode: status, error: title, message: detail, code }));
    return;
  }
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { ...headers, "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${status} ${esc(title)}</title>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222">
<h1 style="font-size:1.4rem">${esc(title)}</h1><p>${esc(detail)}</p><p style="color:#888;font-size:.85rem">${status} · ${esc(code)} · Hoody</p></body></html>`);
}

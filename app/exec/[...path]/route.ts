// /exec/<path>: a file in scripts/ answers (server/exec runs it in its own process).
import { getScripts } from "~/server/core/instance";
import { handleExec } from "~/server/exec/runner";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

async function handle(req: Request, { params }: { params: Promise<{ path: string[] }> }) {
  const url = new URL(req.url);
  // Scripts call the API on this same server, over loopback.
  const apiBase = `http://127.0.0.1:${url.port || (url.protocol === "https:" ? 443 : 80)}/api/v1`;
  return handleExec(getScripts(), req, (await params).path, apiBase);
}
export { handle as GET, handle as POST, handle as PUT, handle as PATCH, handle as DELETE };

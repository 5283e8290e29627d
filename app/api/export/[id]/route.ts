// The dashboard's "download export" link: the customer's own files as a tar (GDPR Art. 20), for the
// signed-in operator (session cookie); API clients use GET /api/v1/containers/{id}/export.
import { readCookie, SESSION_COOKIE } from "~/server/core/auth";
import { CoreError } from "~/server/core/errors";
import { getAuth, getCore } from "~/server/core/instance";
import { ContainerId } from "~/server/core/schemas";
import { downloadResponse } from "~/server/rest/download";
import { errorResponse } from "~/server/rest/handler";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    const actor = getAuth().session(readCookie(req.headers.get("cookie"), SESSION_COOKIE));
    if (!actor) throw new CoreError(401, "UNAUTHORIZED", "sign in first");
    const { id } = await params;
    if (!ContainerId.safeParse(id).success) throw new CoreError(404, "CONTAINER_NOT_FOUND", "container not found");
    const r = await getCore().backups.exportFiles(actor, id);
    return downloadResponse(r.stream, `${r.name}-files.tar`);
  } catch (e) {
    return errorResponse(e);
  }
}

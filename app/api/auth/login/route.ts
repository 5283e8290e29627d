// Operator sign-in: POST {password} → session cookie (httpOnly, SameSite=Lax). Failed attempts are
// budgeted per client and in total (server/core/auth.ts SignInThrottle): past a budget, 429.
import { z } from "zod";
import { sessionCookieHeader } from "~/server/core/auth";
import { CoreError, fromEngine } from "~/server/core/errors";
import { getAuth, getCore } from "~/server/core/instance";
import { OPERATOR } from "~/server/core/auth";
import { errorResponse, envelope } from "~/server/rest/handler";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/**
 * The caller as the nearest hop reports it: a trusted proxy's last X-Forwarded-For entry, else the
 * socket's address (the web server drops forwarding headers from anyone else, server/web/forwarded.ts,
 * and Next then sets X-Forwarded-For to the socket's address).
 */
function clientKey(req: Request): string {
  return req.headers.get("x-forwarded-for")?.split(",").pop()?.trim().slice(0, 100) || "unknown";
}

export async function POST(req: Request) {
  try {
    const body = z.object({ password: z.string().min(1).max(200) }).strict().safeParse(await req.json().catch(() => null));
    if (!body.success) throw new CoreError(422, "VALIDATION_ERROR", "send {\"password\": \"…\"}");
    const { cookie, expiresAt } = getAuth().signIn(body.data.password, clientKey(req));
    getCore().audit(OPERATOR, "operator.sign_in", null, "ok");
    const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
    return envelope(200, "Signed in", { expires_at: expiresAt.toISOString() }, { "set-cookie": sessionCookieHeader(cookie, expiresAt, secure) });
  } catch (e) {
    getCore().audit({ id: "anonymous", projectId: null }, "operator.sign_in", null, `error:${fromEngine(e).code}`);
    return errorResponse(e);
  }
}

// Operator sign-in: POST {password} as JSON → session cookie (httpOnly, SameSite=Lax). Failed attempts
// are budgeted per client and in total (server/core/auth.ts SignInThrottle): past a budget, 429.
// Anyone can call this, so a refusal costs little: the body is read within a small limit, and
// refusals are counted in one audit row per window (Core.refusals), not written one row each.
import { z } from "zod";
import { OPERATOR, sessionCookieHeader } from "~/server/core/auth";
import { readBody } from "~/server/core/body";
import { CoreError, fromEngine } from "~/server/core/errors";
import { getAuth, getCore } from "~/server/core/instance";
import { BODY_LIMITS } from "~/server/core/limits";
import { errorResponse, envelope } from "~/server/rest/handler";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const SignIn = z.object({ password: z.string().min(1).max(200) }).strict();

/**
 * The caller as the nearest hop reports it: a trusted proxy's last X-Forwarded-For entry, else the
 * socket's address (the web server drops forwarding headers from anyone else, server/web/forwarded.ts,
 * and Next then sets X-Forwarded-For to the socket's address).
 */
function clientKey(req: Request): string {
  return req.headers.get("x-forwarded-for")?.split(",").pop()?.trim().slice(0, 100) || "unknown";
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
}

export async function POST(req: Request) {
  try {
    // JSON only: a cross-site form (text/plain, urlencoded, multipart) cannot send it without a CORS preflight.
    if (!/^application\/json\s*(;|$)/i.test(req.headers.get("content-type") ?? "")) throw new CoreError(415, "UNSUPPORTED_MEDIA_TYPE", "send application/json");
    const body = SignIn.safeParse(parseJson(await readBody(req, BODY_LIMITS.signIn)));
    if (!body.success) throw new CoreError(422, "VALIDATION_ERROR", 'send {"password": "…"}');
    const { cookie, expiresAt } = getAuth().signIn(body.data.password, clientKey(req));
    getCore().audit.record(OPERATOR, "operator.sign_in", null, "ok");
    const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
    return envelope(200, "Signed in", { expires_at: expiresAt.toISOString() }, { "set-cookie": sessionCookieHeader(cookie, expiresAt, secure) });
  } catch (e) {
    getCore().audit.refusals.add("operator.sign_in", fromEngine(e).code);
    return errorResponse(e);
  }
}

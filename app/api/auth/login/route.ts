// Operator sign-in: POST {password} → session cookie (httpOnly, SameSite=Lax).
import { z } from "zod";
import { sessionCookieHeader } from "~/server/core/auth";
import { getAuth, getCore } from "~/server/core/instance";
import { OPERATOR } from "~/server/core/auth";
import { errorResponse, envelope } from "~/server/rest/handler";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function POST(req: Request) {
  try {
    const body = z.object({ password: z.string().min(1).max(200) }).safeParse(await req.json().catch(() => null));
    if (!body.success) return envelope(422, "password required", null);
    const { cookie, expiresAt } = getAuth().signIn(body.data.password);
    getCore().audit(OPERATOR, "operator.sign_in", null, "ok");
    const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
    return envelope(200, "Signed in", { expires_at: expiresAt.toISOString() }, { "set-cookie": sessionCookieHeader(cookie, expiresAt, secure) });
  } catch (e) {
    getCore().audit({ id: "anonymous", projectId: null }, "operator.sign_in", null, "error:INVALID_CREDENTIALS");
    return errorResponse(e);
  }
}

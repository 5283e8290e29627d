import { readCookie, SESSION_COOKIE, sessionCookieHeader } from "~/server/core/auth";
import { getAuth } from "~/server/core/instance";
import { envelope } from "~/server/rest/handler";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function POST(req: Request) {
  getAuth().signOut(readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  return envelope(200, "Signed out", null, { "set-cookie": sessionCookieHeader("", null, false) });
}

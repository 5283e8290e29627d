import { readCookie, SESSION_COOKIE, sessionCookieHeader } from "~/server/core/auth";
import { CoreError } from "~/server/core/errors";
import { getAuth } from "~/server/core/instance";
import { envelope, errorResponse } from "~/server/rest/handler";
import { crossSiteReason } from "~/server/web/guards";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** Sign-out acts on the session cookie, which a cross-site form would carry too: same-origin proof first, as for tRPC. */
export function POST(req: Request) {
  const crossSite = crossSiteReason(req.headers);
  if (crossSite) return errorResponse(new CoreError(403, "CROSS_SITE_REQUEST", `refused: ${crossSite}`));
  getAuth().signOut(readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  return envelope(200, "Signed out", null, { "set-cookie": sessionCookieHeader("", null, false) });
}

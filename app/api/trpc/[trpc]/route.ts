import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "~/server/api/root";
import { readCookie, SESSION_COOKIE } from "~/server/core/auth";
import { readBody } from "~/server/core/body";
import { CoreError } from "~/server/core/errors";
import { getAuth, getCore } from "~/server/core/instance";
import { BODY_LIMITS } from "~/server/core/limits";
import { errorResponse } from "~/server/rest/handler";
import { crossSiteReason } from "~/server/web/guards";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const handle = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => {
      const core = getCore();
      const auth = getAuth();
      const cookie = readCookie(req.headers.get("cookie"), SESSION_COOKIE);
      return { core, auth, actor: auth.session(cookie), sessionCookie: cookie };
    },
  });

export const GET = handle;

/**
 * Mutations: the session cookie rides along with any cross-site form post, so a POST must prove it
 * comes from the dashboard (server/web/guards.ts) before its body is even read; the body is then read
 * within its limit and handed to tRPC.
 */
export async function POST(req: Request) {
  try {
    const crossSite = crossSiteReason(req.headers);
    if (crossSite) throw new CoreError(403, "CROSS_SITE_REQUEST", `refused: ${crossSite}`);
    const body = await readBody(req, BODY_LIMITS.trpc);
    return await handle(new Request(req.url, { method: req.method, headers: req.headers, body: new Uint8Array(body), signal: req.signal }));
  } catch (e) {
    return errorResponse(e);
  }
}

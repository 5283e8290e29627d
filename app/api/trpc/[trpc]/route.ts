import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "~/server/api/root";
import { readCookie, SESSION_COOKIE } from "~/server/core/auth";
import { getAuth, getCore } from "~/server/core/instance";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const handler = (req: Request) =>
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

export { handler as GET, handler as POST };

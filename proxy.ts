// Runs before routing. Next answers a path with malformed percent-encoding (/api/v1/containers/%zz)
// in a dynamic route with a bare "500 Internal Server Error" before any handler runs; refuse it
// here instead: the API's error envelope under /api and /exec, a plain 400 elsewhere.
import { NextResponse, type NextRequest } from "next/server";

function malformedPath(pathname: string): boolean {
  for (const segment of pathname.split("/")) {
    try {
      decodeURIComponent(segment);
    } catch {
      return true;
    }
  }
  return false;
}

export function proxy(req: NextRequest) {
  const { pathname } = req.nextUrl;
  if (!malformedPath(pathname)) return NextResponse.next();
  const message = "the path has malformed percent-encoding";
  if (/^\/(api|exec)\//.test(pathname)) return Response.json({ statusCode: 400, error: "Bad Request", message, code: "MALFORMED_PATH", data: null }, { status: 400 });
  return new Response(`Bad Request: ${message}\n`, { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
}

// Only paths holding an escape that is not %XX or that encodes a non-ASCII byte (where malformed
// UTF-8 hides) reach the proxy: for every other request Next skips it, and with it the request
// body buffering a proxy brings (a route must still answer an oversized body with an early 413).
export const config = { matcher: ["/(.*%(?:(?![0-9A-Fa-f]{2})|[89A-Fa-f][0-9A-Fa-f]).*)"] };

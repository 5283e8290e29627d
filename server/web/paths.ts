// Request paths as the web server hands them to Next.

/**
 * API clients (Hoody's SDK among them) write /api/v1/projects/ as often as /api/v1/projects. For the
 * API and exec scripts both spellings are the same route, answered directly: Next would answer the
 * slashed one with a 308 to the other, a round trip for nothing. Dashboard pages keep Next's redirect.
 */
export function withoutApiTrailingSlash(url: string): string {
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  if (!/^\/(api|exec)\/./.test(pathname) || !pathname.endsWith("/")) return url;
  return pathname.replace(/\/+$/, "") + (q < 0 ? "" : url.slice(q));
}

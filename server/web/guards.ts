// What the web server checks before anything else runs, and what it says about every answer:
// - Host: only names it serves. A page on any other name (DNS rebinding: an attacker's name that
//   resolves to this box) must not get answers a browser would then treat as that page's own.
// - Security headers: no framing (clickjacking of the dashboard), no MIME sniffing, no full URLs in
//   Referer to other sites, and a CSP that keeps scripts, styles and fetches on this origin.
// - Same origin for cookie-authenticated state changes (tRPC mutations): a cross-site form or fetch
//   cannot set a custom header, and a browser names the page's origin in Origin.
import type { IncomingHttpHeaders } from "node:http";

/** The header the dashboard's tRPC client sends; a cross-site form cannot send it, a cross-site fetch only after a CORS preflight Hoody never grants. */
export const SAME_ORIGIN_HEADER = "x-hoody-client";
export const SAME_ORIGIN_VALUE = "dashboard";

// Next's production pages carry inline bootstrap scripts and React inline styles (charts), so those
// stay allowed; everything else (scripts, styles, fetches, frames, forms) is this origin only.
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Sent with every answer of the web server (an exec script's own answer may override them). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** A Host header's name: lower case, no port, no trailing dot, IPv6 without brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, Math.max(1, h.indexOf("]")));
  // A bare IPv6 address (as configured) has no port to drop.
  const name = h.split(":").length > 2 ? h : h.replace(/:\d*$/, "");
  return name.replace(/\.$/, "");
}

/**
 * The names the web server answers for, from HOODY_WEB_HOSTS (comma-separated names or addresses;
 * "*" answers any). Unset: loopback names and addresses and HOODY_DOMAIN. The settings are passed in
 * (server/config.ts): the dashboard's client code imports this module too.
 */
export function servedHosts(settings: { webHosts?: string; domain: string; dashboardHost?: string }): ReadonlySet<string> | "any" {
  const configured = settings.webHosts;
  const list = configured !== undefined ? configured.split(",") : ["localhost", "127.0.0.1", "::1", settings.domain, ...(settings.dashboardHost ? [settings.dashboardHost] : [])];
  const names = list.map((n) => hostName(n)).filter(Boolean);
  return names.includes("*") ? "any" : new Set(names);
}

/** Whether a request is for a name this server serves: its Host, and a trusted proxy's X-Forwarded-Host if any. */
export function isServedHost(headers: IncomingHttpHeaders, served: ReadonlySet<string> | "any"): boolean {
  if (served === "any") return true;
  const forwarded = headers["x-forwarded-host"];
  const names = [headers.host ?? "", ...(forwarded ? String(forwarded).split(",") : [])];
  return names.every((n) => served.has(hostName(n)));
}

/**
 * Why a state-changing request is not proof of this origin, or null when it is: it must carry the
 * dashboard's header, and a browser's Origin (when sent) must name the host it was sent to.
 */
export function crossSiteReason(headers: Headers): string | null {
  if (headers.get(SAME_ORIGIN_HEADER) !== SAME_ORIGIN_VALUE) return `the ${SAME_ORIGIN_HEADER} header is missing`;
  const origin = headers.get("origin");
  if (origin === null) return null;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `Origin ${origin.slice(0, 100)} is not this site`;
  }
  // Behind a trusted proxy the name the browser used is its X-Forwarded-Host (dropped from anyone else).
  const served = (headers.get("x-forwarded-host")?.split(",")[0] ?? headers.get("host") ?? "").trim().toLowerCase();
  return originHost === served ? null : `Origin ${origin.slice(0, 100)} is not this site`;
}

// Entry point of the tenant router (a service of its own: `npm run up` starts it).
import { ensureProxySecret } from "../caddy/caddy";
import { getCore } from "../core/instance";
import { tlsOn, webConfig } from "../config";
import { DEFAULT_ROUTER_OPTIONS, TenantRouter } from "./router";

const settings = webConfig();
const port = settings.routerPort;
// Behind Caddy the router listens on loopback only (HOODY_ROUTER_HOST overrides), and trusts Caddy's
// forwarding headers when they come with the secret both share.
const behindCaddy = tlsOn(settings);
const host = settings.routerHost ?? (behindCaddy ? "127.0.0.1" : "0.0.0.0");
const router = new TenantRouter(getCore(), {
  ...DEFAULT_ROUTER_OPTIONS,
  domain: settings.domain,
  idleSweepMs: settings.idleSweepMs ?? DEFAULT_ROUTER_OPTIONS.idleSweepMs,
  ...(behindCaddy && { proxy: { secret: ensureProxySecret(settings.dataDir), publicPort: settings.httpsPort } }),
});
await router.listen(port, host);
console.log(
  `router: http://<tenant>.${settings.domain}:${port}/ on ${host}${behindCaddy ? ` behind Caddy (https://<tenant>.${settings.domain}:${settings.httpsPort}/)` : ""} (health: /.hoody/health)`,
);
const stop = () => void router.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// Entry point of the tenant router (a service of its own: `npm run up` starts it).
import { getCore } from "../core/instance";
import { webConfig } from "../config";
import { DEFAULT_ROUTER_OPTIONS, TenantRouter } from "./router";

const settings = webConfig();
const port = settings.routerPort;
const router = new TenantRouter(getCore(), {
  ...DEFAULT_ROUTER_OPTIONS,
  domain: settings.domain,
  idleSweepMs: settings.idleSweepMs ?? DEFAULT_ROUTER_OPTIONS.idleSweepMs,
});
await router.listen(port, settings.routerHost);
console.log(`router: http://<tenant>.${settings.domain}:${port}/ (health: /.hoody/health)`);
const stop = () => void router.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

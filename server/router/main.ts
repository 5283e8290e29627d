// Entry point of the tenant router (a service of its own: `npm run up` starts it).
import { getCore } from "../core/instance";
import { DEFAULT_ROUTER_OPTIONS, TenantRouter } from "./router";

const port = Number(process.env.HOODY_ROUTER_PORT ?? 8080);
const router = new TenantRouter(getCore(), {
  ...DEFAULT_ROUTER_OPTIONS,
  domain: process.env.HOODY_DOMAIN ?? "localhost",
  idleSweepMs: Number(process.env.HOODY_IDLE_SWEEP_MS ?? DEFAULT_ROUTER_OPTIONS.idleSweepMs),
});
await router.listen(port, process.env.HOODY_ROUTER_HOST ?? "0.0.0.0");
console.log(`router: http://<tenant>.${process.env.HOODY_DOMAIN ?? "localhost"}:${port}/ (health: /.hoody/health)`);
const stop = () => void router.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// `npm run down`: stops Hoody's services (systemd units where systemd is PID 1: stopped and disabled,
// so they stay down at the next boot until `npm run up`; else the detached processes). Tenants keep
// running (they are LXC's own processes) unless --all is given, which stops every tenant first.
import { type Service, stopService } from "./services.js";
import { caddy, hostClient, hostd, router, web } from "./stack.js";
import { stopUnit, systemdIsPid1, unitName } from "./systemd.js";

async function main() {
  const all = process.argv.includes("--all");
  const units = await systemdIsPid1();
  console.log(`[down] service mode: ${units ? "systemd units" : "detached processes"}`);
  // A unit, and any process the detached mode left from before the units existed.
  const stop = async (s: Service) => {
    const unit = units && (await stopUnit(s));
    const detached = await stopService(s);
    return unit || detached ? `stopped${unit ? ` (${unitName(s)}, disabled)` : ""}` : "not running";
  };
  console.log(`[down] caddy: ${await stop(caddy)}`);
  console.log(`[down] tenant router: ${await stop(router)}`);
  console.log(`[down] dashboard: ${await stop(web)}`);
  if (all) {
    const tenants = await hostClient.call("tenants.list", {}).catch(() => []);
    for (const t of tenants.filter((t) => t.state === "running")) {
      await hostClient.call("tenants.stop", { id: t.id });
      console.log(`[down] tenant ${t.name} (${t.id}) stopped`);
    }
  }
  console.log(`[down] host daemon: ${await stop(hostd)}`);
}

main().catch((e) => {
  console.error(`[down] failed: ${(e as Error).message}`);
  process.exit(1);
});

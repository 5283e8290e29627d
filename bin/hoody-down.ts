// `npm run down`: stops Hoody's services. Tenants keep running (they are LXC's own processes)
// unless --all is given, which stops every tenant first.
import { stopService } from "./services.js";
import { hostClient, hostd, router, web } from "./stack.js";

async function main() {
  const all = process.argv.includes("--all");
  console.log(`[down] tenant router: ${(await stopService(router)) ? "stopped" : "not running"}`);
  console.log(`[down] dashboard: ${(await stopService(web)) ? "stopped" : "not running"}`);
  if (all) {
    const tenants = await hostClient.call("tenants.list", {}).catch(() => []);
    for (const t of tenants.filter((t) => t.state === "running")) {
      await hostClient.call("tenants.stop", { id: t.id });
      console.log(`[down] tenant ${t.name} (${t.id}) stopped`);
    }
  }
  console.log(`[down] host daemon: ${(await stopService(hostd)) ? "stopped" : "not running"}`);
}

main().catch((e) => {
  console.error(`[down] failed: ${(e as Error).message}`);
  process.exit(1);
});

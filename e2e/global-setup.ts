// e2e runs against a whole real Hoody: its own pool, host daemon, production web build and router
// on fixed ports, torn down afterwards. The admin password is handed to the tests via a file.
import fs from "node:fs/promises";
import path from "node:path";
import { TestStack } from "../testkit/stack-harness";

export const E2E_PORT = Number(process.env.HOODY_E2E_PORT ?? 3917);
export const E2E_ROUTER_PORT = Number(process.env.HOODY_E2E_ROUTER_PORT ?? 3918);
export const E2E_STATE = path.resolve(import.meta.dirname, "..", "test-results", "e2e-stack.json");

export default async function globalSetup() {
  // Stats sampled every 5 s (15 s in production): the history chart's second 15-second point comes sooner.
  const stack = await TestStack.create({ templates: ["mini", "starter"], port: E2E_PORT, routerPort: E2E_ROUTER_PORT, poolSizeMiB: 6144, webEnv: { HOODY_STATS_SAMPLE_MS: "5000" } });
  await stack.startRouter();
  await fs.mkdir(path.dirname(E2E_STATE), { recursive: true });
  await fs.writeFile(E2E_STATE, JSON.stringify({ password: stack.adminPassword, token: stack.adminToken, url: stack.url, routerPort: E2E_ROUTER_PORT }));
  return async () => {
    await stack.stop();
    await fs.rm(E2E_STATE, { force: true });
  };
}

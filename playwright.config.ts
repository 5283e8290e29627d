import { defineConfig } from "@playwright/test";

const port = Number(process.env.HOODY_E2E_PORT ?? 3917);

// Debian's chromium, never a downloaded browser; flags keep it off the (closed) network.
export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  webServer: {
    // The production build (npm run test:e2e builds it first).
    command: `node_modules/.bin/next start -p ${port} -H 127.0.0.1`,
    // HOODY_NEXT_DIST (set by npm run test:e2e) points next start at the e2e build.
    url: `http://127.0.0.1:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    env: { NEXT_TELEMETRY_DISABLED: "1" },
  },
});

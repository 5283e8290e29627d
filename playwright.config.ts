import { defineConfig } from "@playwright/test";

const port = Number(process.env.HOODY_E2E_PORT ?? 3917);

// Debian's chromium, never a downloaded browser; flags keep it off the (closed) network.
// globalSetup brings up a whole real stack (host daemon, production build in .next-test, router).
export default defineConfig({
  testDir: "e2e",
  testMatch: /.*\.spec\.ts/,
  globalSetup: "./e2e/global-setup.ts",
  timeout: 120_000,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});

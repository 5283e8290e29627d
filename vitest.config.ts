import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Integration files drive real LXC, BTRFS and nftables on a 2-core box: one file at a time.
    fileParallelism: false,
    projects: [
      {
        // The dashboard's "~/" imports (tsconfig paths), for its unit tests under app/.
        resolve: { alias: { "~": fileURLToPath(new URL(".", import.meta.url)) } },
        test: {
          name: "unit",
          include: ["server/**/*.test.ts", "bin/**/*.test.ts", "app/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.int.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});

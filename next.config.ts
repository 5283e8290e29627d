import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // e2e tests build into their own folder so they never clobber the running production build.
  distDir: process.env.HOODY_NEXT_DIST ?? ".next",
  // Native / process-spawning modules must stay in node_modules and be
  // required at runtime instead of being bundled.
  serverExternalPackages: ["better-sqlite3", "koffi", "execa", "prom-client"],
  typedRoutes: false,
  poweredByHeader: false,
  experimental: {
    // Next 16 checks registry.npmjs.org for security advisories during
    // `next build` / `next dev` (and can halt the build with an "upgrade"
    // nudge when run by a coding agent). Keep builds offline and deterministic.
    agentUpgrade: false,
  },
};

export default nextConfig;

// The dashboard's production build, made only when its sources changed since the last one. Shared by
// `npm run up` (.next) and `npm run build:test` (.next-test), so neither builds what is current.
// Usage: tsx bin/web-build.ts [distDir]
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { webConfig } from "../server/config.js";
import { ROOT } from "./services.js";

const WEB_SOURCES = ["app", "public", "server", "drizzle", "instrumentation.ts", "proxy.ts", "next.config.ts", "package-lock.json"];

/** What the code of some paths is now: HEAD plus uncommitted changes (a crude but honest version). */
export async function sourceStamp(paths: string[]): Promise<string> {
  const { stdout: head } = await execa("git", ["rev-parse", "HEAD"], { cwd: ROOT, reject: false });
  const { stdout: diff } = await execa("git", ["diff", "HEAD", "--", ...paths], { cwd: ROOT, reject: false });
  const { stdout: untracked } = await execa("git", ["ls-files", "--others", "--exclude-standard", "--", ...paths], { cwd: ROOT, reject: false });
  return `${head}\n${diff.length}:${diff.slice(0, 64)}:${diff.slice(-64)}\n${untracked}`;
}

export function webDistDir(): string {
  return webConfig().nextDist;
}

/** The stamp file of a build: the sources it was made from. */
export function webStampFile(dist = webDistDir()): string {
  return path.join(ROOT, dist, "hoody-build-stamp");
}

/** Builds the dashboard into `dist` unless a build of the current sources is there; says whether it built. */
export async function ensureWebBuild(dist = webDistDir(), log: (m: string) => void = console.log): Promise<boolean> {
  const stamp = await sourceStamp(WEB_SOURCES);
  const current = await fs.readFile(webStampFile(dist), "utf8").catch(() => null);
  if (current === stamp && (await fs.stat(path.join(ROOT, dist, "BUILD_ID")).catch(() => null))) {
    log(`dashboard build in ${dist} is current`);
    return false;
  }
  log(`building the dashboard into ${dist} (next build)`);
  const tsconfig = await fs.readFile(path.join(ROOT, "tsconfig.json"), "utf8");
  try {
    await execa(path.join(ROOT, "node_modules/.bin/next"), ["build"], { cwd: ROOT, stdio: "inherit", env: { NEXT_TELEMETRY_DISABLED: "1", HOODY_NEXT_DIST: dist } });
  } finally {
    // next build adds a custom distDir's type paths to tsconfig's include; the checkout stays as committed.
    await fs.writeFile(path.join(ROOT, "tsconfig.json"), tsconfig);
  }
  await fs.writeFile(webStampFile(dist), stamp);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureWebBuild(process.argv[2] ?? webDistDir()).catch((e) => {
    console.error(`[build] failed: ${(e as Error).message}`);
    process.exit(1);
  });
}

// Built-in template recipes. A recipe fills an empty rootfs directory (a fresh subvolume) and
// declares the template's settings. Built from Debian packages on this machine; slow builds are
// cached as a tarball keyed by the recipe's own files, so a rebuild is skipped.
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { run, trace } from "../shared/sys.js";
import { TemplateSettingsSchema, type TemplateSettings } from "../shared/protocol.js";

export type Progress = (percent: number, message: string) => void;

export interface Recipe {
  name: string;
  description: string;
  settings: TemplateSettings;
  build(rootfs: string, progress: Progress, cacheDir: string): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

const appPortRule = (port: number) => ({
  direction: "ingress" as const,
  action: "allow" as const,
  protocol: "tcp" as const,
  destination_port: String(port),
  source: "host" as const,
  description: "the Hoody host (router, health checks) reaches the app port",
  state: "enabled" as const,
});

const BUSYBOX_APPLETS = [
  "sh",
  "httpd",
  "ls",
  "cat",
  "id",
  "env",
  "echo",
  "sleep",
  "mkdir",
  "rm",
  "dd",
  "ps",
  "wc",
  "head",
  "tail",
  "grep",
  "df",
  "mount",
  "nc",
  "wget",
  "true",
  "false",
  "kill",
  "touch",
  "sync",
  "stat",
  "seq",
  "ip",
  "hostname",
  "uname",
];

const mini: Recipe = {
  name: "mini",
  description: "busybox-static: an HTTP server on its app port, for fast tests",
  settings: TemplateSettingsSchema.parse({
    initCmd: ["/bin/sh", "/hoody/init"],
    appPort: 8080,
    env: { PORT: "8080" },
    limits: { memoryMiB: 64, cpuMilli: 500, pids: 64, diskMiB: 256 },
    ramdiskMiB: 16,
    firewall: [appPortRule(8080)],
    ksm: true,
    sharedPaths: [],
    idleTimeoutS: 300,
  }),
  async build(rootfs, progress) {
    progress(10, "laying out busybox rootfs");
    for (const d of ["bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "data", "ramdisk", "hoody", "root"]) {
      await fs.mkdir(path.join(rootfs, d), { recursive: true });
    }
    await fs.copyFile("/bin/busybox", path.join(rootfs, "bin/busybox"));
    await fs.chmod(path.join(rootfs, "bin/busybox"), 0o755);
    for (const a of BUSYBOX_APPLETS) await fs.symlink("busybox", path.join(rootfs, "bin", a));
    await fs.writeFile(path.join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    await fs.writeFile(path.join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    await fs.copyFile(path.join(here, "mini/init.sh"), path.join(rootfs, "hoody/init"));
    await fs.chmod(path.join(rootfs, "hoody/init"), 0o755);
    await fs.chmod(path.join(rootfs, "tmp"), 0o1777);
    progress(100, "done");
  },
};

const starter: Recipe = {
  name: "starter",
  description: "Debian bookworm minbase with a Python app keeping state in SQLite",
  settings: TemplateSettingsSchema.parse({
    initCmd: ["/usr/bin/python3", "/opt/hoody-app/app.py"],
    appPort: 8080,
    env: { PORT: "8080" },
    limits: { memoryMiB: 256, cpuMilli: 1000, pids: 256, diskMiB: 2048 },
    ramdiskMiB: 64,
    firewall: [appPortRule(8080)],
    ksm: true,
    sharedPaths: ["/usr"],
    idleTimeoutS: 900,
  }),
  async build(rootfs, progress, cacheDir) {
    const dir = path.join(here, "starter");
    const hash = createHash("sha256");
    // Files only: a __pycache__ left by a py_compile of app.py is no input of the build.
    const inputs = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    for (const f of inputs.sort()) hash.update(f).update(await fs.readFile(path.join(dir, f)));
    const cache = path.join(cacheDir, `starter-${hash.digest("hex").slice(0, 16)}.tar`);
    if (
      await fs.stat(cache).then(
        () => true,
        () => false,
      )
    ) {
      progress(50, `unpacking cached rootfs ${cache}`);
      await run("tar", ["-xpf", cache, "-C", rootfs, "--numeric-owner"], { timeoutMs: 600_000 });
      // Its use is its age: pruning keeps the tarballs used last.
      const now = new Date();
      await fs.utimes(cache, now, now).catch(() => undefined);
      progress(100, "done (from cache)");
      return;
    }
    trace({ argv: ["bash", path.join(dir, "build.sh"), rootfs] });
    const child = execa("bash", [path.join(dir, "build.sh"), rootfs], { all: true, timeout: 1_800_000, reject: false });
    let tail = "";
    for await (const line of child.iterable({ from: "all" })) {
      const text = String(line);
      tail = (tail + text + "\n").slice(-4000);
      const m = /^progress: (\d+) (.*)$/.exec(text);
      if (m) progress(Math.min(95, Number(m[1])), m[2] ?? "");
    }
    const r = await child;
    if (r.exitCode !== 0) throw new Error(`starter build failed (exit ${r.exitCode}): ${tail}`);
    progress(96, "caching rootfs");
    await fs.mkdir(cacheDir, { recursive: true });
    const tmp = `${cache}.tmp-${process.pid}`;
    await run("tar", ["-cpf", tmp, "-C", rootfs, "--numeric-owner", "."], { timeoutMs: 600_000 });
    await fs.rename(tmp, cache);
    await pruneCachedBuilds(cacheDir, "starter-", path.basename(cache));
    progress(100, "done");
  },
};

export const RECIPES: Record<string, Recipe> = { mini, starter };

/** How many cached builds of a recipe are kept: the current one and the one before (a checkout switched back and forth rebuilds neither). */
const CACHED_BUILDS_KEPT = 2;

/**
 * Removes a recipe's cached builds past the CACHED_BUILDS_KEPT used last (each starter tarball is
 * about 120 MB, one per version of its files: they piled up), and temporary files of builds whose
 * process is gone. `current` is always kept.
 */
export async function pruneCachedBuilds(cacheDir: string, prefix: string, current: string): Promise<string[]> {
  const names = (await fs.readdir(cacheDir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  const removed: string[] = [];
  const remove = async (n: string) => {
    await fs.rm(path.join(cacheDir, n), { force: true });
    removed.push(n);
  };
  for (const n of names) {
    const pid = /\.tmp-(\d+)$/.exec(n)?.[1];
    if (pid && !processExists(Number(pid))) await remove(n);
  }
  const builds = await Promise.all(names.filter((n) => n.endsWith(".tar") && n !== current).map(async (n) => ({ n, usedAt: (await fs.stat(path.join(cacheDir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  builds.sort((a, b) => b.usedAt - a.usedAt);
  for (const b of builds.slice(CACHED_BUILDS_KEPT - 1)) await remove(b.n);
  return removed;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

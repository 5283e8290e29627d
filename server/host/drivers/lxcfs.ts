// lxcfs: a FUSE filesystem whose /proc/{meminfo,cpuinfo,uptime,loadavg,stat,diskstats,swaps} and
// /sys/devices/system/cpu answer for the cgroup of the process reading them. Laid over the tenant's
// own /proc (tenant-proc.hook) and /sys/devices/system/cpu (a bind LXC makes), they show a tenant its memory
// limit, its CPUs and its uptime instead of the host's (as Incus does). One lxcfs serves the whole host at
// /var/lib/lxcfs: on Debian with systemd lxcfs.service runs it; where nothing does (no systemd as
// PID 1), the daemon starts it, detached, so it outlives the daemon like the tenants it serves.
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import { haveCommand, run, startDetached } from "../../shared/sys.js";

export const LXCFS_DIR = "/var/lib/lxcfs";
/** LXC's hook from the lxcfs package: not run (lxc.ts binds what it would), its presence says the package is whole. */
const LXCFS_MOUNT_HOOK = "/usr/share/lxcfs/lxc.mount.hook";

function lxcfsMounted(): boolean {
  // mountinfo: "… <mount point> … - <fstype> <source> …"
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === LXCFS_DIR && / - fuse\.lxcfs /.test(line));
}

/** A mount whose lxcfs died answers ENOTCONN: it serves nothing and must be replaced. */
async function lxcfsAnswers(): Promise<boolean> {
  return fs.readFile(`${LXCFS_DIR}/proc/uptime`, "utf8").then(
    () => true,
    () => false,
  );
}

/**
 * Makes sure an lxcfs serves at /var/lib/lxcfs; says what it found or did (for the daemon's log), or
 * that lxcfs is not installed (tenants then see the host's /proc values).
 */
export async function ensureLxcfs(logFile: string): Promise<{ serving: boolean; message: string }> {
  if (!(await haveCommand("lxcfs")) || !(await fs.stat(LXCFS_MOUNT_HOOK).catch(() => null))) {
    return { serving: false, message: "lxcfs is not installed: tenants see the host's /proc/meminfo, cpuinfo, uptime and load" };
  }
  let stale = false;
  if (lxcfsMounted()) {
    if (await lxcfsAnswers()) return { serving: true, message: `lxcfs already serves ${LXCFS_DIR}` };
    await run("umount", ["-l", LXCFS_DIR]);
    stale = true;
  }
  await fs.mkdir(LXCFS_DIR, { recursive: true, mode: 0o755 });
  // -l and --enable-cfs: load average and CPU count from the tenant's own cgroup (its cpu quota).
  const { pid, exited } = startDetached("lxcfs", ["--enable-loadavg", "--enable-cfs", LXCFS_DIR], logFile);
  let ended: number | null = null;
  void exited.then((code) => (ended = code));
  const deadline = Date.now() + 15_000;
  while (!(lxcfsMounted() && (await lxcfsAnswers()))) {
    if (ended !== null) throw new Error(`lxcfs exited ${ended} before serving ${LXCFS_DIR}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`lxcfs (pid ${pid}) did not serve ${LXCFS_DIR} within 15 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { serving: true, message: `${stale ? "replaced a dead lxcfs mount: " : ""}started lxcfs (pid ${pid}) at ${LXCFS_DIR}, log ${logFile}` };
}

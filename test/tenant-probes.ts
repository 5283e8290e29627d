// Probes that run as a tenant would, for the suites that attack a real host from inside tenants
// (reliability/isolation, reliability/hostile/kernel).
import { execa } from "execa";
import type { TenantInfo } from "../server/shared/protocol.js";
import type { TestHost } from "../testkit/host-harness.js";

/** A shell command inside the tenant (lxc-attach: its namespaces, cgroup and capabilities). */
export async function tenantShell(h: TestHost, t: TenantInfo, script: string, timeoutMs = 30_000) {
  const r = await h.client.call("tenants.exec", { id: t.id, command: ["/bin/sh", "-c", script], timeoutMs });
  return { ...r, out: r.stdout + r.stderr };
}

export async function initPid(h: TestHost, t: TenantInfo): Promise<number> {
  return Number((await h.lxc("lxc-info", t.id, "-pH")).stdout.trim());
}

/**
 * The host's python3 in the tenant's network namespace (the tenants' busybox has no UDP, raw-socket or
 * inotify tool): its packets enter and leave through the tenant's own veth, exactly as the tenant's
 * would. asTenantRoot also enters the tenant's user namespace as its root (host uid = its uid base),
 * so the kernel charges what the probe holds to the tenant's counts, as it charges the tenant's own.
 * The child comes wrapped: an execa child is itself a promise, and an async function returning it
 * bare would hand back its result, not the running process.
 */
export async function spawnInTenant(h: TestHost, t: TenantInfo, code: string, opts: { timeoutMs?: number; asTenantRoot?: boolean } = {}) {
  const user = opts.asTenantRoot ? ["-U", "-S", "0", "-G", "0"] : [];
  return {
    child: execa("nsenter", ["-t", String(await initPid(h, t)), ...user, "-n", "python3", "-c", code], { reject: false, timeout: opts.timeoutMs ?? 10_000 }),
  };
}
export const inTenant = async (h: TestHost, t: TenantInfo, code: string, opts: { timeoutMs?: number; asTenantRoot?: boolean } = {}) => (await spawnInTenant(h, t, code, opts)).child;

/** Resolves once the child printed a whole line holding `word` (a probe saying it is ready); rejects if it ends first. */
export function printed(child: Awaited<ReturnType<typeof spawnInTenant>>["child"], word: string): Promise<string> {
  let out = "";
  return new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      if (
        out
          .split("\n")
          .slice(0, -1)
          .some((line) => line.includes(word))
      )
        resolve(out);
    });
    child.then((r) => reject(new Error(`probe ended before it printed ${word}: ${r.stdout}${r.stderr}`)), reject);
  });
}

/**
 * A UDP receiver on t:port, returned once it is bound, so no datagram is sent before it can arrive. It
 * stops at the first datagram holding `stopAt` (or after `seconds`); `done` gives the datagrams that
 * arrived, one per line. `echo` answers each datagram to its sender (a flow conntrack then calls
 * established). A negative check sends `stopAt` from an allowed sender after the forbidden one, so the
 * receiver provably listened the whole time.
 */
export async function udpReceiver(h: TestHost, t: TenantInfo, port: number, stopAt: string, opts: { seconds?: number; echo?: boolean } = {}) {
  const seconds = opts.seconds ?? 20;
  const { child } = await spawnInTenant(
    h,
    t,
    `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",${port}))\nprint("BOUND", flush=True)\ns.settimeout(${seconds})\ntry:\n  while True:\n    d,a=s.recvfrom(100)\n    ${opts.echo ? "s.sendto(d,a)" : "pass"}\n    d=d.decode(); print(d, flush=True)\n    if ${JSON.stringify(stopAt)} in d: break\nexcept OSError: pass`,
    { timeoutMs: seconds * 1000 + 5000 },
  );
  await printed(child, "BOUND");
  return { done: child };
}

/**
 * Three datagrams from t to ip:port, from `from` (an address) and `sport` if given. awaitReply: each
 * waits for the receiver's echo, and the send fails without one.
 */
export const udpSend = (h: TestHost, t: TenantInfo, ip: string, port: number, payload: string, opts: { from?: string; sport?: number; awaitReply?: boolean } = {}) =>
  inTenant(
    h,
    t,
    `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n${opts.from || opts.sport ? `s.bind(("${opts.from ?? "0.0.0.0"}",${opts.sport ?? 0}))\n` : ""}s.settimeout(5)\nfor _ in range(3):\n  s.sendto(b"${payload}",("${ip}",${port}))\n  ${opts.awaitReply ? "s.recv(100)" : "time.sleep(0.2)"}`,
  );

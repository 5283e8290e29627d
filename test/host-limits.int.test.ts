// Every tenant range at its share of a per-user kernel count must fit below host root's limit beside
// root's reserve, or one tenant could starve the rest through root's count. A kernel that will not
// raise the limit (this project's build VM caps user.max_*_namespaces at 96365, and writes to them
// answer EACCES) must not stop the host daemon: each tenant's share is lowered until all ranges fit.
// Where the kernel does raise it, the share stays as asked. Either way the test checks the invariant
// with the system's own numbers: the host limit in /proc/sys and the limit a tenant sees inside.
import fs from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestHost } from "../testkit/host-harness.js";

const RANGES = 64;
const ASKED = 2000;
const RESERVE = 10_000;
let h: TestHost;

beforeAll(async () => {
  // 10,000 + 64 × 2,000 = 138,000: above the capped VM's 96,365, so there it cannot be raised.
  h = await TestHost.create({ uidRanges: RANGES, hostEnv: { HOODY_TENANT_NAMESPACES: String(ASKED) } });
  await h.client.buildTemplate("mini");
});
afterAll(async () => {
  await h?.stop();
});

describe("host limits a kernel will not raise", () => {
  it("starts, and gives each tenant a share that fits the host limit", async () => {
    const t = await h.client.call("tenants.create", { template: "mini" });
    const inside = await h.client.call("tenants.exec", { id: t.id, command: ["/bin/cat", "/proc/sys/user/max_net_namespaces"] });
    expect(inside.exitCode).toBe(0);
    const share = Number(inside.stdout.trim());
    const hostLimit = Number((await fs.readFile("/proc/sys/user/max_net_namespaces", "utf8")).trim());
    // Control: the tenant's own view is a real share (the hook wrote it), not the host's value.
    expect(share).toBeGreaterThanOrEqual(1);
    expect(share).toBeLessThanOrEqual(ASKED);
    expect(share).not.toBe(hostLimit);
    expect(RESERVE + RANGES * share).toBeLessThanOrEqual(hostLimit);
    if (hostLimit >= RESERVE + RANGES * ASKED) {
      // The kernel raised it (or it was high enough): the share is as asked.
      expect(share).toBe(ASKED);
    } else {
      // Refused: lowered to what fits, and the daemon said so.
      expect(share).toBe(Math.floor((hostLimit - RESERVE) / RANGES));
      expect(h.daemonLog).toMatch(/max_net_namespaces is \d+ and this kernel refuses to raise it/);
    }
    await h.client.call("tenants.delete", { id: t.id });
  });
});

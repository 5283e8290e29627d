import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HeldKernelFiles } from "./kernfile.js";
import { netDevCounters, parseNetDev, parseStartTicks, ProcessStarts } from "./procinfo.js";

describe("parseNetDev", () => {
  it("reads rx and tx counters per interface, skipping the two header lines", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo: 3765224818  951953    0    0    0     0          0         0 3765224818  951953    0    0    0     0       0          0",
      "hxa1b2c3:    1200      10    1    2    0     0          0         0     3400      20    3    4    0     0       0          0",
      "",
    ].join("\n");
    const m = parseNetDev(text);
    expect(m.get("hxa1b2c3")).toEqual({ rxBytes: 1200, rxPackets: 10, rxErrors: 1, rxDropped: 2, txBytes: 3400, txPackets: 20, txErrors: 3, txDropped: 4 });
    expect(m.get("lo")?.txBytes).toBe(3765224818);
    expect(m.size).toBe(2);
  });

  it("skips a line whose counters are not sixteen numbers, and reads the last line without a newline", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "  bad1:    1200      10    1    2    0     0          0         0     3400      20    3    4    0     0       0",
      "  bad2:    1200      10    1    2    0     0          0         0     3400      20    3    4    0     0       0          0  9",
      "  bad3:    1200      1x    1    2    0     0          0         0     3400      20    3    4    0     0       0          0",
      "  eth0:       5       6    0    0    0     0          0         0        7       8    0    0    0     0       0          0",
    ].join("\n");
    const m = parseNetDev(text);
    expect([...m.keys()]).toEqual(["eth0"]);
    expect(m.get("eth0")).toEqual({ rxBytes: 5, rxPackets: 6, rxErrors: 0, rxDropped: 0, txBytes: 7, txPackets: 8, txErrors: 0, txDropped: 0 });
  });
});

describe("parseStartTicks", () => {
  it("takes field 22 even when the command name holds spaces and parentheses", () => {
    const rest = "S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 994021 3133440 412";
    expect(parseStartTicks(`8337 (cat) ${rest}`)).toBe(994021);
    expect(parseStartTicks(`8337 (a (b) c) ${rest}`)).toBe(994021);
  });
});

describe("ProcessStarts", () => {
  const startOf = (pid: number) => parseStartTicks(readFileSync(`/proc/${pid}/stat`, "latin1"))!;

  it("reads a process's start once while its identity holds, again when the identity changes", async () => {
    const identity = new Map<number, number>();
    const starts = new ProcessStarts((pid) => identity.get(pid) ?? null);
    const child = spawn("sleep", ["60"]);
    try {
      const pid = child.pid!;
      identity.set(pid, 1);
      const first = starts.oldestMs([pid]);
      expect(first).not.toBeNull();
      // Older than this test's own process: the oldest of the two is this one.
      expect(starts.oldestMs([pid, process.pid])).toBeLessThanOrEqual(first!);
      expect(startOf(process.pid)).toBeLessThanOrEqual(startOf(pid));
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      // Same identity: the start known before, no read (the process is gone, a read would find nothing).
      expect(starts.oldestMs([pid])).toBe(first);
      // A new identity (a new process under the pid): read again, and nothing is there.
      identity.set(pid, 2);
      expect(starts.oldestMs([pid])).toBeNull();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("with held ksm_stat opens as identity, a process that exited is not taken for the pid's next one", async () => {
    const files = new HeldKernelFiles(8);
    const starts = new ProcessStarts((pid) => files.openOf(`/proc/${pid}/ksm_stat`));
    const child = spawn("sleep", ["60"]);
    try {
      const pid = child.pid!;
      expect(files.text(`/proc/${pid}/ksm_stat`)).not.toBeNull();
      expect(starts.oldestMs([pid])).not.toBeNull();
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      // The collection reads ksm_stat first: the held file fails and is dropped, so the identity goes.
      expect(files.text(`/proc/${pid}/ksm_stat`)).toBeNull();
      expect(starts.oldestMs([pid])).toBeNull();
      starts.prune();
    } finally {
      child.kill("SIGKILL");
      files.closeAll();
    }
  });
});

describe("netDevCounters", () => {
  it("reads a few interfaces from sysfs as /proc/net/dev shows them, and leaves out one that is not there", () => {
    const fromSysfs = netDevCounters(["lo", "hoody-no-such-if"]);
    const fromProc = netDevCounters();
    expect([...fromSysfs.keys()]).toEqual(["lo"]);
    // Loopback's counters move only when something on this host talks over it; the two reads are
    // moments apart, so each counter of the later read (/proc) is at least the earlier's (sysfs).
    const s = fromSysfs.get("lo")!;
    const p = fromProc.get("lo")!;
    for (const key of Object.keys(s) as (keyof typeof s)[]) expect(p[key]).toBeGreaterThanOrEqual(s[key]);
    expect(p.rxBytes - s.rxBytes).toBeLessThan(1e9);
  });
});

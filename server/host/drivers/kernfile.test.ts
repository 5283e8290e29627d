import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { HeldKernelFiles, heldFileBudget, readKernelNumber, readKernelText } from "./kernfile";

describe("readKernelText", () => {
  it("reads a seq_file longer than a page whole (they answer a page per read: a short read is not the end)", () => {
    const whole = readFileSync("/proc/self/smaps", "latin1");
    expect(whole.length).toBeGreaterThan(16 * 1024);
    const text = readKernelText("/proc/self/smaps")!;
    // The process's own mappings may change between the two reads; their first lines do not.
    expect(text.length).toBeGreaterThan(whole.length / 2);
    expect(text.split("\n")[0]).toBe(whole.split("\n")[0]);
  });

  it("reads sysfs and procfs values, and answers null for what cannot be read", () => {
    expect(readKernelNumber("/proc/sys/kernel/pid_max")).toBe(Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")));
    expect(readKernelText("/proc/self/nonexistent")).toBeNull();
    expect(readKernelNumber("/proc/self/status")).toBeNull();
  });
});

describe("readKernelText on files of many short records", () => {
  it("reads a cgroup.procs-like seq_file of tens of KiB whole (/proc/self/maps of a process with many mappings)", () => {
    const whole = readFileSync("/proc/self/maps", "latin1");
    const text = readKernelText("/proc/self/maps")!;
    expect(text.length).toBeGreaterThan(4096);
    expect(text.split("\n").length).toBeGreaterThan(whole.split("\n").length / 2);
  });
});

describe("HeldKernelFiles", () => {
  const openFds = () => readdirSync("/proc/self/fd").length;

  it("reads a held file anew at each read (a value that changes between reads)", () => {
    const files = new HeldKernelFiles(8);
    try {
      // This process's minor fault count grows with what it touches between two reads.
      const faults = () => Number(files.text("/proc/self/stat")!.split(") ")[1]!.split(" ")[7]);
      const first = faults();
      Buffer.alloc(8 * 1024 * 1024).fill(1);
      expect(files.size).toBe(1);
      expect(faults()).toBeGreaterThan(first);
      expect(files.size).toBe(1);
    } finally {
      files.closeAll();
    }
  });

  it("never shows an exited process's value: its held file is dropped, the path opened anew (null when nothing is there)", async () => {
    const files = new HeldKernelFiles(8);
    const child = spawn("sleep", ["60"]);
    try {
      const file = `/proc/${child.pid}/stat`;
      expect(files.text(file)).toContain("(sleep)");
      expect(files.size).toBe(1);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      expect(files.text(file)).toBeNull();
      expect(files.size).toBe(0);
    } finally {
      child.kill("SIGKILL");
      files.closeAll();
    }
  });

  it("holds at most max files (the rest are read and closed) and closes those not read for the idle time", () => {
    const before = openFds();
    const files = new HeldKernelFiles(2);
    for (const f of ["/proc/self/stat", "/proc/self/statm", "/proc/self/status"]) expect(files.text(f)).not.toBeNull();
    expect(files.size).toBe(2);
    expect(openFds()).toBe(before + 2);
    expect(files.number("/proc/sys/kernel/pid_max")).toBe(Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")));
    files.release(0);
    expect(files.size).toBe(0);
    expect(openFds()).toBe(before);
  });

  it("closes the held files under a prefix not read since a moment (a process no collection met)", () => {
    const files = new HeldKernelFiles(8);
    try {
      files.text("/proc/self/stat");
      files.text("/proc/sys/kernel/pid_max");
      const since = Date.now() + 1;
      files.closeUnread("/proc/self/", since);
      expect(files.openOf("/proc/self/stat")).toBeNull();
      expect(files.openOf("/proc/sys/kernel/pid_max")).not.toBeNull();
      // Read after the moment: kept.
      files.text("/proc/self/statm");
      files.closeUnread("/proc/self/", Date.now() - 60_000);
      expect(files.openOf("/proc/self/statm")).not.toBeNull();
    } finally {
      files.closeAll();
    }
  });

  it("budgets the soft open-file limit less a reserve, at least half of it, at most 16,384, none when unknown", () => {
    expect(heldFileBudget("Max open files            20000                20000                files     ")).toBe(15_904);
    expect(heldFileBudget("Max open files            1024                 524288               files     ")).toBe(512);
    expect(heldFileBudget("Max open files            1048576              1048576              files     ")).toBe(16_384);
    expect(heldFileBudget("Max open files            unlimited            unlimited            files     ")).toBe(16_384);
    expect(heldFileBudget("")).toBe(0);
  });
});

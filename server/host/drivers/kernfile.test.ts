import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { readKernelNumber, readKernelText } from "./kernfile";

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

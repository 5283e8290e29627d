import { describe, expect, it } from "vitest";
import { ramdiskSizeMiB } from "./meta.js";

describe("ramdiskSizeMiB", () => {
  it("is what was asked for, at most three quarters of the memory limit (its pages count against it)", () => {
    expect(ramdiskSizeMiB({ ramdiskMiB: 16, limits: { memoryMiB: 64 } })).toBe(16);
    expect(ramdiskSizeMiB({ ramdiskMiB: 200, limits: { memoryMiB: 64 } })).toBe(48);
    expect(ramdiskSizeMiB({ ramdiskMiB: 64, limits: { memoryMiB: 16 } })).toBe(12);
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isMountPoint, mountPoints } from "./mountinfo";

describe("isMountPoint", () => {
  it("agrees with the mount table for a mount (/proc, /), a plain directory and a missing path", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "hoody-mnt-"));
    try {
      // Control: the table lists /proc and not the directory.
      expect(mountPoints().has("/proc")).toBe(true);
      expect(mountPoints().has(dir)).toBe(false);
      expect(isMountPoint("/proc")).toBe(true);
      expect(isMountPoint("/")).toBe(true);
      expect(isMountPoint(dir)).toBe(false);
      expect(isMountPoint(path.join(dir, "missing"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

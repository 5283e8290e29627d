import { describe, expect, it } from "vitest";
import { idShape, newPublicId, PUBLIC_ID_RE } from "./ids";

describe("public ids", () => {
  it("are 24 lowercase hex: 4 bytes of seconds, then 8 random bytes", () => {
    const at = Date.parse("2026-01-02T03:04:05Z");
    const a = newPublicId(at);
    const b = newPublicId(at);
    expect(a).toMatch(PUBLIC_ID_RE);
    expect(a.slice(0, 8)).toBe((at / 1000).toString(16));
    expect(a.slice(0, 8)).toBe(b.slice(0, 8));
    expect(a).not.toBe(b);
    // Later ids sort after earlier ones (the SDK's sort by id, our list's sort_by=id).
    expect(newPublicId(at + 1000) > a).toBe(true);
  });

  it("path and body schemas take new ids and the previous release's, nothing else", () => {
    expect(idShape("container").test(newPublicId())).toBe(true);
    expect(idShape("container").test("c0123456789")).toBe(true);
    expect(idShape("project").test("pabcdefghij")).toBe(true);
    for (const bad of ["p0123456789", "c0123", newPublicId().toUpperCase(), `${newPublicId()}0`, "../x", ""]) expect(idShape("container").test(bad), bad).toBe(false);
    expect(idShape("project").test("c0123456789")).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { issuePointers, issuesText } from "./issues";

describe("issue formatting", () => {
  const bad = z.object({ a: z.object({ b: z.number() }), c: z.string() }).safeParse({ a: { b: "x" }, c: 1 });
  const issues = bad.success ? [] : bad.error.issues;

  it("joins dotted paths and messages", () => {
    expect(issues).toHaveLength(2);
    expect(issuesText(issues)).toMatch(/^a\.b: .+; c: .+$/);
  });

  it("gives the pointers the API returns as data", () => {
    expect(issuePointers(issues).map((p) => p.instancePath)).toEqual(["/a/b", "/c"]);
  });

  it("says an issue about the whole value as its message alone, and takes issues from JSON", () => {
    const whole = z.string().safeParse(1);
    expect(whole.success).toBe(false);
    if (!whole.success) expect(issuesText(whole.error.issues)).toBe(whole.error.issues[0]!.message);
    expect(issuesText([{ path: [], message: "m" }, { message: "n" }, { path: ["x", 0] }])).toBe("m; n; x.0: invalid");
    expect(issuePointers([{ message: "m" }])).toEqual([{ instancePath: "", message: "m" }]);
  });
});

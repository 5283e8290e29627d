import { describe, expect, it } from "vitest";
import { findProtoKey } from "./input-guard";

describe("findProtoKey", () => {
  it("finds own __proto__ keys JSON.parse made, at any depth, and nothing else", () => {
    expect(findProtoKey(JSON.parse('{"__proto__":{"x":1}}'))).toBe("/__proto__");
    expect(findProtoKey(JSON.parse('{"environment_vars":{"A":"1","__proto__":"x"}}'))).toBe("/environment_vars/__proto__");
    expect(findProtoKey(JSON.parse('[{"a":[{"__proto__":null}]}]'))).toBe("/0/a/0/__proto__");
    expect(findProtoKey(JSON.parse('{"constructor":{"prototype":1},"a":"__proto__"}'))).toBeNull();
    expect(findProtoKey({ a: 1 })).toBeNull();
    expect(findProtoKey("__proto__")).toBeNull();
  });

  it("walks very deep nesting without recursion", () => {
    const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
    expect(findProtoKey(deep)).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { ENV_KEY_RE, isReservedEnvKey, reservedEnvKeys } from "./env";

describe("reserved env keys", () => {
  it("refuses the HOODY_ prefix in any case", () => {
    for (const k of ["HOODY_TENANT_ID", "HOODY_", "hoody_x", "Hoody_X", "hOoDy_1"]) expect(isReservedEnvKey(k), k).toBe(true);
  });

  it("allows keys that only resemble it", () => {
    for (const k of ["HOODY", "HOODYX", "MY_HOODY_X", "_HOODY_X", "HOOD_Y", "PORT", ""]) expect(isReservedEnvKey(k), k).toBe(false);
  });

  it("lists the reserved keys of an env or of a key list, in order", () => {
    expect(reservedEnvKeys({ A: "1", HOODY_B: "2", hoody_c: "3" })).toEqual(["HOODY_B", "hoody_c"]);
    expect(reservedEnvKeys(["x", "Hoody_Y"])).toEqual(["Hoody_Y"]);
    expect(reservedEnvKeys({})).toEqual([]);
  });

  it("ENV_KEY_RE takes shell-style names only", () => {
    expect(ENV_KEY_RE.test("_A1")).toBe(true);
    expect(ENV_KEY_RE.test("1A")).toBe(false);
    expect(ENV_KEY_RE.test("A-B")).toBe(false);
  });
});

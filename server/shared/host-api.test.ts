import { describe, expect, it } from "vitest";
import { TemplateSettingsPatchSchema } from "./host-api";

describe("templates.promote settings patch", () => {
  it("keeps only the keys given (no schema defaults that would wipe the tenant's env or firewall)", () => {
    expect(TemplateSettingsPatchSchema.parse({ sharedPaths: [] })).toEqual({ sharedPaths: [] });
    expect(TemplateSettingsPatchSchema.parse({})).toEqual({});
  });
  it("still validates what is given", () => {
    expect(TemplateSettingsPatchSchema.safeParse({ appPort: 70000 }).success).toBe(false);
    expect(TemplateSettingsPatchSchema.safeParse({ sharedPaths: ["usr"] }).success).toBe(false);
  });
});

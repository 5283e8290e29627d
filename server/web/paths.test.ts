import { describe, expect, it } from "vitest";
import { withoutApiTrailingSlash } from "./paths";

describe("withoutApiTrailingSlash", () => {
  it("drops the trailing slashes of API and exec paths, keeping the query", () => {
    expect(withoutApiTrailingSlash("/api/v1/projects/")).toBe("/api/v1/projects");
    expect(withoutApiTrailingSlash("/api/v1/containers/c1//?page=2&limit=5")).toBe("/api/v1/containers/c1?page=2&limit=5");
    expect(withoutApiTrailingSlash("/exec/signup/")).toBe("/exec/signup");
  });

  it("leaves other paths, and paths without a trailing slash, as they are", () => {
    for (const url of ["/api/v1/projects", "/api/v1/projects?x=/", "/tenants/", "/", "/api/", "/exec/", "/login/?next=/api/"]) {
      expect(withoutApiTrailingSlash(url)).toBe(url);
    }
  });
});

// One way to put validation (zod) issues into words, for the API, both engines, the daemon and the
// dashboard. Structural types, no zod import: safe in the browser bundle, and it takes issues that
// came over the wire as JSON.

export interface IssueLike {
  path?: readonly PropertyKey[];
  message?: string;
}

/** "a.b: message; c: message"; an issue about the whole value is its message alone. */
export function issuesText(issues: readonly IssueLike[]): string {
  return issues.map((i) => (i.path?.length ? `${i.path.map(String).join(".")}: ${i.message ?? "invalid"}` : (i.message ?? "invalid"))).join("; ");
}

/** The API's error data: each issue at its JSON pointer ("" for the whole body). */
export function issuePointers(issues: readonly IssueLike[]): { instancePath: string; message: string }[] {
  return issues.map((i) => ({ instancePath: i.path?.length ? `/${i.path.map(String).join("/")}` : "", message: i.message ?? "invalid" }));
}

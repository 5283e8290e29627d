// Shared by the dashboard pages: one way to turn an error into a sentence for the operator.
import { type IssueLike, issuesText } from "~/server/shared/issues";

/** The human-readable text of a tRPC (or any) error; input-validation issues become "field: message". */
export function errorText(e: unknown): string {
  if (!e) return "";
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.trimStart().startsWith("[")) {
    try {
      const issues = JSON.parse(msg) as IssueLike[];
      if (Array.isArray(issues) && issues.length) return issuesText(issues);
    } catch {
      /* not JSON: fall through */
    }
  }
  if (e instanceof TypeError && /fetch/i.test(msg)) return "Cannot reach the Hoody server. Check that it is running, then retry.";
  return msg || "Something went wrong.";
}

// One way to turn an error into a sentence for the operator, its stable code and the fields it names.
import { TRPCClientError } from "@trpc/client";
import { type IssueLike, issuesText } from "~/server/shared/issues";

/** The issues of an input-validation error (tRPC sends them as the message, a JSON array), or null. */
function issuesOf(e: unknown): IssueLike[] | null {
  const msg = e instanceof Error ? e.message : "";
  if (!msg.trimStart().startsWith("[")) return null;
  try {
    const issues = JSON.parse(msg) as IssueLike[];
    return Array.isArray(issues) ? issues : null;
  } catch {
    return null;
  }
}

/** The human-readable text of a tRPC (or any) error; input-validation issues become "field: message". */
export function errorText(e: unknown): string {
  if (!e) return "";
  const msg = e instanceof Error ? e.message : String(e);
  const issues = issuesOf(e);
  if (issues?.length) return issuesText(issues);
  if (e instanceof TypeError && /fetch/i.test(msg)) return "Cannot reach the Hoody server. Check that it is running, then retry.";
  return msg || "Something went wrong.";
}

/** Hoody's stable error code of a tRPC error, when it has one. */
export function errorCode(e: unknown): string | null {
  if (e instanceof TRPCClientError) {
    const data = e.data as { hoodyCode?: string | null; code?: string } | undefined;
    return data?.hoodyCode ?? data?.code ?? null;
  }
  return null;
}

/** Field paths named by an input-validation error (e.g. ["name"]). */
export function errorPaths(e: unknown): string[] {
  return (issuesOf(e) ?? []).map((i) => (i.path ?? []).map(String).join("."));
}

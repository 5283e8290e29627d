// The checks every engine makes of a tenant's input before acting on it (the host daemon, the Incus
// engine and the fake alike), so that the same bad input fails with the same EngineError everywhere.
import type { z } from "zod";
import { CreateTenantSchema, EnvSchema, type CreateTenantInput, type Env } from "./protocol";
import { EngineError, type EngineErrorCode } from "./errors";
import { issuesText } from "./issues";
import { mergeEnvPatch, reservedEnvKeys } from "./env";

export function fail(code: EngineErrorCode, message: string): never {
  throw new EngineError(code, message);
}

/** Refuses keys with Hoody's reserved prefix (the engine sets those itself). */
export function assertNoReservedEnv(env: Record<string, unknown>): void {
  const bad = reservedEnvKeys(env);
  if (bad.length) fail("INVALID_INPUT", `reserved env prefix HOODY_: ${bad.join(", ")}`);
}

/** A create request, parsed and checked. */
export function parseCreateTenant(input: CreateTenantInput): z.output<typeof CreateTenantSchema> {
  const parsed = CreateTenantSchema.safeParse(input);
  if (!parsed.success) fail("INVALID_INPUT", issuesText(parsed.error.issues));
  assertNoReservedEnv(parsed.data.env);
  return parsed.data;
}

/** The env a tenant has after a patch, checked as a whole (sizes, key syntax, reserved prefix). */
export function patchedEnv(current: Readonly<Record<string, string>>, patch?: Readonly<Record<string, string | null>>): Env {
  const parsed = EnvSchema.safeParse(mergeEnvPatch(current, patch));
  if (!parsed.success) fail("INVALID_INPUT", issuesText(parsed.error.issues));
  assertNoReservedEnv(parsed.data);
  return parsed.data;
}

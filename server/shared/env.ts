// The rules for a tenant's env keys, one copy for the API, both engines and the dashboard's form
// (no imports: safe in the browser bundle).

export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Hoody sets HOODY_TENANT_ID and HOODY_TENANT_NAME itself; keys with this prefix are refused from users. */
export const RESERVED_ENV_PREFIX = "HOODY_";

/**
 * Whether a key is reserved. Case-insensitive on purpose: env names are case-sensitive, but a user's
 * `hoody_tenant_id` beside Hoody's `HOODY_TENANT_ID` only invites confusion (and some tools fold
 * case), so the stricter rule is applied everywhere.
 */
export function isReservedEnvKey(key: string): boolean {
  return key.slice(0, RESERVED_ENV_PREFIX.length).toUpperCase() === RESERVED_ENV_PREFIX;
}

/** The reserved keys among an env's (or a list of keys). */
export function reservedEnvKeys(env: Record<string, unknown> | readonly string[]): string[] {
  return (Array.isArray(env) ? env : Object.keys(env)).filter(isReservedEnvKey);
}

/** A patch applied to an env: null removes a key, a string sets it. The current env is not changed. */
export function mergeEnvPatch(current: Readonly<Record<string, string>>, patch: Readonly<Record<string, string | null>> = {}): Record<string, string> {
  const merged = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  return merged;
}

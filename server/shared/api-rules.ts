// Input rules of the API that the dashboard checks before it asks, one copy for both sides (no
// imports: safe in the browser bundle, which cannot load core's schemas).

/** A snapshot's alias (CreateSnapshotBody): 1 to SNAPSHOT_ALIAS_MAX of these characters. */
export const SNAPSHOT_ALIAS_CHARS = /^[\w.-]+$/;
export const SNAPSHOT_ALIAS_MAX = 100;

export function isSnapshotAlias(alias: string): boolean {
  return alias.length >= 1 && alias.length <= SNAPSHOT_ALIAS_MAX && SNAPSHOT_ALIAS_CHARS.test(alias);
}

/** The operator's password: at least this many characters (OperatorAuth.changePassword). */
export const PASSWORD_MIN_LENGTH = 12;

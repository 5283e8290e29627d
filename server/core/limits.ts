// What requests may cost the web server, in one place: how many body bytes each kind of endpoint
// reads, and how many creates and exec scripts (a Node process each) run or wait at once. Anonymous
// clients reach sign-in and /exec, so these bound what a stranger can make the server hold.

/** Request body limits in bytes, enforced while the body streams (server/core/body.ts). */
export const BODY_LIMITS = {
  /** {"password": "…"} with a 200-character password fits many times over. */
  signIn: 4 * 1024,
  rest: 2 * 1024 * 1024,
  /** The dashboard's tRPC calls carry the same inputs as REST. */
  trpc: 2 * 1024 * 1024,
  /** A billing webhook's event is a few KiB; Stripe's largest are well under this. */
  exec: 1024 * 1024,
} as const;

/**
 * What the web server reads and throws away of a body a route left unread (a 413), and how long it
 * keeps such a connection before it cuts it: enough for a client to finish sending or read the
 * answer, too little to stream forever.
 */
export const UNREAD_BODY_DRAIN = { bytes: 8 * 1024 * 1024, ms: 5_000 } as const;

/** Creates running at once / waiting (HOODY_CREATE_CONCURRENCY / HOODY_CREATE_QUEUE). */
export const CREATE_ADMISSION_DEFAULTS = { running: 4, queued: 64 } as const;

/** Exec scripts running at once / waiting for a slot (HOODY_EXEC_CONCURRENCY / HOODY_EXEC_QUEUE). */
export const EXEC_ADMISSION_DEFAULTS = { running: 4, queued: 16 } as const;

/**
 * Runs kept in each exec script's log: every anonymous call to a script writes a row, so the log is a
 * window, not a history (the oldest go first).
 */
export const SCRIPT_RUNS_KEPT = 1000;

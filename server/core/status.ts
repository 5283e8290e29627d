// Container statuses and the operations each allows. Running, paused and stopped are the engine's
// facts (a row only remembers the last one seen); creating, claiming (a create served from the warm
// pool), failed and deleting are the core's own lifecycle states.

export type ContainerStatus = "creating" | "claiming" | "running" | "paused" | "stopped" | "failed" | "deleting";
export type ContainerOperation = "start" | "stop" | "force-stop" | "restart" | "pause" | "resume";

export const ENGINE_STATUSES: ReadonlySet<string> = new Set(["running", "paused", "stopped"]);

/** An engine state (TenantInfo.state) or a stats row as one of the engine's statuses. */
export function engineStatus(live: { state?: string; running?: boolean; paused?: boolean }): "running" | "paused" | "stopped" {
  if (live.state === "paused" || live.paused === true) return "paused";
  return live.state === "running" || live.running === true ? "running" : "stopped";
}

/**
 * What each engine state allows: Hoody's documented transitions (running → stop, force-stop,
 * restart, pause; stopped → start, restart; paused → resume), and a stop of a paused tenant, which
 * the engine thaws first. Anything else is 409 INVALID_STATE_TRANSITION.
 */
export const ALLOWED_OPERATIONS: Readonly<Record<string, readonly ContainerOperation[]>> = {
  running: ["stop", "force-stop", "restart", "pause"],
  stopped: ["start", "restart"],
  paused: ["resume", "stop", "force-stop"],
};

export function allowedOperations(state: string): readonly ContainerOperation[] {
  return ALLOWED_OPERATIONS[state] ?? [];
}

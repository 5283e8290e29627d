// Checks a create or change runs before anything happens (bodies, env, ceilings, names), and the
// small conversions they share.
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import { eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { Limits } from "../shared/protocol";
import { ENV_KEY_RE, ENV_MAX_TOTAL_BYTES, envBytes } from "../shared/protocol";
import { reservedEnvKeys } from "../shared/env";
import { isPortFormLabel } from "../shared/hostnames";
import { dnsLabel } from "../shared/names";
import type { Actor, CoreContext } from "./context";
import { CoreError, viaEngine } from "./errors";
import type { CeilingsInput, LimitsInput } from "./schemas";
import { MAX_ENV_KEYS } from "./schemas";

/** "#abc" / "AABBCC" → "#AABBCC" (Hoody's normal form). */
export function normalizeColor(c: string): string {
  let h = c.replace(/^#/, "").toUpperCase();
  if (h.length === 3) h = [...h].map((x) => x + x).join("");
  return `#${h}`;
}
export const randomColor = () => `#${randomBytes(3).toString("hex").toUpperCase()}`;

/** Why each Hoody field this server cannot honour is refused (FEATURE_NOT_OFFERED names the field). */
const NOT_OFFERED: Record<string, string> = {
  ai: "Hoody's AI features are not offered by this server",
  hoody_kit: "Hoody Kit is not installed by this server (build a template with what you need)",
  dev_kit: "the dev kit is not installed by this server (build a template with what you need)",
  kvm: "/dev/kvm passthrough is not offered by this server",
  dev_kvm: "/dev/kvm passthrough is not offered by this server",
  cache: "cached images are not used here: every container is a copy-on-write clone of its template",
  cache_image: "cached images are not used here: every container is a copy-on-write clone of its template",
  prespawn: "prespawn containers are not offered by this server",
  realm_ids: "realms are not offered by this server",
  realm_id: "realms are not offered by this server",
  ramdisk: "every container here has its own /ramdisk; ramdisk: false cannot be honoured",
  ramdisk_scope: "a ramdisk shared by a project's containers is not offered; each has its own",
};

/** Refuses (422 FEATURE_NOT_OFFERED) a Hoody field set to a value this server cannot honour; false/absent/empty pass. */
export function refuseNotOffered(body: Record<string, unknown>): void {
  const bad = Object.keys(NOT_OFFERED).filter((f) => {
    const v = body[f];
    if (f === "realm_ids") return Array.isArray(v) && v.length > 0;
    if (f === "realm_id") return typeof v === "string" && v !== "";
    if (f === "ramdisk") return v === false;
    if (f === "ramdisk_scope") return v !== undefined && v !== "container";
    return v === true;
  });
  if (bad.length) {
    throw new CoreError(
      422,
      "FEATURE_NOT_OFFERED",
      bad.map((f) => `${f}: ${NOT_OFFERED[f]}`).join("; "),
      bad.map((f) => ({ instancePath: `/${f}`, field: f, message: NOT_OFFERED[f] })),
    );
  }
}

/** At most MAX_ENV_KEYS keys and ENV_MAX_TOTAL_BYTES in all: more could never start (see protocol.ts). */
export function checkEnvTotals(env: Record<string, string>): void {
  if (Object.keys(env).length > MAX_ENV_KEYS) throw new CoreError(422, "TOO_MANY_ENV_VARS", `at most ${MAX_ENV_KEYS} env vars`);
  const size = envBytes(env);
  if (size > ENV_MAX_TOTAL_BYTES) throw new CoreError(422, "ENV_TOO_LARGE", `the environment would hold ${size} bytes; at most ${ENV_MAX_TOTAL_BYTES} in all`);
}

export type LimitsBody = z.infer<typeof LimitsInput>;
export type Ceilings = z.infer<typeof CeilingsInput>;

/** The API's snake_case limits as the engine's; only the keys given, so template defaults stay. */
export function engineLimits(l: LimitsBody): Partial<Limits> {
  const out: Partial<Limits> = { memoryMiB: l.memory_mib, cpuMilli: l.cpu_milli, pids: l.pids, diskMiB: l.disk_mib };
  for (const k of Object.keys(out) as (keyof Limits)[]) if (out[k] === undefined) delete out[k];
  return out;
}

export function checkEnv(env: Record<string, unknown>): void {
  const keys = Object.keys(env);
  const bad = keys.filter((k) => !ENV_KEY_RE.test(k));
  if (bad.length) throw new CoreError(422, "INVALID_ENV_KEY", `invalid env key(s): ${bad.map((k) => JSON.stringify(k.slice(0, 64))).join(", ")}`, { keys: bad.map((k) => k.slice(0, 64)) });
  const reserved = reservedEnvKeys(keys);
  if (reserved.length) throw new CoreError(422, "RESERVED_ENV_PREFIX", `the HOODY_ prefix is reserved: ${reserved.join(", ")}`);
}

/**
 * A project token asks for no more than the operator allows: the project's ceiling for each limit,
 * or, where none is set, the template's default. Admins (the operator) are not capped.
 */
export async function checkCeilings(ctx: CoreContext, actor: Actor, projectId: string, template: string, asked: { limits?: LimitsBody; ramdisk_mib?: number }): Promise<void> {
  if (!actor.projectId) return;
  const wanted: Record<string, number | undefined> = { ...asked.limits, ramdisk_mib: asked.ramdisk_mib };
  if (Object.values(wanted).every((v) => v === undefined)) return;
  const ceilings = ctx.projectRow(actor, projectId).ceilings ?? {};
  const tpl = (await viaEngine(ctx.templatesCached())).find((x) => x.name === template)?.settings;
  const defaults: Record<string, number | undefined> = {
    memory_mib: tpl?.limits.memoryMiB,
    cpu_milli: tpl?.limits.cpuMilli,
    pids: tpl?.limits.pids,
    disk_mib: tpl?.limits.diskMiB,
    ramdisk_mib: tpl?.ramdiskMiB,
  };
  const over: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const cap = ceilings[key] ?? defaults[key];
    if (value !== undefined && (cap === undefined || value > cap)) over.push(`${key} ${value} (at most ${cap ?? "the template's default"})`);
  }
  if (over.length) {
    throw new CoreError(
      403,
      "LIMIT_ABOVE_CEILING",
      `above what the operator allows this project: ${over.join(", ")}`,
      over.map((o) => ({ instancePath: `/limits/${o.split(" ")[0]}`, message: o })),
    );
  }
}

export function pickName(ctx: CoreContext, name: string | undefined): { name: string; label: string } {
  if (name && name !== "rand") {
    const label = dnsLabel(name);
    // `acme-http-8080` would read as acme's port 8080 (`<label>-http-<port>.<domain>`).
    if (isPortFormLabel(label)) throw new CoreError(422, "AMBIGUOUS_NAME", `${name} would give the URL label ${label}, which reads as a per-port URL (<name>-http-<port>); choose another name`);
    const clash = ctx.db.select({ id: t.containers.id }).from(t.containers).where(eq(t.containers.label, label)).get();
    if (clash) throw new CoreError(409, "CONTAINER_NAME_TAKEN", `a container named like ${name} exists (its URL label ${label} is taken)`);
    return { name, label };
  }
  for (;;) {
    const n = `tenant-${randomBytes(4).toString("hex")}`;
    if (!ctx.db.select({ id: t.containers.id }).from(t.containers).where(eq(t.containers.label, n)).get()) return { name: n, label: n };
  }
}

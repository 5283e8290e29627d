// What the host daemon keeps on disk per template and tenant (its only state), and small helpers over it.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { z } from "zod";
import { EnvSchema, FirewallRuleSchema, LimitsSchema, TemplateSettingsSchema } from "../shared/protocol.js";

export const TenantMetaSchema = z.object({
  id: z.string(),
  name: z.string(),
  template: z.string(),
  phase: z.enum(["creating", "ready", "deleting"]),
  ip: z.string(),
  uidBase: z.number().int(),
  veth: z.string(),
  createdAt: z.string(),
  subvolumeId: z.number().int(),
  initCmd: z.array(z.string()),
  appPort: z.number().int(),
  env: EnvSchema,
  limits: LimitsSchema,
  ramdiskMiB: z.number().int(),
  ksm: z.boolean(),
  sharedPaths: z.array(z.string()),
  firewall: z.array(FirewallRuleSchema),
  snapshots: z.array(z.object({ name: z.string(), createdAt: z.string(), subvolumeId: z.number().int() })),
  /** Whether the operator wants it running (restored after a host reboot). */
  wantRunning: z.boolean(),
  /** Brought back at a host boot when it wanted to run (Hoody's autostart); false: stays stopped until started. */
  autostart: z.boolean().default(true),
  labels: z.record(z.string(), z.string()).default({}),
  /**
   * A warm-pool member (warm-pool.ts): made and started ahead for its template, its init waiting to
   * be claimed. Not a tenant of anyone yet: tenant listings, stats and template counts leave it out.
   */
  pooled: z.boolean().default(false),
});
export type TenantMeta = z.infer<typeof TenantMetaSchema>;

export const TemplateMetaSchema = z.object({
  name: z.string(),
  recipe: z.string().nullable(),
  settings: TemplateSettingsSchema,
  createdAt: z.string(),
  subvolumeId: z.number().int(),
});
export type TemplateMeta = z.infer<typeof TemplateMetaSchema>;

export const META_FILE = "hoody.json";

export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString("hex")}`;
  await fs.writeFile(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
  await fs.rename(tmp, file);
}

/**
 * The ramdisk's tmpfs size: what was asked for, but at most three quarters of the memory limit. Its
 * pages count against that limit and outlive the tenant's runs; a ramdisk allowed to hold all of it
 * would leave a stopped tenant no memory to start its init in, ever again.
 */
export function ramdiskSizeMiB(m: { ramdiskMiB: number; limits: { memoryMiB: number } }): number {
  return Math.max(1, Math.min(m.ramdiskMiB, Math.floor((m.limits.memoryMiB * 3) / 4)));
}

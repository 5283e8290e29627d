// Templates: built from a recipe or promoted from a tenant, read-only subvolumes in the pool.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { RECIPES, type Progress } from "../recipes/index.js";
import { Revert } from "../shared/revert.js";
import { EngineError } from "../shared/errors.js";
import { TEMPLATE_NAME_RE, TemplateSettingsSchema, type TemplateInfo, type TemplateSettings } from "../shared/protocol.js";
import { writeJsonAtomic, type TemplateMeta } from "./meta.js";
import type { HostState } from "./state.js";
import { deleteTenant } from "./erase.js";

export function listTemplates(h: HostState): TemplateInfo[] {
  return [...h.templates.values()].map((t) => h.templateInfo(t));
}

/** Builds a template from a built-in recipe. Existing template of that name: returned as is. */
export async function buildTemplate(h: HostState, recipeName: string, opts: { name?: string; progress?: Progress } = {}): Promise<TemplateInfo> {
  const recipe = RECIPES[recipeName];
  if (!recipe) throw new EngineError("INVALID_INPUT", `unknown recipe ${recipeName}; known: ${Object.keys(RECIPES).join(", ")}`);
  const name = opts.name ?? recipe.name;
  if (!TEMPLATE_NAME_RE.test(name)) throw new EngineError("INVALID_INPUT", `invalid template name ${name}`);
  const progress = opts.progress ?? (() => undefined);
  return h.lock.run(`template:${name}`, async () => {
    const existing = h.templates.get(name);
    if (existing) {
      progress(100, "already built");
      return h.templateInfo(existing);
    }
    await h.assertPoolRoom();
    return Revert.run(async (revert) => {
      const buildPath = h.pool.path("templates", `.build-${name}-${randomBytes(4).toString("hex")}`);
      await h.pool.createSubvolume(buildPath);
      revert.add("build subvolume", () => h.pool.deleteSubvolume(buildPath));
      await recipe.build(buildPath, progress, h.config.cacheDir);
      return installTemplate(h, name, recipe.name, recipe.settings, buildPath, revert);
    });
  });
}

/** Moves a finished rootfs subvolume into place as a read-only template. */
export async function installTemplate(h: HostState, name: string, recipe: string | null, settings: TemplateSettings, subvol: string, revert: Revert) {
  const finalPath = h.pool.path("templates", name);
  await fs.rename(subvol, finalPath);
  revert.add("template subvolume", () => h.pool.deleteSubvolume(finalPath));
  await h.pool.setReadonly(finalPath, true);
  const meta: TemplateMeta = {
    name,
    recipe,
    settings,
    createdAt: new Date().toISOString(),
    subvolumeId: await h.pool.subvolumeId(finalPath),
  };
  await writeJsonAtomic(h.pool.path("templates", `${name}.json`), meta);
  h.templates.set(name, meta);
  return h.templateInfo(meta);
}

/** A tenant's current filesystem becomes a new template (read-only snapshot; the tenant keeps running). */
export async function promoteTenant(h: HostState, id: string, name: string, settings?: Partial<TemplateSettings>): Promise<TemplateInfo> {
  if (!TEMPLATE_NAME_RE.test(name)) throw new EngineError("INVALID_INPUT", `invalid template name ${name}`);
  return h.lock.run(`template:${name}`, () =>
    h.lock.run(id, async () => {
      const m = h.getTenant(id);
      if (h.templates.has(name)) throw new EngineError("ALREADY_EXISTS", `template ${name} exists`);
      await h.assertPoolRoom();
      const base = h.templates.get(m.template)?.settings;
      const merged = TemplateSettingsSchema.parse({
        ...(base ?? {}),
        initCmd: m.initCmd,
        appPort: m.appPort,
        env: m.env,
        limits: m.limits,
        ramdiskMiB: m.ramdiskMiB,
        ksm: m.ksm,
        firewall: m.firewall,
        // Its own /usr may differ from the template's; the promoted copy carries it, so share it again.
        sharedPaths: m.sharedPaths,
        ...settings,
      });
      return Revert.run(async (revert) => {
        const buildPath = h.pool.path("templates", `.build-${name}-${randomBytes(4).toString("hex")}`);
        await h.pool.snapshot(h.pool.path("tenants", id), buildPath, false);
        revert.add("promote snapshot", () => h.pool.deleteSubvolume(buildPath));
        return installTemplate(h, name, null, merged, buildPath, revert);
      });
    }),
  );
}

export async function deleteTemplate(h: HostState, name: string): Promise<{ existed: boolean }> {
  return h.lock.run(`template:${name}`, async () => {
    const t = h.templates.get(name);
    if (!t) return { existed: false };
    // Its warm pool goes with it: members are nobody's tenants.
    for (const m of [...h.tenants.values()]) if (m.template === name && m.pooled) await deleteTenant(h, m.id);
    const users = [...h.tenants.values()].filter((m) => m.template === name).map((m) => m.id);
    if (users.length) throw new EngineError("TEMPLATE_IN_USE", `template ${name} is used by ${users.length} tenant(s): ${users.slice(0, 5).join(", ")}`);
    h.templates.delete(name);
    // Its spare is a copy of its tree (a promoted template's holds its tenant's files).
    await h.spares.clear(name);
    await fs.rm(h.pool.path("templates", `${name}.json`), { force: true });
    await h.pool.deleteSubvolume(h.pool.path("templates", name));
    return { existed: true };
  });
}

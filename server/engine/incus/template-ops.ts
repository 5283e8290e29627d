// Templates on Incus: list, build from a recipe (in a child), promote a tenant, delete.
import fsp from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { webConfig } from "../../config";
import { TEMPLATE_NAME_RE, TemplateSettingsSchema, type TemplateInfo, type TemplateSettings } from "../../shared/protocol";
import { K, createTemplateInstances, templateInstanceName, templateMembers, uploadImage } from "./templates";
import type { IncusInstanceFull } from "./types";
import { type IncusContext, T, fail, mapError } from "./context";

export async function listTemplates(cx: IncusContext): Promise<TemplateInfo[]> {
  const list = await cx.instances();
  const byName = new Map<string, IncusInstanceFull>();
  for (const i of list) if (i.config[K.kind] === "template" && !byName.has(i.config[K.template]!)) byName.set(i.config[K.template]!, i);
  return [...byName.values()].map((i) => ({
    name: i.config[K.template]!,
    recipe: i.config[K.recipe] || null,
    settings: TemplateSettingsSchema.parse(JSON.parse(i.config[K.settings] ?? "{}")),
    subvolumeId: 0,
    createdAt: i.config[K.created] ?? i.created_at,
    bytes: Math.max(0, i.state?.disk?.root?.usage ?? 0),
    tenants: list.filter((x) => x.config[K.kind] === "tenant" && x.config[K.template] === i.config[K.template]).length,
  }));
}

export async function templateInstances(cx: IncusContext, name: string): Promise<IncusInstanceFull[]> {
  return (await cx.instances(true)).filter((i) => i.config[K.kind] === "template" && i.config[K.template] === name);
}

export async function buildTemplate(cx: IncusContext, recipe: string, opts: { name?: string; onProgress?: (percent: number, message: string) => void } = {}): Promise<TemplateInfo> {
  const name = opts.name ?? recipe;
  if (!TEMPLATE_NAME_RE.test(name)) fail("INVALID_INPUT", `invalid template name ${name}`);
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(recipe)) fail("INVALID_INPUT", `unknown recipe ${recipe}`);
  return cx.locks.run(`template:${name}`, async () => {
    const existing = (await listTemplates(cx)).find((t) => t.name === name);
    if (existing) {
      opts.onProgress?.(100, "already built");
      return existing;
    }
    await importInChild(cx, recipe, name, opts.onProgress).catch((e) => mapError(e));
    cx.invalidate();
    opts.onProgress?.(100, "done");
    return (await listTemplates(cx)).find((t) => t.name === name)!;
  });
}

/** The rootfs is built by a tsx child (see build-image.ts), then uploaded and instantiated from here. */
export async function importInChild(cx: IncusContext, recipe: string, name: string, onProgress?: (p: number, m: string) => void): Promise<void> {
  const root = webConfig().root ?? process.cwd();
  const child = execa(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "server/engine/incus/build-image.ts"), recipe, cx.config.cacheDir], { cwd: root, timeout: 1_800_000, reject: false });
  child.stderr?.on("data", (d: Buffer) => {
    const m = /progress: (\d+) (.*)/.exec(String(d));
    if (m) onProgress?.(Number(m[1]), m[2] ?? "");
  });
  const r = await child;
  if (r.exitCode === 3) fail("INVALID_INPUT", String(r.stderr).trim().split("\n").pop() ?? `unknown recipe ${recipe}`);
  if (r.exitCode !== 0) throw new Error(`building the ${recipe} image failed: ${String(r.stderr).slice(-2000)}`);
  const { tarball, dir, settings: raw } = JSON.parse(String(r.stdout).trim().split("\n").pop()!) as { tarball: string; dir: string; settings: unknown };
  try {
    const fingerprint = await uploadImage(cx.client, tarball);
    try {
      const settings = TemplateSettingsSchema.parse(raw);
      await createTemplateInstances(cx.client, name, fingerprint, settings, recipe, placement(cx));
    } finally {
      await cx.client.delete(`/1.0/images/${fingerprint}`).catch(() => undefined);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export function placement(cx: IncusContext) {
  return { pool: cx.config.pool, network: cx.config.network, idmapBase: cx.config.uidBase };
}

export async function promote(cx: IncusContext, id: string, name: string, settings?: Partial<TemplateSettings>): Promise<TemplateInfo> {
  if (!TEMPLATE_NAME_RE.test(name)) fail("INVALID_INPUT", `invalid template name ${name}`);
  return cx.locks.run(`template:${name}`, async () => {
    const src = cx.tenantInfo(await cx.tenantInstance(id));
    if ((await templateInstances(cx, name)).length) fail("ALREADY_EXISTS", `template ${name} exists`);
    const base = (await listTemplates(cx)).find((t) => t.name === src.template)?.settings;
    const merged = TemplateSettingsSchema.parse({
      ...(base ?? {}),
      initCmd: JSON.parse((await cx.tenantInstance(id)).config[T.init] ?? "[]"),
      appPort: src.appPort,
      env: Object.fromEntries(Object.entries(src.env).filter(([k]) => k !== "TENANT_NAME")),
      limits: src.limits,
      ramdiskMiB: src.ramdiskMiB,
      firewall: src.firewall,
      ...settings,
    });
    // A snapshot of the tenant becomes the template on the tenant's member; other members get a copy.
    const members = await templateMembers(cx.client);
    const created: string[] = [];
    try {
      for (const [i, member] of members.entries()) {
        const instance = templateInstanceName(name, member, i === 0);
        await cx.client.post(
          "/1.0/instances",
          {
            name: instance,
            source: { type: "copy", source: id, instance_only: true },
            config: {
              [K.kind]: "template",
              [K.template]: name,
              [K.settings]: JSON.stringify(merged),
              [K.recipe]: "",
              [K.created]: new Date().toISOString(),
              ...(cx.config.uidBase !== undefined && { "security.idmap.base": String(cx.config.uidBase) }),
            },
            start: false,
          },
          member ? { target: member } : undefined,
        );
        created.push(instance);
      }
    } catch (e) {
      for (const n of created) await cx.client.delete(`/1.0/instances/${n}`).catch(() => undefined);
      mapError(e, { tenant: id });
    }
    cx.invalidate();
    return (await listTemplates(cx)).find((t) => t.name === name)!;
  });
}

export async function deleteTemplate(cx: IncusContext, name: string): Promise<{ existed: boolean }> {
  return cx.locks.run(`template:${name}`, async () => {
    const instances = await templateInstances(cx, name);
    if (!instances.length) return { existed: false };
    const users = (await cx.instances(true)).filter((i) => i.config[K.kind] === "tenant" && i.config[K.template] === name);
    if (users.length)
      fail(
        "TEMPLATE_IN_USE",
        `template ${name} is used by ${users.length} tenant(s): ${users
          .slice(0, 5)
          .map((u) => u.name)
          .join(", ")}`,
      );
    for (const i of instances) await cx.client.delete(`/1.0/instances/${i.name}`).catch((e) => mapError(e));
    cx.invalidate();
    return { existed: true };
  });
}

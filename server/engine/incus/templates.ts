// Templates on Incus: the rootfs the host engine's recipes build (server/host/recipes, the same
// files), packed as a unified image tarball (metadata.yaml + rootfs/), uploaded to /1.0/images, and
// instantiated once per cluster member as a stopped instance. Tenants are local copies of it
// (on BTRFS a snapshot); a copy across members would be a full transfer, so every member has its own.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { RECIPES, type Progress } from "../../host/recipes/index.js";
import { TemplateSettingsSchema, type TemplateSettings } from "../protocol.js";
import type { IncusClient } from "./client.js";
import type { IncusClusterMember, IncusInstance, IncusServer } from "./types.js";

/** Config keys Hoody keeps on its instances (user.* keys are free-form for Incus). */
export const K = {
  kind: "user.hoody.kind",
  template: "user.hoody.template",
  settings: "user.hoody.settings",
  recipe: "user.hoody.recipe",
  created: "user.hoody.created",
} as const;

export function templateInstanceName(name: string, member: string | null, primary: boolean): string {
  if (primary || !member) return `tpl-${name}`;
  return `tpl-${name}-${createHash("sha256").update(member).digest("hex").slice(0, 6)}`;
}

/** The members templates must exist on: every online member of a cluster, or [null] for a lone server. */
export async function templateMembers(client: IncusClient): Promise<(string | null)[]> {
  const server = await client.get<IncusServer>("/1.0");
  if (!server.environment.server_clustered) return [null];
  const members = await client.get<IncusClusterMember[]>("/1.0/cluster/members", { recursion: 1 });
  return members.filter((m) => m.status === "Online").map((m) => m.server_name);
}

/** Builds a recipe's rootfs into a unified image tarball in a temp dir; returns the tarball's path. */
export async function buildImageTarball(recipeName: string, cacheDir: string, progress: Progress = () => undefined): Promise<{ tarball: string; cleanup: () => Promise<void> }> {
  const recipe = RECIPES[recipeName];
  if (!recipe) throw new Error(`unknown recipe ${recipeName}; known: ${Object.keys(RECIPES).join(", ")}`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `hoody-incus-img-${recipeName}-`));
  const cleanup = () => fs.rm(work, { recursive: true, force: true });
  try {
    const rootfs = path.join(work, "rootfs");
    await fs.mkdir(rootfs, { mode: 0o755 });
    await recipe.build(rootfs, (p, m) => progress(Math.round(p * 0.6), m), cacheDir);
    const meta = [
      "architecture: x86_64",
      `creation_date: ${Math.floor(Date.now() / 1000)}`,
      "properties:",
      `  description: "hoody ${recipeName} template"`,
      "  os: hoody",
      `  release: "${recipeName}"`,
      "",
    ].join("\n");
    await fs.writeFile(path.join(work, "metadata.yaml"), meta);
    progress(65, "packing image");
    const tarball = path.join(work, "image.tar");
    await execa("tar", ["-cf", tarball, "--numeric-owner", "-C", work, "metadata.yaml", "rootfs"], { timeout: 600_000 });
    return { tarball, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Uploads a unified tarball; answers the image fingerprint. */
export async function uploadImage(client: IncusClient, tarball: string): Promise<string> {
  const op = await client.call<{ metadata: { fingerprint: string } }>("POST", "/1.0/images", {
    stream: createReadStream(tarball),
    headers: { "content-type": "application/octet-stream", "content-length": String((await fs.stat(tarball)).size) },
    timeoutMs: 600_000,
  });
  return op.metadata.fingerprint;
}

export interface TemplatePlacement {
  pool: string;
  network: string;
  /** security.idmap.base for template instances (they never run; a fixed range keeps Incus from allocating one). */
  idmapBase?: number;
}

/**
 * Creates the stopped template instance(s) from an image: one per member. Undo on failure: the
 * instances created so far are deleted (the image is the caller's).
 */
export async function createTemplateInstances(
  client: IncusClient,
  name: string,
  fingerprint: string,
  settings: TemplateSettings,
  recipe: string | null,
  where: TemplatePlacement,
): Promise<IncusInstance[]> {
  const members = await templateMembers(client);
  const created: string[] = [];
  try {
    for (const [i, member] of members.entries()) {
      const instance = templateInstanceName(name, member, i === 0);
      await client.post("/1.0/instances", {
        name: instance,
        type: "container",
        start: false,
        source: { type: "image", fingerprint },
        config: {
          [K.kind]: "template",
          [K.template]: name,
          [K.settings]: JSON.stringify(settings),
          [K.recipe]: recipe ?? "",
          [K.created]: new Date().toISOString(),
          "security.idmap.isolated": "true",
          ...(where.idmapBase !== undefined && { "security.idmap.base": String(where.idmapBase) }),
        },
        devices: {
          root: { type: "disk", path: "/", pool: where.pool },
          eth0: { type: "nic", network: where.network, name: "eth0" },
        },
      }, member ? { target: member } : undefined);
      created.push(instance);
    }
    return Promise.all(created.map((n) => client.get<IncusInstance>(`/1.0/instances/${n}`)));
  } catch (e) {
    for (const n of created) await client.delete(`/1.0/instances/${n}`).catch(() => undefined);
    throw e;
  }
}

/** Recipe → image → template instances; the image is removed afterwards (instances do not need it). */
export async function importRecipe(client: IncusClient, recipeName: string, name: string, cacheDir: string, where: TemplatePlacement, progress: Progress = () => undefined): Promise<IncusInstance[]> {
  const recipe = RECIPES[recipeName];
  if (!recipe) throw new Error(`unknown recipe ${recipeName}`);
  const { tarball, cleanup } = await buildImageTarball(recipeName, cacheDir, progress);
  try {
    progress(70, "uploading image");
    const fingerprint = await uploadImage(client, tarball);
    try {
      progress(85, "creating template instance");
      return await createTemplateInstances(client, name, fingerprint, TemplateSettingsSchema.parse(recipe.settings), recipe.name, where);
    } finally {
      await client.delete(`/1.0/images/${fingerprint}`).catch(() => undefined);
    }
  } finally {
    await cleanup();
  }
}

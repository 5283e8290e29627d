// Recipe → unified image tarball → template instances. Runs under tsx only (the test harness and
// build-image.ts): the recipes read files next to their sources, which a bundled server cannot.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { RECIPES, type Progress } from "../../recipes/index.js";
import { TemplateSettingsSchema } from "../../shared/protocol.js";
import type { IncusClient } from "./client.js";
import { createTemplateInstances, uploadImage, type TemplatePlacement } from "./templates.js";
import type { IncusInstance } from "./types.js";

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

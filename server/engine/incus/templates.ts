// Templates on Incus: the rootfs the recipes build (server/recipes, the same
// files), packed as a unified image tarball (metadata.yaml + rootfs/), uploaded to /1.0/images, and
// instantiated once per cluster member as a stopped instance. Tenants are local copies of it
// (on BTRFS a snapshot); a copy across members would be a full transfer, so every member has its own.
// Bundled into the web server: nothing here reads the recipes (recipe-image.ts does, under tsx).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import type { TemplateSettings } from "../../shared/protocol";
import type { IncusClient } from "./client";
import type { IncusClusterMember, IncusInstance, IncusServer } from "./types";

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
      await client.post(
        "/1.0/instances",
        {
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
        },
        member ? { target: member } : undefined,
      );
      created.push(instance);
    }
    return Promise.all(created.map((n) => client.get<IncusInstance>(`/1.0/instances/${n}`)));
  } catch (e) {
    for (const n of created) await client.delete(`/1.0/instances/${n}`).catch(() => undefined);
    throw e;
  }
}

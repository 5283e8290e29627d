// The Engine over Incus (a lone incusd or a cluster). Mapping:
//   template  → a stopped instance per member (user.hoody.kind=template), cloned locally per tenant
//   tenant    → an instance copied from its member's template, started in the same operation; Hoody's
//               facts live in user.hoody.* config keys (name, template, IP, limits, firewall, labels)
//   network   → a managed bridge; each tenant has a static /32 with the bridge as gateway, and its
//               port isolated, so every packet to or between tenants is routed through the host
//               and crosses the inet hooks (this kernel has no bridge-family conntrack, which NIC
//               ACLs need); MAC/IPv4 filtering on the NIC stops address spoofing
//   firewall  → one network ACL per tenant (hoody-<id>), rules scoped to the tenant's address,
//               attached to the bridge; defaults reject both ways
//   stats     → one /1.0/instances?recursion=2 call for every tenant (state included)
// Lifecycle events (/1.0/events) invalidate the listing cache, so reads stay cheap and fresh.
//
// One module per concern, as Incus has one driver file per concern: context.ts (what they share),
// stats.ts, template-ops.ts, tenants.ts (create), lifecycle.ts, network.ts (ACLs), snapshots.ts. This
// class is the Engine interface over them.
import type { CreateTenantInput, FirewallRule, Limits, TemplateSettings } from "../../shared/protocol";
import type { DeltaBrowser, Engine, EngineBackups, EngineCapabilities, EngineDedup } from "../types";
import { incusDedup } from "./dedup";
import { type WebConfig, webConfig } from "../../config";
import { EngineError } from "../../shared/errors";
import { IncusClient } from "./client";
import { IncusContext, type IncusEngineConfig } from "./context";
import { deleteTenant, exec, logs, pauseTenant, restartTenant, resumeTenant, startTenant, stopTenant, updateTenant } from "./lifecycle";
import { setFirewall } from "./network";
import { createSnapshot, deleteSnapshot, restoreSnapshot } from "./snapshots";
import { info, servers, stats } from "./stats";
import { buildTemplate, deleteTemplate, listTemplates, promote } from "./template-ops";
import { createTenant, getTenant, listTenants } from "./tenants";

export type { IncusEngineConfig } from "./context";

export class IncusEngine implements Engine {
  readonly kind = "incus" as const;
  private readonly cx: IncusContext;
  /**
   * Not offered: Incus's BTRFS pool is incusd's (its subvolumes under its storage path, on whichever
   * member holds the instance), and this engine reaches Incus through its API only, which has no
   * diff between an instance and its source. Reading that pool would need a privileged helper on
   * every member.
   */
  readonly deltas: DeltaBrowser = {
    changes: () => Promise.reject(new EngineError("NOT_SUPPORTED", "the delta browser needs the host engine: Incus's storage is not reachable through its API (which has no diff)")),
    readFile: () => Promise.reject(new EngineError("NOT_SUPPORTED", "reading a tenant's files needs the host engine: Incus's storage is not reachable through its API")),
  };
  readonly dedup: EngineDedup;
  /**
   * Not offered: `incus export` writes a whole-instance tarball (not a delta on its image, not sealed
   * with the operator's key, not restorable on the host engine), so backups are refused by name here
   * rather than offered with other guarantees.
   */
  readonly backups: EngineBackups = { create: notOffered, list: notOffered, delete: notOffered, restore: notOffered, import: notOffered, export: notOffered };

  constructor(
    readonly client: IncusClient,
    readonly config: IncusEngineConfig,
  ) {
    this.cx = new IncusContext(client, config);
    this.dedup = incusDedup(this.cx);
  }

  capabilities(): EngineCapabilities {
    // deltaDisk: Incus reports a volume's usage, not the bytes it holds apart from its template;
    // ksm: the containers are started by incusd, which does not opt them in to KSM (PR_SET_MEMORY_MERGE).
    return { deltaDisk: false, ksm: false, snapshots: true, firewall: true, backups: false };
  }

  info() {
    return info(this.cx);
  }

  servers() {
    return servers(this.cx);
  }

  stats(opts: { sync?: boolean; ids?: string[] } = {}) {
    return stats(this.cx, opts);
  }

  listTemplates() {
    return listTemplates(this.cx);
  }

  buildTemplate(recipe: string, opts: { name?: string; onProgress?: (percent: number, message: string) => void } = {}) {
    return buildTemplate(this.cx, recipe, opts);
  }

  promote(id: string, name: string, settings?: Partial<TemplateSettings>) {
    return promote(this.cx, id, name, settings);
  }

  deleteTemplate(name: string) {
    return deleteTemplate(this.cx, name);
  }

  listTenants() {
    return listTenants(this.cx);
  }

  getTenant(id: string) {
    return getTenant(this.cx, id);
  }

  createTenant(input: CreateTenantInput) {
    return createTenant(this.cx, input);
  }

  startTenant(id: string) {
    return startTenant(this.cx, id);
  }

  stopTenant(id: string, opts: { force?: boolean; timeoutS?: number } = {}) {
    return stopTenant(this.cx, id, opts);
  }

  restartTenant(id: string) {
    return restartTenant(this.cx, id);
  }

  pauseTenant(id: string) {
    return pauseTenant(this.cx, id);
  }

  resumeTenant(id: string) {
    return resumeTenant(this.cx, id);
  }

  deleteTenant(id: string) {
    return deleteTenant(this.cx, id);
  }

  updateTenant(id: string, patch: { env?: Record<string, string | null>; limits?: Partial<Limits>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean }) {
    return updateTenant(this.cx, id, patch);
  }

  setFirewall(id: string, rules: FirewallRule[]) {
    return setFirewall(this.cx, id, rules);
  }

  exec(id: string, command: string[], timeoutMs?: number) {
    return exec(this.cx, id, command, timeoutMs);
  }

  logs(id: string, maxBytes?: number) {
    return logs(this.cx, id, maxBytes);
  }

  createSnapshot(id: string, name?: string) {
    return createSnapshot(this.cx, id, name);
  }

  restoreSnapshot(id: string, name: string) {
    return restoreSnapshot(this.cx, id, name);
  }

  deleteSnapshot(id: string, name: string) {
    return deleteSnapshot(this.cx, id, name);
  }

  close(): void {
    this.cx.close();
  }
}

function notOffered(): Promise<never> {
  return Promise.reject(
    new EngineError(
      "NOT_SUPPORTED",
      "backups, import and export are offered on the host engine only: on Incus use `incus export`/`incus import` (a whole-instance tarball, not sealed with Hoody's backup key)",
    ),
  );
}

/** The engine from HOODY_INCUS_* settings (server/config.ts; server/core/instance.ts uses it when HOODY_ENGINE=incus). */
export function incusEngine(config: WebConfig = webConfig()): IncusEngine {
  const { incus, cacheDir, stopTimeoutS } = config;
  const client = IncusClient.fromFiles({
    socketPath: incus.url ? undefined : incus.socket,
    url: incus.url,
    certFile: incus.cert,
    keyFile: incus.key,
    caFile: incus.ca,
    project: incus.project,
  });
  return new IncusEngine(client, { pool: incus.pool, network: incus.network, target: incus.target, uidBase: incus.uidBase, uidRanges: incus.uidRanges, cacheDir, stopTimeoutS });
}

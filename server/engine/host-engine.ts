// The Engine over the embedded host daemon (its unix socket).
import os from "node:os";
import type { HostClient } from "./host-client";
import type { ChangesQuery, DeltaBrowser, Engine, EngineBackups, EngineCapabilities, EngineDedup, EnginePool, EngineServer } from "./types";

export class HostEngine implements Engine {
  readonly kind = "host" as const;
  readonly deltas: DeltaBrowser;
  readonly warmPool: EnginePool;
  readonly dedup: EngineDedup;
  readonly backups: EngineBackups;
  constructor(readonly client: HostClient) {
    this.deltas = {
      changes: (id: string, query: ChangesQuery) => client.call("tenants.changes", { id, ...query }),
      readFile: (id: string, path: string) => client.call("tenants.readFile", { id, path }),
    };
    this.warmPool = {
      prepare: (template) => client.call("pool.prepare", { template }),
      claim: (input) => client.call("pool.claim", input),
      list: () => client.call("pool.list", {}),
      discard: (template, keep) => client.call("pool.discard", { template, keep }),
    };
    this.dedup = { start: (opts) => client.call("dedup.start", opts), status: () => client.call("dedup.status", {}) };
    this.backups = {
      // A backup or restore moves the whole delta: allow it the daemon's longest call.
      create: (id) => client.call("backups.create", { id }, 3_600_000),
      list: (id) => client.call("backups.list", { id }),
      delete: (id, backup) => client.call("backups.delete", { id, backup }),
      restore: (id, backup) => client.call("backups.restore", { id, backup }, 3_600_000),
      import: (source, opts) => client.importBackup(source, opts),
      export: (id) => client.exportTenant(id),
    };
  }

  capabilities(): EngineCapabilities {
    return { deltaDisk: true, ksm: true, snapshots: true, firewall: true, backups: true };
  }
  info() {
    return this.client.call("host.info", {});
  }
  /** The daemon runs on this box (its socket is local), so this process's view of the machine is the daemon's. */
  async servers(): Promise<EngineServer[]> {
    const host = await this.client.call("host.stats", { ids: [] }).then(
      (s) => s.host,
      () => null,
    );
    const cpus = os.cpus();
    return [
      {
        key: "host",
        name: os.hostname(),
        member: null,
        online: host !== null,
        specs: { cpuModel: cpus[0]?.model?.trim() || null, cpuThreads: cpus.length || null, memoryBytes: os.totalmem(), diskBytes: host?.pool.sizeBytes ?? null },
      },
    ];
  }
  stats(opts: { sync?: boolean; ids?: string[] } = {}) {
    return this.client.call("host.stats", opts);
  }
  listTemplates() {
    return this.client.call("templates.list", {});
  }
  buildTemplate(recipe: string, opts: { name?: string; onProgress?: (p: number, m: string) => void } = {}) {
    return this.client.buildTemplate(recipe, opts);
  }
  promote(id: string, name: string, settings?: Parameters<Engine["promote"]>[2]) {
    return this.client.call("templates.promote", { id, name, settings });
  }
  deleteTemplate(name: string) {
    return this.client.call("templates.delete", { name });
  }
  listTenants(opts: { running?: boolean } = {}) {
    return this.client.call("tenants.list", opts);
  }
  getTenant(id: string) {
    return this.client.call("tenants.get", { id });
  }
  createTenant(input: Parameters<Engine["createTenant"]>[0]) {
    return this.client.call("tenants.create", input);
  }
  startTenant(id: string) {
    return this.client.call("tenants.start", { id });
  }
  stopTenant(id: string, opts: { force?: boolean; timeoutS?: number } = {}) {
    return this.client.call("tenants.stop", { id, ...opts });
  }
  restartTenant(id: string) {
    return this.client.call("tenants.restart", { id });
  }
  pauseTenant(id: string) {
    return this.client.call("tenants.pause", { id });
  }
  resumeTenant(id: string) {
    return this.client.call("tenants.resume", { id });
  }
  deleteTenant(id: string) {
    return this.client.call("tenants.delete", { id });
  }
  updateTenant(id: string, patch: Parameters<Engine["updateTenant"]>[1]) {
    return this.client.call("tenants.update", { id, ...patch });
  }
  setFirewall(id: string, rules: Parameters<Engine["setFirewall"]>[1]) {
    return this.client.call("tenants.setFirewall", { id, rules });
  }
  exec(id: string, command: string[], timeoutMs?: number) {
    return this.client.call("tenants.exec", { id, command, timeoutMs });
  }
  logs(id: string, maxBytes?: number) {
    return this.client.call("tenants.logs", { id, maxBytes });
  }
  createSnapshot(id: string, name?: string) {
    return this.client.call("snapshots.create", { id, name });
  }
  restoreSnapshot(id: string, name: string) {
    return this.client.call("snapshots.restore", { id, name });
  }
  deleteSnapshot(id: string, name: string) {
    return this.client.call("snapshots.delete", { id, name });
  }
}

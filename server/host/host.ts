// The host engine: templates and tenants on one machine. It has no database: the disk is its state
// (subvolumes in the pool, one directory per tenant in the lxcpath holding the LXC config and a
// hoody.json of what we decided for it). On start it adopts what is there; it never stops a tenant
// because it restarted.
//
// One module per concern, as Incus has one driver file per concern: adopt.ts (open and adoption),
// templates.ts, tenants.ts (allocation and create), lifecycle.ts (run state, settings, exec, logs),
// network.ts (firewall and veth), snapshots.ts, erase.ts (delete), stats.ts; state.ts holds what they
// share. This class is the daemon's face of them: one method per entry of its method table.
import type { z } from "zod";
import type { HostConfig } from "./config.js";
import type { Progress } from "../recipes/index.js";
import type { CreateTenantInput, FirewallRule, LimitsSchema, TemplateSettings } from "../shared/protocol.js";
import { openHost } from "./adopt.js";
import type { HostState } from "./state.js";
import { hostInfo, stats } from "./stats.js";
import type { StatsShard } from "./stats-shard.js";
import { buildTemplate, deleteTemplate, listTemplates, promoteTenant } from "./templates.js";
import { createTenant, getTenantInfo, listTenants } from "./tenants.js";
import { exec, initPid, logs, pauseTenant, restartTenant, resumeTenant, startTenant, stopTenant, updateTenant } from "./lifecycle.js";
import { setFirewall } from "./network.js";
import { deleteTenant } from "./erase.js";
import { claimMember, discardMembers, listPool, prepareMember } from "./warm-pool.js";
import { createSnapshot, deleteSnapshot, listSnapshots, restoreSnapshot } from "./snapshots.js";
import { createBackup, deleteBackup, listBackups } from "./backup/backups.js";
import { importBackup, restoreBackup } from "./backup/restore.js";
import { exportTenant } from "./backup/export.js";
import { type ChangesInput, readTenantFile, tenantChanges } from "./changes.js";

export class Host {
  private constructor(private readonly h: HostState) {}

  /** Opens the pool, checks tools once, and adopts every template and tenant on disk. */
  static async open(config: HostConfig): Promise<Host> {
    return new Host(await openHost(config));
  }

  get config() {
    return this.h.config;
  }

  get pool() {
    return this.h.pool;
  }

  info() {
    return hostInfo(this.h);
  }

  stats(opts: { sync?: boolean; ids?: string[] } = {}) {
    return stats(this.h, opts);
  }

  /** How many threads read a stats collection. */
  get statsThreads(): number {
    return this.h.statsShard?.ready ? 2 : 1;
  }

  /**
   * Has the shard read about half of the tenants of each stats collection on its own thread
   * (stats-shard.ts), once it has started; one that cannot start leaves them all to this thread
   * (it says why itself).
   */
  async adoptStatsShard(shard: StatsShard): Promise<void> {
    await shard.started.then(
      () => {
        this.h.statsShard = shard;
      },
      () => undefined,
    );
  }

  listTemplates() {
    return listTemplates(this.h);
  }

  buildTemplate(recipeName: string, opts: { name?: string; progress?: Progress } = {}) {
    return buildTemplate(this.h, recipeName, opts);
  }

  promoteTenant(id: string, name: string, settings?: Partial<TemplateSettings>) {
    return promoteTenant(this.h, id, name, settings);
  }

  deleteTemplate(name: string) {
    return deleteTemplate(this.h, name);
  }

  listTenants(opts: { running?: boolean } = {}) {
    return listTenants(this.h, opts);
  }

  getTenantInfo(id: string) {
    return getTenantInfo(this.h, id);
  }

  createTenant(input: CreateTenantInput) {
    return createTenant(this.h, input);
  }

  startTenant(id: string) {
    return startTenant(this.h, id);
  }

  stopTenant(id: string, opts: { force?: boolean; timeoutS?: number } = {}) {
    return stopTenant(this.h, id, opts);
  }

  restartTenant(id: string) {
    return restartTenant(this.h, id);
  }

  pauseTenant(id: string) {
    return pauseTenant(this.h, id);
  }

  resumeTenant(id: string) {
    return resumeTenant(this.h, id);
  }

  updateTenant(id: string, patch: { env?: Record<string, string | null>; limits?: Partial<z.infer<typeof LimitsSchema>>; ramdiskMiB?: number; autostart?: boolean; restart?: boolean }) {
    return updateTenant(this.h, id, patch);
  }

  setFirewall(id: string, rules: FirewallRule[]) {
    return setFirewall(this.h, id, rules);
  }

  exec(id: string, command: string[], timeoutMs?: number) {
    return exec(this.h, id, command, timeoutMs);
  }

  logs(id: string, maxBytes?: number) {
    return logs(this.h, id, maxBytes);
  }

  initPid(id: string) {
    return initPid(this.h, id);
  }

  deleteTenant(id: string) {
    return deleteTenant(this.h, id);
  }

  /** The warm pool's members (warm-pool.ts): one face for its four methods. */
  get warm() {
    const h = this.h;
    return {
      prepare: (template: string) => prepareMember(h, template),
      claim: (input: CreateTenantInput) => claimMember(h, input),
      list: () => listPool(h),
      discard: (template: string, keep: number) => discardMembers(h, template, keep),
    };
  }

  /** Snapshots (snapshots.ts): one object, so Host stays under the house's method count. */
  get snapshots() {
    const h = this.h;
    return {
      create: (id: string, name?: string) => createSnapshot(h, id, name),
      list: (id: string) => listSnapshots(h, id),
      restore: (id: string, name: string) => restoreSnapshot(h, id, name),
      delete: (id: string, name: string) => deleteSnapshot(h, id, name),
    };
  }

  /** The delta browser (changes.ts): what a tenant changed, and its small files. */
  get deltas() {
    const h = this.h;
    return {
      changes: (input: ChangesInput) => tenantChanges(h, input),
      readFile: (id: string, path: string) => readTenantFile(h, id, path),
    };
  }

  /** The dedup runner (one object: the daemon calls start/status on it). */
  get dedup() {
    return this.h.dedup;
  }

  /** Sealed backups, import and the Art. 20 export (backup/): one object, so Host stays small. */
  get backups() {
    const h = this.h;
    return {
      create: (id: string) => createBackup(h, id),
      list: (id: string) => listBackups(h, id),
      delete: (id: string, backup: string) => deleteBackup(h, id, backup),
      restore: (id: string, backup: string) => restoreBackup(h, id, backup),
      import: (source: AsyncIterable<Buffer>, opts: { name?: string; labels?: Record<string, string>; start?: boolean }) => importBackup(h, source, opts),
      export: (id: string) => exportTenant(h, id),
    };
  }
}

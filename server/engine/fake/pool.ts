// The fake engine's warm pool: members kept apart from its tenants until a claim moves one over,
// with the daemon's rules (picked synchronously, so one member never serves two creates; a claim
// that asks for other cgroup limits or KSM than the members have gets null).
import { LimitsSchema, type CreateTenantInput, type PoolInfo, type TenantInfo } from "../../shared/protocol";
import { parseCreateTenant } from "../../shared/engine-input";
import type { EnginePool } from "../types";
import { tenantInfo, type FakeTenant } from "./model";
import type { FakeEngine } from "./engine";

export class FakeWarmPool implements EnginePool {
  readonly members = new Map<string, FakeTenant>();
  constructor(private readonly engine: FakeEngine) {}

  prepare(template: string): Promise<{ id: string }> {
    return this.engine.script.run("pool.prepare", [template], async () => {
      const { id } = await this.engine.adopt({ template, start: true });
      this.members.set(id, this.engine.tenant(id));
      this.engine.tenants.delete(id);
      return { id };
    });
  }

  claim(input: CreateTenantInput): Promise<TenantInfo | null> {
    const req = parseCreateTenant(input);
    // Picked before the script's await, as the daemon picks before its first await.
    const tpl = this.engine.templates.get(req.template);
    const limits = tpl ? LimitsSchema.parse({ ...tpl.settings.limits, ...req.limits }) : null;
    const m =
      req.sourceTenant || !req.start || !tpl || !limits
        ? undefined
        : [...this.members.values()].find(
            (x) =>
              x.template === req.template &&
              x.limits.memoryMiB === limits.memoryMiB &&
              x.limits.cpuMilli === limits.cpuMilli &&
              x.limits.pids === limits.pids &&
              x.ksm === (req.ksm ?? tpl.settings.ksm),
          );
    if (m) this.members.delete(m.id);
    return this.engine.script.run("pool.claim", [structuredClone(input)], () => {
      if (!m || !tpl || !limits) return null;
      const name = req.name ?? m.id;
      Object.assign(m, {
        name,
        env: { ...tpl.settings.env, TENANT_NAME: name, ...req.env },
        firewall: structuredClone(req.firewall ?? tpl.settings.firewall),
        limits,
        ramdiskMiB: req.ramdiskMiB ?? tpl.settings.ramdiskMiB,
        labels: req.labels,
        autostart: req.autostart,
        createdAt: new Date().toISOString(),
      });
      this.engine.tenants.set(m.id, m);
      return tenantInfo(m);
    });
  }

  list(): Promise<PoolInfo[]> {
    return this.engine.script.run("pool.list", [], () => {
      const by = new Map<string, PoolInfo>();
      for (const m of this.members.values()) {
        const p = by.get(m.template) ?? { template: m.template, ready: 0, preparing: 0, memoryBytes: 0 };
        p.ready++;
        p.memoryBytes += 4 * 1024 * 1024;
        by.set(m.template, p);
      }
      return [...by.values()];
    });
  }

  discard(template: string, keep: number): Promise<{ removed: number }> {
    return this.engine.script.run("pool.discard", [template, keep], () => {
      const of = [...this.members.values()].filter((m) => m.template === template);
      for (const m of of.slice(keep)) this.members.delete(m.id);
      return { removed: Math.max(0, of.length - keep) };
    });
  }
}

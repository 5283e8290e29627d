// Firewall rules per container: the SDK's add/toggle/remove by fields, ours by index, reset to the template's.
import { asc, eq } from "drizzle-orm";
import * as t from "../db/schema";
import type { FirewallRule } from "../shared/protocol";
import { FirewallRuleSchema } from "../shared/protocol";
import { issuePointers, issuesText } from "../shared/issues";
import type { Actor, CoreContext } from "./context";
import { CoreError, notFound } from "./errors";

export class FirewallService {
  constructor(private readonly ctx: CoreContext) {}

  private rules(containerId: string): FirewallRule[] {
    return this.ctx.db
      .select()
      .from(t.firewallRules)
      .where(eq(t.firewallRules.containerId, containerId))
      .orderBy(asc(t.firewallRules.position))
      .all()
      .map((r) => r.rule as FirewallRule);
  }

  view(containerId: string) {
    const all = this.rules(containerId);
    const dir = (d: "ingress" | "egress") => all.filter((r) => r.direction === d).map((r, index) => ({ index, ...r }));
    return { ingress: dir("ingress"), egress: dir("egress"), rule_count: all.length, max_rules: this.ctx.settings.maxFirewallRules };
  }

  get(actor: Actor, containerId: string) {
    return this.view(this.ctx.containerRow(actor, containerId).id);
  }

  private async replaceRules(actor: Actor, row: { id: string; engineName: string }, action: string, next: FirewallRule[]) {
    if (next.length > this.ctx.settings.maxFirewallRules) throw new CoreError(422, "TOO_MANY_RULES", `at most ${this.ctx.settings.maxFirewallRules} rules`);
    const containerId = row.id;
    return this.ctx.audited(actor, action, `container:${containerId}`, async () => {
      await this.ctx.engine.setFirewall(row.engineName, next);
      this.ctx.db.transaction((tx) => {
        tx.delete(t.firewallRules).where(eq(t.firewallRules.containerId, containerId)).run();
        if (next.length)
          tx.insert(t.firewallRules)
            .values(next.map((rule, position) => ({ containerId, position, rule })))
            .run();
      });
      return this.view(containerId);
    });
  }

  /** A rule from the API: the schema's checks, and the address that a direction can match on. */
  private parseRule(direction: "ingress" | "egress", body: Record<string, unknown>): FirewallRule {
    const invalid = (message: string, issues: { instancePath: string; message: string }[]) => new CoreError(422, "INVALID_FIREWALL_RULE", message, issues);
    // An ingress rule filters traffic to this container, an egress rule traffic from it: the other
    // address is the container's own and cannot be matched on (refused, never silently ignored).
    const other = direction === "ingress" ? "destination" : "source";
    if (body[other] !== undefined)
      throw invalid(`${other}: ${direction} rules match on ${direction === "ingress" ? "source" : "destination"}; the ${other} is this container`, [
        { instancePath: `/${other}`, message: `not used by ${direction} rules` },
      ]);
    const r = FirewallRuleSchema.safeParse({ ...body, direction });
    if (!r.success) throw invalid(issuesText(r.error.issues), issuePointers(r.error.issues));
    return r.data;
  }

  /** Position of the n-th rule of a direction in the combined ordered list. */
  private globalIndex(all: FirewallRule[], direction: string, index: number): number {
    const positions = all.map((r, i) => (r.direction === direction ? i : -1)).filter((i) => i >= 0);
    const p = positions[index];
    if (p === undefined) throw notFound("RULE", `${direction}[${index}]`);
    return p;
  }

  /** The rules of a direction matching every given field (the SDK's way to name a rule), with their index in the direction. */
  private matching(all: FirewallRule[], direction: string, filter: Record<string, unknown>): { rule: FirewallRule; index: number; at: number }[] {
    const keys = Object.keys(filter).filter((k) => filter[k] !== undefined);
    const out: { rule: FirewallRule; index: number; at: number }[] = [];
    let index = 0;
    all.forEach((rule, at) => {
      if (rule.direction !== direction) return;
      if (keys.every((k) => (rule as Record<string, unknown>)[k] === filter[k])) out.push({ rule, index, at });
      index++;
    });
    return out;
  }

  /**
   * Appends a rule. A rule that repeats one of the direction (all fields but description and
   * state) changes nothing and answers that rule with `duplicate_of`, as Hoody's API does.
   */
  async add(actor: Actor, given: string, direction: "ingress" | "egress", body: Record<string, unknown>) {
    const row = this.ctx.containerRow(actor, given);
    const containerId = row.id;
    const rule = this.parseRule(direction, body);
    const all = this.rules(containerId);
    const key = (r: FirewallRule) =>
      JSON.stringify(
        Object.entries({ ...r, description: undefined, state: undefined })
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    const dup = this.matching(all, direction, {}).find((m) => key(m.rule) === key(rule));
    if (dup) {
      this.ctx.audit(actor, "firewall.add", `container:${containerId}`, "duplicate", { direction, index: dup.index });
      return { ...dup.rule, duplicate: true as const, duplicate_of: { direction, index: dup.index } };
    }
    return this.replaceRules(actor, row, "firewall.add", [...all, rule]);
  }

  /**
   * PATCH /firewall/{direction}. With `index`: that rule gets the given fields (ours). Without: the
   * first rule matching the given fields gets `state` (the SDK's toggle).
   */
  async toggle(actor: Actor, given: string, direction: "ingress" | "egress", body: Record<string, unknown> & { index?: number; state?: "enabled" | "disabled" }) {
    const row = this.ctx.containerRow(actor, given);
    const containerId = row.id;
    const all = this.rules(containerId);
    const { index, state, ...fields } = body;
    let at: number;
    let next: FirewallRule;
    if (index !== undefined) {
      at = this.globalIndex(all, direction, index);
      next = this.parseRule(direction, { ...all[at], ...fields, ...(state && { state }), direction: undefined });
    } else {
      if (!state) throw new CoreError(422, "VALIDATION_ERROR", "state: required (the rule's new state)", [{ instancePath: "/state", message: "required" }]);
      const filter = this.ruleFilter(direction, fields);
      const m = this.matching(all, direction, filter)[0];
      if (!m) throw new CoreError(404, "RULE_NOT_FOUND", `no ${direction} rule matches ${JSON.stringify(filter)}`);
      at = m.at;
      next = { ...m.rule, state };
    }
    const rules = [...all];
    rules[at] = next;
    const view = await this.replaceRules(actor, row, "firewall.update", rules);
    const dirIndex = this.matching(rules, direction, {}).find((m) => m.at === at)!.index;
    return { direction, new_state: next.state, updated: next, index: dirIndex, ...view };
  }

  /** The identifying fields of a toggle or remove; at least one is needed (or `all` / `index`). */
  private ruleFilter(direction: "ingress" | "egress", fields: Record<string, unknown>): Record<string, unknown> {
    const filter = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    if (!Object.keys(filter).length) throw new CoreError(422, "RULE_FILTER_REQUIRED", `name the ${direction} rule by index or by its fields (action, protocol, destination_port, …)`);
    return filter;
  }

  /** DELETE /firewall/{direction}: the rule at `index` (ours), or the first rule matching the fields, or every match with `all` (no fields: every rule of the direction). */
  async remove(actor: Actor, containerGiven: string, direction: "ingress" | "egress", body: Record<string, unknown> & { index?: number; all?: boolean }) {
    const row = this.ctx.containerRow(actor, containerGiven);
    const containerId = row.id;
    const all = this.rules(containerId);
    const { index, all: every, ...fields } = body;
    const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    let removed: { rule: FirewallRule; at: number }[];
    if (index !== undefined) {
      if (Object.keys(given).length || every) throw new CoreError(422, "VALIDATION_ERROR", "name a rule by index or by its fields, not both");
      const at = this.globalIndex(all, direction, index);
      removed = [{ rule: all[at]!, at }];
    } else {
      const filter = every ? given : this.ruleFilter(direction, given);
      const matches = this.matching(all, direction, filter);
      removed = every ? matches : matches.slice(0, 1);
      if (!every && !removed.length) throw new CoreError(404, "RULE_NOT_FOUND", `no ${direction} rule matches ${JSON.stringify(filter)}`);
    }
    const gone = new Set(removed.map((r) => r.at));
    const view = gone.size
      ? await this.replaceRules(
          actor,
          row,
          "firewall.delete",
          all.filter((_, i) => !gone.has(i)),
        )
      : this.view(containerId);
    return { direction, removed_count: removed.length, removed: removed.map((r) => r.rule), ...view };
  }

  /** The dashboard's form of a change: the rule at index gets the given fields. */
  patch(actor: Actor, containerId: string, direction: "ingress" | "egress", index: number, body: Record<string, unknown>) {
    return this.toggle(actor, containerId, direction, { ...body, index });
  }

  delete(actor: Actor, containerId: string, direction: "ingress" | "egress", index: number) {
    return this.remove(actor, containerId, direction, { index });
  }

  async reset(actor: Actor, containerId: string) {
    const row = this.ctx.containerRow(actor, containerId);
    const tpl = (await this.ctx.engine.listTemplates()).find((x) => x.name === row.template);
    const view = await this.replaceRules(actor, row, "firewall.reset", tpl?.settings.firewall ?? []);
    return { rules: { ingress: view.ingress, egress: view.egress }, ...view };
  }
}

// Templates: list, build from a recipe, promote a container.
import type { Actor, CoreContext } from "./context";
import { viaEngine } from "./errors";

export class TemplateService {
  constructor(private readonly ctx: CoreContext) {}

  async list() {
    const list = await viaEngine(this.ctx.engine.listTemplates());
    return list.map((x) => ({
      name: x.name,
      recipe: x.recipe,
      created_at: x.createdAt,
      size_bytes: x.bytes,
      tenants: x.tenants,
      app_port: x.settings.appPort,
      shared_paths: x.settings.sharedPaths,
      ksm: x.settings.ksm,
      idle_timeout_s: x.settings.idleTimeoutS,
    }));
  }

  async build(actor: Actor, body: { recipe: string; name?: string }, onProgress?: (p: number, m: string) => void) {
    this.ctx.requireAdmin(actor);
    return this.ctx.audited(actor, "template.build", `template:${body.name ?? body.recipe}`, async () => {
      await this.ctx.engine.buildTemplate(body.recipe, { name: body.name, onProgress });
      return (await this.list()).find((x) => x.name === (body.name ?? body.recipe))!;
    });
  }

  async promote(actor: Actor, body: { container_id: string; name: string }) {
    this.ctx.requireAdmin(actor);
    const row = this.ctx.containerRow(actor, body.container_id);
    return this.ctx.audited(actor, "template.promote", `template:${body.name}`, async () => {
      await this.ctx.engine.promote(row.engineName, body.name);
      return (await this.list()).find((x) => x.name === body.name)!;
    });
  }
}

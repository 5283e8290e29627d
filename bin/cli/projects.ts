// `hoody projects ...`
import type { ProjectView } from "../../server/core/core";
import { ApiError, allowOnly, intOption, positionals, type Handler } from "./args";
import { call, enc } from "./http";
import { json, out, pageNote, table, when, type Pagination } from "./output";

export const projects: Record<string, Handler> = {
  async list(cfg, inv) {
    allowOnly(inv, ["page", "limit"]);
    positionals(inv, []);
    const d = await call<{ projects: ProjectView[]; pagination: Pagination }>(cfg, "GET", "/projects", { query: { page: inv.values.page, limit: inv.values.limit } });
    if (inv.values.json) return json(d);
    table(
      ["ID", "ALIAS", "CONTAINERS", "MAX", "CREATED"],
      d.projects.map((p) => [p.id, p.alias, p.container_count, p.max_containers, when(p.created_at)]),
    );
    pageNote(d.pagination, "projects");
  },
  async create(cfg, inv) {
    allowOnly(inv, ["max"]);
    const [alias] = positionals(inv, ["alias"]);
    const max = intOption(inv, "max", 0, 100000);
    json(await call<ProjectView>(cfg, "POST", "/projects", { body: { alias, ...(max !== undefined && { max_containers: max }) } }));
  },
  async get(cfg, inv) {
    allowOnly(inv, []);
    const [id] = positionals(inv, ["project-id"]);
    json(await call<ProjectView>(cfg, "GET", `/projects/${enc(id!)}`));
  },
  async rm(cfg, inv) {
    allowOnly(inv, ["erase-containers"]);
    const [id] = positionals(inv, ["project-id"]);
    // The API erases a project's containers with it (as Hoody's does): the CLI asks for that in so many words.
    if (!inv.values["erase-containers"]) {
      const p = await call<ProjectView>(cfg, "GET", `/projects/${enc(id!)}`);
      if (p.container_count > 0)
        throw new ApiError("PROJECT_NOT_EMPTY", `project ${id} has ${p.container_count} container(s); add --erase-containers to erase them (each with its GDPR receipt) and the project`);
    }
    const d = await call<{ id: string; deleted: { containers: number }; receipts: string[] }>(cfg, "DELETE", `/projects/${enc(id!)}`);
    if (inv.values.json) return json(d);
    out(`deleted project ${d.id}${d.deleted.containers ? ` and erased ${d.deleted.containers} container(s) (receipts ${d.receipts.join(", ")})` : ""}`);
  },
};

import { CreateContainerBody, CreateProjectBody, ListQuery, ProjectDeleteQuery, ProjectListQuery, UpdateProjectBody } from "../../core/schemas";

import { route, type Route } from "./route";

export const projectRoutes: Route[] = [
  // ---------------------------------------------------------------- projects
  route({
    method: "GET",
    path: "/projects",
    summary: "List projects (sort_by: id, alias, created_at, updated_at; sort_order)",
    tag: "Projects",
    query: ProjectListQuery,
    message: "Projects retrieved",
    handler: ({ core, actor, query }) => core.projects.list(actor, query),
  }),
  route({
    method: "POST",
    path: "/projects",
    summary: "Create a project",
    tag: "Projects",
    body: CreateProjectBody,
    status: 201,
    message: "Project created successfully",
    handler: ({ core, actor, body }) => core.projects.create(actor, body),
  }),
  route({ method: "GET", path: "/projects/{id}", summary: "Get a project", tag: "Projects", message: "Project retrieved", handler: ({ core, actor, params }) => core.projects.get(actor, params.id) }),
  route({
    method: "PUT",
    path: "/projects/{id}",
    summary: "Update a project",
    tag: "Projects",
    body: UpdateProjectBody,
    message: "Project updated",
    handler: ({ core, actor, params, body }) => core.projects.update(actor, params.id, body),
  }),
  route({
    method: "PATCH",
    path: "/projects/{id}",
    summary: "Update a project",
    tag: "Projects",
    body: UpdateProjectBody,
    message: "Project updated",
    handler: ({ core, actor, params, body }) => core.projects.update(actor, params.id, body),
  }),
  route({
    method: "DELETE",
    path: "/projects/{id}",
    summary: "Delete a project: erases each of its containers (each with its GDPR receipt), then the project; stops at the first failed erasure",
    tag: "Projects",
    query: ProjectDeleteQuery,
    message: "Project deleted",
    handler: ({ core, actor, params, query }) => core.erasure.deleteProject(actor, params.id, { includeDeletedItems: query.include_deleted_items === "true" || query.include_deleted_items === "1" }),
  }),
  route({
    method: "GET",
    path: "/projects/{id}/containers",
    summary: "List a project's containers",
    tag: "Containers",
    query: ListQuery,
    message: "Containers retrieved",
    handler: ({ core, actor, params, query }) => core.containers.list(actor, { ...query, projectId: params.id }),
  }),
  route({
    method: "POST",
    path: "/projects/{id}/containers",
    summary: "Create a container from a template; answers when it runs",
    tag: "Containers",
    body: CreateContainerBody,
    status: 201,
    message: "Container created successfully",
    handler: ({ core, actor, params, body }) => core.provisioning.create(actor, params.id, body),
  }),

  // ---------------------------------------------------------------- servers
  // Hoody's server-rental list/get: here the places tenants can run (this box, or each Incus member), not rentals.
  route({
    method: "GET",
    path: "/servers",
    summary: "Where containers can run: this box, or each Incus cluster member (the server_id create takes)",
    tag: "Servers",
    message: "Servers retrieved",
    handler: ({ core, actor }) => core.servers.list(actor),
  }),
  route({ method: "GET", path: "/servers/{id}", summary: "One server", tag: "Servers", message: "Server retrieved", handler: ({ core, actor, params }) => core.servers.get(actor, params.id) }),
];

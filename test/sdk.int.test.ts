// Hoody's own TypeScript SDK, unchanged (../shared/reference/hoody-sdk/generated/, never copied into
// the project), against the whole real stack: every method of the projects, containers,
// container-environment and container-firewall services (and server-rental's list/get) that maps to
// a route this product implements, called as the SDK's README uses them: its client-side id check
// is never bypassed, request bodies are the .d.ts types (so `tsc` proves they are typed as the SDK
// says) and the asserts read the fields its response types declare. The methods this product does
// not implement are listed below with the reason (the README carries the same list), and a test
// checks that "exercised" and "not implemented" partition every method of the services, so a new
// SDK method cannot be skipped silently.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../../shared/reference/hoody-sdk/generated/http-client.js";
import { ApiError } from "../../shared/reference/hoody-sdk/generated/errors.js";
import { ProjectsService } from "../../shared/reference/hoody-sdk/generated/api/projects.service.js";
import { ContainersService } from "../../shared/reference/hoody-sdk/generated/api/containers.service.js";
import { ContainerEnvironmentService } from "../../shared/reference/hoody-sdk/generated/api/container-environment.service.js";
import { ContainerFirewallService } from "../../shared/reference/hoody-sdk/generated/api/container-firewall.service.js";
import { ContainerImagesService } from "../../shared/reference/hoody-sdk/generated/api/container-images.service.js";
import { ServerRentalService } from "../../shared/reference/hoody-sdk/generated/api/server-rental.service.js";
import type {
  ApiContainersCopyRequest,
  ApiContainersCreateRequest,
  ApiContainersCreateSnapshotRequest,
  ApiContainersGetResponse,
  ApiContainersUpdateRequest,
  ApiContainersUpdateSnapshotAliasRequest,
  ApiEnvBulkSetRequest,
  ApiEnvSetRequest,
  ApiFirewallAddEgressRuleRequest,
  ApiFirewallAddIngressRuleRequest,
  ApiFirewallListResponse,
  ApiFirewallRemoveEgressRuleRequest,
  ApiFirewallRemoveIngressRuleRequest,
  ApiFirewallToggleEgressRuleRequest,
  ApiFirewallToggleIngressRuleRequest,
  ApiProjectsCreateRequest,
  ApiProjectsUpdateRequest,
} from "../../shared/reference/hoody-sdk/generated/types.js";
import { TestStack } from "../testkit/stack-harness.js";
import { waitFor } from "../testkit/host-harness.js";

const HEX24 = /^[0-9a-f]{24}$/;
const STATUSES = ["creating", "running", "paused", "stopped", "failed", "deleted", "copying", "deleting", "claiming"];
/** A well-formed key (the SDK types ssh_public_key; Hoody wants one container per key). */
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKH4OGhL+SNgvCPEhxrVcGUHuRAATfj/XJv89casTSOK sdk-test";
/** A 24-hex id nothing on this server has (for the routes this product does not implement). */
const NO_SUCH_ID = "5f0c0ffee0ddba11ab1e0001";

// ------------------------------------------------------------------ the SDK's method inventory
/** Every method of these services is either exercised below or listed here with why it is not. */
const NOT_IMPLEMENTED: Record<string, Record<string, string>> = {
  projects: {
    listPermissions: "no project sharing: one operator; access is scoped by API tokens (admin or one project)",
    listPermissionsIterator: "pager over listPermissions",
    listPermissionsAll: "pager over listPermissions",
    addPermission: "no project sharing (see listPermissions)",
    updatePermission: "no project sharing (see listPermissions)",
    removePermission: "no project sharing (see listPermissions)",
    getStats: "no per-project stats route: containers.getStats per container",
  },
  containers: {
    setContainerKvm: "no /dev/kvm passthrough: tenants are unprivileged LXC containers on a shared host",
    sync: "copies are independent BTRFS snapshots; no incremental sync back from the source",
    authorize: "no signed container claims (no Hoody identity service or public key to verify against)",
    getNetworkConfig: "no per-container outbound proxy/VPN; egress is governed by the firewall rules",
    updateNetworkConfig: "no per-container outbound proxy/VPN (see getNetworkConfig)",
    removeNetworkConfig: "no per-container outbound proxy/VPN (see getNetworkConfig)",
    startNetwork: "no per-container outbound proxy/VPN (see getNetworkConfig)",
    stopNetwork: "no per-container outbound proxy/VPN (see getNetworkConfig)",
  },
  environment: {},
  firewall: {
    listIterator: "SDK pager reads data.data, which its own ApiFirewallListResponse lacks: yields nothing from any server; use list()",
    listAll: "SDK pager over listIterator (see listIterator)",
  },
  serverRental: {
    listIterator: "SDK pager reads data.data, but ApiServerRentalListResponse.data is the array itself: yields nothing from any server; use list()",
    listAll: "SDK pager over listIterator (see listIterator)",
    browse: "nothing to rent: the servers are this box (host engine) or your Incus cluster's members",
    browseIterator: "pager over browse",
    browseAll: "pager over browse",
    rent: "nothing to rent (see browse)",
    getRentalRuntime: "nothing to rent (see browse)",
    getServerRuntime: "no server runtime metrics route; per-container stats are containers.getStats",
    listServerOffers: "nothing to rent (see browse)",
    reserveServerOffer: "nothing to rent (see browse)",
    listMyReservations: "nothing to rent (see browse)",
    getMyReservation: "nothing to rent (see browse)",
  },
  images: {
    listPublic: "no image marketplace: images are this server's templates (GET /api/v1/templates), named by container_image",
    listPublicIterator: "pager over listPublic",
    listPublicAll: "pager over listPublic",
    getDetails: "no image marketplace (see listPublic)",
    getIcon: "no image marketplace (see listPublic)",
    list: "no image marketplace (see listPublic)",
    listIterator: "pager over list",
    listAll: "pager over list",
    importFree: "no image marketplace (see listPublic)",
    purchase: "no image marketplace (see listPublic)",
    rate: "no image marketplace (see listPublic)",
  },
};
const EXERCISED: Record<string, string[]> = {
  projects: ["list", "listIterator", "listAll", "create", "get", "update", "delete"],
  containers: [
    "listByProject",
    "listByProjectIterator",
    "listByProjectAll",
    "create",
    "list",
    "listIterator",
    "listAll",
    "get",
    "update",
    "delete",
    "getStatusLogs",
    "copy",
    "manage",
    "listSnapshots",
    "listSnapshotsIterator",
    "listSnapshotsAll",
    "createSnapshot",
    "restoreSnapshot",
    "deleteSnapshot",
    "updateSnapshotAlias",
    "getStats",
  ],
  environment: ["list", "bulkSet", "set", "delete"],
  firewall: ["list", "reset", "addIngressRule", "toggleIngressRule", "removeIngressRule", "addEgressRule", "toggleEgressRule", "removeEgressRule"],
  serverRental: ["list", "get"],
  images: [],
};
const CLASSES = {
  projects: ProjectsService,
  containers: ContainersService,
  environment: ContainerEnvironmentService,
  firewall: ContainerFirewallService,
  serverRental: ServerRentalService,
  images: ContainerImagesService,
};
/** The generated base classes' plumbing, not API calls. */
const PLUMBING = new Set(["constructor", "_wrapHttpClient", "buildRealmUrl", "getPathValue"]);

/** The public methods of a service class, read from its prototype chain (the generated base included). */
function sdkMethods(cls: { prototype: object }): string[] {
  const names = new Set<string>();
  for (let p: object | null = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) if (!PLUMBING.has(n) && typeof Object.getOwnPropertyDescriptor(p, n)?.value === "function") names.add(n);
  }
  return [...names].sort();
}

/** Which methods the tests called, per service: the proof that EXERCISED is not just a list. */
const called: Record<string, Set<string>> = {};
/** A service whose top-level calls are recorded; calls it makes internally (a pager's list) are not. */
function recorded<T extends object>(name: string, svc: T): T {
  const seen = new Set<string>();
  called[name] = seen;
  return new Proxy(svc, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== "function" || typeof prop !== "string") return v;
      return (...args: unknown[]) => {
        seen.add(prop);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

// ------------------------------------------------------------------ the stack and the SDK, wired as its README does
let s: TestStack;
let projects: ProjectsService;
let containers: ContainersService;
let env: ContainerEnvironmentService;
let firewall: ContainerFirewallService;
let servers: ServerRentalService;
let images: ContainerImagesService;

let serverId: string;
let projectA: string; // holds the main container
let projectB: string; // copy target, then deleted with its containers
let c1: { id: string; name: string };

type Container = ApiContainersGetResponse["data"];

/** The SDK README's way to learn when a container is ready: poll containers.get until it reaches a status. */
async function until(id: string, want: "running" | "stopped" | "paused", ms = 120_000): Promise<Container> {
  const deadline = Date.now() + ms;
  let last: Container | undefined;
  while (Date.now() < deadline) {
    last = (await containers.get(id)).data;
    if (last.status === want) return last;
    if (last.status === "failed") throw new Error(`container ${id} failed while waiting for ${want}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`container ${id} is ${last?.status}, not ${want}, after ${ms} ms`);
}

/** The rejection a call ends in, which must be the SDK's ApiError (an answer from the server). */
async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, "the call should have been refused").toBeInstanceOf(ApiError);
  return e as ApiError;
}

/** Run a command in a tenant through this server's own exec route (the SDK has none): what the app sees. */
async function sh(id: string, script: string): Promise<string> {
  const r = await s.api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", script] });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return String(r.body.data.stdout).trim();
}

/** The environment the tenant's app started with: the mini template's init writes it to /tmp/www/env.txt. */
async function appEnv(id: string): Promise<Record<string, string>> {
  const lines = (await sh(id, "cat /tmp/www/env.txt")).split("\n");
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** Wait until the running app has started with an environment that satisfies `ok` (a restart writes env.txt anew). */
function appEnvUntil(id: string, ok: (e: Record<string, string>) => boolean): Promise<Record<string, string>> {
  return waitFor(async () => {
    const e = await appEnv(id);
    return ok(e) ? e : null;
  }, 60_000);
}

beforeAll(async () => {
  s = await TestStack.create();
  const http = new HttpClient({ baseURL: s.url, token: s.adminToken });
  projects = recorded("projects", new ProjectsService(http, "api", undefined));
  containers = recorded("containers", new ContainersService(http, "api", undefined));
  env = recorded("environment", new ContainerEnvironmentService(http, "api", undefined));
  firewall = recorded("firewall", new ContainerFirewallService(http, "api", undefined));
  servers = recorded("serverRental", new ServerRentalService(http, "api", undefined));
  images = recorded("images", new ContainerImagesService(http, "api", undefined));
});
afterAll(async () => {
  await s?.stop();
});

describe("the SDK's inventory", () => {
  it("every method of the services is either exercised here or documented as not implemented, never both", () => {
    for (const [svc, cls] of Object.entries(CLASSES)) {
      const exercised = EXERCISED[svc]!;
      const missing = Object.keys(NOT_IMPLEMENTED[svc]!);
      expect(
        exercised.filter((m) => missing.includes(m)),
        svc,
      ).toEqual([]);
      expect([...exercised, ...missing].sort(), `${svc}: a method of the SDK is neither exercised nor documented`).toEqual(sdkMethods(cls));
    }
  });
});

describe("servers (server-rental list/get)", () => {
  it("serverRental.list names this box with a 24-hex id that create takes as server_id", async () => {
    const r = await servers.list();
    expect(r.statusCode).toBe(200);
    expect(Array.isArray(r.data)).toBe(true);
    expect(r.data.length).toBeGreaterThanOrEqual(1);
    const first = r.data[0]!;
    expect(first.id).toMatch(HEX24);
    // A rental's id, its server_id and its server.id are one thing here: there is nothing to rent.
    expect(first.server_id).toBe(first.id);
    expect(first.server?.id).toBe(first.id);
    expect(typeof first.server?.name).toBe("string");
    serverId = first.id;
  });

  it("serverRental.get(id) answers the same server; an unknown id is a 404 with a code", async () => {
    const r = await servers.get(serverId);
    expect(r.statusCode).toBe(200);
    expect(r.data.id).toBe(serverId);
    expect(r.data.server_id).toBe(serverId);
    expect(typeof r.data.server?.name).toBe("string");
    const e = await apiError(servers.get(NO_SUCH_ID));
    expect(e.status).toBe(404);
    expect(e.code).toMatch(/^[A-Z_]+$/);
  });
});

describe("projects", () => {
  it("create and list answer the envelope with id, alias, created_at and updated_at", async () => {
    const body: ApiProjectsCreateRequest = { alias: "sdk-alpha" };
    const a = await projects.create(body);
    expect(a.statusCode).toBe(201);
    expect(a.message).toEqual(expect.any(String));
    expect(a.data).toMatchObject({ id: expect.any(String), alias: "sdk-alpha", created_at: expect.any(String), updated_at: expect.any(String) });
    projectA = a.data.id;
    const b = await projects.create({ alias: "sdk-beta", max_containers: null });
    expect(b.data.max_containers ?? null).toBeNull();
    projectB = b.data.id;
    const list = await projects.list();
    expect(list.statusCode).toBe(200);
    expect(list.data.projects?.map((p) => p.id)).toEqual(expect.arrayContaining([projectA, projectB]));
    expect(list.data.pagination).toMatchObject({ total: expect.any(Number), page: 1, limit: expect.any(Number), totalPages: expect.any(Number) });
  });

  it("a project has the fields the SDK declares required: 24-hex id, user_id, color (stored as sent)", async () => {
    const r = await projects.create({ alias: "sdk-gamma", color: "#3a7" });
    expect(r.data.id).toMatch(HEX24);
    expect(r.data.user_id).toEqual(expect.any(String));
    // Hoody normalizes to upper case with '#'; #RGB may stay short or be expanded.
    expect(r.data.color).toMatch(/^#(3A7|33AA77)$/);
    const plain = (await projects.get(projectA)).data;
    expect(plain.color).toMatch(/^#[0-9A-F]{6}$|^#[0-9A-F]{3}$/); // none sent: a generated one, as Hoody does
    expect(plain.user_id).toEqual(expect.any(String));
    await projects.delete(r.data.id);
  });

  it("get and update by the 24-hex id pass the SDK's own id check", async () => {
    expect(projectA).toMatch(HEX24);
    const g = await projects.get(projectA);
    expect(g.data).toMatchObject({ id: projectA, alias: "sdk-alpha", user_id: expect.any(String), color: expect.any(String), created_at: expect.any(String), updated_at: expect.any(String) });
    const body: ApiProjectsUpdateRequest = { alias: "sdk-alpha-2", color: "00aaff", max_containers: 10 };
    const u = await projects.update(projectA, body);
    expect(u.statusCode).toBe(200);
    expect(u.data).toMatchObject({ id: projectA, alias: "sdk-alpha-2", color: "#00AAFF", max_containers: 10 });
    expect((await projects.get(projectA)).data.alias).toBe("sdk-alpha-2");
    const e = await apiError(projects.get(NO_SUCH_ID));
    expect(e.status).toBe(404);
    expect(e.code).toBe("PROJECT_NOT_FOUND");
  });

  it("list honours sort_by/sort_order and page/limit; listAll and listIterator walk every page", async () => {
    const asc = (await projects.list({ sort_by: "alias", sort_order: "asc", limit: 100 })).data.projects!.map((p) => p.alias);
    expect(asc.length).toBeGreaterThanOrEqual(2);
    expect(asc).toEqual([...asc].sort());
    const desc = (await projects.list({ sort_by: "alias", sort_order: "desc", limit: 100 })).data.projects!.map((p) => p.alias);
    expect(desc).toEqual([...asc].reverse());
    const page2 = await projects.list({ sort_by: "alias", sort_order: "asc", page: 2, limit: 1 });
    expect(page2.data.projects!.map((p) => p.alias)).toEqual([asc[1]]);
    expect(page2.data.pagination).toMatchObject({ total: asc.length, page: 2, limit: 1, totalPages: asc.length });
    const all = (await projects.listAll({ sort_by: "alias", sort_order: "asc", limit: 1 })) as { alias: string }[];
    expect(all.map((p) => p.alias)).toEqual(asc);
    const walked: string[] = [];
    for await (const p of projects.listIterator({ sort_by: "alias", sort_order: "desc", limit: 1 })) walked.push((p as { alias: string }).alias);
    expect(walked).toEqual(desc);
  });
});

describe("containers", () => {
  it("create takes the SDK's body (server_id from serverRental.list, container_image, color, …); get is polled until running", async () => {
    const body: ApiContainersCreateRequest = {
      server_id: serverId,
      name: "sdk-one",
      color: "#3366ff",
      container_image: "mini",
      environment_vars: { PLAN: "pro" },
      comment: "made by Hoody's SDK",
      ssh_public_key: SSH_KEY,
      autostart: true,
      ramdisk: true,
      ai: false,
      hoody_kit: false,
      dev_kit: false,
      kvm: false,
      cache: false,
    };
    const r = await containers.create(projectA, body);
    expect(r.statusCode).toBe(201);
    expect(r.data.id).toMatch(HEX24);
    expect(STATUSES).toContain(r.data.status);
    expect(r.data).toMatchObject({
      project_id: projectA,
      server_id: serverId,
      server_name: expect.any(String),
      name: "sdk-one",
      color: "#3366FF",
      container_image: "mini",
      environment_vars: { PLAN: "pro" },
      comment: "made by Hoody's SDK",
      ssh_public_key: SSH_KEY,
      autostart: true,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    c1 = { id: r.data.id, name: "sdk-one" };
    const got = await until(c1.id, "running");
    expect(got).toMatchObject({ id: c1.id, project_id: projectA, server_id: serverId, server_name: expect.any(String), name: "sdk-one", color: "#3366FF", container_image: "mini", status: "running" });
    // The app runs with the env it was created with, and the key is root's authorized_keys.
    expect((await appEnv(c1.id)).PLAN).toBe("pro");
    expect(await sh(c1.id, "cat /root/.ssh/authorized_keys; stat -c %a /root/.ssh/authorized_keys")).toBe(`${SSH_KEY}\n600`);
  });

  it("hoody_kit, dev_kit, ai, kvm, dev_kvm and cache set to true are refused with a code, and create nothing", async () => {
    const before = (await containers.listByProject(projectA)).data.containers!.length;
    const refused: (keyof ApiContainersCreateRequest)[] = ["hoody_kit", "dev_kit", "ai", "kvm", "dev_kvm", "cache"];
    for (const flag of refused) {
      const body: ApiContainersCreateRequest = { server_id: serverId, container_image: "mini", [flag]: true };
      const e = await apiError(containers.create(projectA, body));
      expect(e.status, flag).toBe(422);
      expect(e.code, flag).toMatch(/^[A-Z_]+$/);
      expect(e.code, flag).not.toBe("VALIDATION_ERROR"); // a code that says the server does not offer it
    }
    const unknownServer = await apiError(containers.create(projectA, { server_id: NO_SUCH_ID, container_image: "mini" }));
    expect(unknownServer.status).toBe(404);
    expect(unknownServer.code).toMatch(/^[A-Z_]+$/);
    expect((await containers.listByProject(projectA)).data.containers!.length).toBe(before);
  });

  it("list and listByProject (with their pagers) page and sort as asked, and accept the SDK's include_* flags", async () => {
    const second = await containers.create(projectA, { server_id: serverId, name: "sdk-two", container_image: "mini" });
    await until(second.data.id, "running");
    const byName = await containers.listByProject(projectA, { sort_by: "name", sort_order: "asc", include_deleting: "false", include_prespawn: "false", include_proxy_domains: "false" });
    expect(byName.data.containers!.map((c) => c.name)).toEqual(["sdk-one", "sdk-two"]);
    expect(byName.data.pagination).toMatchObject({ total: 2, page: 1 });
    const page2 = await containers.listByProject(projectA, { sort_by: "name", sort_order: "desc", page: 2, limit: 1 });
    expect(page2.data.containers!.map((c) => c.name)).toEqual(["sdk-one"]);
    expect(page2.data.pagination).toMatchObject({ total: 2, page: 2, limit: 1, totalPages: 2 });
    const global = await containers.list({ sort_by: "name", sort_order: "asc", include_expired: "false" });
    const mine = global.data.containers!.filter((c) => c.project_id === projectA);
    expect(mine.map((c) => c.name)).toEqual(["sdk-one", "sdk-two"]);
    expect(mine[0]).toMatchObject({ id: c1.id, server_id: serverId, server_name: expect.any(String), container_image: "mini", status: "running" });
    const all = (await containers.listByProjectAll(projectA, { sort_by: "name", sort_order: "asc", limit: 1 })) as { id: string }[];
    expect(all.map((c) => c.id)).toEqual([c1.id, second.data.id]);
    const everywhere = (await containers.listAll({ limit: 1 })) as { id: string }[];
    expect(everywhere.map((c) => c.id)).toEqual(expect.arrayContaining([c1.id, second.data.id]));
    const walked: string[] = [];
    for await (const c of containers.listByProjectIterator(projectA, { sort_by: "name", sort_order: "desc", limit: 1 })) walked.push((c as { id: string }).id);
    expect(walked).toEqual([second.data.id, c1.id]);
    const walkedAll: string[] = [];
    for await (const c of containers.listIterator({ limit: 1 })) walkedAll.push((c as { id: string }).id);
    expect(walkedAll).toEqual(expect.arrayContaining([c1.id, second.data.id]));
    await containers.delete(second.data.id);
  });

  it("update takes the SDK's body: name, color, comment null clears it, autostart, ai false", async () => {
    const body: ApiContainersUpdateRequest = { name: "sdk-one-renamed", color: "#aa0000", comment: null, autostart: false, ai: false };
    const r = await containers.update(c1.id, body);
    expect(r.statusCode).toBe(200);
    expect(r.data).toMatchObject({ id: c1.id, name: "sdk-one-renamed", color: "#AA0000", comment: null, autostart: false, project_id: projectA, server_id: serverId });
    const back = await containers.update(c1.id, { name: "sdk-one", autostart: true, ssh_public_key: null });
    expect(back.data).toMatchObject({ name: "sdk-one", autostart: true, ssh_public_key: null });
    // null removes the key from the running tenant; the control shows the probe reads the file.
    expect(await sh(c1.id, "ls /root/.ssh/authorized_keys 2>&1 || true")).toContain("No such file");
    await until(c1.id, "running");
  });

  it("getStats gives cpu, memory, disk and network in the SDK's structure", async () => {
    const r = await containers.getStats(c1.id);
    expect(r.statusCode).toBe(200);
    const d = r.data;
    expect(d).toMatchObject({
      id: c1.id,
      project_id: projectA,
      status: "running",
      status_code: expect.any(Number),
      processes: expect.any(Number),
      started_at: expect.any(String),
      processing_time: expect.any(String),
    });
    expect(d.processes).toBeGreaterThan(0);
    expect(d.cpu).toMatchObject({ usage: expect.any(Number) });
    expect(d.memory).toMatchObject({ usage: expect.any(Number), total: expect.any(Number) });
    expect(d.memory!.usage!).toBeGreaterThan(0);
    expect(d.disk.root).toMatchObject({ usage: expect.any(Number), total: expect.any(Number) });
    expect(Array.isArray(d.network)).toBe(true);
    expect(d.network.length).toBeGreaterThanOrEqual(1);
    expect(d.network[0]).toMatchObject({ interface: expect.any(String), counters: { bytes_received: expect.any(Number), bytes_sent: expect.any(Number) } });
  });

  it("manage: stop, start, restart, force-stop, pause and resume, each seen by get", async () => {
    const steps: ["start" | "stop" | "force-stop" | "restart" | "pause" | "resume", "running" | "stopped" | "paused"][] = [
      ["stop", "stopped"],
      ["start", "running"],
      ["restart", "running"],
      ["force-stop", "stopped"],
      ["start", "running"],
      ["pause", "paused"],
      ["resume", "running"],
    ];
    for (const [op, want] of steps) {
      const r = await containers.manage(c1.id, op);
      expect(r.statusCode, op).toBe(200);
      expect(r.data, op).toMatchObject({ operation: op, container_id: c1.id, project_id: projectA });
      expect(r.data.error ?? false, op).toBe(false);
      expect((await until(c1.id, want)).status).toBe(want);
    }
    // Paused is frozen, not stopped: stats still see it, with its processes.
    await containers.manage(c1.id, "pause");
    const paused = await until(c1.id, "paused");
    expect(paused.status).toBe("paused");
    expect((await containers.getStats(c1.id)).data).toMatchObject({ status: "paused", processes: expect.any(Number) });
    await containers.manage(c1.id, "resume");
    await until(c1.id, "running");
    expect(await sh(c1.id, "echo alive")).toBe("alive");
  });

  it("getStatusLogs answers data.logs with pagination, honouring page, limit and sort", async () => {
    const all = await containers.getStatusLogs(c1.id, { sort_by: "transition_time", sort_order: "asc", limit: 100 });
    expect(all.statusCode).toBe(200);
    const logs = all.data.logs!;
    expect(logs.length).toBeGreaterThanOrEqual(8); // create, and the manage steps above
    for (const l of logs)
      expect(l).toMatchObject({ id: expect.any(String), container_id: c1.id, to_status: expect.any(String), transition_time: expect.any(String), triggered_by: expect.any(String) });
    const times = logs.map((l) => l.transition_time!);
    expect(times).toEqual([...times].sort());
    expect(logs.map((l) => l.to_status)).toEqual(expect.arrayContaining(["running", "stopped", "paused"]));
    expect(all.data.pagination).toMatchObject({ total: logs.length, page: 1, limit: 100, totalPages: 1 });
    const page2 = await containers.getStatusLogs(c1.id, { sort_by: "transition_time", sort_order: "asc", page: 2, limit: 3 });
    expect(page2.data.logs!.map((l) => l.id)).toEqual(logs.slice(3, 6).map((l) => l.id));
    expect(page2.data.pagination).toMatchObject({ total: logs.length, page: 2, limit: 3, totalPages: Math.ceil(logs.length / 3) });
    const newest = await containers.getStatusLogs(c1.id, { sort_by: "transition_time", sort_order: "desc", limit: 2 });
    expect(newest.data.logs!.map((l) => l.id)).toEqual(
      logs
        .slice(-2)
        .reverse()
        .map((l) => l.id),
    );
  });
});

describe("container environment", () => {
  it("list, bulkSet, set and delete answer environment_vars and synced; a change reaches the running app", async () => {
    const l = await env.list(c1.id);
    expect(l.statusCode).toBe(200);
    expect(l.data.environment_vars).toMatchObject({ PLAN: "pro" });
    const bulk: ApiEnvBulkSetRequest = { PLAN: "team", REGION: "eu" };
    const b = await env.bulkSet(c1.id, bulk);
    expect(b.data.environment_vars).toMatchObject({ PLAN: "team", REGION: "eu" });
    expect(typeof b.data.synced).toBe("boolean");
    // Hoody's documented propagation (the SDK has no restart switch): new exec sessions see a change
    // at once, the running app at its next start. So: no restart here, the app keeps its old env ...
    expect(b.data).toMatchObject({ synced: true, restarted: false });
    expect(await sh(c1.id, 'echo "$PLAN $REGION"')).toBe("team eu");
    expect((await appEnv(c1.id)).REGION).toBeUndefined();
    const one: ApiEnvSetRequest = { value: "42" };
    const st = await env.set(c1.id, "SEATS", one);
    expect(st.data.environment_vars).toMatchObject({ PLAN: "team", REGION: "eu", SEATS: "42" });
    expect(typeof st.data.synced).toBe("boolean");
    expect(await sh(c1.id, 'echo "$SEATS"')).toBe("42");
    const del = await env.delete(c1.id, "REGION");
    expect(del.data.environment_vars).not.toHaveProperty("REGION");
    expect(typeof del.data.synced).toBe("boolean");
    expect(await sh(c1.id, 'echo "${REGION-unset}"')).toBe("unset");
    // ... and a restart brings it all to the app.
    await containers.manage(c1.id, "restart");
    await until(c1.id, "running");
    const seen = await appEnvUntil(c1.id, (e) => e.SEATS === "42");
    expect(seen).toMatchObject({ PLAN: "team", SEATS: "42" });
    expect(seen).not.toHaveProperty("REGION");
    const after = (await env.list(c1.id)).data.environment_vars;
    expect(after).toMatchObject({ PLAN: "team", SEATS: "42" });
    expect(after).not.toHaveProperty("REGION");
    // A reserved key is refused with Hoody's code and changes nothing.
    const e = await apiError(env.set(c1.id, "HOODY_X", { value: "1" }));
    expect(e.code).toBe("RESERVED_ENV_PREFIX");
    expect((await env.list(c1.id)).data.environment_vars).toEqual(after);
  });
});

describe("container firewall", () => {
  const web: ApiFirewallAddIngressRuleRequest = { action: "allow", protocol: "tcp", description: "web from the LAN", destination_port: "8080", source: "10.0.0.0/8", source_port: "1024-65535" };
  const ping: ApiFirewallAddIngressRuleRequest = { action: "allow", protocol: "icmp4", description: "ping", icmp_type: "8", icmp_code: "0" };
  const dns: ApiFirewallAddEgressRuleRequest = { action: "drop", protocol: "udp", description: "no outside DNS", destination_port: "53", destination: "1.1.1.1/32" };
  const ntp: ApiFirewallAddEgressRuleRequest = { action: "reject", protocol: "udp", description: "no NTP", destination_port: "123", destination: "0.0.0.0/0", state: "disabled" };
  type Rules = NonNullable<ApiFirewallListResponse["data"]["ingress"]>;
  const find = (rules: Rules | undefined, r: { description: string }) => (rules ?? []).findIndex((x) => x.description === r.description);
  let base: { ingress: number; egress: number };

  it("list answers ingress, egress and the rule budget", async () => {
    const l = await firewall.list(c1.id);
    expect(l.statusCode).toBe(200);
    expect(Array.isArray(l.data.ingress)).toBe(true);
    expect(Array.isArray(l.data.egress)).toBe(true);
    expect(l.data).toMatchObject({ rule_count: l.data.ingress!.length + l.data.egress!.length, max_rules: expect.any(Number) });
    base = { ingress: l.data.ingress!.length, egress: l.data.egress!.length };
  });

  it("addIngressRule takes source_port and icmp fields; a duplicate answers duplicate/duplicate_of and adds nothing", async () => {
    const a = await firewall.addIngressRule(c1.id, web);
    expect(a.statusCode).toBe(200);
    expect((a.data as { duplicate?: boolean }).duplicate ?? false).toBe(false);
    await firewall.addIngressRule(c1.id, ping);
    const l = (await firewall.list(c1.id)).data;
    const i = find(l.ingress, web);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(l.ingress![i]).toMatchObject({ ...web, state: "enabled" });
    expect(l.ingress![find(l.ingress, ping)]).toMatchObject({ ...ping, state: "enabled" });
    const dup = await firewall.addIngressRule(c1.id, web);
    expect(dup.statusCode).toBe(200);
    expect(dup.data).toMatchObject({ duplicate: true, duplicate_of: { direction: "ingress", index: i } });
    expect((await firewall.list(c1.id)).data.ingress!.length).toBe(base.ingress + 2);
  });

  it("toggleIngressRule and removeIngressRule find the rule by its fields", async () => {
    const byFields: ApiFirewallToggleIngressRuleRequest = { state: "disabled", action: "allow", protocol: "tcp", destination_port: "8080", source: "10.0.0.0/8" };
    const t = await firewall.toggleIngressRule(c1.id, byFields);
    expect(t.statusCode).toBe(200);
    expect(t.data).toMatchObject({ direction: "ingress", new_state: "disabled", updated: { ...web, state: "disabled" } });
    const l = (await firewall.list(c1.id)).data;
    expect(l.ingress![find(l.ingress, web)]!.state).toBe("disabled");
    const rm: ApiFirewallRemoveIngressRuleRequest = { action: "allow", protocol: "tcp", destination_port: "8080", source: "10.0.0.0/8" };
    const r = await firewall.removeIngressRule(c1.id, rm);
    expect(r.data).toMatchObject({ direction: "ingress", removed_count: 1, removed: [expect.objectContaining({ description: web.description })] });
    const after = (await firewall.list(c1.id)).data;
    expect(find(after.ingress, web)).toBe(-1);
    expect(find(after.ingress, ping)).toBeGreaterThanOrEqual(0);
    // No rule matches any more: whatever the answer, nothing changes.
    await firewall.removeIngressRule(c1.id, rm).catch((e: unknown) => expect(e).toBeInstanceOf(ApiError));
    expect((await firewall.list(c1.id)).data.ingress!.length).toBe(after.ingress!.length);
  });

  it("egress rules: add, toggle by fields, and removeEgressRule {all: true} empties the direction", async () => {
    await firewall.addEgressRule(c1.id, dns);
    await firewall.addEgressRule(c1.id, ntp);
    let l = (await firewall.list(c1.id)).data;
    expect(l.egress![find(l.egress, ntp)]).toMatchObject({ ...ntp, state: "disabled" });
    const on: ApiFirewallToggleEgressRuleRequest = { state: "enabled", action: "reject", protocol: "udp", destination_port: "123", destination: "0.0.0.0/0" };
    const t = await firewall.toggleEgressRule(c1.id, on);
    expect(t.data).toMatchObject({ direction: "egress", new_state: "enabled", updated: { description: ntp.description, state: "enabled" } });
    l = (await firewall.list(c1.id)).data;
    expect(l.egress![find(l.egress, ntp)]!.state).toBe("enabled");
    const everything: ApiFirewallRemoveEgressRuleRequest = { all: true };
    const r = await firewall.removeEgressRule(c1.id, everything);
    expect(r.data).toMatchObject({ direction: "egress", removed_count: base.egress + 2 });
    l = (await firewall.list(c1.id)).data;
    expect(l.egress).toEqual([]);
    expect(find(l.ingress, ping)).toBeGreaterThanOrEqual(0); // {all: true} on egress leaves ingress alone
  });

  it("reset answers the rules it restored, which list then shows", async () => {
    const r = await firewall.reset(c1.id);
    expect(r.statusCode).toBe(200);
    expect(Array.isArray(r.data.rules?.ingress)).toBe(true);
    expect(Array.isArray(r.data.rules?.egress)).toBe(true);
    const l = (await firewall.list(c1.id)).data;
    expect(l.ingress!.length).toBe(r.data.rules!.ingress!.length);
    expect(l.egress!.length).toBe(r.data.rules!.egress!.length);
    expect(find(l.ingress, ping)).toBe(-1);
  });
});

describe("snapshots", () => {
  let snap: string;

  it("createSnapshot answers data.snapshot; listSnapshots (and its pagers) list it", async () => {
    await sh(c1.id, "mkdir -p /data && echo before > /data/marker");
    const body: ApiContainersCreateSnapshotRequest = { alias: "nightly", expiry: 7 };
    const r = await containers.createSnapshot(c1.id, body);
    expect(r.data).toMatchObject({
      container_id: c1.id,
      project_id: projectA,
      snapshot: { name: expect.any(String), alias: "nightly", created_at: expect.any(String), expires_at: expect.any(String) },
    });
    snap = r.data.snapshot!.name!;
    const l = await containers.listSnapshots(c1.id);
    expect(l.data).toMatchObject({ container_id: c1.id, project_id: projectA, snapshot_count: 1 });
    expect(l.data.snapshots).toEqual([expect.objectContaining({ name: snap, alias: "nightly" })]);
    const all = (await containers.listSnapshotsAll(c1.id)) as { name: string }[];
    expect(all.map((x) => x.name)).toEqual([snap]);
    const walked: string[] = [];
    for await (const x of containers.listSnapshotsIterator(c1.id)) walked.push((x as { name: string }).name);
    expect(walked).toEqual([snap]);
  });

  it("updateSnapshotAlias sets an alias and null clears it, answering data.snapshot", async () => {
    const set: ApiContainersUpdateSnapshotAliasRequest = { alias: "golden" };
    const r = await containers.updateSnapshotAlias(c1.id, snap, set);
    expect(r.data).toMatchObject({ container_id: c1.id, project_id: projectA, snapshot: { name: snap, alias: "golden" } });
    const cleared = await containers.updateSnapshotAlias(c1.id, snap, { alias: null });
    expect(cleared.data.snapshot).toMatchObject({ name: snap, alias: null });
    expect((await containers.listSnapshots(c1.id)).data.snapshots![0]!.alias ?? null).toBeNull();
  });

  it("restoreSnapshot answers success, message and the snapshot, and the files are back", async () => {
    await sh(c1.id, "echo after > /data/marker");
    const r = await containers.restoreSnapshot(c1.id, snap);
    expect(r.data).toMatchObject({ success: true, message: expect.any(String), snapshot: { name: snap } });
    await until(c1.id, "running");
    expect(await sh(c1.id, "cat /data/marker")).toBe("before");
  });

  it("copy makes a new container from the snapshot in another project, polled until running", async () => {
    const body: ApiContainersCopyRequest = { target_project_id: projectB, name: "sdk-copy", source_snapshot: snap, copy_firewall_rules: true };
    const r = await containers.copy(c1.id, body);
    expect(r.data.id).toMatch(HEX24);
    expect(r.data).toMatchObject({ source_container_id: c1.id, project_id: projectB, name: "sdk-copy" });
    const copy = await until(r.data.id, "running");
    expect(copy).toMatchObject({ project_id: projectB, server_id: serverId });
    expect(await sh(r.data.id, "cat /data/marker")).toBe("before");
  });

  it("deleteSnapshot answers container_id, project_id and snapshot_name", async () => {
    const r = await containers.deleteSnapshot(c1.id, snap);
    expect(r.data).toEqual(expect.objectContaining({ container_id: c1.id, project_id: projectA, snapshot_name: snap }));
    expect((await containers.listSnapshots(c1.id)).data.snapshots).toEqual([]);
  });
});

describe("routes this product does not implement", () => {
  it("answer a 404 or 405 error envelope with a code, as the SDK's ApiError", async () => {
    const pid = projectA;
    const cid = c1.id;
    const calls: Record<string, Record<string, () => Promise<unknown>>> = {
      projects: {
        listPermissions: () => projects.listPermissions(pid),
        listPermissionsIterator: () => projects.listPermissionsIterator(pid).next(),
        listPermissionsAll: () => projects.listPermissionsAll(pid),
        addPermission: () => projects.addPermission(pid, { user_id: NO_SUCH_ID, permission_level: "read" }),
        updatePermission: () => projects.updatePermission(pid, NO_SUCH_ID, { permission_level: "edit" }),
        removePermission: () => projects.removePermission(pid, NO_SUCH_ID),
        getStats: () => projects.getStats(pid),
      },
      containers: {
        setContainerKvm: () => containers.setContainerKvm(cid, { kvm: true }),
        sync: () => containers.sync(cid),
        authorize: () => containers.authorize(cid),
        getNetworkConfig: () => containers.getNetworkConfig(cid),
        updateNetworkConfig: () => containers.updateNetworkConfig(cid, { type: "block" }),
        removeNetworkConfig: () => containers.removeNetworkConfig(cid),
        startNetwork: () => containers.startNetwork(cid),
        stopNetwork: () => containers.stopNetwork(cid),
      },
      environment: {},
      firewall: {}, // its pagers are SDK-side (no route of their own): nothing to call
      serverRental: {
        browse: () => servers.browse(),
        browseIterator: () => servers.browseIterator().next(),
        browseAll: () => servers.browseAll(),
        rent: () => servers.rent(NO_SUCH_ID, { rental_days: 30 }),
        getRentalRuntime: () => servers.getRentalRuntime(NO_SUCH_ID),
        getServerRuntime: () => servers.getServerRuntime(NO_SUCH_ID),
        listServerOffers: () => servers.listServerOffers(),
        reserveServerOffer: () => servers.reserveServerOffer(NO_SUCH_ID, { days: 30, idempotency_key: "sdk-test" }),
        listMyReservations: () => servers.listMyReservations(),
        getMyReservation: () => servers.getMyReservation(NO_SUCH_ID),
      },
      images: {
        listPublic: () => images.listPublic(),
        listPublicIterator: () => images.listPublicIterator().next(),
        listPublicAll: () => images.listPublicAll(),
        getDetails: () => images.getDetails(NO_SUCH_ID),
        getIcon: () => images.getIcon(NO_SUCH_ID),
        list: () => images.list(),
        listIterator: () => images.listIterator().next(),
        listAll: () => images.listAll(),
        importFree: () => images.importFree(NO_SUCH_ID),
        purchase: () => images.purchase(NO_SUCH_ID),
        rate: () => images.rate(NO_SUCH_ID, { rating: 5 }),
      },
    };
    for (const [svc, methods] of Object.entries(calls)) {
      const routeless = Object.keys(NOT_IMPLEMENTED[svc]!).filter((m) => !(svc === "firewall" || (svc === "serverRental" && /^list(Iterator|All)$/.test(m))));
      expect(Object.keys(methods).sort(), svc).toEqual(routeless.sort());
      for (const [m, call] of Object.entries(methods)) {
        const e = await apiError(call());
        expect([404, 405], `${svc}.${m}`).toContain(e.status);
        expect(e.code, `${svc}.${m}`).toMatch(/^[A-Z_]+$/);
      }
    }
  });
});

describe("erasure", () => {
  it("containers.delete erases one container (with a receipt); get then answers CONTAINER_NOT_FOUND", async () => {
    const doomed = await containers.create(projectA, { server_id: serverId, name: "sdk-doomed", container_image: "mini" });
    await until(doomed.data.id, "running");
    const r = await containers.delete(doomed.data.id);
    expect(r.statusCode).toBe(200);
    const e = await apiError(containers.get(doomed.data.id));
    expect(e.status).toBe(404);
    expect(e.code).toBe("CONTAINER_NOT_FOUND");
    const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts as { container_id: string }[];
    expect(receipts.map((x) => x.container_id)).toContain(doomed.data.id);
  });

  it("projects.delete erases a project with its containers, each with a receipt, and counts them in data.deleted", async () => {
    const inB = (await containers.listByProject(projectB)).data.containers!;
    expect(inB.length).toBe(1); // the copy
    const r = await projects.delete(projectB, { include_deleted_items: true });
    expect(r.statusCode).toBe(200);
    expect(r.data.deleted).toMatchObject({ containers: 1, permissions: 0, aliases: expect.any(Number) });
    expect(r.data.deleted_items?.containers).toEqual([{ id: inB[0]!.id, name: inB[0]!.name }]);
    const e = await apiError(projects.get(projectB));
    expect(e.status).toBe(404);
    expect((await apiError(containers.get(inB[0]!.id))).status).toBe(404);
    const receipts = (await s.api("GET", "/erasure-receipts")).body.data.receipts as { container_id: string }[];
    expect(receipts.map((x) => x.container_id)).toContain(inB[0]!.id);
    // An empty project: nothing to count.
    const empty = await projects.create({ alias: "sdk-empty" });
    expect((await projects.delete(empty.data.id)).data.deleted).toMatchObject({ containers: 0 });
  });
});

describe("coverage", () => {
  it("every method listed as exercised was called by the tests above", () => {
    for (const [svc, methods] of Object.entries(EXERCISED)) {
      expect(
        methods.filter((m) => !called[svc]!.has(m)),
        `${svc}: exercised methods never called`,
      ).toEqual([]);
    }
  });
});

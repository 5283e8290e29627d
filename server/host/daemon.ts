// The host daemon's API: JSON over HTTP on a root-only unix socket. Every method validates its input
// with zod; errors answer {error: {code, message}} with a stable HostErrorCode. The daemon knows
// nothing of users, tokens or the database: whoever can open the socket is the control plane.
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { z } from "zod";
import { Host, HostError } from "./host.js";
import { SysError } from "./sys.js";
import { trace } from "./sys.js";
import {
  CreateTenantSchema,
  FirewallRuleSchema,
  LimitsSchema,
  SNAPSHOT_NAME_RE,
  TEMPLATE_NAME_RE,
  TENANT_ID_RE,
  TemplateSettingsSchema,
  type HostErrorCode,
} from "../engine/protocol.js";

const Id = z.object({ id: z.string().regex(TENANT_ID_RE) });

/**
 * Template settings to override on promote: only the keys given. (`.partial()` alone would still
 * fill in the schema's defaults, so `{sharedPaths: []}` also wiped env, firewall, ksm and idle timeout.)
 */
export const TemplateSettingsPatchSchema = z.object(
  Object.fromEntries(Object.entries(TemplateSettingsSchema.shape).map(([k, s]) => [k, (s instanceof z.ZodDefault ? s.unwrap() : s).optional()])),
) as unknown as z.ZodType<Partial<z.output<typeof TemplateSettingsSchema>>, Partial<z.input<typeof TemplateSettingsSchema>>>;

const MAX_BODY = 8 * 1024 * 1024;

type Method = { input: z.ZodType; handler: (host: Host, input: never) => unknown };
const method = <S extends z.ZodType, R>(input: S, handler: (host: Host, input: z.output<S>) => R) => ({ input, handler });

export const METHODS = {
  "host.info": method(z.object({}), (h) => h.info()),
  "host.stats": method(z.object({ sync: z.boolean().optional(), ids: z.array(z.string().regex(TENANT_ID_RE)).max(10_000).optional() }), (h, i) => h.stats(i)),
  "templates.list": method(z.object({}), (h) => h.listTemplates()),
  "templates.promote": method(
    Id.extend({ name: z.string().regex(TEMPLATE_NAME_RE), settings: TemplateSettingsPatchSchema.optional() }),
    (h, i) => h.promoteTenant(i.id, i.name, i.settings),
  ),
  "templates.delete": method(z.object({ name: z.string().regex(TEMPLATE_NAME_RE) }), (h, i) => h.deleteTemplate(i.name)),
  "tenants.list": method(z.object({}), (h) => h.listTenants()),
  "tenants.get": method(Id, (h, i) => h.getTenantInfo(i.id)),
  "tenants.create": method(CreateTenantSchema, (h, i) => h.createTenant(i)),
  "tenants.start": method(Id, (h, i) => h.startTenant(i.id)),
  "tenants.stop": method(Id.extend({ force: z.boolean().optional(), timeoutS: z.number().int().min(0).max(600).optional() }), (h, i) =>
    h.stopTenant(i.id, i),
  ),
  "tenants.restart": method(Id, (h, i) => h.restartTenant(i.id)),
  "tenants.pause": method(Id, (h, i) => h.pauseTenant(i.id)),
  "tenants.resume": method(Id, (h, i) => h.resumeTenant(i.id)),
  "tenants.delete": method(Id, (h, i) => h.deleteTenant(i.id)),
  "tenants.update": method(
    Id.extend({
      env: z.record(z.string(), z.string().nullable()).optional(),
      limits: LimitsSchema.partial().optional(),
      ramdiskMiB: z.number().int().min(1).max(65536).optional(),
      autostart: z.boolean().optional(),
      restart: z.boolean().optional(),
    }),
    (h, i) => h.updateTenant(i.id, i),
  ),
  "tenants.setFirewall": method(Id.extend({ rules: z.array(FirewallRuleSchema).max(200) }), (h, i) => h.setFirewall(i.id, i.rules)),
  "tenants.exec": method(
    Id.extend({ command: z.array(z.string().max(64 * 1024)).min(1).max(256), timeoutMs: z.number().int().min(100).max(600_000).optional() }),
    (h, i) => h.exec(i.id, i.command, i.timeoutMs),
  ),
  "tenants.initPid": method(Id, (h, i) => h.initPid(i.id)),
  "tenants.logs": method(Id.extend({ maxBytes: z.number().int().min(1).max(1024 * 1024).optional() }), (h, i) => h.logs(i.id, i.maxBytes)),
  "snapshots.create": method(Id.extend({ name: z.string().regex(SNAPSHOT_NAME_RE).optional() }), (h, i) => h.createSnapshot(i.id, i.name)),
  "snapshots.list": method(Id, (h, i) => h.listSnapshots(i.id)),
  "snapshots.restore": method(Id.extend({ name: z.string().regex(SNAPSHOT_NAME_RE) }), (h, i) => h.restoreSnapshot(i.id, i.name)),
  "snapshots.delete": method(Id.extend({ name: z.string().regex(SNAPSHOT_NAME_RE) }), (h, i) => h.deleteSnapshot(i.id, i.name)),
} satisfies Record<string, Method>;

export type HostMethods = typeof METHODS;
export type HostMethodName = keyof HostMethods;

/** Streaming method: template builds report progress as NDJSON lines, then the result. */
const BuildInput = z.object({ recipe: z.string().regex(TEMPLATE_NAME_RE), name: z.string().regex(TEMPLATE_NAME_RE).optional() });

function errorBody(e: unknown): { status: number; body: { error: { code: HostErrorCode; message: string } } } {
  if (e instanceof HostError) {
    const status = ({ INVALID_INPUT: 400, TENANT_NOT_FOUND: 404, TEMPLATE_NOT_FOUND: 404, SNAPSHOT_NOT_FOUND: 404, ALREADY_EXISTS: 409, TEMPLATE_IN_USE: 409, INVALID_STATE: 409, START_FAILED: 422, EXHAUSTED: 503, POOL_FULL: 507, SYSTEM_ERROR: 500 } satisfies Record<HostErrorCode, number>)[e.code];
    return { status, body: { error: { code: e.code, message: e.message } } };
  }
  // A full pool shows up as ENOSPC from a file write or "No space left on device" from btrfs/lxc.
  if ((e as NodeJS.ErrnoException)?.code === "ENOSPC" || (e instanceof SysError && /No space left on device/i.test(e.message))) {
    return { status: 507, body: { error: { code: "POOL_FULL", message: `the pool is out of space: ${(e as Error).message.slice(0, 500)}` } } };
  }
  return { status: 500, body: { error: { code: "SYSTEM_ERROR", message: (e as Error)?.message ?? String(e) } } };
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HostError("INVALID_INPUT", "request body too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HostError("INVALID_INPUT", "body is not JSON");
  }
}

export async function serve(host: Host, socketPath: string): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      const name = (req.url ?? "").replace(/^\/v1\//, "");
      if (req.method !== "POST") return send(405, { error: { code: "INVALID_INPUT", message: "POST only" } });
      const body = await readBody(req);
      trace({ rpc: name, body });
      if (name === "templates.build") {
        const input = BuildInput.safeParse(body);
        if (!input.success) throw new HostError("INVALID_INPUT", input.error.message);
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        try {
          const result = await host.buildTemplate(input.data.recipe, {
            name: input.data.name,
            progress: (percent, message) => res.write(JSON.stringify({ progress: percent, message }) + "\n"),
          });
          res.end(JSON.stringify({ result }) + "\n");
        } catch (e) {
          res.end(JSON.stringify(errorBody(e).body) + "\n");
        }
        return;
      }
      const m = (METHODS as Record<string, Method>)[name];
      if (!m) return send(404, { error: { code: "INVALID_INPUT", message: `unknown method ${name}` } });
      const input = m.input.safeParse(body);
      if (!input.success) {
        throw new HostError("INVALID_INPUT", input.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; "));
      }
      const result = await m.handler(host, input.data as never);
      send(200, { result: result ?? null });
    } catch (e) {
      const { status, body } = errorBody(e);
      if (!res.headersSent) send(status, body);
      else res.end();
    }
  });
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  await fs.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // umask for the socket: only root may connect.
    const old = process.umask(0o177);
    server.listen(socketPath, () => {
      process.umask(old);
      resolve();
    });
  });
  await fs.chmod(socketPath, 0o600);
  return server;
}

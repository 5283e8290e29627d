// The host daemon's API: JSON over HTTP on a root-only unix socket. Every method validates its input
// with zod; errors answer {error: {code, message}} with a stable EngineErrorCode. The daemon knows
// nothing of users, tokens or the database: whoever can open the socket is the control plane.
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { PassThrough } from "node:stream";
import type { z } from "zod";
import type { Host } from "./host.js";
import { SysError, trace } from "../shared/sys.js";
import { EngineError, type EngineErrorCode } from "../shared/errors.js";
import { issuesText } from "../shared/issues.js";
import { BackupImportInput, HOST_INPUTS, type HostMethodName, type HostResults, TemplateBuildInput, TenantExportInput } from "../shared/host-api.js";

const MAX_BODY = 8 * 1024 * 1024;

/** The contract's methods on a Host: each takes its parsed input and answers its contract result. */
type Handlers = { [M in HostMethodName]: (host: Host, input: z.output<(typeof HOST_INPUTS)[M]>) => HostResults[M] | Promise<HostResults[M]> };

const HANDLERS: Handlers = {
  "host.info": (h) => h.info(),
  "host.stats": (h, i) => h.stats(i),
  "templates.list": (h) => h.listTemplates(),
  "templates.promote": (h, i) => h.promoteTenant(i.id, i.name, i.settings),
  "templates.delete": (h, i) => h.deleteTemplate(i.name),
  "tenants.list": (h, i) => h.listTenants(i),
  "tenants.get": (h, i) => h.getTenantInfo(i.id),
  "tenants.create": (h, i) => h.createTenant(i),
  "tenants.start": (h, i) => h.startTenant(i.id),
  "tenants.stop": (h, i) => h.stopTenant(i.id, i),
  "tenants.restart": (h, i) => h.restartTenant(i.id),
  "tenants.pause": (h, i) => h.pauseTenant(i.id),
  "tenants.resume": (h, i) => h.resumeTenant(i.id),
  "tenants.delete": (h, i) => h.deleteTenant(i.id),
  "tenants.update": (h, i) => h.updateTenant(i.id, i),
  "tenants.setFirewall": (h, i) => h.setFirewall(i.id, i.rules),
  "tenants.exec": (h, i) => h.exec(i.id, i.command, i.timeoutMs),
  "tenants.initPid": (h, i) => h.initPid(i.id),
  "tenants.logs": (h, i) => h.logs(i.id, i.maxBytes),
  "pool.prepare": (h, i) => h.warm.prepare(i.template),
  "pool.claim": (h, i) => h.warm.claim(i),
  "pool.list": (h) => h.warm.list(),
  "pool.discard": (h, i) => h.warm.discard(i.template, i.keep),
  "snapshots.create": (h, i) => h.snapshots.create(i.id, i.name),
  "snapshots.list": (h, i) => h.snapshots.list(i.id),
  "snapshots.restore": (h, i) => h.snapshots.restore(i.id, i.name),
  "snapshots.delete": (h, i) => h.snapshots.delete(i.id, i.name),
  "backups.create": (h, i) => h.backups.create(i.id),
  "backups.list": (h, i) => h.backups.list(i.id),
  "backups.delete": (h, i) => h.backups.delete(i.id, i.backup),
  "backups.restore": (h, i) => h.backups.restore(i.id, i.backup),
  "tenants.changes": (h, i) => h.deltas.changes(i),
  "tenants.readFile": (h, i) => h.deltas.readFile(i.id, i.path),
  "dedup.start": (h, i) => h.dedup.start(i),
  "dedup.status": (h) => h.dedup.status(),
};

function errorBody(e: unknown): { status: number; body: { error: { code: EngineErrorCode; message: string } } } {
  if (e instanceof EngineError) {
    const status = (
      {
        INVALID_INPUT: 400,
        TENANT_NOT_FOUND: 404,
        TEMPLATE_NOT_FOUND: 404,
        SNAPSHOT_NOT_FOUND: 404,
        ALREADY_EXISTS: 409,
        TEMPLATE_IN_USE: 409,
        INVALID_STATE: 409,
        START_FAILED: 422,
        EXHAUSTED: 503,
        POOL_FULL: 507,
        BACKUP_INVALID: 422,
        BACKUP_NOT_FOUND: 404,
        TEMPLATE_MISMATCH: 409,
        NOT_SUPPORTED: 422,
        PATH_REFUSED: 422,
        PATH_NOT_FOUND: 404,
        SYSTEM_ERROR: 500,
      } satisfies Record<EngineErrorCode, number>
    )[e.code];
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
    if (size > MAX_BODY) throw new EngineError("INVALID_INPUT", "request body too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new EngineError("INVALID_INPUT", "body is not JSON");
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
      if (name === "backups.import") {
        // The body is the backup file itself, streamed into btrfs receive as it verifies.
        let opts: unknown;
        try {
          opts = JSON.parse(String(req.headers["x-hoody-input"] ?? "{}"));
        } catch {
          throw new EngineError("INVALID_INPUT", "x-hoody-input is not JSON");
        }
        const input = BackupImportInput.safeParse(opts);
        if (!input.success) throw new EngineError("INVALID_INPUT", issuesText(input.error.issues));
        trace({ rpc: name, body: input.data });
        // Piped, not iterated: on a refusal the rest of the file is read and dropped, so the
        // client gets the answer on a live connection instead of a reset mid-upload.
        const body = new PassThrough({ highWaterMark: 1024 * 1024 });
        req.pipe(body);
        try {
          return send(200, { result: await host.backups.import(body, input.data) });
        } catch (e) {
          req.unpipe(body);
          body.destroy();
          // Answer once the whole file was read: the caller's upload ends cleanly, then it reads the refusal.
          if (!req.complete) await new Promise<void>((resolve) => req.once("end", resolve).once("close", resolve).resume());
          throw e;
        }
      }
      const body = await readBody(req);
      trace({ rpc: name, body });
      if (name === "templates.build") {
        const input = TemplateBuildInput.safeParse(body);
        if (!input.success) throw new EngineError("INVALID_INPUT", issuesText(input.error.issues));
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
      if (name === "tenants.export") {
        const input = TenantExportInput.safeParse(body);
        if (!input.success) throw new EngineError("INVALID_INPUT", issuesText(input.error.issues));
        const { stream, done, files } = await host.backups.export(input.data.id);
        res.writeHead(200, { "content-type": "application/x-tar", "x-hoody-files": String(files) });
        // The answer ends once tar has exited and the export's snapshot is gone, so a client that read
        // it whole leaves nothing of the tenant behind. A tar that fails midway (or a removal that
        // fails) ends the answer short; the client sees no clean end (no trailer).
        stream.pipe(res, { end: false });
        // A client that goes away stops the tar (its output closed, it ends on EPIPE), and with it
        // the snapshot goes: otherwise tar would wait on a full pipe, holding the tenant's files, for
        // as long as its timeout.
        res.once("close", () => {
          if (!res.writableFinished) stream.destroy();
        });
        done.then(
          () => res.end(),
          () => res.destroy(),
        );
        return;
      }
      if (!Object.hasOwn(HOST_INPUTS, name)) return send(404, { error: { code: "INVALID_INPUT", message: `unknown method ${name}` } });
      const method = name as HostMethodName;
      const input = HOST_INPUTS[method].safeParse(body);
      if (!input.success) {
        throw new EngineError("INVALID_INPUT", issuesText(input.error.issues));
      }
      const result = await (HANDLERS[method] as (h: Host, i: unknown) => unknown)(host, input.data);
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

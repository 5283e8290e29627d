// Client of the host daemon's unix-socket API. Typed from the contract (server/shared/host-api.ts), so a change
// on one side is a compile error on the other. Not privileged itself: it only needs the socket.
import http from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { EngineError, type EngineErrorCode } from "../shared/errors";
import type { TemplateInfo, TenantInfo } from "../shared/protocol";
import type { BackupImportInput, HostMethodInput as In, HostMethodName, HostMethodResult as Out } from "../shared/host-api";
import type { z } from "zod";

export class HostClient {
  constructor(readonly socketPath: string) {}

  private request(method: string, input: unknown, onLine?: (line: unknown) => void, timeoutMs = 600_000): Promise<{ status: number; body: string }> {
    const payload = JSON.stringify(input ?? {});
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, path: `/v1/${method}`, method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }, timeout: timeoutMs },
        (res) => {
          let buf = "";
          let last = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buf += chunk;
            if (!onLine) return;
            for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (line) {
                last = line;
                onLine(JSON.parse(line));
              }
            }
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: onLine ? last || buf : buf }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`host daemon call ${method} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  async call<M extends HostMethodName>(method: M, input: In<M>, timeoutMs?: number): Promise<Out<M>> {
    const { body } = await this.request(method, input, undefined, timeoutMs);
    const parsed = JSON.parse(body) as { result?: Out<M>; error?: { code: EngineErrorCode; message: string } };
    if (parsed.error) throw new EngineError(parsed.error.code, parsed.error.message);
    return parsed.result as Out<M>;
  }

  async buildTemplate(recipe: string, opts: { name?: string; onProgress?: (percent: number, message: string) => void } = {}): Promise<TemplateInfo> {
    let result: TemplateInfo | undefined;
    let error: { code: EngineErrorCode; message: string } | undefined;
    await this.request(
      "templates.build",
      { recipe, name: opts.name },
      (line) => {
        const l = line as { progress?: number; message?: string; result?: TemplateInfo; error?: { code: EngineErrorCode; message: string } };
        if (l.result) result = l.result;
        else if (l.error) error = l.error;
        else if (l.progress !== undefined) opts.onProgress?.(l.progress, l.message ?? "");
      },
      3_600_000,
    );
    if (error) throw new EngineError(error.code, error.message);
    if (!result) throw new Error("template build ended without a result");
    return result;
  }

  /** Streams a backup file to the daemon, which creates a tenant from it; the source's errors (e.g. a body over its bound) abort the call. */
  importBackup(source: AsyncIterable<Uint8Array>, opts: z.input<typeof BackupImportInput>): Promise<TenantInfo> {
    return new Promise((resolve, reject) => {
      let piped: Promise<void> = Promise.resolve();
      const req = http.request(
        { socketPath: this.socketPath, path: "/v1/backups.import", method: "POST", headers: { "content-type": "application/octet-stream", "x-hoody-input": JSON.stringify(opts) }, timeout: 3_600_000 },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          const settle = () => {
            try {
              const parsed = JSON.parse(body) as { result?: TenantInfo; error?: { code: EngineErrorCode; message: string } };
              if (parsed.error) reject(new EngineError(parsed.error.code, parsed.error.message));
              else resolve(parsed.result as TenantInfo);
            } catch (e) {
              reject(e);
            }
          };
          // A refusal can come before the whole file went through (the daemon reads and drops the
          // rest): answer once it has, so the caller's request body is read to its end too.
          res.on("end", () => void piped.then(settle, settle));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("host daemon call backups.import timed out")));
      req.on("error", reject);
      // A source that fails (too large, client gone) ends the request early: the daemon sees a cut file and keeps nothing.
      piped = pipeline(Readable.from(source), req);
      piped.catch((e) => {
        req.destroy();
        reject(e);
      });
    });
  }

  /** The tenant's own files as a tar stream (an error before the first byte is thrown as the EngineError it is). */
  exportTenant(id: string): Promise<http.IncomingMessage> {
    const payload = JSON.stringify({ id });
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, path: "/v1/tenants.export", method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
        (res) => {
          if (res.statusCode === 200) return resolve(res);
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => {
            try {
              const e = (JSON.parse(body) as { error: { code: EngineErrorCode; message: string } }).error;
              reject(new EngineError(e.code, e.message));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }
}

// A Core on a temporary SQLite file (migrations applied, as openDb does) and the in-memory fake
// engine: what the service-layer unit tests (server/core/core-*.test.ts) run on, without root.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { openDb, type Db } from "../db/client";
import * as t from "../db/schema";
import { FakeEngine, type FakeEngineOptions } from "../engine/fake/engine";
import { Admission } from "./admission";
import { Core, SYSTEM, type Actor, type CoreSettings } from "./core";

export interface FakeCore {
  core: Core;
  engine: FakeEngine;
  db: Db;
  /** A project made by the operator (SYSTEM is the admin actor). */
  projectId: string;
  /** A token of that project: capped by ceilings, blind to other projects. */
  member: Actor;
  /** The DNS custom domains are checked against: name → addresses. */
  dns: Map<string, string[]>;
  close(): void;
}

/** "This box" in the fake core's custom-domain checks. */
export const BOX_ADDRESS = "203.0.113.10";

export async function fakeCore(opts: FakeEngineOptions & { settings?: Partial<CoreSettings> } = {}): Promise<FakeCore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-core-"));
  const db = openDb(path.join(dir, "hoody.db"));
  const engine = new FakeEngine(opts);
  // An Admission of its own: the env-driven default would make tests depend on the shell's HOODY_* settings.
  // Custom domains resolve through this map (a test's DNS), and this box is 203.0.113.10.
  const dns = new Map<string, string[]>();
  const resolveHost = async (name: string) => {
    const a = dns.get(name);
    if (!a) throw new Error(`getaddrinfo ENOTFOUND ${name}`);
    return a;
  };
  const settings: CoreSettings = { domain: "test.local", routerPort: 8080, maxFirewallRules: 10, resolveHost, boxAddresses: () => [BOX_ADDRESS], ...opts.settings };
  const core = new Core(db, engine, settings, new Admission("creates", 4, 64));
  const project = await core.projects.create(SYSTEM, { alias: "acme" });
  return {
    core,
    engine,
    db,
    projectId: project.id,
    dns,
    member: { id: "token:kmember", projectId: project.id },
    close() {
      db.$client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Awaits a rejection and checks it is the CoreError the API would answer with. */
export async function expectCoreError(
  p: Promise<unknown> | (() => unknown),
  status: number,
  code: string,
): Promise<{ status: number; code: string; message: string; data: unknown; headers: Record<string, string> }> {
  let err: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${status} ${code}`).toBeDefined();
  expect({ name: (err as Error).name, status: (err as { status?: number }).status, code: (err as { code?: string }).code }).toEqual({ name: "CoreError", status, code });
  return err as never;
}

/** The container row (by public id), or undefined. */
export function rowOf(db: Db, id: string) {
  return db.select().from(t.containers).where(eq(t.containers.id, id)).get();
}

/** The audit rows of an action, oldest first. */
export function auditOf(db: Db, action: string) {
  return db.select().from(t.auditLog).where(eq(t.auditLog.action, action)).all();
}

/** A fake exec that understands core's authorized_keys script (`sh -c <script> sh <key>`): the key lands in the tenant's files. */
export function sshAwareExec(engine: FakeEngine, opts: { fail?: boolean } = {}): void {
  engine.onExec = (tenant, cmd) => {
    if (cmd[0] !== "/bin/sh" || !cmd[2]?.includes("authorized_keys")) return undefined;
    if (opts.fail) return { exitCode: 1, stdout: "", stderr: "sh: can't create /root/.ssh: Read-only file system", timedOut: false };
    const key = cmd[4] ?? "";
    if (key) tenant.files.set("/root/.ssh/authorized_keys", `${key}\n`);
    else tenant.files.delete("/root/.ssh/authorized_keys");
    return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
  };
}

export const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA a@test";
export const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB b@test";
export { SYSTEM, t };

// The Incus contender: `incus copy tpl-<template> <name>` + `incus start <name>` on a private incusd
// (testkit/incus-harness.ts: its own INCUS_DIR, a BTRFS pool on a loop image, a bridge of its own),
// from the same rootfs the host recipes build. The copy gets what a Hoody tenant gets: the app as
// init, its env, memory/CPU/pids limits, an isolated uid range and a static address.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { RECIPES } from "../../server/recipes/index.js";
import type { TestStack } from "../../testkit/stack-harness.js";
import type { Contender } from "./contenders.js";

type Daemon = Awaited<ReturnType<typeof import("../../testkit/incus-harness.js").IncusTestDaemon.start>>;

export class IncusContender implements Contender {
  readonly name = "incus";
  private live: string[] = [];
  private seq = 0;
  private readonly prepared = new Set<string>();
  private readonly free: number[] = Array.from({ length: 63 }, (_, i) => i + 1);
  private readonly slotOf = new Map<string, number>();
  constructor(private readonly d: Daemon) {}
  get alive() {
    return this.live.length;
  }
  private incus(args: string[]) {
    return execa("incus", args, { env: { INCUS_DIR: path.dirname(this.d.socket) }, reject: false, timeout: 300_000 });
  }
  async prepare(template: string) {
    if (this.prepared.has(template)) return;
    await this.d.importTemplate(template as "mini" | "starter");
    this.prepared.add(template);
  }
  async create(template: string) {
    const recipe = RECIPES[template];
    if (!recipe) throw new Error(`incus: unknown template ${template}`);
    const slot = this.free.shift();
    if (slot === undefined) throw new Error("incus: out of uid slots (more than 63 live instances)");
    const name = `b${process.pid}x${this.seq++}`;
    this.slotOf.set(name, slot);
    this.live.push(name);
    const s = recipe.settings;
    const ip = this.d.subnet.replace(/\.0\/24$/, `.${10 + slot}`);
    const config: Record<string, string> = {
      "security.idmap.base": String(this.d.uidBase + slot * 65536),
      "raw.lxc": `lxc.init.cmd = ${s.initCmd.join(" ")}\nlxc.net.0.ipv4.address = ${ip}/24`,
      "limits.memory": `${s.limits.memoryMiB}MiB`,
      "limits.cpu.allowance": `${Math.round(s.limits.cpuMilli / 10)}%`,
      "limits.processes": String(s.limits.pids),
      ...Object.fromEntries(Object.entries({ ...s.env, TENANT_NAME: name }).map(([k, v]) => [`environment.${k}`, v])),
    };
    const cp = await this.incus(["copy", `tpl-${template}`, name, ...Object.entries(config).flatMap(([k, v]) => ["-c", `${k}=${v}`])]);
    if (cp.exitCode !== 0) throw new Error(`incus copy ${name}: ${cp.stderr}`);
    const st = await this.incus(["start", name]);
    if (st.exitCode !== 0) throw new Error(`incus start ${name}: ${st.stderr}`);
    return { id: name, ip };
  }
  async cleanup() {
    for (const n of this.live.splice(0)) {
      const r = await this.incus(["delete", "--force", n]);
      if (r.exitCode !== 0 && !/not found/i.test(r.stderr)) throw new Error(`incus delete ${n}: ${r.stderr}`);
      this.free.push(this.slotOf.get(n)!);
      this.slotOf.delete(n);
    }
  }
  async close() {
    try {
      await this.cleanup().catch(() => undefined);
    } finally {
      await this.d.stop();
    }
  }
}

/** An Incus contender on a private incusd, or why there is none (incus not installed). */
export async function incusContender(_stack: TestStack, templates: string[]): Promise<{ contender: Contender; version: string } | { skip: string }> {
  if (!fs.existsSync("/usr/libexec/incus/incusd")) return { skip: "incus is not installed (/usr/libexec/incus/incusd missing; bin/setup-host.sh installs incus-base from bookworm-backports)" };
  const version = (await execa("incus", ["--version"], { reject: false })).stdout.trim();
  if (!version) return { skip: "the incus client is not installed" };
  const { IncusTestDaemon } = await import("../../testkit/incus-harness.js");
  const d = await IncusTestDaemon.start({ poolSizeGiB: 8 });
  const c = new IncusContender(d);
  try {
    for (const t of templates) await c.prepare(t);
  } catch (e) {
    await c.close().catch(() => undefined);
    throw e;
  }
  return { contender: c, version };
}

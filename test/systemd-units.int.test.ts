// The systemd units `npm run up` writes where systemd is PID 1 (bin/systemd.ts), checked by
// systemd's own `systemd-analyze verify` (it parses units and checks their commands without a
// running systemd): as rendered for this checkout, with its real node, tsx and entry points.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { caddyUnit, unitSpecs } from "../bin/stack.js";
import { renderEnvFile, renderUnit, unitName } from "../bin/systemd.js";

let dir: string;
const verify = (...files: string[]) => execa("systemd-analyze", ["verify", "--man=no", ...files], { reject: false, env: { SYSTEMD_LOG_COLOR: "0" } });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-units-"));
  // Caddy's unit is among them only with a public HOODY_DOMAIN; it is checked here either way.
  for (const u of [...unitSpecs.filter((x) => x !== caddyUnit), caddyUnit])
    await fs.writeFile(path.join(dir, unitName(u.service)), renderUnit(u, { envFile: path.join(dir, "hoody.env"), log: path.join(dir, `${u.service.name}.log`) }));
  await fs.writeFile(path.join(dir, "hoody.env"), renderEnvFile({ HOODY_DATA_DIR: "/srv/hoody data", HOODY_DOMAIN: 'a"b', HOODY_TOKEN: "client-only", PATH: "/x" }), { mode: 0o600 });
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("systemd units", () => {
  it("pass systemd-analyze verify with nothing to say", async () => {
    const r = await verify(...[...unitSpecs.filter((x) => x !== caddyUnit), caddyUnit].map((u) => path.join(dir, unitName(u.service))));
    expect({ exitCode: r.exitCode, out: r.stdout + r.stderr }).toEqual({ exitCode: 0, out: "" });
  });

  it("arguments with spaces, %, $ and quotes pass it too", async () => {
    const file = path.join(dir, "hoody-quoting.service");
    const service = { name: "quoting", description: "quoting", command: "/usr/bin/true", args: ["/srv/my app", "100%", "$HOME", 'say "hi"'], env: { NOTE: 'a "b" 5%' }, healthy: async () => true };
    await fs.writeFile(file, renderUnit({ service, after: [] }, { envFile: path.join(dir, "hoody.env"), log: path.join(dir, "quoting.log") }));
    const r = await verify(file);
    expect({ exitCode: r.exitCode, out: r.stdout + r.stderr }).toEqual({ exitCode: 0, out: "" });
  });

  it("a broken unit fails the same check (the check is real)", async () => {
    const file = path.join(dir, "hoody-broken.service");
    const unit = renderUnit(unitSpecs[0]!, { envFile: path.join(dir, "hoody.env"), log: path.join(dir, "broken.log") });
    await fs.writeFile(file, unit.replace(/^ExecStart=\S+/m, "ExecStart=/nonexistent/tsx"));
    const r = await verify(file);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("/nonexistent/tsx");
  });

  it("start in order with restarts on failure; only the daemon's own process is signalled on its stop", async () => {
    const [hostd, web, router] = unitSpecs.map((u) => renderUnit(u));
    expect(hostd).not.toMatch(/^Wants=/m);
    expect(hostd).toMatch(/^KillMode=process$/m);
    expect(web).toMatch(/^After=.*\bhoody-hostd\.service\b/m);
    expect(web).not.toMatch(/^KillMode=/m);
    expect(router).toMatch(/^After=.*\bhoody-hostd\.service hoody-web\.service$/m);
    const caddy = renderUnit(caddyUnit);
    expect(caddy).toMatch(/^After=.*\bhoody-web\.service hoody-router\.service$/m);
    for (const u of [hostd, web, router, caddy]) {
      expect(u).toMatch(/^Restart=on-failure$/m);
      expect(u).toMatch(/^WantedBy=multi-user\.target$/m);
      expect(u).toMatch(/^EnvironmentFile=-\/etc\/hoody\/hoody\.env$/m);
    }
  });

  it("the settings file keeps this shell's HOODY_* settings, quoted, and not the CLI's token", async () => {
    const env = await fs.readFile(path.join(dir, "hoody.env"), "utf8");
    expect(env.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(['HOODY_DATA_DIR="/srv/hoody data"', 'HOODY_DOMAIN="a\\"b"']);
    // systemd reads it back as given: one unit printing its environment through systemd-analyze is not possible without PID 1, so a shell parses it as systemd documents (double quotes, backslash escapes).
    const r = await execa("bash", ["-c", `set -a; . ${JSON.stringify(path.join(dir, "hoody.env"))}; printf '%s|%s' "$HOODY_DATA_DIR" "$HOODY_DOMAIN"`]);
    expect(r.stdout).toBe('/srv/hoody data|a"b');
  });
});

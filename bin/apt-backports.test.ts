// bin/apt-backports.sh against apt configurations a new machine may have: the sources file it writes
// must name the mirror the machine already uses, in both of apt's formats.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = path.join(import.meta.dirname, "apt-backports.sh");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs the script on an apt dir holding `files`; answers its output and the file it wrote (or null). */
async function run(files: Record<string, string>): Promise<{ out: string; written: string | null }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hoody-apt-"));
  dirs.push(dir);
  mkdirSync(path.join(dir, "sources.list.d"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const r = await execa("bash", [SCRIPT, dir, "bookworm"]);
  const file = path.join(dir, "sources.list.d", "hoody-backports.sources");
  return { out: r.stdout, written: existsSync(file) ? readFileSync(file, "utf8") : null };
}

const backports = (uri: string, key = "/usr/share/keyrings/debian-archive-keyring.gpg") => `Types: deb\nURIs: ${uri}\nSuites: bookworm-backports\nComponents: main\nSigned-By: ${key}\n`;

describe("apt-backports.sh", () => {
  it("takes the mirror of a deb822 .sources file (Debian 12's default format), not its security archive", async () => {
    const r = await run({
      "sources.list.d/debian.sources": [
        "Types: deb",
        "URIs: http://mirror.corp.example/debian-security",
        "Suites: bookworm-security",
        "Components: main",
        "",
        "# the main archive",
        "Types: deb deb-src",
        "URIs: http://mirror.corp.example/debian/",
        "Suites: bookworm bookworm-updates",
        "Components: main contrib",
        "Signed-By: /etc/apt/keyrings/corp.gpg",
        "",
      ].join("\n"),
    });
    expect(r.written).toBe(backports("http://mirror.corp.example/debian", "/etc/apt/keyrings/corp.gpg"));
    expect(r.out).toContain("mirror.corp.example/debian");
  });

  it("takes the mirror of a one-line sources.list, with or without options", async () => {
    const plain = await run({ "sources.list": "# local\ndeb http://10.1.2.3/debian bookworm main non-free-firmware\ndeb http://10.1.2.3/debian-security bookworm-security main\n" });
    expect(plain.written).toBe(backports("http://10.1.2.3/debian"));
    const withOpts = await run({ "sources.list": "deb [arch=amd64 signed-by=/usr/share/keyrings/local.gpg] https://apt.local/debian bookworm main\n" });
    expect(withOpts.written).toBe(backports("https://apt.local/debian", "/usr/share/keyrings/local.gpg"));
  });

  it("skips disabled stanzas, deb-src-only entries and entries without component main", async () => {
    const r = await run({
      "sources.list.d/a.sources":
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n",
      "sources.list.d/b.list": "deb http://contrib-only.example/debian bookworm contrib\ndeb http://good.example/debian bookworm main\n",
    });
    expect(r.written).toBe(backports("http://good.example/debian"));
  });

  it("writes nothing when backports is already configured", async () => {
    const r = await run({ "sources.list": "deb http://m.example/debian bookworm main\ndeb http://m.example/debian bookworm-backports main\n" });
    expect(r.written).toBeNull();
    expect(r.out).toContain("already");
  });

  it("says so and falls back to deb.debian.org when no source names a bookworm mirror", async () => {
    const r = await run({ "sources.list.d/other.list": "deb https://packages.example.com/apt stable main\n" });
    expect(r.written).toBe(backports("http://deb.debian.org/debian"));
    expect(r.out).toMatch(/no apt source .* names a Debian mirror for 'bookworm'/);
    expect(r.out).toContain("edit it to use your mirror");
  });
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { launchPath } from "./launch";

let root: string;
const dir = (name: string) => path.join(root, name);
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-launch-path-"));
  for (const d of ["sbin", "bin", "local"]) fs.mkdirSync(dir(d));
  // bin holds shadow's tools (as /usr/bin does on Debian) and lxc-start; sbin and local do not.
  for (const [d, f, mode] of [
    ["bin", "newuidmap", 0o4755],
    ["bin", "newgidmap", 0o4755],
    ["bin", "lxc-start", 0o755],
    ["sbin", "not-executable", 0o644],
    ["local", "lxc-start", 0o755],
  ] as const)
    fs.writeFileSync(path.join(dir(d), f), "", { mode });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test("lxc-start's PATH leaves out the directories holding newuidmap or newgidmap, and empty and relative entries", () => {
  expect(launchPath(`${dir("local")}:${dir("bin")}::relative:${dir("sbin")}`)).toBe(`${dir("local")}:${dir("sbin")}`);
  // Either tool alone is enough to leave a directory out.
  fs.rmSync(path.join(dir("bin"), "newgidmap"));
  expect(launchPath(dir("bin"))).toBe("");
  fs.writeFileSync(path.join(dir("bin"), "newgidmap"), "", { mode: 0o755 });
});

test("on this host, newuidmap and newgidmap are not on lxc-start's PATH", () => {
  const p = launchPath();
  const on = (dirs: string, tool: string) => dirs.split(":").some((d) => d && fs.existsSync(path.join(d, tool)));
  expect(on(p, "newuidmap") || on(p, "newgidmap")).toBe(false);
  // A control: the daemon's own PATH has them (setup installs uidmap), so the filter did something.
  expect(on(process.env.PATH ?? "", "newuidmap")).toBe(true);
});

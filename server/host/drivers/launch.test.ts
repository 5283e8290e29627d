import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { launchPath, onPath } from "./launch";

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

test("the launcher's PATH leaves out the directories holding newuidmap or newgidmap, and empty entries", () => {
  expect(launchPath(`${dir("local")}:${dir("bin")}::${dir("sbin")}`)).toBe(`${dir("local")}:${dir("sbin")}`);
  // Either tool alone is enough to leave a directory out.
  fs.rmSync(path.join(dir("bin"), "newgidmap"));
  expect(launchPath(dir("bin"))).toBe("");
  fs.writeFileSync(path.join(dir("bin"), "newgidmap"), "", { mode: 0o4755 });
});

test("commands are given to the launcher by absolute path: the first executable file on the daemon's PATH", () => {
  expect(onPath("lxc-start", `${dir("bin")}:${dir("local")}`)).toBe(path.join(dir("bin"), "lxc-start"));
  expect(onPath("lxc-start", `${dir("sbin")}:${dir("local")}`)).toBe(path.join(dir("local"), "lxc-start"));
  expect(onPath("not-executable", dir("sbin"))).toBeNull();
  expect(onPath("bin", root)).toBeNull();
  // A relative PATH entry names nothing (it would be relative to the daemon's cwd).
  expect(onPath("lxc-start", "bin")).toBeNull();
  expect(onPath("/usr/bin/lxc-start", "")).toBe("/usr/bin/lxc-start");
});

test("on this host, lxc-start is found and newuidmap is not on the launcher's PATH", () => {
  const p = launchPath();
  expect(onPath("lxc-start")).not.toBeNull();
  expect(onPath("newuidmap", p)).toBeNull();
  expect(onPath("newgidmap", p)).toBeNull();
  // A control: the daemon's own PATH has them (setup installs uidmap), so the filter did something.
  expect(onPath("newuidmap")).not.toBeNull();
});

import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { pruneCachedBuilds } from "./index";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-recipe-cache-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A file whose last use (mtime) was `ageS` seconds ago. */
async function touch(name: string, ageS: number): Promise<void> {
  const file = path.join(dir, name);
  await fs.writeFile(file, name);
  const at = new Date(Date.now() - ageS * 1000);
  await fs.utimes(file, at, at);
}

test("keeps the current build and the one used last before it, and a live build's temporary file", async () => {
  await touch("starter-aaaa.tar", 300);
  await touch("starter-bbbb.tar", 10);
  await touch("starter-cccc.tar", 100);
  await touch("starter-dddd.tar", 1000);
  // A pid that is alive (this process) and one that no process has (pid_max is at most 2^22).
  await touch(`starter-eeee.tar.tmp-${process.pid}`, 5);
  await touch("starter-ffff.tar.tmp-4194305", 5);
  // Another recipe's and an unrelated file are not this prune's.
  await touch("other-1111.tar", 5000);
  await touch("notes.txt", 5000);

  const removed = await pruneCachedBuilds(dir, "starter-", "starter-dddd.tar");

  expect(removed.sort()).toEqual(["starter-aaaa.tar", "starter-cccc.tar", "starter-ffff.tar.tmp-4194305"]);
  expect((await fs.readdir(dir)).sort()).toEqual(["notes.txt", "other-1111.tar", "starter-bbbb.tar", "starter-dddd.tar", `starter-eeee.tar.tmp-${process.pid}`]);
});

test("a cache directory that is not there is nothing to prune", async () => {
  expect(await pruneCachedBuilds(path.join(dir, "missing"), "starter-", "starter-aaaa.tar")).toEqual([]);
});

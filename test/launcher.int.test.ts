// launch.pl through its client: what a tenant start relies on (a mount namespace of its own holding
// only what was carried into it, KSM's opt-in, the command's status and output) and what must not
// hang or mix the daemon's starts (a timeout, a process left holding the output, many at once, the
// launcher's death). Real mounts in a scratch directory, removed after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { detachableParent, Launcher, type LaunchMounts, launchPath } from "../server/host/drivers/launch.js";

let dir: string;
const launcher = new Launcher(2);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-launch-"));
  await fs.mkdir(path.join(dir, "parent"));
  await fs.mkdir(path.join(dir, "point"));
  detachableParent(path.join(dir, "parent"));
  for (const t of ["a", "b"]) {
    await fs.mkdir(path.join(dir, "parent", t));
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", `hoody-launch-${t}`, path.join(dir, "parent", t)]);
    await fs.writeFile(path.join(dir, "parent", t, "file"), `content of ${t}\n`);
  }
  await execa("mount", ["-t", "tmpfs", "-o", "size=4k", "hoody-launch-point", path.join(dir, "point")]);
});
afterAll(async () => {
  const mounts = (await fs.readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => dir && m.startsWith(`${dir}/`));
  for (const m of mounts.sort((x, y) => y.length - x.length)) await execa("umount", [m], { reject: false });
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const none: LaunchMounts = { carry: [], detach: [], shared: [] };
const [major = 0, minor = 0] = os.release().split(".").map(Number);
const hasListmount = major > 6 || (major === 6 && minor >= 8);
/** The mount namespaces a launcher holds an fd on (its base, launch.pl). */
async function baseNamespaces(l: Launcher): Promise<string[]> {
  const pid = (l as unknown as { proc: { pid: number } }).proc.pid;
  const links = await Promise.all((await fs.readdir(`/proc/${pid}/fd`)).map((fd) => fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")));
  return links.filter((l) => l.startsWith("mnt:"));
}
const sh = (script: string, mounts = none, ksm = false) => launcher.run(mounts, ksm, ["sh", "-c", script]);

describe("launch.pl", () => {
  it("runs the command in a mount namespace of its own, with what was carried and not what was detached", async () => {
    const p = (...x: string[]) => path.join(dir, ...x);
    const mounts = { carry: [p("parent", "b")], detach: [p("parent")], shared: [p("point")] };
    const r = await sh(
      `readlink /proc/self/ns/mnt; cat ${p("parent", "b", "file")}; ls ${p("parent", "a")} | wc -l; grep ' ${p()}/' /proc/self/mountinfo; grep merge_any /proc/self/ksm_stat`,
      mounts,
      true,
    );
    expect(r.exitCode).toBe(0);
    const [ns, ...rest] = r.output.split("\n");
    expect(ns).toMatch(/^mnt:\[\d+\]$/);
    expect(ns).not.toBe(await fs.readlink("/proc/self/ns/mnt"));
    const out = rest.join("\n");
    expect(out).toContain("content of b");
    // a's directory is there (the parent is a bind of itself), empty: its tmpfs was cut with the parent.
    expect(out).toMatch(/^0$/m);
    expect(out).toMatch(new RegExp(` ${p("parent", "b")} `));
    expect(out).not.toMatch(new RegExp(` ${p("parent")} `));
    expect(out).toMatch(new RegExp(` ${p("point")} \\S+ shared:`));
    expect(out).toContain("ksm_merge_any: yes");
    // Control: the host still has both, and nothing of the launch namespace propagated back.
    const host = await fs.readFile("/proc/self/mountinfo", "utf8");
    for (const t of ["a", "b"]) expect(host).toContain(` ${p("parent", t)} `);
    expect(await fs.readFile(p("parent", "a", "file"), "utf8")).toBe("content of a\n");
    expect((await sh("grep merge_any /proc/self/ksm_stat")).output).toContain("ksm_merge_any: no");
  });

  it("makes a directory that already has mounts below it a mount of its own with them, none left below it", async () => {
    const p = (...x: string[]) => path.join(dir, "legacy", ...x);
    await fs.mkdir(p("x"), { recursive: true });
    await fs.mkdir(p("y"));
    for (const t of ["x", "y"]) {
      await execa("mount", ["-t", "tmpfs", "-o", "size=1m", `hoody-legacy-${t}`, p(t)]);
      await fs.writeFile(p(t, "file"), `legacy ${t}\n`);
    }
    const table = async () => (await fs.readFile("/proc/self/mountinfo", "utf8")).split("\n").filter((l) => l.includes(` ${p()}`));
    expect(await table()).toHaveLength(2);
    detachableParent(p());
    // The parent and one of each below it (the clones), the originals gone: a launch namespace cuts all.
    const after = await table();
    expect(after.map((l) => l.split(" ")[4]).sort()).toEqual([p(), p("x"), p("y")]);
    expect(await fs.readFile(p("y", "file"), "utf8")).toBe("legacy y\n");
    const r = await sh(`cat ${p("x", "file")}; grep -c ' ${p()}' /proc/self/mountinfo`, { carry: [p("x")], detach: [p()], shared: [] });
    expect(r).toMatchObject({ exitCode: 0, output: "legacy x\n1\n" });
    // Again (a daemon restart): nothing changes.
    detachableParent(p());
    expect((await table()).length).toBe(3);
  });

  it("keeps the launch namespace a slave of the host's: what the host unmounts later goes from it too", async () => {
    const p = (...x: string[]) => path.join(dir, "slave", ...x);
    await fs.mkdir(p("disk"), { recursive: true });
    // A shared parent, as / is on a systemd host (this VM's is private).
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "hoody-slave", p()]);
    await execa("mount", ["--make-shared", p()]);
    await fs.mkdir(p("disk"));
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "hoody-slave-disk", p("disk")]);
    const r = await sh("sleep 30 >/dev/null 2>&1 & echo $!");
    const pid = r.output.trim();
    const inLaunch = async () => (await fs.readFile(`/proc/${pid}/mountinfo`, "utf8")).includes(` ${p("disk")} `);
    try {
      // Control: the launch namespace has the disk at first.
      expect(await inLaunch()).toBe(true);
      await execa("umount", [p("disk")]);
      expect(await inLaunch()).toBe(false);
    } finally {
      process.kill(Number(pid), "SIGKILL");
    }
  });

  // listmount(2) (Linux 6.8) tells launch.pl when its base is stale; without it every start copies the host's.
  it.skipIf(!hasListmount)("copies one base namespace while the host's table outside the parents is unchanged, and makes a new one when it changes", async () => {
    const p = (...x: string[]) => path.join(dir, ...x);
    const mounts = { carry: [p("parent", "b")], detach: [p("parent")], shared: [] };
    const seen = (m: string) => `grep -c ' ${m} ' /proc/self/mountinfo; readlink /proc/self/ns/mnt`;
    // A tenant's mount below a parent (as every start makes) keeps the base. (Any other mount on the
    // host meanwhile, another stack's, rightly makes a new one: a few tries find a quiet moment.)
    let first: string[] = [];
    let kept = false;
    for (let i = 0; i < 10 && !kept; i++) {
      await sh("true", mounts);
      first = await baseNamespaces(launcher);
      expect(first).toHaveLength(1);
      await fs.mkdir(p("parent", `c${i}`));
      await execa("mount", ["-t", "tmpfs", "-o", "size=1m", `hoody-launch-c${i}`, p("parent", `c${i}`)]);
      expect((await sh(seen(p("parent", `c${i}`)), mounts)).output.split("\n")[0]).toBe("0");
      kept = (await baseNamespaces(launcher))[0] === first[0];
    }
    expect(kept).toBe(true);
    // A mount elsewhere on the host (private, as / is on this VM: it reaches no copy by propagation)
    // is in the next start's namespace, from a new base; then its unmount is too.
    await fs.mkdir(p("elsewhere"));
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "hoody-launch-elsewhere", p("elsewhere")]);
    const fresh = await sh(seen(p("elsewhere")), mounts);
    expect(fresh.output.split("\n")[0]).toBe("1");
    const second = await baseNamespaces(launcher);
    expect(second).toHaveLength(1);
    expect(second).not.toEqual(first);
    await execa("umount", [p("elsewhere")]);
    expect((await sh(seen(p("elsewhere")), mounts)).output.split("\n")[0]).toBe("0");
    // Each start has a namespace of its own, copied from the base.
    const [a, b] = await Promise.all([sh("readlink /proc/self/ns/mnt", mounts), sh("readlink /proc/self/ns/mnt", mounts)]);
    expect(a!.output).not.toBe(b!.output);
    expect([a!.output.trim(), b!.output.trim()]).not.toContain((await baseNamespaces(launcher))[0]);
  });

  it.skipIf(!hasListmount)("drops its base after --base-idle seconds without a start", async () => {
    const idle = new Launcher(2, 1);
    await idle.run({ carry: [], detach: [path.join(dir, "parent")], shared: [] }, false, ["true"]);
    // Control: it is held right after a start.
    expect(await baseNamespaces(idle)).toHaveLength(1);
    for (let i = 0; i < 100 && (await baseNamespaces(idle)).length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await baseNamespaces(idle)).toEqual([]);
    // And makes one again for the next.
    expect(await idle.run({ carry: [], detach: [path.join(dir, "parent")], shared: [] }, false, ["true"])).toMatchObject({ exitCode: 0 });
    expect(await baseNamespaces(idle)).toHaveLength(1);
  });

  it("refuses a parent to detach that is no mount", async () => {
    const r = await launcher.run({ ...none, detach: [path.join(dir, "point", "..")] }, false, ["true"]);
    expect(r.exitCode).toBe(255);
    expect(r.output).toContain("launch.pl: detach");
  });

  it("answers each command's exit code, signal and output", async () => {
    expect(await sh("echo out; echo err >&2; exit 3")).toEqual({ exitCode: 3, signal: null, output: "out\nerr\n" });
    expect(await sh("kill -9 $$")).toMatchObject({ exitCode: null, signal: 9 });
    const bad = await launcher.run({ ...none, carry: ["relative/path"] }, false, ["true"]);
    expect(bad.exitCode).toBe(255);
    expect(bad.output).toContain("--carry needs an absolute path");
    const missing = await launcher.run({ ...none, carry: [path.join(dir, "no-such-mount")] }, false, ["true"]);
    expect(missing.exitCode).toBe(255);
    expect(missing.output).toMatch(/open_tree .*no-such-mount/);
  });

  it("runs a command with the PATH asked for, found on its own PATH first (lxc-start without newuidmap)", async () => {
    // sh is found on the launcher's PATH; what it runs sees only the PATH given, where newuidmap is not.
    const given = launchPath();
    const r = await launcher.run(none, false, ["sh", "-c", 'echo "$PATH"; command -v newuidmap || echo none'], given);
    expect(r).toEqual({ exitCode: 0, signal: null, output: `${given}\nnone\n` });
    // A control: without a PATH of its own, the command finds newuidmap on the launcher's.
    expect((await sh("command -v newuidmap")).output).toMatch(/\/newuidmap\n$/);
    const relative = await launcher.run(none, false, ["true"], "/usr/sbin:sbin");
    expect(relative.exitCode).toBe(255);
    expect(relative.output).toContain("--path takes absolute directories");
    const missing = await launcher.run(none, false, ["no-such-command-here"], given);
    expect(missing.exitCode).toBe(255);
    expect(missing.output).toContain("no-such-command-here is not on the PATH");
  });

  it("does not wait for what the command left running with its output open, and kills a command past its timeout", async () => {
    const t0 = performance.now();
    expect(await sh("(sleep 20 &); echo left")).toMatchObject({ exitCode: 0, output: "left\n" });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(await sh("exec sleep 30")).toMatchObject({ exitCode: null, signal: 9 });
  });

  it("answers many starts at once, each its own", async () => {
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => sh(`echo ${i}; exit ${i % 5}`)));
    expect(results).toEqual(Array.from({ length: 24 }, (_, i) => ({ exitCode: i % 5, signal: null, output: `${i}\n` })));
  });

  it("when the launcher dies: a start it had taken is still answered, one it had not is failed, the next goes to a new one", async () => {
    const pidOf = () => (launcher as unknown as { proc: { pid: number } }).proc.pid;
    await sh("true");
    const first = pidOf();
    // Taken: its handler runs (the file says so) when the launcher is killed; the handler answers.
    const started = path.join(dir, "started");
    const taken = sh(`touch ${started}; sleep 1.5; echo done`);
    for (let i = 0; i < 200 && !(await fs.stat(started).catch(() => null)); i++) await new Promise((r) => setTimeout(r, 25));
    process.kill(first, "SIGKILL");
    // Once it has exited, while that handler still runs, starts go to a new launcher.
    const current = () => (launcher as unknown as { proc: { pid: number } | null }).proc?.pid;
    for (let i = 0; i < 100 && current() === first; i++) await new Promise((r) => setTimeout(r, 10));
    expect(current()).not.toBe(first);
    expect(await sh("echo again")).toMatchObject({ exitCode: 0, output: "again\n" });
    const second = pidOf();
    expect(second).not.toBe(first);
    expect(await taken).toEqual({ exitCode: 0, signal: null, output: "done\n" });
    // Not taken: sent while the launcher is stopped, then it is killed; nobody will answer it.
    process.kill(second, "SIGSTOP");
    const lost = sh("echo never");
    process.kill(second, "SIGKILL");
    await expect(lost).rejects.toThrow(/launcher exited/);
  });
});

// Where create → running time goes: the same mini create through the REST API, straight to the host
// daemon (tenants.create), and by hand (the floor), alternating. The API−daemon gap is the web
// server and core; daemon−floor is what hostd adds around snapshot + lxc-start. (For the steps inside
// hostd, `strace -f -tt -e trace=execve -p <hostd pid>` shows each command it spawns.)
// Usage: tsx bench/profile-create.ts [n]
import { TestStack } from "../test/stack-harness.js";
import { FloorContender, HoodyContender } from "./lib/contenders.js";
import { summarize } from "./lib/util.js";

const n = Number(process.argv[2] ?? 20);
const stack = await TestStack.create({ templates: ["mini"] });
try {
  const project = (await stack.api("POST", "/projects", { alias: "profile" })).body.data.id;
  const hoody = new HoodyContender(stack, project);
  const floor = new FloorContender(stack);
  await floor.prepare("mini");
  const t = { api: [] as number[], daemon: [] as number[], floor: [] as number[] };
  const direct: string[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    await hoody.create("mini");
    t.api.push(performance.now() - t0);
    t0 = performance.now();
    direct.push((await stack.host.client.call("tenants.create", { template: "mini" })).id);
    t.daemon.push(performance.now() - t0);
    t0 = performance.now();
    await floor.create("mini");
    t.floor.push(performance.now() - t0);
    if (hoody.alive >= 10) {
      await hoody.cleanup();
      await floor.cleanup();
      for (const id of direct.splice(0)) await stack.host.client.call("tenants.delete", { id });
    }
  }
  await hoody.close();
  await floor.close();
  for (const id of direct) await stack.host.client.call("tenants.delete", { id });
  console.log(JSON.stringify({ api: summarize(t.api), daemon: summarize(t.daemon), floor: summarize(t.floor) }, null, 1));
} finally {
  await stack.stop();
}
process.exit(0);

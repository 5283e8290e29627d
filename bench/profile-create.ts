// Where create → running time goes: the same mini create through the REST API, straight to the host
// daemon (tenants.create), and by hand (the floor), alternating. The API−daemon gap is the web
// server and core; daemon−floor is what hostd adds around snapshot + lxc-start. (For the steps inside
// hostd, `strace -f -tt -e trace=execve -p <hostd pid>` shows each command it spawns.)
// Usage: tsx bench/profile-create.ts [n]
import { TestStack } from "../testkit/stack-harness.js";
import { FloorContender, HoodyContender } from "./lib/contenders.js";
import { summarize } from "./lib/util.js";

const n = Number(process.argv[2] ?? 20);
const stack = await TestStack.create({ templates: ["mini"] });
try {
  const project = (await stack.api("POST", "/projects", { alias: "profile" })).body.data.id;
  const hoody = new HoodyContender(stack, project);
  const floor = new FloorContender(stack);
  await floor.prepare("mini");
  const t = { api: [] as number[], api_engine_call: [] as number[], api_outside_engine: [] as number[], daemon: [] as number[], floor: [] as number[] };
  const direct: string[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    const made = await hoody.create("mini");
    const apiMs = performance.now() - t0;
    t.api.push(apiMs);
    // The core times its engine call (status log duration_ms): the rest is HTTP, Next.js, auth, DB.
    const logs = (await stack.api("GET", `/containers/${made.id}/status-logs`)).body.data;
    const engineMs = Number((Array.isArray(logs) ? logs : (logs.logs ?? logs.status_logs ?? []))[0]?.duration_ms ?? NaN);
    t.api_engine_call.push(engineMs);
    t.api_outside_engine.push(apiMs - engineMs);
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
  console.log(JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summarize(v)])), null, 1));
} finally {
  await stack.stop();
}
process.exit(0);

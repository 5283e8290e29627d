// Wake: a stopped tenant's first byte through the router (the router starts it, holds the request
// until the app listens, then proxies). Templates alternate within the run.
import type { TestStack } from "../../testkit/stack-harness.js";
import { log, rotate, sleep, summarize, type Summary } from "../lib/util.js";

export interface WakeResult {
  scenario: "wake";
  n: number;
  templates: Record<string, { first_byte_ms: Summary; warm_request_ms: Summary }>;
}

export async function wake(stack: TestStack, project: string, templates: string[], n: number): Promise<WakeResult> {
  const tenants: Record<string, { id: string; name: string }> = {};
  const wakes: Record<string, number[]> = {};
  const warm: Record<string, number[]> = {};
  try {
    for (const template of templates) {
      await stack.host.client.buildTemplate(template);
      const name = `bw${process.pid}${template}`;
      const r = await stack.api("POST", `/projects/${project}/containers`, { template, name, idle_timeout_s: 0 });
      if (r.status !== 201) throw new Error(`wake: create ${template}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      tenants[template] = { id: r.body.data.id, name };
      wakes[template] = [];
      warm[template] = [];
    }
    log(`wake: ${n} per template (${templates.join(", ")})`);
    for (let i = 0; i < n; i++) {
      for (const template of rotate(templates, i)) {
        const t = tenants[template]!;
        // A stop the router may undo, as its own idle stops are (a plain API stop suspends the tenant).
        const s = await stack.api("POST", `/containers/${t.id}/stop`, { wake_on_request: true });
        if (s.status !== 200) throw new Error(`wake: stop: ${s.status} ${JSON.stringify(s.body).slice(0, 300)}`);
        // The router trusts a lookup for its cacheMs (1 s); a stop made elsewhere (the API here) is
        // seen after that. (The router's own idle sweep clears its cache at once.)
        await sleep(1100);
        const t0 = performance.now();
        const res = await stack.viaRouter(t.name);
        if (res.status !== 200) throw new Error(`wake ${template}: ${res.status} ${res.body.slice(0, 200)}`);
        wakes[template]!.push(performance.now() - t0);
        const w0 = performance.now();
        const again = await stack.viaRouter(t.name);
        if (again.status !== 200) throw new Error(`warm ${template}: ${again.status}`);
        warm[template]!.push(performance.now() - w0);
      }
    }
  } finally {
    for (const t of Object.values(tenants)) await stack.api("DELETE", `/containers/${t.id}`).catch(() => undefined);
  }
  const out: WakeResult = { scenario: "wake", n, templates: {} };
  for (const template of templates) out.templates[template] = { first_byte_ms: summarize(wakes[template]!), warm_request_ms: summarize(warm[template]!) };
  log(`wake: ${JSON.stringify(Object.fromEntries(Object.entries(out.templates).map(([k, v]) => [k, v.first_byte_ms.median])))}`);
  return out;
}

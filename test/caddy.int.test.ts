// Caddy in front, on the real stack: a real Caddy (Debian's) with its internal CA on loopback high
// ports, the router and web server configured as `npm run up` configures them for a public domain,
// and curl trusting only Caddy's root. Times of the create and of the first certificate are printed.
import fs from "node:fs/promises";
import https from "node:https";
import path from "node:path";
import { execa } from "execa";
import type { LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { caddyAdmin, reloadCaddy } from "../server/caddy/caddy.js";
import { CaddyStack } from "../testkit/caddy-harness.js";
import { waitFor } from "../testkit/host-harness.js";

let c: CaddyStack;
let project = "";
let acme: { id: string; url: string; engine_name: string };

beforeAll(async () => {
  c = await CaddyStack.create({ templates: ["mini", "starter"] });
  project = (await c.stack.api("POST", "/projects", { alias: "caddy" })).body.data.id;
}, 600_000);
afterAll(async () => {
  await c?.stop();
});

const create = async (body: Record<string, unknown>) => {
  const r = await c.stack.api("POST", `/projects/${project}/containers`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data;
};
const host = (label: string) => `${label}.${c.domain}`;
/** A DNS lookup that answers loopback for every name (as curl --resolve does). */
const toLoopback: LookupFunction = (_name, opts, cb) =>
  opts.all ? (cb as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4);

describe("HTTPS through Caddy", () => {
  it("a new tenant answers at its https URL within the create plus the first certificate, and curl verifies the chain", async () => {
    const t0 = performance.now();
    acme = await create({ template: "mini", name: "acme", idle_timeout_s: 0 });
    const createMs = performance.now() - t0;
    expect(acme.url).toBe(`https://${host("acme")}:${c.httpsPort}/`);
    const t1 = performance.now();
    const first = await c.curl(acme.url);
    const firstMs = performance.now() - t1;
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.status).toBe(200);
    expect(first.body).toContain("hello from acme");
    expect(first.headers).toMatch(/^HTTP\/2 200/m);
    expect(first.headers.toLowerCase()).toContain("strict-transport-security: max-age=31536000");
    // The certificate is on disk now (issued on demand for this name), and a second request is fast.
    await fs.stat(`${c.files.storageDir}/certificates/local/${host("acme")}/${host("acme")}.crt`);
    const t2 = performance.now();
    expect((await c.curl(acme.url)).status).toBe(200);
    const againMs = performance.now() - t2;
    console.log(`[caddy] create ${createMs.toFixed(0)} ms; first HTTPS request (certificate issuance + wait for the app) ${firstMs.toFixed(0)} ms; next request ${againMs.toFixed(0)} ms`);
    // Control: without Caddy's root the same URL fails verification (curl exit 60), so the check above was a real one.
    const untrusted = await c.curl(acme.url, { cacert: null });
    expect(untrusted.exitCode).toBe(60);
  });

  it("redirects plain HTTP to HTTPS", async () => {
    const r = await c.curl(`http://${host("acme")}:${c.httpPort}/some/path?x=1`);
    expect(r.status).toBe(308);
    expect(r.headers).toMatch(new RegExp(`location: https://${host("acme").replace(/\./g, "\\.")}:${c.httpsPort}/some/path\\?x=1`, "i"));
  });

  it("tells the tenant the client's scheme and address as Caddy saw them (the router trusts Caddy's secret only)", async () => {
    await create({ template: "starter", name: "shop", idle_timeout_s: 0 });
    const info = await waitFor(
      async () => {
        const r = await c.curl(c.url(host("shop"), "/api/info"));
        return r.status === 200 ? JSON.parse(r.body) : null;
      },
      30_000,
      200,
    );
    expect(info.forwarded).toMatchObject({
      "x-forwarded-proto": "https",
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-port": String(c.httpsPort),
      "x-forwarded-host": `${host("shop")}:${c.httpsPort}`,
    });
    expect(JSON.stringify(info)).not.toContain("x-hoody-proxy");
    // A local process that talks to the router directly and claims https is not believed.
    const direct = await c.viaRouter(host("shop"), "/api/info", { "x-forwarded-proto": "https", "x-hoody-proxy": "guess" });
    expect(JSON.parse(direct.body).forwarded["x-forwarded-proto"]).toBe("http");
    // WebSockets pass through Caddy and the router, on the tenant's per-port name for its app port too.
    for (const name of [host("shop"), `shop-http-8080.${c.domain}`]) {
      // The name's certificate is issued by a curl first: the harness's curl knows the internal
      // CA's second-boundary race (see CaddyStack.curl); Node's TLS client would meet it too.
      expect((await c.curl(c.url(name, "/ws/echo"))).exitCode).toBe(0);
      const ws = new WebSocket(`wss://${name}:${c.httpsPort}/ws/echo`, { ca: await fs.readFile(c.files.rootCert), lookup: toLoopback });
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.on("open", () => ws.send(`ping ${name}`));
        ws.on("message", (m) => resolve(String(m)));
        ws.on("error", reject);
      });
      ws.close();
      expect(echoed).toContain(`ping ${name}`);
    }
  }, 120_000);

  it("wakes a stopped tenant over HTTPS", async () => {
    expect((await c.stack.api("POST", `/containers/${acme.id}/stop`, { wake_on_request: true })).status).toBe(200);
    expect((await c.stack.host.lxc("lxc-info", acme.engine_name, "-sH")).stdout.trim()).toBe("STOPPED");
    const r = await c.curl(acme.url);
    expect(r.status, r.body).toBe(200);
    expect(r.body).toContain("hello from acme");
    expect((await c.stack.host.lxc("lxc-info", acme.engine_name, "-sH")).stdout.trim()).toBe("RUNNING");
  });

  it("reaches a second port at <label>-http-<port> only while the tenant's firewall lets the host reach it", async () => {
    const exec = await c.stack.api("POST", `/containers/${acme.id}/exec`, {
      command: ["/bin/sh", "-c", "mkdir -p /tmp/w2 && echo second port of acme > /tmp/w2/index.html && busybox httpd -p 9000 -h /tmp/w2"],
    });
    expect(exec.status, JSON.stringify(exec.body)).toBe(200);
    const portUrl = c.url(`acme-http-9000.${c.domain}`);
    // Closed: Caddy's ask is refused, so no certificate is made and the handshake fails; the router refuses it too.
    const closed = await c.curl(portUrl);
    expect(closed.exitCode).not.toBe(0);
    expect(closed.status).toBe(0);
    const viaRouter = await c.viaRouter(`acme-http-9000.${c.domain}`, "/", { accept: "application/json" });
    expect([viaRouter.status, JSON.parse(viaRouter.body).code]).toEqual([403, "PORT_NOT_OPEN"]);
    const add = await c.stack.api("POST", `/containers/${acme.id}/firewall/ingress`, { action: "allow", protocol: "tcp", destination_port: "9000", source: "host", description: "second port" });
    expect(add.status, JSON.stringify(add.body)).toBe(200);
    const open = await waitFor(
      async () => {
        const r = await c.curl(portUrl);
        return r.status === 200 ? r : null;
      },
      10_000,
      200,
    );
    expect(open.body).toContain("second port of acme");
    // The app port's URL still shows the app, not the second port.
    expect((await c.curl(acme.url)).body).toContain("hello from acme");
  });

  it("routes a custom domain to its tenant after a check that it resolves here, and stops after DELETE", async () => {
    const name = `app.customer-${c.domain.split(".")[0]}.dev`;
    const refused = await c.stack.api("POST", `/containers/${acme.id}/domains`, { hostname: name });
    expect([refused.status, refused.body.code]).toEqual([422, "DOMAIN_NOT_RESOLVED"]);
    await c.pointName(name, "198.51.100.9");
    const elsewhere = await c.stack.api("POST", `/containers/${acme.id}/domains`, { hostname: name });
    expect([elsewhere.status, elsewhere.body.code]).toEqual([422, "DOMAIN_NOT_POINTED"]);
    // Nothing was attached: Caddy gets no certificate for it.
    expect((await c.curl(c.url(name))).status).toBe(0);
    await fs.writeFile(c.resolveFile, `127.0.0.1 ${name}\n`);
    const added = await c.stack.api("POST", `/containers/${acme.id}/domains`, { hostname: name });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body.data).toMatchObject({ hostname: name, container_id: acme.id, url: `https://${name}:${c.httpsPort}/`, addresses: ["127.0.0.1"] });
    const other = await create({ template: "mini", name: "other", idle_timeout_s: 0 });
    const taken = await c.stack.api("POST", `/containers/${other.id}/domains`, { hostname: name });
    expect([taken.status, taken.body.code]).toEqual([409, "DOMAIN_TAKEN"]);
    const r = await c.curl(c.url(name));
    expect(r.status, r.stderr).toBe(200);
    expect(r.body).toContain("hello from acme");
    expect((await c.stack.api("GET", `/containers/${acme.id}/domains`)).body.data.domains.map((d: { hostname: string }) => d.hostname)).toEqual([name]);
    expect((await c.stack.api("DELETE", `/containers/${acme.id}/domains/${name}`)).status).toBe(200);
    // Its certificate stays in Caddy's cache; the router no longer routes the name.
    const gone = await waitFor(
      async () => {
        const a = await c.curl(c.url(name), { headers: { accept: "application/json" } });
        return a.status === 404 ? a : null;
      },
      5_000,
      100,
    );
    expect(JSON.parse(gone.body).code).toBe("UNKNOWN_TENANT");
    expect((await c.stack.api("GET", `/containers/${acme.id}/domains`)).body.data.domains).toEqual([]);
  });

  it("the CLI attaches, lists and detaches a custom domain", async () => {
    const cli = (...args: string[]) => execa(path.resolve(import.meta.dirname, "../bin/hoody.js"), ["--url", c.stack.url, "--token", c.stack.adminToken, ...args], { reject: false });
    const name = `cli.customer-${c.domain.split(".")[0]}.dev`;
    await c.pointName(name);
    const add = await cli("containers", "domains", acme.id, "add", name);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toContain(`https://${name}:${c.httpsPort}/`);
    expect((await cli("containers", "domains", acme.id)).stdout).toMatch(new RegExp(`^${name.replace(/\./g, "\\.")}\\s+https://`, "m"));
    expect((await c.curl(c.url(name))).body).toContain("hello from acme");
    const dup = await cli("containers", "domains", acme.id, "add", name);
    expect([dup.exitCode, dup.stderr.includes("DOMAIN_TAKEN")]).toEqual([1, true]);
    expect((await cli("containers", "domains", acme.id, "rm", name)).exitCode).toBe(0);
    expect((await cli("containers", "domains", acme.id)).stdout).not.toContain(name);
    expect((await cli("containers", "domains", acme.id, "frob", name)).exitCode).toBe(2);
  });

  it("refuses certificates for names that are not ours: the ask endpoint says no and no certificate is made", async () => {
    const ask = (d: string) => fetch(`${c.stack.routerUrl}/.hoody/tls-ask?domain=${d}`).then((r) => r.status);
    expect(await ask(host("acme"))).toBe(200);
    expect(await ask(c.dashboardHost)).toBe(200);
    for (const d of [host("ghost"), "example.com", c.domain, `x.acme.${c.domain}`]) expect(await ask(d), d).toBe(403);
    const r = await c.curl(c.url(host("ghost")));
    expect(r.exitCode).toBe(35); // TLS handshake refused: Caddy had no certificate to offer
    const certs = await fs.readdir(`${c.files.storageDir}/certificates/local`);
    expect(certs).toContain(host("acme"));
    expect(certs).not.toContain(host("ghost"));
  });

  it("serves the dashboard on its own host over HTTPS with a Secure session cookie", async () => {
    expect((await c.curl(c.url(c.dashboardHost, "/api/health"))).status).toBe(200);
    const login = await c.curl(c.url(c.dashboardHost, "/api/auth/login"), {
      method: "POST",
      data: JSON.stringify({ password: c.stack.adminPassword }),
      headers: { "content-type": "application/json" },
    });
    expect(login.status, login.body).toBe(200);
    const cookie = login.headers.split("\n").find((l) => /^set-cookie:/i.test(l)) ?? "";
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/HttpOnly/i);
  });

  it("takes a new configuration through its admin socket while serving, and keeps serving", async () => {
    const ca = await fs.readFile(c.files.rootCert);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca, lookup: toLoopback });
    const get = () =>
      new Promise<number>((resolve) => {
        https.get(acme.url, { agent }, (res) => res.resume().on("end", () => resolve(res.statusCode ?? 0))).on("error", () => resolve(-1));
      });
    const text = await fs.readFile(c.files.configFile, "utf8");
    const changed = JSON.parse(text);
    changed.logging.logs.hoody.writer.roll_keep = 6; // a real change: Caddy skips a load of the same config
    let stop = false;
    // Even while the swap runs, odd after it: a batch that saw either state change overlapped it.
    let phase = 0;
    const batches: { duringReload: boolean; statuses: number[] }[] = [];
    // The first batch after the swap still reuses keep-alive connections of the replaced server, which
    // closes them as it stops: a request sent on one as it closes is reset (browsers retry such a
    // request on a fresh connection; this client does not), so that batch counts as overlapping too.
    let firstAfter = true;
    const load = (async () => {
      while (!stop) {
        const from = phase;
        const statuses = await Promise.all(Array.from({ length: 8 }, get));
        const overlapping = from !== phase || from === 1 || (from === 2 && firstAfter);
        if (from === 2) firstAfter = false;
        batches.push({ duringReload: overlapping, statuses });
      }
    })();
    await waitFor(() => batches.length >= 5, 10_000, 10);
    phase = 1;
    await reloadCaddy(c.files.adminSocket, JSON.stringify(changed));
    phase = 2;
    const after = batches.length;
    await waitFor(() => batches.length >= after + 10, 10_000, 10);
    stop = true;
    await load;
    agent.destroy();
    expect(JSON.parse((await caddyAdmin(c.files.adminSocket, "GET", "/config/")).body).logging.logs.hoody.writer.roll_keep).toBe(6);
    // Every request before and after the swap succeeds. Debian 12's Caddy (2.6.2) cancels the proxied
    // requests in flight at the instant of the swap (its log: "server shutdown: context canceled"),
    // so only those may fail; the README says so.
    const failed = batches.filter((b) => b.statuses.some((x) => x !== 200));
    expect(
      failed.filter((b) => !b.duringReload),
      JSON.stringify(batches),
    ).toEqual([]);
    const later = batches.slice(after).filter((b) => !b.duringReload);
    expect(later.length).toBeGreaterThanOrEqual(9);
    expect(later.flatMap((b) => b.statuses).filter((x) => x !== 200)).toEqual([]);
  });

  it("keeps tokens, cookies and query strings out of Caddy's access log", async () => {
    const marker = `/logged-${Date.now()}`;
    await c.curl(c.url(host("acme"), `${marker}?token=QUERYSECRET1`), { headers: { authorization: "Bearer hdy_HEADERSECRET2", cookie: "hoody_session=COOKIESECRET3" } });
    const log = await waitFor(
      async () => {
        const text = await fs.readFile(c.files.accessLog, "utf8").catch(() => "");
        return text.includes(marker) ? text : null;
      },
      10_000,
      100,
    );
    expect(log).toContain(`${marker}?REDACTED`);
    for (const secret of ["QUERYSECRET1", "HEADERSECRET2", "COOKIESECRET3", await fs.readFile(c.files.proxySecret, "utf8").then((s) => s.trim())]) expect(log).not.toContain(secret);
  });
});

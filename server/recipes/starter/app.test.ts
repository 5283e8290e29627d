// The starter app's stop under load, run on the host (python3 is installed by setup): a SIGTERM
// must end it cleanly whatever its main thread is doing. Its idleness and a stop inside a tenant
// are in test/starter.int.test.ts.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../testkit/host-harness.js";

const APP = path.join(import.meta.dirname, "app.py");
/** Stops tried: the signal lands at a random point of the main thread's work each time. */
const TRIALS = 20;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hoody-starter-app-"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Clients that connect and hang up in a loop: the app's main thread keeps accepting and starting request threads. */
function flood(port: number, clients: number) {
  let connects = 0;
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => {
      connects++;
      s.destroy();
    });
    s.on("error", () => undefined);
    s.on("close", () => setImmediate(loop));
  };
  for (let i = 0; i < clients; i++) loop();
  return {
    connects: () => connects,
    stop: () => {
      stopped = true;
    },
  };
}

describe("starter app", () => {
  it(
    `stops cleanly on SIGTERM while accepting connections (${TRIALS} stops)`,
    async () => {
      for (let i = 0; i < TRIALS; i++) {
        const port = await freePort();
        const app = spawn("python3", [APP], { env: { ...process.env, PORT: String(port), APP_DB: path.join(dir, "app.sqlite"), APP_SCRATCH: path.join(dir, "scratch.bin") } });
        let out = "";
        let err = "";
        app.stdout.on("data", (d) => (out += d));
        app.stderr.on("data", (d) => (err += d));
        const exited = once(app, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
        try {
          // Bound: it says so once it listens.
          while (!out.includes("listening on")) {
            if (app.exitCode !== null || app.signalCode !== null) throw new Error(`the app exited before listening: ${err}`);
            await Promise.race([once(app.stdout, "data"), exited]);
          }
          const load = flood(port, 6);
          // Under load: it has accepted a few connections (a random number: the signal lands at a random point).
          const until = 5 + Math.floor(Math.random() * 20);
          while (load.connects() < until) await new Promise((r) => setImmediate(r));
          app.kill("SIGTERM");
          const timer = setTimeout(() => app.kill("SIGKILL"), 10_000);
          const [code, signal] = await exited;
          clearTimeout(timer);
          load.stop();
          // A swallowed signal leaves it serving until the SIGKILL above.
          expect({ trial: i, code, signal, traceback: err.includes("Traceback") }).toEqual({ trial: i, code: 0, signal: null, traceback: false });
          expect(out).toMatch(/stopped after [\d.]+s\n$/);
        } finally {
          if (app.exitCode === null && app.signalCode === null) app.kill("SIGKILL");
        }
      }
    },
    TRIALS * 15_000,
  );

  it("speaks HTTP/1.1 itself: keep-alive, HEAD, a body by Content-Length, and errors that close", async () => {
    const port = await freePort();
    const app = spawn("python3", [APP], { env: { ...process.env, PORT: String(port), APP_DB: path.join(dir, "http.sqlite"), TENANT_NAME: "<b>" } });
    let out = "";
    app.stdout.on("data", (d) => (out += d));
    try {
      while (!out.includes("listening on")) await once(app.stdout, "data");
      /** Sends raw bytes on one connection and answers all it got back once the app hangs up. */
      const exchange = (raw: string) =>
        new Promise<string>((resolve, reject) => {
          let got = "";
          const s = net.connect(port, "127.0.0.1", () => s.end(raw));
          s.on("data", (d) => (got += d));
          s.on("close", () => resolve(got));
          s.on("error", reject);
        });
      // Three requests on one connection: each answered in order, the last (HTTP/1.0) closes it.
      const note = "a note";
      const kept = await exchange(
        `GET / HTTP/1.1\r\nHost: t\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\nPOST /api/notes HTTP/1.1\r\ncontent-LENGTH: ${note.length}\r\n\r\n${note}GET /api/notes HTTP/1.0\r\n\r\n`,
      );
      const statuses = [...kept.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
      expect(statuses).toEqual(["200", "200", "201", "200"]);
      expect(kept).toContain("Hello from &lt;b&gt;");
      expect(kept).toContain('"body": "a note"');
      // HEAD: the headers of the GET, no body (the next response follows its headers at once).
      expect(kept).toMatch(/Content-Length: 2\r\nCache-Control: no-store\r\n\r\nHTTP\/1\.1 201/);
      // A body over the limit and a bad request line are answered and the connection is closed.
      const big = await exchange(`POST /api/notes HTTP/1.1\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\nxx`);
      expect(big).toMatch(/^HTTP\/1\.1 413 /);
      expect(big).toContain("Connection: close");
      expect(await exchange("nonsense\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
      expect(await exchange("DELETE /api/notes HTTP/1.1\r\n\r\n")).toMatch(/^HTTP\/1\.1 501 /);
      // Framing read one way only: a body a route does not read is never taken for the next request
      // (one response, then the close), and two Content-Lengths that differ are refused.
      const smuggled = "GET /api/notes HTTP/1.1\r\n\r\n";
      const withBody = await exchange(`GET /healthz HTTP/1.1\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
      expect(withBody.match(/^HTTP\/1\.1 \d+/gm)).toEqual(["HTTP/1.1 200"]);
      expect(withBody).toContain("Connection: close");
      expect(await exchange(`POST /api/notes HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 3\r\n\r\nabc${smuggled}`)).toMatch(/^HTTP\/1\.1 400 [\s\S]*Connection: close/);
    } finally {
      app.kill("SIGKILL");
    }
  });
});

// The staged close and bounded drain against a real Node HTTP server on loopback, with a raw client
// that sees what the kernel does (a reset arrives as EPIPE/ECONNRESET on its next write).
import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { keepAnswersBeforeUnreadBodies } from "./unread-body";

const KB = 1024;
const MB = 1024 * KB;
const BOUND = { bytes: 2 * MB, ms: 400 };
let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A server whose only route reads at most 1 KiB of the body and answers 413 (as sign-in does), or (`ignoring`) answers 404 without touching it. */
async function refusingServer(staged: boolean, ignoring = false): Promise<number> {
  server = http.createServer();
  if (staged) keepAnswersBeforeUnreadBodies(server, BOUND);
  server.on("request", (req, res) => {
    if (ignoring) return void res.writeHead(404, { "content-type": "application/json" }).end('{"code":"NOT_FOUND"}');
    let read = 0;
    const onData = (c: Buffer) => {
      read += c.length;
      if (read <= KB) return;
      req.off("data", onData).pause();
      res.writeHead(413, { "content-type": "application/json" }).end('{"code":"PAYLOAD_TOO_LARGE"}');
    };
    req.on("data", onData);
    req.on("end", () => res.headersSent || res.end("small"));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

interface RawClient {
  socket: net.Socket;
  received: () => string;
  /** Resolves when the server's FIN arrived (everything it sent is in `received`). */
  ended: Promise<void>;
  /** The first error the socket met, if any. */
  error: () => NodeJS.ErrnoException | undefined;
  write: (b: Buffer | string) => Promise<void>;
  /** Resolves once what the server sent satisfies `seen`. */
  until: (seen: (text: string) => boolean) => Promise<void>;
}

async function rawClient(port: number, head: string): Promise<RawClient> {
  // Half-open allowed: the client goes on writing after the server closed its side, as HTTP clients do.
  const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  await new Promise((r) => socket.once("connect", r));
  let text = "";
  let error: NodeJS.ErrnoException | undefined;
  socket.on("data", (c: Buffer) => {
    text += c.toString("latin1");
  });
  socket.on("error", (e) => {
    error ??= e;
  });
  const ended = new Promise<void>((r) => socket.once("end", r));
  const write = (b: Buffer | string) => new Promise<void>((resolve, reject) => socket.write(b, (e) => (e ? reject(e) : resolve())));
  await write(head);
  const until = (seen: (t: string) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (seen(text) ? resolve() : socket.once("data", check));
      check();
    });
  return { socket, received: () => text, ended, error: () => error, write, until };
}

/** Writes the body in 16 KiB chunks, one after the other, until the answer and the server's FIN are in. */
async function writeUntilAnswered(c: RawClient): Promise<void> {
  let answered = false;
  void c.ended.then(() => (answered = true));
  for (let i = 0; i < 64 && !answered; i++) await c.write(chunk(16 * KB));
  await c.ended;
}

const chunk = (size: number) => Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 0x61), Buffer.from("\r\n")]);
const closingHead = "POST /sign-in HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n";

describe("an answer sent before the body was read whole, on a connection the client asked to close", () => {
  it("reaches the client still writing its body: the server closes its side first and reads on (no reset)", async () => {
    const c = await rawClient(await refusingServer(true), closingHead);
    // Until the answer and the server's FIN are in, then 1 MiB more: a server that closed at once
    // would have reset the connection and these writes would fail.
    await writeUntilAnswered(c);
    for (let i = 0; i < 16; i++) await c.write(chunk(64 * KB));
    expect(c.error()).toBeUndefined();
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 [\s\S]*PAYLOAD_TOO_LARGE/);
    // The client finishes as it would: its FIN ends the connection cleanly.
    c.socket.end("0\r\n\r\n");
    await new Promise((r) => c.socket.once("close", r));
    expect(c.error()).toBeUndefined();
  });

  it("control: without the staged close the same client meets a reset after the answer", async () => {
    const c = await rawClient(await refusingServer(false), closingHead);
    await writeUntilAnswered(c);
    const failed = await (async () => {
      for (let i = 0; i < 16; i++) await c.write(chunk(64 * KB));
    })().then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(["EPIPE", "ECONNRESET"]).toContain(failed);
  });

  it.each([
    ["read 1 KiB of", false],
    ["never touched", true],
  ])("a client that streams on past the drain bound of a body the route %s is no longer read, then cut when the time bound ends", async (_, ignoring) => {
    const c = await rawClient(await refusingServer(true, ignoring), closingHead);
    await c.write(chunk(16 * KB));
    await c.ended;
    // Writes without waiting: TCP stops them once the server stops reading and the buffers fill.
    let sent = 0;
    const closed = new Promise((r) => c.socket.once("close", r));
    const piece = chunk(256 * KB);
    const pump = () => {
      while (!c.socket.destroyed && c.socket.write(piece)) sent += piece.length;
      if (!c.socket.destroyed) c.socket.once("drain", pump);
    };
    pump();
    await closed;
    expect(["EPIPE", "ECONNRESET"]).toContain(c.error()?.code);
    // The bound, plus what the kernel's socket buffers hold on both ends.
    expect(sent, `sent ${(sent / MB).toFixed(1)} MiB after the answer`).toBeLessThan(BOUND.bytes + 32 * MB);
  });
});

describe("on a kept-alive connection", () => {
  it("an unread body drained to its end leaves the connection usable for the next request", async () => {
    const c = await rawClient(await refusingServer(true), "POST /sign-in HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n");
    await c.write(chunk(64 * KB));
    await c.write("0\r\n\r\n");
    const next = c.until((t) => /HTTP\/1\.1 200 [\s\S]*small$/.test(t));
    // Sent once the 413 is in: the server answers it on the same connection, and holds no listener per request.
    await c.until((t) => t.includes("PAYLOAD_TOO_LARGE"));
    await c.write("POST /sign-in HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello");
    await next;
    expect(c.received().match(/HTTP\/1\.1 /g)).toHaveLength(2);
    expect(c.error()).toBeUndefined();
  });

  it("many answers before their bodies on one connection leave no listeners behind", async () => {
    const port = await refusingServer(true, true);
    const sockets: net.Socket[] = [];
    server!.on("connection", (s: net.Socket) => sockets.push(s));
    const c = await rawClient(port, "");
    const answers = (t: string) => (t.match(/HTTP\/1\.1 404/g) ?? []).length;
    for (let i = 0; i < 30; i++) {
      const seen = answers(c.received());
      await c.write("POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n");
      await c.until((t) => answers(t) > seen);
      await c.write("x");
    }
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.listenerCount("close")).toBeLessThan(10);
    expect(c.error()).toBeUndefined();
  });
});

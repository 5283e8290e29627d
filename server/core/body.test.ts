import { describe, expect, it } from "vitest";
import { readBody } from "./body";
import { isCoreError } from "./errors";

/** A request whose chunked body is produced on demand, counting what was pulled from it. */
function streamed(chunks: number, chunkBytes: number) {
  const pulled = { n: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled.n >= chunks) return c.close();
      pulled.n++;
      c.enqueue(new Uint8Array(chunkBytes));
    },
  });
  return { req: new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit), pulled };
}

const refusal = (e: unknown) => (isCoreError(e) ? [e.status, e.code] : e);

describe("readBody", () => {
  it("returns a body within the limit whole", async () => {
    expect((await readBody(new Request("http://x/", { method: "POST", body: "hello" }), 5)).toString()).toBe("hello");
    expect((await readBody(new Request("http://x/"), 5)).length).toBe(0);
  });

  it("refuses a declared Content-Length over the limit without reading", async () => {
    const { req, pulled } = streamed(10, 1024);
    req.headers.set("content-length", "10240");
    expect(await readBody(req, 4096).catch(refusal)).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    expect(pulled.n).toBeLessThanOrEqual(1);
  });

  it("stops a chunked body as soon as it passes the limit", async () => {
    const { req, pulled } = streamed(100_000, 64 * 1024); // 6.5 GB if read whole
    expect(await readBody(req, 1024 * 1024).catch(refusal)).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    // The limit is 16 chunks; the stream may have pulled a few ahead of the reader, not more.
    expect(pulled.n).toBeLessThan(24);
  });
});

// The one way a request body is read: counted while it streams and refused with 413 as soon as it
// passes its limit, so a client cannot make the server hold more than the limit (a 700 MB chunked
// body to sign-in used to be read whole before it was refused).
import { CoreError } from "./errors";

// What is left of a refused body is the web server's to drain or cut (server/web/main.ts).
export function payloadTooLarge(limit: number): CoreError {
  return new CoreError(413, "PAYLOAD_TOO_LARGE", `the body is limited to ${limit} bytes`, { limit_bytes: limit });
}

/** Reads at most `limit` bytes of the body; more (declared or streamed) throws 413 PAYLOAD_TOO_LARGE. */
export async function readBody(req: Request, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of boundedBody(req, limit)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The body as a stream counted while it flows: past `limit` bytes (declared or streamed) it throws 413. */
export async function* boundedBody(req: Request, limit: number): AsyncGenerator<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw payloadTooLarge(limit);
  if (!req.body) return;
  const reader = req.body.getReader();
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    size += value.byteLength;
    if (size > limit) {
      // Released, not cancelled: cancelling destroys the socket under the 413 (the client would see a
      // reset instead of the answer). The web server drains or cuts the rest once the 413 is sent.
      reader.releaseLock();
      throw payloadTooLarge(limit);
    }
    yield value;
  }
}

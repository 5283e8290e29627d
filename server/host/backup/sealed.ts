// A backup file at rest: AES-256-GCM in authenticated chunks (node:crypto, no extra package), so a
// backup of any size streams in and out in constant memory, and a changed, reordered, cut or
// foreign-key file fails at the first chunk that does not verify, before anything is committed.
//
// File: "HOODYBK1" | u32 header length | header JSON (format, key id, nonce prefix) | chunks.
// Chunk: u32 plaintext length | ciphertext | 16-byte tag. Nonce = 4-byte random prefix | u64 index;
// the additional data binds the header, the index and a last-chunk flag, so a file cut after any
// chunk lacks its flagged last chunk and is refused. Each chunk's plaintext is one record:
// u8 kind | u16 part | payload.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { EngineError } from "../../shared/errors.js";

const MAGIC = Buffer.from("HOODYBK1");
const TAG = 16;
/** Largest record we write (1 MiB of send stream) plus room; a bigger length in a file is refused before it is buffered. */
export const MAX_RECORD = 2 * 1024 * 1024;

export enum Kind {
  Manifest = 1,
  Data = 2,
  PartEnd = 3,
  End = 4,
}

export interface SealedRecord {
  kind: Kind;
  part: number;
  payload: Buffer;
}

/** The key's public name: which key a file needs, without revealing it. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("hoody-backup-key-id").update(key).digest("hex").slice(0, 16);
}

function aad(headerHash: Buffer, index: bigint, last: boolean): Buffer {
  const b = Buffer.alloc(headerHash.length + 9);
  headerHash.copy(b);
  b.writeBigUInt64BE(index, headerHash.length);
  b[headerHash.length + 8] = last ? 1 : 0;
  return b;
}

function nonce(prefix: Buffer, index: bigint): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n);
  n.writeBigUInt64BE(index, 4);
  return n;
}

/** Writes records as a sealed file through `write` (which should wait for the sink's drain). */
export class Sealer {
  private index = 0n;
  private readonly prefix = randomBytes(4);
  private readonly header: Buffer;
  private readonly headerHash: Buffer;

  constructor(
    private readonly key: Buffer,
    private readonly write: (b: Buffer) => Promise<void>,
  ) {
    this.header = Buffer.from(JSON.stringify({ format: 1, cipher: "aes-256-gcm", keyId: keyId(key), noncePrefix: this.prefix.toString("hex") }));
    this.headerHash = createHash("sha256").update(this.header).digest();
  }

  async start(): Promise<void> {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(this.header.length);
    await this.write(Buffer.concat([MAGIC, len, this.header]));
  }

  async record(kind: Kind, part: number, payload: Buffer = Buffer.alloc(0)): Promise<void> {
    const plain = Buffer.alloc(3 + payload.length);
    plain[0] = kind;
    plain.writeUInt16BE(part, 1);
    payload.copy(plain, 3);
    const last = kind === Kind.End;
    const c = createCipheriv("aes-256-gcm", this.key, nonce(this.prefix, this.index));
    c.setAAD(aad(this.headerHash, this.index, last));
    const body = Buffer.concat([c.update(plain), c.final()]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(plain.length);
    this.index++;
    await this.write(Buffer.concat([len, body, c.getAuthTag()]));
  }
}

/** Reads exact byte counts from an async stream of buffers. */
class Reader {
  private buf = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = source[Symbol.asyncIterator]();
  }
  async take(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      const r = await this.it.next();
      if (r.done) return null;
      this.buf = Buffer.concat([this.buf, typeof r.value === "string" ? Buffer.from(r.value) : Buffer.from(r.value)]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async atEnd(): Promise<boolean> {
    if (this.buf.length) return false;
    const r = await this.it.next();
    if (r.done) return true;
    this.buf = Buffer.from(r.value as Buffer);
    return this.buf.length === 0 && this.atEnd();
  }
}

const bad = (why: string) => new EngineError("BACKUP_INVALID", `not a backup this key opens, or changed since it was written: ${why}`);

/**
 * Yields the verified records of a sealed file. Throws BACKUP_INVALID at the first thing that does
 * not verify (wrong key, changed byte, reordered or missing chunk, cut file, bytes after the end).
 */
export async function* unseal(key: Buffer, source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<SealedRecord> {
  const r = new Reader(source);
  const magic = await r.take(MAGIC.length);
  if (!magic?.equals(MAGIC)) throw bad("no backup header");
  const lenBuf = await r.take(4);
  const hlen = lenBuf?.readUInt32BE() ?? 0;
  if (hlen < 2 || hlen > 4096) throw bad("header length");
  const header = await r.take(hlen);
  if (!header) throw bad("cut in its header");
  let h: { format?: number; keyId?: string; noncePrefix?: string };
  try {
    h = JSON.parse(header.toString("utf8"));
  } catch {
    throw bad("header is not JSON");
  }
  if (h.format !== 1 || typeof h.noncePrefix !== "string" || !/^[0-9a-f]{8}$/.test(h.noncePrefix)) throw bad("unknown format");
  if (h.keyId !== keyId(key))
    throw new EngineError("BACKUP_INVALID", `this backup was sealed with another key (key id ${String(h.keyId).slice(0, 16)}; this box has ${keyId(key)}): install the operator's backup key first`);
  const headerHash = createHash("sha256").update(header).digest();
  const prefix = Buffer.from(h.noncePrefix, "hex");
  for (let index = 0n; ; index++) {
    const lb = await r.take(4);
    if (!lb) throw bad(`cut after chunk ${index}`);
    const plen = lb.readUInt32BE();
    if (plen < 3 || plen > MAX_RECORD) throw bad(`chunk ${index} length`);
    const body = await r.take(plen + TAG);
    if (!body) throw bad(`cut in chunk ${index}`);
    const plain = open(key, prefix, headerHash, index, body, plen);
    const kind = plain[0] as Kind;
    const rec = { kind, part: plain.readUInt16BE(1), payload: plain.subarray(3) };
    if (kind === Kind.End) {
      if (!(await r.atEnd())) throw bad("bytes after its end");
      yield rec;
      return;
    }
    yield rec;
  }
}

function open(key: Buffer, prefix: Buffer, headerHash: Buffer, index: bigint, body: Buffer, plen: number): Buffer {
  // Whether this chunk claims to be the last is part of what it authenticates: try as a middle chunk, then as the last.
  for (const last of [false, true]) {
    const d = createDecipheriv("aes-256-gcm", key, nonce(prefix, index));
    d.setAAD(aad(headerHash, index, last));
    d.setAuthTag(body.subarray(plen));
    try {
      const plain = Buffer.concat([d.update(body.subarray(0, plen)), d.final()]);
      if (last !== (plain[0] === Kind.End)) break;
      return plain;
    } catch {
      // try the other flag
    }
  }
  throw bad(`chunk ${index} does not verify`);
}

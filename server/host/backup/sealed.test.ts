import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Kind, Sealer, unseal } from "./sealed";

async function seal(key: Buffer, records: [Kind, number, Buffer][]): Promise<Buffer> {
  const out: Buffer[] = [];
  const s = new Sealer(key, async (b) => void out.push(b));
  await s.start();
  for (const [k, p, b] of records) await s.record(k, p, b);
  return Buffer.concat(out);
}

async function open(key: Buffer, file: Buffer, chunk = 7): Promise<{ kind: Kind; part: number; payload: string }[]> {
  async function* pieces() {
    for (let i = 0; i < file.length; i += chunk) yield file.subarray(i, i + chunk);
  }
  const out = [];
  for await (const r of unseal(key, pieces())) out.push({ kind: r.kind, part: r.part, payload: r.payload.toString() });
  return out;
}

describe("sealed backup files", () => {
  const key = randomBytes(32);
  const records: [Kind, number, Buffer][] = [
    [Kind.Manifest, 0, Buffer.from('{"a":1}')],
    [Kind.Data, 0, Buffer.from("hello")],
    [Kind.PartEnd, 0, Buffer.alloc(0)],
    [Kind.End, 0, Buffer.alloc(0)],
  ];

  it("reads back what was written, in pieces of any size", async () => {
    const file = await seal(key, records);
    const got = await open(key, file);
    expect(got.map((r) => [r.kind, r.payload])).toEqual(records.map(([k, , b]) => [k, b.toString()]));
    expect(file.includes(Buffer.from("hello"))).toBe(false);
  });

  it("refuses every flipped byte, every cut, a swapped chunk, trailing bytes and another key with BACKUP_INVALID", async () => {
    const file = await seal(key, records);
    const refused = async (f: Buffer, k = key) => {
      await expect(open(k, f)).rejects.toMatchObject({ code: "BACKUP_INVALID" });
    };
    for (let i = 0; i < file.length; i++) {
      const f = Buffer.from(file);
      f[i]! ^= 0x40;
      await refused(f);
    }
    for (let n = 0; n < file.length; n++) await refused(file.subarray(0, n));
    await refused(Buffer.concat([file, Buffer.from("x")]));
    await refused(file, randomBytes(32));
    // Two files' chunks do not mix (each file has its own nonce prefix and header in every chunk's tag).
    const other = await seal(key, records);
    await refused(Buffer.concat([file.subarray(0, file.length - 40), other.subarray(other.length - 40)]));
  });
});

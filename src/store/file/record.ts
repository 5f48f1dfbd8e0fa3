// One log record: length · crc32 · type · body. The checksum covers type and body, so a torn
// or zeroed tail is told apart from a record.
import { crc32 } from 'node:zlib';

export const headerBytes = 9;
export const recordType = { operation: 1 } as const;

export function frame(type: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(headerBytes + body.byteLength);
  out.writeUInt32LE(body.byteLength, 0);
  out.writeUInt8(type, 8);
  out.set(body, headerBytes);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

export interface Parsed {
  readonly type: number;
  readonly body: Buffer;
  readonly end: number;
}

/** The record at `offset`, or null when what is there is not a whole, intact record. */
export function parse(buf: Buffer, offset: number): Parsed | null {
  if (offset + headerBytes > buf.length) return null;
  const length = buf.readUInt32LE(offset);
  const end = offset + headerBytes + length;
  if (end > buf.length) return null;
  if (crc32(buf.subarray(offset + 8, end)) !== buf.readUInt32LE(offset + 4)) return null;
  return { type: buf.readUInt8(offset + 8), body: buf.subarray(offset + headerBytes, end), end };
}

/** The offset of the first intact record at or after `from`, or null: tells damage from a torn tail. */
export function nextIntact(buf: Buffer, from: number): number | null {
  for (let at = from; at + headerBytes <= buf.length; at++) {
    const length = buf.readUInt32LE(at);
    if (length > 0 && at + headerBytes + length <= buf.length && parse(buf, at) !== null) return at;
  }
  return null;
}

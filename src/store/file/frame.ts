// The frames of log records, and segment headers. What a record's body holds is records.ts's.
//
// A segment starts with a 32-byte header: magic "SPOOLSEG", format version, a random salt, the
// segment number, and a CRC of the header. Then records, each padded to 8 bytes:
//   u32 length of the body (0 is invalid) · u32 crc · u8 type (0 is invalid) · u8 layout version
//   (0 before issue 14) · u16 0
//   · u32 lsn low · u32 lsn high · u32 durable · body
// The CRC covers the length, and everything from the type to the end of the body, and is seeded
// with the segment's salt: zeros, a half-written record, or a record of another segment never
// check out. LSNs rise by one per record across segments. `durable` is the offset in the segment
// up to which a completed sync reached when the record was written: an intact record whose
// `durable` lies past a bad one proves the bad bytes had been synced, so they are damage, not a
// torn tail.
import { crc32 } from 'node:zlib';
import { maxRecordType } from './records.ts';
import type { RecordKind } from './records.ts';

export const segmentHeaderBytes = 32;
export const recordHeaderBytes = 24;
const magic = Buffer.from('SPOOLSEG');
const segmentVersion = 1;

export interface SegmentHeader {
  readonly segment: number;
  readonly salt: number;
}

export function segmentHeader({ segment, salt }: SegmentHeader): Buffer {
  const out = Buffer.alloc(segmentHeaderBytes);
  magic.copy(out, 0);
  out.writeUInt32LE(segmentVersion, 8);
  out.writeUInt32LE(salt, 12);
  out.writeUInt32LE(segment, 16);
  out.writeUInt32LE(crc32(out.subarray(0, 24)), 24);
  return out;
}

export function parseSegmentHeader(buf: Buffer): SegmentHeader | null {
  if (buf.length < segmentHeaderBytes || !buf.subarray(0, 8).equals(magic)) return null;
  if (buf.readUInt32LE(24) !== crc32(buf.subarray(0, 24)) || buf.readUInt32LE(8) !== segmentVersion) return null;
  return { salt: buf.readUInt32LE(12), segment: buf.readUInt32LE(16) };
}

/** Bytes a record with a body of `length` bytes takes, padding included. */
export function recordBytes(length: number): number {
  return (recordHeaderBytes + length + 7) & ~7;
}

/** Frames the body already written at `out[at + recordHeaderBytes …]`; zeroes the padding. */
export function seal(
  out: Buffer,
  at: number,
  length: number,
  { type, version }: RecordKind,
  lsn: number,
  durable: number,
  salt: number,
) {
  out.writeUInt32LE(length, at);
  out.writeUInt32LE(type | (version << 8), at + 8);
  out.writeUInt32LE(lsn % 0x100000000, at + 12);
  out.writeUInt32LE(Math.floor(lsn / 0x100000000), at + 16);
  out.writeUInt32LE(durable, at + 20);
  const end = at + recordHeaderBytes + length;
  out.fill(0, end, at + recordBytes(length));
  const seed = crc32(out.subarray(at, at + 4), salt);
  out.writeUInt32LE(crc32(out.subarray(at + 8, end), seed), at + 4);
}

export interface Parsed {
  readonly type: number;
  readonly version: number;
  readonly lsn: number;
  readonly durable: number;
  /** Offset of the body in the segment. */
  readonly bodyAt: number;
  readonly length: number;
  /** Offset of the next record. */
  readonly end: number;
}

/** The record at `at` of a segment's bytes, or null when what is there is not an intact record. */
export function parse(buf: Buffer, at: number, salt: number): Parsed | null {
  if (at + recordHeaderBytes > buf.length) return null;
  const length = buf.readUInt32LE(at);
  const type = buf[at + 8] as number;
  if (length === 0 || type === 0) return null;
  const bodyEnd = at + recordHeaderBytes + length;
  if (bodyEnd > buf.length) return null;
  const seed = crc32(buf.subarray(at, at + 4), salt);
  if (crc32(buf.subarray(at + 8, bodyEnd), seed) !== buf.readUInt32LE(at + 4)) return null;
  return {
    type,
    version: buf[at + 9] as number,
    lsn: buf.readUInt32LE(at + 12) + buf.readUInt32LE(at + 16) * 0x100000000,
    durable: buf.readUInt32LE(at + 20),
    bodyAt: at + recordHeaderBytes,
    length,
    end: at + recordBytes(length),
  };
}

/**
 * Where the record at `at` would end if its header is well formed (a known type, the zero bytes
 * zero), before its checksum is checked; -1 when the header is not one.
 */
export function claimedEnd(buf: Buffer, at: number): number {
  if (at < 0 || at + recordHeaderBytes > buf.length) return -1;
  const length = buf.readUInt32LE(at);
  const type = buf[at + 8] as number;
  if (length === 0 || type === 0 || type > maxRecordType || buf.readUInt16LE(at + 10) !== 0) return -1;
  return at + recordBytes(length);
}

/** The first intact record after `from` (records start at multiples of 8), or null. */
export function nextIntact(buf: Buffer, from: number, salt: number): Parsed | null {
  for (let at = (from + 8) & ~7; at + recordHeaderBytes <= buf.length; at += 8) {
    const record = parse(buf, at, salt);
    if (record !== null) return record;
  }
  return null;
}

// Payload reads from a segment file that hand out only bytes whose record checksum holds
// (issue 20, defect 2: a changed digit of a payload was delivered as good data).
import { CorruptionError } from '../../errors.ts';
import type { FileIO } from './io.ts';
import { claimedEnd, parse, recordHeaderBytes, segmentHeaderBytes } from './frame.ts';
import { recordKinds } from './records.ts';

/** How far a payload read reads ahead. */
const readAheadBytes = 64 << 10;
/** Records start at multiples of 8. */
const alignDown = (offset: number): number => Math.floor(offset / 8) * 8;

/** The parts of an open segment a read needs. */
export interface SegmentFile {
  readonly fd: number;
  readonly salt: number;
  /** Bytes in the file. */
  readonly written: number;
}

/**
 * Reads whole records of a segment, each checked against its checksum, from the one holding
 * [offset, offset + length) on for about `readAheadBytes`: jobs are mostly leased in the order
 * they were added, so one read serves the next payloads too. Written bytes of a segment never
 * change, so what was checked stays true.
 */
export function readVerified(
  io: FileIO,
  path: string,
  file: SegmentFile,
  offset: number,
  length: number,
): { from: number; bytes: Buffer } {
  const want = offset + length;
  let to = Math.min(file.written, Math.max(want, offset + readAheadBytes));
  // The record holding `offset` starts before it: the nearest intact record at or before it is
  // that one, or, when that one is damaged, an earlier one from which the walk below reaches it.
  let from: number;
  let bytes: Buffer;
  for (let back = readAheadBytes; ; back *= 2) {
    const lo = Math.max(segmentHeaderBytes, alignDown(offset - back));
    bytes = readRange(io, file, path, lo, to);
    let start = -1;
    for (let c = alignDown(offset - recordHeaderBytes); c >= lo && start < 0; c -= 8) {
      const end = claimedEnd(bytes, c - lo);
      if (end < 0 || lo + end > file.written) continue;
      if (lo + end > to) {
        to = lo + end;
        bytes = readRange(io, file, path, lo, to);
      }
      if (parse(bytes, c - lo, file.salt) !== null) start = c;
    }
    if (start >= 0 || lo === segmentHeaderBytes) {
      from = Math.max(start, segmentHeaderBytes);
      bytes = bytes.subarray(from - lo);
      break;
    }
  }
  // Walk whole records from there; the one holding the bytes asked for must check out.
  let at = 0;
  while (at < bytes.length) {
    const record = parse(bytes, at, file.salt);
    if (record === null) {
      if (from + at >= want) break;
      const end = claimedEnd(bytes, at);
      if (end > bytes.length && from + end <= file.written) {
        bytes = readRange(io, file, path, from, from + end);
        continue;
      }
      throw new CorruptionError(path, from + at, `the record holding bytes ${offset}–${want} fails its checksum`);
    }
    const holds = from + at <= offset && offset < from + record.end;
    if (holds && (from + record.bodyAt > offset || want > from + record.bodyAt + record.length))
      throw new CorruptionError(path, offset, `no record holds bytes ${offset}–${want}`);
    // Payloads are in adds and moves only. A repair's pad over a damaged add checks out; a kill
    // -9 after the pad was written and before the add's jobs were dropped left jobs pointing into
    // it, and a lease handed out the pad's filler as their payloads. So no other record is a
    // payload, and the window (which serves the next reads unchecked) ends before a pad.
    if (holds && record.type !== recordKinds.add.type && record.type !== recordKinds.move.type)
      throw new CorruptionError(
        path,
        offset,
        `bytes ${offset}–${want} are in a record of type ${record.type}, not a payload's`,
      );
    if (record.type === recordKinds.pad.type && from + at >= want) break;
    at = record.end;
  }
  if (from + at < want) throw new CorruptionError(path, from + at, `the records end before ${want}`);
  return { from, bytes: bytes.subarray(0, at) };
}

/** Bytes [from, to) of a segment; a file shorter than that was cut while open. */
function readRange(io: FileIO, file: SegmentFile, path: string, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  const n = io.read(file.fd, out, from);
  if (n < out.length) throw new CorruptionError(path, from + n, `the file ends before ${to}`);
  return out;
}

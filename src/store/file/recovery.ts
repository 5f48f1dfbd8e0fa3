// Recovery: what an open does with the segments it finds before the log takes writes (replay
// from a checkpoint, torn tails cut off, damage found and refused or, with repair, covered), and
// the read-only verification behind `spool check`.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { StorageError } from '../../errors.ts';
import { JobTable } from '../memory/job-table.ts';
import { checkpointFiles, decodeCheckpoint, loadCheckpoint, readIfThere } from './checkpoint.ts';
import type { Checkpoint, SegmentEnds } from './checkpoint.ts';
import {
  nextIntact,
  parse,
  parseSegmentHeader,
  recordHeaderBytes,
  seal,
  segmentHeader,
  segmentHeaderBytes,
} from './frame.ts';
import type { FileIO } from './io.ts';
import { Log, positionOf, segmentFileName, segmentOf } from './log.ts';
import type { LogOptions, Position, Segment } from './log.ts';
import { recordKinds } from './records.ts';

export interface Replayed {
  readonly type: number;
  /** The layout version of the body (records.ts). */
  readonly version: number;
  readonly body: Buffer;
  /** Where the body is, as a log position (see `Log.read`). */
  readonly at: number;
}

/** Damage skipped by a repair. */
export interface Damage {
  readonly file: string;
  readonly offset: number;
  /** The log positions [from, to) it covered: the jobs whose payloads were there are lost. */
  readonly from: number;
  readonly to: number;
}

/** What the scans of one open share. */
interface Scan {
  readonly options: LogOptions;
  /** Bytes of a segment known to have been synced (a checkpoint recorded them): less is a cut. */
  readonly ends: Map<number, number>;
  readonly damage: Damage[];
}

/**
 * Opens the log in `options.dir`, replaying every record from `from` (a checkpoint's position)
 * or from the first segment. A torn tail of the last segment is cut off; damage anywhere else
 * stops the open with the file and offset, unless `repair`, which skips it and reports it.
 */
export async function openLog(
  options: LogOptions,
  from: Position | null,
  ends: SegmentEnds,
  replay: (record: Replayed) => void,
): Promise<{ log: Log; damage: Damage[] }> {
  const { io, dir } = options;
  io.mkdir(dir);
  const names = io.list(dir);
  // A rotation or a checkpoint a crash interrupted: the file it was making never got its name.
  // (A checkpoint's, as big as the table's image, was left behind by every kill -9 in its write.)
  for (const name of names.filter((n) => /^(\d{12}\.seg|checkpoint-\d{16}-\d{12})\.tmp$/.test(n)))
    io.remove(join(dir, name));
  const numbers = names
    .filter((name) => /^\d{12}\.seg$/.test(name))
    .map((name) => Number(name.slice(0, 12)))
    .sort((a, b) => a - b);
  const scan: Scan = { options, ends: new Map(ends), damage: [] };
  // Where each segment is known to reach: what a checkpoint recorded, and where its replay starts.
  if (from !== null) scan.ends.set(from.segment, Math.max(from.offset, ends.get(from.segment) ?? 0));
  const segments: Segment[] = [];
  /** Segments a repair made anew over a bad header: their records are lost. */
  const replaced = new Set<number>();
  try {
    for (const number of numbers) {
      const path = join(dir, segmentFileName(number));
      const fd = io.open(path, false);
      const size = io.size(fd);
      const head = Buffer.alloc(segmentHeaderBytes);
      io.read(fd, head, 0);
      const header = parseSegmentHeader(head);
      const end = scan.ends.get(number) ?? 0;
      if (header !== null && header.segment === number && (size >= end || options.repair)) {
        segments.push({ number, salt: header.salt, fd, written: size, synced: size, size });
        continue;
      }
      io.close(fd);
      // A segment is created whole (see Log's #create): a bad header is damage, never a rotation
      // cut short, and an open never deletes it (issue 20, defect 3).
      const cut = header !== null && header.segment === number;
      if (!options.repair)
        throw new StorageError(
          `${path}: ${cut ? 'segment cut' : 'bad segment header'} at offset ${cut ? size : 0}: the file has ${size} bytes${end > 0 ? `, a checkpoint recorded ${end} as synced` : ''}; run \`spool check --repair\` to keep every intact record`,
        );
      // Kept aside for whoever wants to look; a fresh segment of the same number takes its place.
      io.rename(path, `${path}.damaged`);
      const salt = randomInt(0, 0xffffffff);
      const fresh = io.open(path, true);
      io.write(fresh, segmentHeader({ segment: number, salt }), 0);
      segments.push({ number, salt, fd: fresh, written: segmentHeaderBytes, synced: 0, size: segmentHeaderBytes });
      replaced.add(number);
      scan.damage.push({ file: path, offset: 0, from: positionOf(number, 0), to: positionOf(number + 1, 0) });
    }
    if (from !== null && segments.length > 0 && !segments.some((s) => s.number === from.segment)) {
      throw new StorageError(`${join(dir, segmentFileName(from.segment))}: segment missing (the checkpoint needs it)`);
    }
    const start = from?.segment ?? segments[0]?.number ?? 1;
    if (from === null && start !== 1 && !options.repair) {
      throw new StorageError(
        `${dir}: no usable checkpoint, and the log starts at ${segmentFileName(start)}: the jobs of the segments before it would be lost`,
      );
    }
    let lsn = from?.lsn ?? 1;
    let offset = from?.offset ?? segmentHeaderBytes;
    // A repair first verifies every segment whole, the ones before the checkpoint too (their
    // records hold payloads), covering damage with pad records; the replay then reads clean.
    if (options.repair) repairAll(scan, segments, replaced, from);
    const scanned = segments.filter((s) => s.number >= start);
    scanned.forEach((segment, i) => {
      if (i > 0 && segment.number !== (scanned[i - 1] as Segment).number + 1) {
        const missing = join(dir, segmentFileName((scanned[i - 1] as Segment).number + 1));
        if (!options.repair) throw new StorageError(`${missing}: segment missing`);
        scan.damage.push({ file: missing, offset: 0, from: 0, to: 0 });
      }
      if (i > 0) offset = segmentHeaderBytes;
      ({ offset, lsn } = scanSegment(scan, segment, offset, lsn, i === scanned.length - 1, replay));
    });
    const last = scanned[scanned.length - 1];
    // What this open read of the last segment may be only in the page cache of a process that
    // died before syncing it, and the directory may not hold the segment yet (a rotation cut
    // short) nor the cuts above: make them durable before anything is appended after them, or
    // a power cut could leave new synced records behind a torn or vanished past.
    for (const s of options.repair ? segments : [last]) if (s !== undefined) await io.datasync(s.fd);
    await io.syncDir(dir);
    const tail = { segment: last?.number ?? start, offset, lsn };
    return { log: new Log(options, segments, tail), damage: scan.damage };
  } catch (error) {
    for (const s of segments) io.close(s.fd);
    throw error;
  }
}

/**
 * Segments live jobs have payloads in that are not there: found at the open, not at the lease
 * that needs one. Without repair the open stops; with it, their jobs are lost, as damage.
 */
export function missingSegments(log: Log, needed: ReadonlyMap<number, number>, repair: boolean): Damage[] {
  const damage: Damage[] = [];
  for (const [segment, jobs] of needed) {
    if (log.has(segment)) continue;
    const file = log.path(segment);
    if (!repair)
      throw new StorageError(
        `${file}: segment missing, and ${jobs} jobs have their payloads there; run \`spool check --repair\` to keep the others`,
      );
    damage.push({ file, offset: 0, from: positionOf(segment, 0), to: positionOf(segment + 1, 0) });
  }
  return damage;
}

/**
 * Reads one segment's records from `offset`, expecting `lsn` next (null: whatever comes), and
 * hands each to `replay`. A bad record in the last segment with nothing after it that proves
 * it was synced is a torn tail and is cut off; any other is damage: an error, or with repair,
 * covered in place by a pad record so that the segment reads clean from then on.
 */
function scanSegment(
  { options, ends, damage }: Scan,
  segment: Segment,
  offset: number,
  lsn: number | null,
  last: boolean,
  replay: ((record: Replayed) => void) | null,
): { offset: number; lsn: number } {
  const { io, dir, repair } = options;
  const path = join(dir, segmentFileName(segment.number));
  const bytes = Buffer.allocUnsafe(segment.written);
  io.read(segment.fd, bytes, 0);
  let expected = lsn;
  for (;;) {
    const record = parse(bytes, offset, segment.salt);
    if (record !== null && (expected === null || record.lsn === expected || (repair && record.lsn > expected))) {
      if (record.type === recordKinds.pad.type) {
        expected = bytes.readDoubleLE(record.bodyAt);
      } else {
        replay?.({
          type: record.type,
          version: record.version,
          body: bytes.subarray(record.bodyAt, record.bodyAt + record.length),
          at: positionOf(segment.number, record.bodyAt),
        });
        expected = record.lsn + 1;
      }
      offset = record.end;
      continue;
    }
    if (offset >= bytes.length) break;
    // Something that is not the next record, before the end of the file.
    let next = nextIntact(bytes, offset, segment.salt);
    while (next !== null && expected !== null && next.lsn < expected)
      next = nextIntact(bytes, next.bodyAt - recordHeaderBytes, segment.salt);
    // Bytes up to a recorded end were synced: a bad record there is damage, never a torn tail.
    const proven = (next !== null && (next.durable > offset || !last)) || offset < (ends.get(segment.number) ?? 0);
    if (last && !proven) {
      // A torn or zeroed tail: nothing proves these bytes were ever synced, so no caller was
      // told they were durable. Cut them off.
      io.truncate(segment.fd, offset);
      segment.written = segment.synced = segment.size = offset;
      break;
    }
    const to = next === null ? segment.written : next.bodyAt - recordHeaderBytes;
    if (!repair) {
      throw new StorageError(
        `${path}: damaged record at offset ${offset}${next === null ? '' : `, intact records follow at ${to}`}; run \`spool check --repair\` (or open with repair) to keep every intact record`,
      );
    }
    damage.push({ file: path, offset, from: positionOf(segment.number, offset), to: positionOf(segment.number, to) });
    const resume = next?.lsn ?? expected ?? 0;
    pad(io, segment, offset, to, expected ?? resume, resume);
    if (next === null) break;
    offset = to;
  }
  return { offset, lsn: expected ?? 1 };
}

/**
 * A repair's first pass: every segment verified whole (the ones before the checkpoint too:
 * their records hold payloads), damage covered with pad records so the replay then reads
 * clean; a segment made anew, or cut short of what a checkpoint recorded, is filled up to that
 * length with one pad that carries the LSN chain over the loss.
 */
function repairAll(
  scan: Scan,
  segments: readonly Segment[],
  replaced: ReadonlySet<number>,
  from: Position | null,
): void {
  const { io } = scan.options;
  /** The LSN that comes after the segments repaired so far. */
  let chain: number | null = null;
  segments.forEach((s, i) => {
    const end = Math.max(scan.ends.get(s.number) ?? 0, replaced.has(s.number) ? segmentHeaderBytes + 32 : 0);
    const cut = s.written < end;
    if (cut) {
      // Back to its recorded length, the lost part zeros: the scan covers it as damage.
      io.truncate(s.fd, end);
      s.written = s.size = end;
      s.synced = 0;
    }
    const last = i === segments.length - 1;
    const scanned = scanSegment(scan, s, segmentHeaderBytes, null, last && !cut, null);
    const { offset } = scanned;
    const lsn = offset === segmentHeaderBytes ? (chain ?? scanned.lsn) : scanned.lsn;
    chain = offset === segmentHeaderBytes && chain !== null ? chain : scanned.lsn;
    if (!cut) return;
    // The scan's pad says the records after it go on from its own LSN: they go on from the next segment's.
    const next = segments[i + 1];
    const resume = next === undefined ? (s.number === from?.segment ? from.lsn : lsn) : (firstLsn(io, next) ?? lsn);
    pad(io, s, offset, end, lsn, resume);
    chain = resume;
  });
}

/** The LSN of a segment's first record, or null when it has none intact. */
function firstLsn(io: FileIO, segment: Segment): number | null {
  const head = Buffer.alloc(Math.min(segment.written, 1 << 20));
  io.read(segment.fd, head, 0);
  return parse(head, segmentHeaderBytes, segment.salt)?.lsn ?? null;
}

/** Covers damaged bytes [from, to) with one valid record that says which LSN comes next. */
function pad(io: FileIO, segment: Segment, from: number, to: number, lsn: number, resume: number): void {
  const out = Buffer.alloc(to - from);
  if (out.length < recordHeaderBytes + 8) {
    out.fill(0); // Too short for a record: a later scan treats it as damage again, and skips it.
    return;
  }
  out.writeDoubleLE(resume, recordHeaderBytes);
  seal(out, 0, out.length - recordHeaderBytes, recordKinds.pad, lsn, 0, segment.salt);
  io.write(segment.fd, out, from);
}

export interface CheckProblem {
  readonly file: string;
  readonly offset: number;
  readonly what: string;
}

/** What `verifyDataDir` found. */
export interface Verified {
  readonly segments: number;
  readonly records: number;
  readonly bytes: number;
  readonly checkpoints: number;
  /** Damage: an open refuses the directory until it is repaired. */
  readonly problems: readonly CheckProblem[];
  /** A torn tail of the last segment, which the next open cuts off by itself. */
  readonly tornTail: CheckProblem | null;
}

/**
 * Verifies every record of every segment and every checkpoint of a data directory without
 * opening the store, with the rules an open applies: what it would refuse, and a torn tail it
 * would cut off.
 */
export function verifyDataDir(dir: string, io: FileIO, progress?: (done: number, total: number) => void): Verified {
  const problems: CheckProblem[] = [];
  let tornTail: CheckProblem | null = null;
  const names = io
    .list(dir)
    .filter((name) => /^\d{12}\.seg$/.test(name))
    .sort();
  const files = names.flatMap((name) => {
    const bytes = readIfThere(io, join(dir, name));
    return bytes === null ? [] : [{ path: join(dir, name), number: Number(name.slice(0, 12)), bytes }];
  });
  const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
  // Where the newest good checkpoint says each segment reaches: less is a cut, not a torn tail.
  const { checkpoint } = loadCheckpoint(io, dir);
  const ends = new Map(checkpoint?.ends ?? []);
  if (checkpoint !== null)
    ends.set(
      checkpoint.position.segment,
      Math.max(checkpoint.position.offset, ends.get(checkpoint.position.segment) ?? 0),
    );
  let done = 0;
  let records = 0;
  let lsn: number | null = null;
  files.forEach(({ path, number, bytes }, i) => {
    const previous = files[i - 1];
    // Segments before the checkpoint's go once no job needs them, in any order: a gap there is
    // normal (the open checks that no job needs a missing one). From the checkpoint on, the log
    // must be whole.
    if (previous !== undefined && number !== previous.number + 1 && number <= (checkpoint?.position.segment ?? 0))
      lsn = null;
    else if (previous !== undefined && number !== previous.number + 1)
      problems.push({
        file: join(dir, `${String(previous.number + 1).padStart(12, '0')}.seg`),
        offset: 0,
        what: 'segment missing',
      });
    const header = parseSegmentHeader(bytes);
    if (header === null || header.segment !== number) {
      problems.push({ file: path, offset: 0, what: 'bad segment header' });
      return;
    }
    const end = ends.get(number) ?? 0;
    if (bytes.length < end)
      problems.push({
        file: path,
        offset: bytes.length,
        what: `segment cut: a checkpoint recorded ${end} bytes as synced`,
      });
    let offset = segmentHeaderBytes;
    while (offset < bytes.length) {
      const record = parse(bytes, offset, header.salt);
      if (record !== null && (lsn === null || record.lsn === lsn)) {
        records++;
        lsn = record.type === recordKinds.pad.type ? bytes.readDoubleLE(record.bodyAt) : record.lsn + 1;
        offset = record.end;
        continue;
      }
      const next = nextIntact(bytes, offset, header.salt);
      if (i === files.length - 1 && (next === null || next.durable <= offset) && offset >= end) {
        tornTail = { file: path, offset, what: 'torn tail (the next open cuts it off)' };
        break;
      }
      problems.push({
        file: path,
        offset,
        what: record === null ? 'damaged record' : `record out of order (lsn ${record.lsn}, expected ${lsn})`,
      });
      if (next === null) break;
      offset = next.bodyAt - recordHeaderBytes;
      lsn = null;
    }
    done += bytes.length;
    progress?.(done, total);
  });
  // The open refuses a segment missing that a job of the checkpoint has its payload in
  // (`missingSegments`), and says to run `spool check --repair`; a gap before the checkpoint's
  // segment read as normal here, so check said ok and --repair did nothing. Past the newest
  // segment listed is left out: beside a running store, the segment may be newer than the list.
  const newest = files.at(-1)?.number ?? 0;
  for (const [segment, jobs] of neededSegments(checkpoint))
    if (segment < newest && !files.some((f) => f.number === segment))
      problems.push({
        file: join(dir, segmentFileName(segment)),
        offset: 0,
        what: `segment missing, and ${jobs} jobs have their payloads there`,
      });
  // The open refuses this (`recover`): with no checkpoint to start from, replaying a log whose
  // first segments were deleted would lose their jobs. `spool check` said ok and exit 0 here.
  const first = files[0];
  if (checkpoint === null && first !== undefined && first.number !== 1)
    problems.push({
      file: dir,
      offset: 0,
      what: `no usable checkpoint, and the log starts at ${segmentFileName(first.number)}: the jobs of the segments before it would be lost`,
    });
  const checkpoints = checkpointFiles(io, dir);
  let present = 0;
  for (const name of checkpoints) {
    const bytes = readIfThere(io, join(dir, name));
    if (bytes === null) continue;
    present++;
    if (decodeCheckpoint(bytes) === null)
      problems.push({ file: join(dir, name), offset: 0, what: 'bad checkpoint checksum' });
  }
  return { segments: files.length, records, bytes: total, checkpoints: present, problems, tornTail };
}

/** The segments the checkpoint's jobs have their payloads in, with how many jobs each. */
function neededSegments(checkpoint: Checkpoint | null): Map<number, number> {
  const needed = new Map<number, number>();
  if (checkpoint === null) return needed;
  const table = new JobTable();
  table.restore(checkpoint.image);
  table.payloadSpans((at) => needed.set(segmentOf(at), (needed.get(segmentOf(at)) ?? 0) + 1));
  return needed;
}

// Checkpoints: the job table's whole state and the log position it reflects, so an open loads
// it and replays only what came after. Written to a temporary file, synced, renamed into place,
// the directory synced; the newest two are kept, and a checkpoint whose checksum fails is passed
// over for the one before it.
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageError } from '../../errors.ts';
import { bytesPerRow, Column } from '../memory/column.ts';
import type { ColumnImage, ColumnKind } from '../memory/column.ts';
import { columnNames, gone, rowsPerPage } from '../memory/columns.ts';
import type { ColumnName } from '../memory/columns.ts';
import type { TableImage } from '../memory/job-table.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import type { FileIO } from './io.ts';
import type { Position } from './log.ts';

const magic = Buffer.from('SPOOLCKP');
/** Column kinds by the number a checkpoint writes for them. */
const columnKinds: readonly ColumnKind[] = ['uniform', 'u8', 'u16', 'u32', 'f64'];
/** Version 4 adds how many bytes of each segment were synced when it was written. */
const version = 4;
/**
 * Version 2 kept every column at one width: a store written by it still opens, its columns read
 * into today's kinds (a v2 checkpoint passed over would lose the jobs of deleted segments).
 */
const v2Columns = {
  queue: Uint32Array,
  state: Uint8Array,
  priority: Float64Array,
  attempts: Uint32Array,
  nacks: Uint16Array,
  profile: Uint32Array,
  createdAt: Float64Array,
  availableAt: Float64Array,
  expiresAt: Float64Array,
  until: Float64Array,
  at: Float64Array,
  size: Uint32Array,
} as const;

/**
 * Bytes of each segment that were synced when a checkpoint was written: an open that finds a
 * segment shorter knows it was cut, whatever its last record looks like (issue 20, defect 3).
 */
export type SegmentEnds = ReadonlyMap<number, number>;

export interface Checkpoint {
  readonly position: Position;
  readonly image: TableImage;
  readonly ends: SegmentEnds;
  readonly file: string;
}

// The name carries the segment the checkpoint's replay starts in: segments before it are not
// needed by that checkpoint, which tells what may be deleted without opening the file.
const checkpointName = (position: Position): string =>
  `checkpoint-${String(position.lsn).padStart(16, '0')}-${String(position.segment).padStart(12, '0')}`;

/** The segment a checkpoint file's replay starts in. */
export function checkpointSegment(name: string): number {
  return Number(name.slice(-12));
}

/** Checkpoint files in `dir`, newest first. */
export function checkpointFiles(io: FileIO, dir: string): string[] {
  return io
    .list(dir)
    .filter((name) => /^checkpoint-\d{16}-\d{12}$/.test(name))
    .sort()
    .reverse();
}

export function encodeCheckpoint(position: Position, image: TableImage, ends: SegmentEnds): Buffer {
  const out = new ByteWriter(1 << 16);
  out.raw(magic);
  out.u32(version);
  out.f64(position.segment);
  out.f64(position.offset);
  out.f64(position.lsn);
  out.f64(image.nextSeq);
  out.u32(image.queues.length);
  for (const q of image.queues) {
    out.str(q.name);
    out.u8(q.paused ? 1 : 0);
    out.f64(q.expired);
    out.f64(q.retention.count);
    out.f64(q.retention.ageMs);
    seqs(out, q.completed);
    seqs(out, q.dead);
  }
  out.u32(image.profiles.length);
  for (const { maxAttempts, visibilityMs, backoff } of image.profiles) {
    out.f64(maxAttempts);
    out.f64(visibilityMs);
    out.u8(backoff.kind === 'fixed' ? 0 : 1);
    out.f64(backoff.delayMs);
    out.f64(backoff.maxDelayMs);
    out.f64(backoff.jitter);
  }
  out.u32(image.pages.length);
  for (const { number, columns } of image.pages) {
    out.f64(number);
    for (const name of columnNames) {
      const { kind, value, bytes } = columns[name];
      out.u8(columnKinds.indexOf(kind));
      out.f64(value);
      if (bytes !== null) out.raw(bytes);
    }
  }
  out.u32(image.keys.length);
  for (const [seq, key] of image.keys) {
    out.f64(seq);
    out.str(key);
  }
  out.u32(image.errors.length);
  for (const [seq, errors] of image.errors) {
    out.f64(seq);
    out.u32(errors.length);
    for (const e of errors) out.str(e);
  }
  for (const list of [image.results, image.payloads]) {
    out.u32(list.length);
    for (const [seq, bytes] of list) {
      out.f64(seq);
      out.bytes(bytes);
    }
  }
  out.u32(image.meta.length);
  for (const [name, value] of image.meta) {
    out.str(name);
    out.str(value);
  }
  out.u32(ends.size);
  for (const [segment, bytes] of ends) {
    out.f64(segment);
    out.f64(bytes);
  }
  out.u32(crc32(out.view()));
  return Buffer.from(out.view());
}

/** A page's columns: each a kind, its uniform value or base, and its rows' codes unless uniform. */
function readColumns(r: ByteReader): Record<ColumnName, ColumnImage> {
  const columns: Partial<Record<ColumnName, ColumnImage>> = {};
  for (const name of columnNames) {
    const kind = columnKinds[r.u8()];
    if (kind === undefined) throw new StorageError(`checkpoint column ${name} has an unknown kind`);
    const value = r.f64();
    columns[name] = { kind, value, bytes: kind === 'uniform' ? null : r.raw(bytesPerRow[kind] * rowsPerPage) };
  }
  return columns as Record<ColumnName, ColumnImage>;
}

function readV2Columns(r: ByteReader): Record<ColumnName, ColumnImage> {
  const raw = Object.fromEntries(
    columnNames.map((name) => {
      const rows = new v2Columns[name](rowsPerPage);
      new Uint8Array(rows.buffer).set(r.raw(rows.byteLength));
      return [name, rows];
    }),
  ) as { [name in ColumnName]: InstanceType<(typeof v2Columns)[name]> };
  const columns: Partial<Record<ColumnName, ColumnImage>> = {};
  for (const name of columnNames) {
    const column = new Column(rowsPerPage);
    // Every row's state, but only jobs' other fields: the zeros of empty rows beside times would
    // make a column 8 bytes wide.
    for (let row = 0; row < rowsPerPage; row++)
      if (name === 'state' || raw.state[row] !== gone) column.set(row, raw[name][row] as number);
    columns[name] = column.image();
  }
  return columns as Record<ColumnName, ColumnImage>;
}

function seqs(out: ByteWriter, list: readonly number[]): void {
  out.u32(list.length);
  for (const seq of list) out.f64(seq);
}

/** Decodes a checkpoint; null when its magic, version or checksum is wrong. */
export function decodeCheckpoint(bytes: Buffer): Omit<Checkpoint, 'file'> | null {
  if (bytes.length < 16 || !bytes.subarray(0, 8).equals(magic)) return null;
  const written = bytes.readUInt32LE(8);
  if (written < 2 || written > version) return null;
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== bytes.readUInt32LE(bytes.length - 4)) return null;
  const r = new ByteReader(bytes.subarray(12, bytes.length - 4));
  const list = <T>(read: () => T): T[] => Array.from({ length: r.u32() }, read);
  const position = { segment: r.f64(), offset: r.f64(), lsn: r.f64() };
  const nextSeq = r.f64();
  const queues = list(() => ({
    name: r.str(),
    paused: r.u8() === 1,
    expired: r.f64(),
    retention: { count: r.f64(), ageMs: r.f64() },
    completed: list(() => r.f64()),
    dead: list(() => r.f64()),
  }));
  const profiles = list(() => ({
    maxAttempts: r.f64(),
    visibilityMs: r.f64(),
    backoff: {
      kind: r.u8() === 0 ? ('fixed' as const) : ('exponential' as const),
      delayMs: r.f64(),
      maxDelayMs: r.f64(),
      jitter: r.f64(),
    },
  }));
  const pages = list(() => ({
    number: r.f64(),
    columns: written === 2 ? readV2Columns(r) : readColumns(r),
  }));
  const keys = list(() => [r.f64(), r.str()] as const);
  const errors = list(() => [r.f64(), list(() => r.str())] as const);
  const results = list(() => [r.f64(), new Uint8Array(r.bytes())] as const);
  const payloads = list(() => [r.f64(), new Uint8Array(r.bytes())] as const);
  const meta = list(() => [r.str(), r.str()] as const);
  // Before version 4 nothing recorded where segments end.
  const ends = new Map(written < 4 ? [] : list(() => [r.f64(), r.f64()] as const));
  return { position, image: { nextSeq, queues, profiles, pages, keys, errors, results, payloads, meta }, ends };
}

function readWhole(io: FileIO, path: string): Buffer {
  const fd = io.open(path, false);
  try {
    const bytes = Buffer.allocUnsafe(io.size(fd));
    io.read(fd, bytes, 0);
    return bytes;
  } finally {
    io.close(fd);
  }
}

/**
 * A file's bytes, or null when it went after it was listed: beside a running store (`spool
 * check` takes no lock) the owner deletes old checkpoints and drained segments as it goes, and
 * check stopped with "ENOENT: no such file or directory".
 */
export function readIfThere(io: FileIO, path: string): Buffer | null {
  try {
    return readWhole(io, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The newest checkpoint that checks out, and the names of the ones that did not. */
export function loadCheckpoint(io: FileIO, dir: string): { checkpoint: Checkpoint | null; bad: string[] } {
  const bad: string[] = [];
  for (const name of checkpointFiles(io, dir)) {
    const bytes = readIfThere(io, join(dir, name));
    if (bytes === null) continue;
    const decoded = decodeCheckpoint(bytes);
    if (decoded !== null) return { checkpoint: { ...decoded, file: name }, bad };
    bad.push(name);
  }
  return { checkpoint: null, bad };
}

/**
 * Renames every checkpoint whose checksum fails to `<name>.damaged` (a repair's): it holds nothing
 * the log lacks, and an open passes over it without removing it, so `spool check --repair` left
 * it for the next check to report again, exit 1. Kept aside for whoever wants to look.
 */
export function setAsideBadCheckpoints(io: FileIO, dir: string): void {
  for (const name of checkpointFiles(io, dir))
    if (decodeCheckpoint(readWhole(io, join(dir, name))) === null)
      io.rename(join(dir, name), join(dir, `${name}.damaged`));
}

/** Writes a checkpoint durably and deletes all but the newest `keep`. Returns its name. */
export async function writeCheckpoint(
  io: FileIO,
  dir: string,
  bytes: Buffer,
  position: Position,
  keep = 2,
): Promise<string> {
  const name = checkpointName(position);
  const tmp = join(dir, `${name}.tmp`);
  io.remove(tmp);
  const fd = io.open(tmp, true);
  try {
    io.write(fd, bytes, 0);
    await io.datasync(fd);
  } catch (error) {
    throw new StorageError(`writing checkpoint ${tmp} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    io.close(fd);
  }
  io.rename(tmp, join(dir, name));
  await io.syncDir(dir);
  for (const old of checkpointFiles(io, dir).slice(keep)) io.remove(join(dir, old));
  return name;
}

// Checkpoints: the job table's whole state and the log position it reflects, so an open loads
// it and replays only what came after. Written to a temporary file, synced, renamed into place,
// the directory synced; the newest two are kept, and a checkpoint whose checksum fails is passed
// over for the one before it.
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageError } from '../../errors.ts';
import type { JobState } from '../contract.ts';
import type { JobImage, TableImage } from '../memory/engine.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import type { FileIO } from './io.ts';
import type { Position } from './log.ts';

const magic = Buffer.from('SPOOLCKP');
const version = 1;
const states: readonly JobState[] = ['waiting', 'delayed', 'active', 'dead', 'completed'];

export interface Checkpoint {
  readonly position: Position;
  readonly image: TableImage;
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

export function encodeCheckpoint(position: Position, image: TableImage): Buffer {
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
  }
  out.u32(image.meta.length);
  for (const [name, value] of image.meta) {
    out.str(name);
    out.str(value);
  }
  const countAt = out.skip(4);
  let count = 0;
  for (const job of image.jobs) {
    encodeJob(out, job);
    count++;
  }
  out.at(countAt).writeUInt32LE(count, 0);
  out.u32(crc32(out.view()));
  return Buffer.from(out.view());
}

function encodeJob(out: ByteWriter, job: JobImage): void {
  out.f64(job.seq);
  out.str(job.queue);
  out.u8(states.indexOf(job.state));
  out.f64(job.at);
  out.f64(job.size);
  out.u8(job.payload === null ? 0 : 1);
  if (job.payload !== null) out.bytes(job.payload);
  out.f64(job.priority);
  out.f64(job.attempts);
  out.f64(job.maxAttempts);
  out.f64(job.nacks);
  out.f64(job.createdAt);
  out.f64(job.availableAt);
  out.maybe(job.expiresAt);
  out.maybe(job.until);
  out.f64(job.visibilityMs);
  out.u8(job.backoff.kind === 'fixed' ? 0 : 1);
  out.f64(job.backoff.delayMs);
  out.f64(job.backoff.maxDelayMs);
  out.f64(job.backoff.jitter);
  out.maybeStr(job.key);
  out.u32(job.errors.length);
  for (const e of job.errors) out.str(e);
  out.u8(job.result === null ? 0 : 1);
  if (job.result !== null) out.bytes(job.result);
}

/** Decodes a checkpoint; null when its magic, version or checksum is wrong. */
export function decodeCheckpoint(bytes: Buffer): { position: Position; image: TableImage } | null {
  if (bytes.length < 16 || !bytes.subarray(0, 8).equals(magic) || bytes.readUInt32LE(8) !== version) return null;
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== bytes.readUInt32LE(bytes.length - 4)) return null;
  const r = new ByteReader(bytes.subarray(12, bytes.length - 4));
  const position = { segment: r.f64(), offset: r.f64(), lsn: r.f64() };
  const nextSeq = r.f64();
  const queues = Array.from({ length: r.u32() }, () => ({
    name: r.str(),
    paused: r.u8() === 1,
    expired: r.f64(),
    retention: { count: r.f64(), ageMs: r.f64() },
  }));
  const meta = Array.from({ length: r.u32() }, () => [r.str(), r.str()] as const);
  const jobs = Array.from({ length: r.u32() }, () => decodeJob(r));
  return { position, image: { nextSeq, queues, meta, jobs } };
}

function decodeJob(r: ByteReader): JobImage {
  const seq = r.f64();
  const queue = r.str();
  const state = states[r.u8()] as JobState;
  const at = r.f64();
  const size = r.f64();
  const payload = r.u8() === 1 ? new Uint8Array(r.bytes()) : null;
  const priority = r.f64();
  const attempts = r.f64();
  const maxAttempts = r.f64();
  const nacks = r.f64();
  const createdAt = r.f64();
  const availableAt = r.f64();
  const expiresAt = r.maybe();
  const until = r.maybe();
  const visibilityMs = r.f64();
  const kind = r.u8() === 0 ? 'fixed' : 'exponential';
  const backoff = { kind, delayMs: r.f64(), maxDelayMs: r.f64(), jitter: r.f64() } as const;
  const key = r.maybeStr();
  const errors = Array.from({ length: r.u32() }, () => r.str());
  const result = r.u8() === 1 ? new Uint8Array(r.bytes()) : null;
  return {
    seq,
    queue,
    state,
    at,
    size,
    payload,
    priority,
    attempts,
    maxAttempts,
    nacks,
    createdAt,
    availableAt,
    expiresAt,
    until,
    visibilityMs,
    backoff,
    key,
    errors,
    result,
  };
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

/** The newest checkpoint that checks out, and the names of the ones that did not. */
export function loadCheckpoint(io: FileIO, dir: string): { checkpoint: Checkpoint | null; bad: string[] } {
  const bad: string[] = [];
  for (const name of checkpointFiles(io, dir)) {
    const decoded = decodeCheckpoint(readWhole(io, join(dir, name)));
    if (decoded !== null) return { checkpoint: { ...decoded, file: name }, bad };
    bad.push(name);
  }
  return { checkpoint: null, bad };
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

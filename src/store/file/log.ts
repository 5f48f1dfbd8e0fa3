// The write-ahead log: numbered segment files, group commit, reads of payloads. An open's
// recovery of the segments it finds is recovery.ts's.
//
// Appending is synchronous: the record is framed into a pending buffer and gets its position at
// once (the job table keeps payload positions). A flush, started on a microtask so everything a
// turn of the event loop appends joins it, writes the pending bytes and, in `fsync` mode, runs
// one fdatasync for all of them; `committed()` resolves when what was appended before it is as
// durable as the mode says. A segment that fills up is synced before the next one is created, in
// every mode, so only the last segment can ever end in a torn record.
//
// Zeros ahead: once a segment holds a MiB, the log keeps up to a MiB of zeros written and synced
// past its records, so that the fdatasync of a commit overwrites blocks the file already has and
// commits no change of its size (the 170 KB of a 1,000-job bulk add synced in 0.52–0.70 ms
// appended, 0.36–0.52 ms over zeros; ../shared/research/storage.md §1.1 has 191 against 109 µs
// for 4 KiB). The zeros parse as no record: after a crash they
// are a torn tail, cut off at the open like any other. A segment is cut back to its records before
// the next one is created, and at close.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { StorageError } from '../../errors.ts';
import { recordBytes, recordHeaderBytes, seal, segmentHeader, segmentHeaderBytes } from './frame.ts';
import type { FileIO } from './io.ts';
import { recordKinds } from './records.ts';
import type { RecordKind } from './records.ts';
import { readVerified } from './verified-read.ts';

export type Durability = 'fsync' | 'interval' | 'none';

/** A place in the log: the record that comes next. */
export interface Position {
  readonly segment: number;
  readonly offset: number;
  readonly lsn: number;
}

export interface LogOptions {
  readonly io: FileIO;
  readonly dir: string;
  readonly durability: Durability;
  /** `interval` durability: how often the log syncs. */
  readonly intervalMs: number;
  readonly segmentBytes: number;
  /** Skip damage instead of refusing to open. */
  readonly repair: boolean;
}

const segmentSpan = 0x100000000;

/** A log position as one number: segment × 2^32 + offset. */
export function positionOf(segment: number, offset: number): number {
  return segment * segmentSpan + offset;
}

export function segmentOf(at: number): number {
  return Math.floor(at / segmentSpan);
}

export const segmentFileName = (segment: number): string => `${String(segment).padStart(12, '0')}.seg`;

/** A segment file open for the log. */
export interface Segment {
  readonly number: number;
  readonly salt: number;
  fd: number;
  /** Bytes of records in the file: where the next write goes. */
  written: number;
  /** Bytes a completed sync covers. */
  synced: number;
  /** The file's length: past `written`, zeros (see "Zeros ahead"). */
  size: number;
}

interface Pending {
  readonly segment: number;
  /** Offset in the segment of `bytes[0]`. */
  readonly from: number;
  bytes: Buffer;
  length: number;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** Records now reach `end` in `segment`: past the zeros ahead, if they were not that far. */
function wrote(segment: Segment, end: number): void {
  segment.written = end;
  if (end > segment.size) segment.size = end;
}

/** A segment could not be opened for want of descriptors; nothing was written for it yet. */
class SegmentNotStarted extends Error {}

const minPendingBytes = 1 << 16;
/** The largest written pending buffer kept for reuse: a bulk add of 1,000 64 KiB jobs fits. */
const maxSpareBytes = 80 << 20;
/**
 * Zeros kept ahead of a segment's records, and the records it holds before it gets any: a store
 * that writes less (a test's, a CLI command's) never writes zeros.
 */
const zerosAheadBytes = 1 << 20;
/** The zeros written ahead, made at the first need: a process that never writes any keeps no MiB for them. */
let zeroBlock: Buffer | null = null;
const noSegments: ReadonlySet<Segment> = new Set();

export class Log {
  readonly #segments = new Map<number, Segment>();
  #pending: Pending[] = [];
  #spare: Buffer | null = null;
  #waiters: Waiter[] = [];
  #flushing: Promise<void> | null = null;
  #failed: StorageError | null = null;
  /**
   * Set while a new segment cannot be started for want of file descriptors (EMFILE, ENFILE):
   * nothing was written, so nothing is lost. What was appended waits; new calls are refused with
   * this error; the roll is tried again on each refused call and on a timer, and the log carries
   * on by itself once it succeeds (issue 20, defect 4).
   */
  #stalled: StorageError | null = null;
  #retry: { timer: NodeJS.Timeout | null; delayMs: number } = { timer: null, delayMs: 0 };
  #timer: NodeJS.Timeout | null = null;
  /** The sync of zeros written ahead, while it runs: one at a time. */
  #zeroing: Promise<void> | null = null;
  /** Where the next record goes. */
  #tail: { segment: number; offset: number; lsn: number };
  /** The bytes of the last read-ahead: payloads are read in the order they were written. */
  #window: { segment: number; from: number; bytes: Buffer } | null = null;
  /** Salts of segments appended to but not created yet. */
  readonly #futureSalts = new Map<number, number>();
  /** Called after a new segment is created: the store checkpoints then. */
  rotated: (() => void) | null = null;

  /** A log over the segments recovery found (recovery.ts's `openLog`), appending at `tail`. */
  constructor(
    private readonly options: LogOptions,
    segments: readonly Segment[],
    tail: Position,
  ) {
    for (const s of segments) this.#segments.set(s.number, s);
    this.#tail = { ...tail };
    if (options.durability === 'interval') {
      this.#timer = setInterval(() => void this.sync().catch(() => {}), options.intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * How far each segment is synced, for a checkpoint at `position` (written once everything
   * before `position` is synced): the next open refuses a segment found shorter.
   */
  ends(position: Position): Map<number, number> {
    const ends = new Map<number, number>();
    for (const s of this.#segments.values()) if (s.number < position.segment) ends.set(s.number, s.synced);
    ends.set(position.segment, position.offset);
    return ends;
  }

  /** Whether a segment's file is there. */
  has(segment: number): boolean {
    return this.#segments.has(segment);
  }

  path(segment: number): string {
    return join(this.options.dir, segmentFileName(segment));
  }

  /** Where the next record goes. */
  get tail(): Position {
    return { ...this.#tail };
  }

  /** The segments on disk and the one being written, oldest first. */
  get segments(): number[] {
    const all = new Set([...this.#segments.keys(), this.#tail.segment]);
    return [...all].sort((a, b) => a - b);
  }

  /**
   * Appends one record whose body `write` puts into the buffer it gets at the offset it gets,
   * `length` bytes. Returns the log position of the body. Throws StorageError once the log failed.
   */
  append(kind: RecordKind, length: number, write: (out: Buffer, at: number) => void): number {
    this.assertWritable();
    const size = recordBytes(length);
    const tail = this.#tail;
    if (this.#rolls(size)) {
      tail.segment++;
      tail.offset = segmentHeaderBytes;
    }
    let pending = this.#pending[this.#pending.length - 1];
    if (pending?.segment !== tail.segment) {
      pending = { segment: tail.segment, from: tail.offset, bytes: this.#buffer(size), length: 0 };
      this.#pending.push(pending);
    }
    if (pending.length + size > pending.bytes.length) {
      const grown = this.#buffer(Math.max(pending.bytes.length * 2, pending.length + size));
      pending.bytes.copy(grown, 0, 0, pending.length);
      pending.bytes = grown;
    }
    const at = pending.length;
    write(pending.bytes, at + recordHeaderBytes);
    const synced = this.#segments.get(tail.segment)?.synced ?? 0;
    seal(pending.bytes, at, length, kind, tail.lsn, synced, this.#saltFor(tail.segment));
    pending.length += size;
    const body = positionOf(tail.segment, tail.offset + recordHeaderBytes);
    tail.offset += size;
    tail.lsn++;
    this.#startFlush();
    return body;
  }

  /**
   * A buffer of at least `size` bytes for pending records: the one the last flush wrote out
   * when it is big enough. A new one of many MiB costs a page fault every 4 KiB at its first
   * write, which made the copy of a bulk add of 64 KiB payloads run at ~100 MB/s (issue 16).
   */
  #buffer(size: number): Buffer {
    const spare = this.#spare;
    if (spare !== null && spare.length >= size) {
      this.#spare = null;
      return spare;
    }
    return Buffer.allocUnsafe(Math.max(minPendingBytes, size));
  }

  /** Keeps a written pending buffer for the next records, up to `maxSpareBytes`. */
  #keep(bytes: Buffer): void {
    if (bytes.length <= maxSpareBytes && bytes.length > (this.#spare?.length ?? 0)) this.#spare = bytes;
  }

  /** The StorageError that stopped the log, or null while it takes writes. */
  get failure(): StorageError | null {
    return this.#failed;
  }

  /** Throws the StorageError that stopped the log, if one did. */
  assertWritable(): void {
    if (this.#failed !== null) throw this.#failed;
    if (this.#stalled !== null) {
      this.#startFlush();
      throw this.#stalled;
    }
  }

  /** The log position the body of a record of `length` bytes appended now would get. */
  nextBody(length: number): number {
    const { segment, offset } = this.#tail;
    if (this.#rolls(recordBytes(length))) return positionOf(segment + 1, segmentHeaderBytes + recordHeaderBytes);
    return positionOf(segment, offset + recordHeaderBytes);
  }

  /** A record of `size` bytes does not fit the segment being written and starts the next one. */
  #rolls(size: number): boolean {
    const { offset } = this.#tail;
    return offset + size > this.options.segmentBytes && offset > segmentHeaderBytes;
  }

  /** Resolves once everything appended so far is as durable as the mode promises. */
  committed(): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#startFlush();
    return done;
  }

  #startFlush(): void {
    if (this.#flushing === null) this.#flushing = this.#flush();
  }

  /** Syncs everything appended so far, whatever the mode (dque's TurboSync). */
  async sync(): Promise<void> {
    await this.committed();
    // In fsync mode too: the record that marks a round synced is written but not synced, and a
    // checkpoint records the tail as synced.
    await this.#syncAll();
  }

  /**
   * `length` bytes at log position `at`, wherever they are (a file or the pending buffer). Bytes
   * from a file are handed out only from a record whose checksum holds: otherwise CorruptionError
   * (issue 20: a changed digit of a payload was delivered as good data).
   */
  read(at: number, length: number): Uint8Array {
    // An empty payload may sit at the very end of a pending buffer, in a segment not created yet.
    if (length === 0) return Buffer.alloc(0);
    const segment = segmentOf(at);
    const offset = at - positionOf(segment, 0);
    for (const p of this.#pending) {
      if (p.segment === segment && offset >= p.from) {
        const start = offset - p.from;
        if (start < p.length) return Buffer.from(p.bytes.subarray(start, start + length));
      }
    }
    const file = this.#segments.get(segment);
    if (file === undefined) throw new StorageError(`segment ${segmentFileName(segment)} is gone but a job needs it`);
    let w = this.#window;
    if (w === null || w.segment !== segment || offset < w.from || offset + length > w.from + w.bytes.length) {
      w = {
        segment,
        ...readVerified(this.options.io, join(this.options.dir, segmentFileName(segment)), file, offset, length),
      };
      this.#window = w;
    }
    return Buffer.from(w.bytes.subarray(offset - w.from, offset - w.from + length));
  }

  /** Deletes sealed segments (never the one being written). */
  async remove(numbers: readonly number[]): Promise<void> {
    const { io, dir } = this.options;
    let removed = false;
    for (const number of numbers) {
      const segment = this.#segments.get(number);
      if (segment === undefined || number >= this.#tail.segment) continue;
      if (this.#pending.some((p) => p.segment === number)) continue;
      io.close(segment.fd);
      this.#segments.delete(number);
      io.remove(join(dir, segmentFileName(number)));
      removed = true;
    }
    if (removed) await io.syncDir(dir);
  }

  /** Waits for pending writes, syncs, closes the files. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#retry.timer !== null) clearTimeout(this.#retry.timer);
    // The appended records that still wait for their segment will never be written now.
    if (this.#stalled !== null) this.fail(this.#stalled);
    try {
      if (this.#failed === null) {
        await this.committed();
        await this.#syncAll(await this.#cutZeros());
      }
    } finally {
      this.#closeFiles();
    }
  }

  #saltFor(segment: number): number {
    const existing = this.#segments.get(segment);
    if (existing !== undefined) return existing.salt;
    // A segment not created yet: the flush creates it with this salt.
    this.#futureSalts.set(segment, this.#futureSalts.get(segment) ?? randomInt(0, 0xffffffff));
    return this.#futureSalts.get(segment) as number;
  }

  async #flush(): Promise<void> {
    await Promise.resolve();
    let waiters: Waiter[] = [];
    try {
      while (this.#pending.length > 0 || this.#waiters.length > 0) {
        waiters = this.#waiters;
        this.#waiters = [];
        const dirty = new Set<Segment>();
        while (this.#pending.length > 0) {
          const p = this.#pending[0] as Pending;
          let segment = this.#segments.get(p.segment);
          if (segment === undefined) segment = await this.#create(p.segment);
          this.options.io.write(segment.fd, p.bytes.subarray(0, p.length), p.from);
          wrote(segment, p.from + p.length);
          dirty.add(segment);
          this.#pending.shift();
          // Written: nothing refers to its bytes any more (reads copy them out).
          this.#keep(p.bytes);
        }
        if (this.options.durability === 'fsync') await this.#syncSegments(dirty);
        for (const w of waiters) w.resolve();
        if (this.#pending.length === 0 && this.#waiters.length === 0 && dirty.size > 0) {
          this.#markSynced();
          this.#zeroAhead();
        }
      }
      this.#recovered();
    } catch (error) {
      if (error instanceof SegmentNotStarted && this.#failed === null) {
        this.#stall(error, waiters);
        return;
      }
      const failure = this.fail(error);
      // The calls this round writes for: #fail reaches only the ones that came after it began.
      for (const w of waiters) w.reject(failure);
    } finally {
      this.#flushing = null;
    }
  }

  #stall(error: SegmentNotStarted, waiters: Waiter[]): void {
    this.#stalled = new StorageError(
      `${this.options.dir}: cannot start a new log segment: ${error.message}; calls are refused until it can (it is tried again by itself)`,
      { cause: error.cause },
    );
    // Their records are still to be written: they wait for the roll like the ones after them.
    this.#waiters = [...waiters, ...this.#waiters];
    const delayMs = Math.min(Math.max(this.#retry.delayMs * 2, 10), 1000);
    this.#retry.delayMs = delayMs;
    this.#retry.timer ??= setTimeout(() => {
      this.#retry.timer = null;
      this.#startFlush();
    }, delayMs); // not unref'd: calls are waiting on it
  }

  #recovered(): void {
    if (this.#stalled === null) return;
    this.#stalled = null;
    this.#retry.delayMs = 0;
    if (this.#retry.timer !== null) clearTimeout(this.#retry.timer);
    this.#retry.timer = null;
  }

  /**
   * After a synced round, with nothing else to write, a small record whose `durable` covers the
   * round: without it, damage in the last synced records would look like a torn tail and be
   * cut off. It is written, not synced; the next round or the close syncs it.
   */
  #markSynced(): void {
    if (this.options.durability !== 'fsync') return;
    const tail = this.#tail;
    const segment = this.#segments.get(tail.segment);
    const size = recordBytes(8);
    if (segment === undefined || this.#rolls(size) || segment.written !== tail.offset) return;
    const out = Buffer.alloc(size);
    seal(out, 0, 8, recordKinds.synced, tail.lsn, segment.synced, segment.salt);
    this.options.io.write(segment.fd, out, tail.offset);
    wrote(segment, tail.offset + size);
    tail.offset += size;
    tail.lsn++;
  }

  /**
   * Writes zeros past the records of the segment being written, up to `zerosAheadBytes` ahead
   * (never past `segmentBytes`), and syncs them on their own while the next records are made. A
   * commit then overwrites them. Writes are synchronous, so no record and no zero overlap.
   */
  #zeroAhead(): void {
    const { durability, segmentBytes, io } = this.options;
    const segment = this.#segments.get(this.#tail.segment);
    if (durability !== 'fsync' || segment === undefined || this.#zeroing !== null) return;
    if (segment.written < zerosAheadBytes || segment.size - segment.written >= zerosAheadBytes / 2) return;
    const to = Math.min(segment.written + zerosAheadBytes, segmentBytes);
    if (to <= segment.size) return;
    // Past the records, however far it got: a failed write (a full disk) is the log's failure,
    // as any other write's (fsyncgate), and the reopen cuts what landed as a torn tail.
    const from = segment.size;
    segment.size = to;
    zeroBlock ??= Buffer.alloc(zerosAheadBytes);
    io.write(segment.fd, zeroBlock.subarray(0, to - from), from);
    this.#zeroing = io.datasync(segment.fd).then(
      () => {
        this.#zeroing = null;
      },
      (error: unknown) => {
        this.#zeroing = null;
        // fsyncgate: a failed sync may have dropped records' pages of the same file too.
        this.fail(error);
      },
    );
  }

  /**
   * Cuts the zeros ahead off every segment (the next open would take them for damage in any but
   * the last), once their own sync is done: the segments cut, whose new length a sync must make
   * durable though their records already are.
   */
  async #cutZeros(): Promise<Set<Segment>> {
    if (this.#zeroing !== null) await this.#zeroing;
    const cut = new Set<Segment>();
    for (const s of this.#segments.values()) {
      if (s.size === s.written) continue;
      this.options.io.truncate(s.fd, s.written);
      s.size = s.written;
      cut.add(s);
    }
    return cut;
  }

  /**
   * Creates the next segment, once every older one is synced and cut back to its records: a torn
   * record can only be in the last. The header is synced under a temporary name first, so a
   * segment never exists without a whole header and an open can take any bad header for damage.
   */
  async #create(number: number): Promise<Segment> {
    const { io, dir } = this.options;
    await this.#syncSegments(new Set(this.#segments.values()), await this.#cutZeros());
    const salt = this.#futureSalts.get(number) ?? randomInt(0, 0xffffffff);
    const path = join(dir, segmentFileName(number));
    const tmp = `${path}.tmp`;
    io.remove(tmp);
    let fd: number | null = null;
    try {
      const made = io.open(tmp, true);
      try {
        io.write(made, segmentHeader({ segment: number, salt }), 0);
        await io.datasync(made);
      } finally {
        io.close(made);
      }
      io.rename(tmp, path);
      fd = io.open(path, false);
      // Durable in the directory before any record in it is answered.
      await io.syncDir(dir);
    } catch (error) {
      if (fd !== null) io.close(fd);
      // Out of descriptors: the segment holds no record yet, and trying again later is safe.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EMFILE' || code === 'ENFILE')
        throw new SegmentNotStarted((error as Error).message, { cause: error });
      throw error;
    }
    const segment: Segment = {
      number,
      salt,
      fd,
      written: segmentHeaderBytes,
      synced: segmentHeaderBytes,
      size: segmentHeaderBytes,
    };
    this.#futureSalts.delete(number);
    this.#segments.set(number, segment);
    this.rotated?.();
    return segment;
  }

  /** Syncs the segments with records written past their sync, and the ones `cut` shorter. */
  async #syncSegments(segments: Set<Segment>, cut: ReadonlySet<Segment> = noSegments): Promise<void> {
    const stale = [...segments].filter((s) => s.synced < s.written || cut.has(s));
    const marks = stale.map((s) => s.written);
    await Promise.all(stale.map((s) => this.options.io.datasync(s.fd)));
    stale.forEach((s, i) => (s.synced = marks[i] as number));
  }

  async #syncAll(cut?: ReadonlySet<Segment>): Promise<void> {
    try {
      await this.#syncSegments(new Set(this.#segments.values()), cut);
    } catch (error) {
      throw this.fail(error);
    }
  }

  /** Stops the log for good: pending and later calls reject with StorageError until a reopen. */
  fail(error: unknown): StorageError {
    // fsyncgate: after a failed write or sync the kernel may have dropped the pages; retrying
    // could report success over lost data. The log stops until it is reopened.
    this.#failed ??=
      error instanceof StorageError
        ? error
        : new StorageError(
            `writing ${this.options.dir} failed; the store stops until reopened: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
    for (const w of this.#waiters) w.reject(this.#failed);
    this.#waiters = [];
    // The pending bytes are never written now, but stay readable: a job compaction was moving
    // still has its payload there.
    return this.#failed;
  }

  #closeFiles(): void {
    for (const s of this.#segments.values()) this.options.io.close(s.fd);
    this.#segments.clear();
  }
}

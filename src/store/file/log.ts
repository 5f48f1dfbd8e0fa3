// The write-ahead log: numbered segment files, group commit, recovery.
//
// Appending is synchronous: the record is framed into a pending buffer and gets its position at
// once (the job table keeps payload positions). A flush, started on a microtask so everything a
// turn of the event loop appends joins it, writes the pending bytes and, in `fsync` mode, runs
// one fdatasync for all of them; `committed()` resolves when what was appended before it is as
// durable as the mode says. A segment that fills up is synced before the next one is created, in
// every mode, so only the last segment can ever end in a torn record.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { StorageError } from '../../errors.ts';
import type { SegmentEnds } from './checkpoint.ts';
import type { FileIO } from './io.ts';
import { readVerified } from './verified-read.ts';
import {
  nextIntact,
  parse,
  parseSegmentHeader,
  recordBytes,
  recordHeaderBytes,
  recordType,
  seal,
  segmentHeader,
  segmentHeaderBytes,
} from './record.ts';

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

export interface Replayed {
  readonly type: number;
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

const segmentSpan = 0x100000000;

/** A log position as one number: segment × 2^32 + offset. */
export function positionOf(segment: number, offset: number): number {
  return segment * segmentSpan + offset;
}

export function segmentOf(at: number): number {
  return Math.floor(at / segmentSpan);
}

const fileName = (segment: number): string => `${String(segment).padStart(12, '0')}.seg`;

interface Segment {
  readonly number: number;
  readonly salt: number;
  fd: number;
  /** Bytes in the file: where the next write goes. */
  written: number;
  /** Bytes a completed sync covers. */
  synced: number;
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

/** A segment could not be opened for want of descriptors; nothing was written for it yet. */
class SegmentNotStarted extends Error {}

export class Log {
  readonly #segments = new Map<number, Segment>();
  /** Bytes of a segment known to have been synced (a checkpoint recorded them): less is a cut. */
  readonly #ends = new Map<number, number>();
  #pending: Pending[] = [];
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
  /** Where the next record goes. */
  #tail: { segment: number; offset: number; lsn: number };
  /** Bytes appended since the last `takeGrowth()`. */
  #grown = 0;
  /** The bytes of the last read-ahead: payloads are read in the order they were written. */
  #window: { segment: number; from: number; bytes: Buffer } | null = null;
  /** Salts of segments appended to but not created yet. */
  readonly #futureSalts = new Map<number, number>();
  /** Called after a new segment is created: the store checkpoints then. */
  rotated: (() => void) | null = null;

  private constructor(
    private readonly options: LogOptions,
    tail: Position,
  ) {
    this.#tail = { ...tail };
    if (options.durability === 'interval') {
      this.#timer = setInterval(() => void this.sync().catch(() => {}), options.intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Opens the log in `dir`, replaying every record from `from` (a checkpoint's position) or
   * from the first segment. A torn tail of the last segment is cut off; damage anywhere else
   * stops the open with the file and offset, unless `repair`, which skips it and reports it.
   */
  static async open(
    options: LogOptions,
    from: Position | null,
    ends: SegmentEnds,
    replay: (record: Replayed) => void,
  ): Promise<{ log: Log; damage: Damage[] }> {
    const { io, dir } = options;
    io.mkdir(dir);
    const names = io.list(dir);
    // A rotation a crash interrupted: the segment it was making never got its name.
    for (const name of names.filter((n) => /^\d{12}\.seg\.tmp$/.test(n))) io.remove(join(dir, name));
    const numbers = names
      .filter((name) => /^\d{12}\.seg$/.test(name))
      .map((name) => Number(name.slice(0, 12)))
      .sort((a, b) => a - b);
    const damage: Damage[] = [];
    const segments: Segment[] = [];
    const log = new Log(options, from ?? { segment: numbers[0] ?? 1, offset: segmentHeaderBytes, lsn: 1 });
    // Where each segment is known to reach: what a checkpoint recorded, and where its replay starts.
    for (const [segment, end] of ends) log.#ends.set(segment, end);
    if (from !== null) log.#ends.set(from.segment, Math.max(from.offset, ends.get(from.segment) ?? 0));
    /** Segments a repair made anew over a bad header: their records are lost. */
    const replaced = new Set<number>();
    try {
      for (const number of numbers) {
        const path = join(dir, fileName(number));
        const fd = io.open(path, false);
        const size = io.size(fd);
        const head = Buffer.alloc(segmentHeaderBytes);
        io.read(fd, head, 0);
        const header = parseSegmentHeader(head);
        const end = log.#ends.get(number) ?? 0;
        if (header !== null && header.segment === number && (size >= end || options.repair)) {
          segments.push({ number, salt: header.salt, fd, written: size, synced: size });
          log.#segments.set(number, segments[segments.length - 1] as Segment);
          continue;
        }
        io.close(fd);
        // A segment is created whole (see #create): a bad header is damage, never a rotation cut
        // short, and an open never deletes it (issue 20, defect 3).
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
        segments.push({ number, salt, fd: fresh, written: segmentHeaderBytes, synced: 0 });
        log.#segments.set(number, segments[segments.length - 1] as Segment);
        replaced.add(number);
        damage.push({ file: path, offset: 0, from: positionOf(number, 0), to: positionOf(number + 1, 0) });
      }
      if (from !== null && segments.length > 0 && !log.#segments.has(from.segment)) {
        throw new StorageError(`${join(dir, fileName(from.segment))}: segment missing (the checkpoint needs it)`);
      }
      const start = from?.segment ?? segments[0]?.number ?? 1;
      if (from === null && start !== 1 && !options.repair) {
        throw new StorageError(
          `${dir}: no usable checkpoint, and the log starts at ${fileName(start)}: the jobs of the segments before it would be lost`,
        );
      }
      let lsn = from?.lsn ?? 1;
      let offset = from?.offset ?? segmentHeaderBytes;
      // A repair first verifies every segment whole, the ones before the checkpoint too (their
      // records hold payloads), covering damage with pad records; the replay then reads clean.
      if (options.repair) log.#repairAll(segments, replaced, from, damage);
      const scanned = segments.filter((s) => s.number >= start);
      scanned.forEach((segment, i) => {
        if (i > 0 && segment.number !== (scanned[i - 1] as Segment).number + 1) {
          const missing = join(dir, fileName((scanned[i - 1] as Segment).number + 1));
          if (!options.repair) throw new StorageError(`${missing}: segment missing`);
          damage.push({ file: missing, offset: 0, from: 0, to: 0 });
        }
        if (i > 0) offset = segmentHeaderBytes;
        ({ offset, lsn } = log.#scan(segment, offset, lsn, i === scanned.length - 1, replay, damage));
      });
      const last = scanned[scanned.length - 1];
      log.#tail = last === undefined ? { segment: start, offset, lsn } : { segment: last.number, offset, lsn };
      // What this open read of the last segment may be only in the page cache of a process that
      // died before syncing it, and the directory may not hold the segment yet (a rotation cut
      // short) nor the cuts above: make them durable before anything is appended after them, or
      // a power cut could leave new synced records behind a torn or vanished past.
      for (const s of options.repair ? segments : [last]) if (s !== undefined) await io.datasync(s.fd);
      await io.syncDir(dir);
    } catch (error) {
      log.#closeFiles();
      throw error;
    }
    return { log, damage };
  }

  /**
   * Reads one segment's records from `offset`, expecting `lsn` next (null: whatever comes), and
   * hands each to `replay`. A bad record in the last segment with nothing after it that proves
   * it was synced is a torn tail and is cut off; any other is damage: an error, or with repair,
   * covered in place by a pad record so that the segment reads clean from then on.
   */
  #scan(
    segment: Segment,
    offset: number,
    lsn: number | null,
    last: boolean,
    replay: ((record: Replayed) => void) | null,
    damage: Damage[],
  ): { offset: number; lsn: number } {
    const { io, dir, repair } = this.options;
    const path = join(dir, fileName(segment.number));
    const bytes = Buffer.allocUnsafe(segment.written);
    io.read(segment.fd, bytes, 0);
    let expected = lsn;
    for (;;) {
      const record = parse(bytes, offset, segment.salt);
      if (record !== null && (expected === null || record.lsn === expected || (repair && record.lsn > expected))) {
        if (record.type === recordType.pad) {
          expected = bytes.readDoubleLE(record.bodyAt);
        } else {
          replay?.({
            type: record.type,
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
      const proven =
        (next !== null && (next.durable > offset || !last)) || offset < (this.#ends.get(segment.number) ?? 0);
      if (last && !proven) {
        // A torn or zeroed tail: nothing proves these bytes were ever synced, so no caller was
        // told they were durable. Cut them off.
        io.truncate(segment.fd, offset);
        segment.written = segment.synced = offset;
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
      this.#pad(segment, offset, to, expected ?? resume, resume);
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
  #repairAll(
    segments: readonly Segment[],
    replaced: ReadonlySet<number>,
    from: Position | null,
    damage: Damage[],
  ): void {
    /** The LSN that comes after the segments repaired so far. */
    let chain: number | null = null;
    segments.forEach((s, i) => {
      const end = Math.max(this.#ends.get(s.number) ?? 0, replaced.has(s.number) ? segmentHeaderBytes + 32 : 0);
      const cut = s.written < end;
      if (cut) {
        // Back to its recorded length, the lost part zeros: the scan covers it as damage.
        this.options.io.truncate(s.fd, end);
        s.written = end;
        s.synced = 0;
      }
      const last = i === segments.length - 1;
      const scanned = this.#scan(s, segmentHeaderBytes, null, last && !cut, null, damage);
      const { offset } = scanned;
      const lsn = offset === segmentHeaderBytes ? (chain ?? scanned.lsn) : scanned.lsn;
      chain = offset === segmentHeaderBytes && chain !== null ? chain : scanned.lsn;
      if (!cut) return;
      // The scan's pad says the records after it go on from its own LSN: they go on from the next segment's.
      const next = segments[i + 1];
      const resume = next === undefined ? (s.number === from?.segment ? from.lsn : lsn) : (this.#firstLsn(next) ?? lsn);
      this.#pad(s, offset, end, lsn, resume);
      chain = resume;
    });
  }

  /** The LSN of a segment's first record, or null when it has none intact. */
  #firstLsn(segment: Segment): number | null {
    const head = Buffer.alloc(Math.min(segment.written, 1 << 20));
    this.options.io.read(segment.fd, head, 0);
    return parse(head, segmentHeaderBytes, segment.salt)?.lsn ?? null;
  }

  /** Covers damaged bytes [from, to) with one valid record that says which LSN comes next. */
  #pad(segment: Segment, from: number, to: number, lsn: number, resume: number): void {
    const out = Buffer.alloc(to - from);
    if (out.length < recordHeaderBytes + 8) {
      out.fill(0); // Too short for a record: a later scan treats it as damage again, and skips it.
      return;
    }
    out.writeDoubleLE(resume, recordHeaderBytes);
    seal(out, 0, out.length - recordHeaderBytes, recordType.pad, lsn, 0, segment.salt);
    this.options.io.write(segment.fd, out, from);
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
    return join(this.options.dir, fileName(segment));
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

  /** Bytes appended since the last call. */
  takeGrowth(): number {
    const grown = this.#grown;
    this.#grown = 0;
    return grown;
  }

  /**
   * Appends one record whose body `write` puts into the buffer it gets at the offset it gets,
   * `length` bytes. Returns the log position of the body. Throws StorageError once the log failed.
   */
  append(type: number, length: number, write: (out: Buffer, at: number) => void): number {
    this.assertWritable();
    const size = recordBytes(length);
    const tail = this.#tail;
    if (this.#rolls(size)) {
      tail.segment++;
      tail.offset = segmentHeaderBytes;
    }
    let pending = this.#pending[this.#pending.length - 1];
    if (pending?.segment !== tail.segment) {
      pending = {
        segment: tail.segment,
        from: tail.offset,
        bytes: Buffer.allocUnsafe(Math.max(65536, size)),
        length: 0,
      };
      this.#pending.push(pending);
    }
    if (pending.length + size > pending.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(pending.bytes.length * 2, pending.length + size));
      pending.bytes.copy(grown, 0, 0, pending.length);
      pending.bytes = grown;
    }
    const at = pending.length;
    write(pending.bytes, at + recordHeaderBytes);
    const synced = this.#segments.get(tail.segment)?.synced ?? 0;
    seal(pending.bytes, at, length, type, tail.lsn, synced, this.#saltFor(tail.segment));
    pending.length += size;
    const body = positionOf(tail.segment, tail.offset + recordHeaderBytes);
    tail.offset += size;
    tail.lsn++;
    this.#grown += size;
    this.#startFlush();
    return body;
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
    if (file === undefined) throw new StorageError(`segment ${fileName(segment)} is gone but a job needs it`);
    let w = this.#window;
    if (w === null || w.segment !== segment || offset < w.from || offset + length > w.from + w.bytes.length) {
      w = {
        segment,
        ...readVerified(this.options.io, join(this.options.dir, fileName(segment)), file, offset, length),
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
      io.remove(join(dir, fileName(number)));
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
        await this.#syncAll();
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
          segment.written = p.from + p.length;
          dirty.add(segment);
          this.#pending.shift();
        }
        if (this.options.durability === 'fsync') await this.#syncSegments(dirty);
        for (const w of waiters) w.resolve();
        if (this.#pending.length === 0 && this.#waiters.length === 0 && dirty.size > 0) this.#markSynced();
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
    seal(out, 0, 8, recordType.synced, tail.lsn, segment.synced, segment.salt);
    this.options.io.write(segment.fd, out, tail.offset);
    segment.written = tail.offset + size;
    tail.offset += size;
    tail.lsn++;
  }

  /**
   * Creates the next segment, once every older one is synced: a torn record can only be in the
   * last. The header is synced under a temporary name first, so a segment never exists without
   * a whole header and an open can take any bad header for damage.
   */
  async #create(number: number): Promise<Segment> {
    const { io, dir } = this.options;
    await this.#syncSegments(new Set(this.#segments.values()));
    const salt = this.#futureSalts.get(number) ?? randomInt(0, 0xffffffff);
    const path = join(dir, fileName(number));
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
    const segment: Segment = { number, salt, fd, written: segmentHeaderBytes, synced: segmentHeaderBytes };
    this.#futureSalts.delete(number);
    this.#segments.set(number, segment);
    this.rotated?.();
    return segment;
  }

  async #syncSegments(segments: Set<Segment>): Promise<void> {
    const stale = [...segments].filter((s) => s.synced < s.written);
    const marks = stale.map((s) => s.written);
    await Promise.all(stale.map((s) => this.options.io.datasync(s.fd)));
    stale.forEach((s, i) => (s.synced = marks[i] as number));
  }

  async #syncAll(): Promise<void> {
    try {
      await this.#syncSegments(new Set(this.#segments.values()));
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

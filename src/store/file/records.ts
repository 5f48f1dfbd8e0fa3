// The log's records: each kind's type number, the version of its layout, the fields it keeps on
// disk, and how they are written and read. The layouts are this module's own, written field by
// field: the contract's types may change their names, and a data directory written before must
// still replay (issue 14: nacks, removals and the rest were the JSON of the contract's params).
//
// A record's frame (frame.ts) carries its type and its layout version. Version 0 is what was
// written before issue 14: adds, moves, leases and acks in version 1's layout, every other call
// as JSON in one `operation` record (read by records-v0.ts by the names it had then, and never
// written again). Version 1 gave every call its own layout; version 2 of adds and acks drops the
// length limits and retention they carried before queues stored their settings (both read and
// skipped in older records), and `paused` records became `configure` ones; version 2 of configure
// may carry `keepDead` (a bit of its own: version 1 records decode alike); version 2 of nack may
// carry the requeue flag, and only a requeue is written as version 2, so a log
// without one still opens in an older spool. A version this code does
// not know stops the open: the directory was written by a newer spool.
//
// Layouts, little-endian; str = u32 byte length + UTF-8; str? = str, or u32 0xffffffff for
// null; f64? = f64, NaN for null; bytes = u32 length + bytes:
//   add        f64 seq · f64 now · [v1: str maxLength JSON] · u32 jobs · per job: str queue
//              · f64 priority · f64 maxAttempts · f64 availableAt · f64? expiresAt
//              · f64 visibilityMs · u8 backoff (0 fixed, 1 exponential) · f64 delayMs
//              · f64 maxDelayMs · f64 jitter · str? key · bytes payload
//   move       u32 jobs · per job: str id · bytes payload
//   lease      f64 now · u32 max · f64? visibilityMs · u32 queues · str queue…
//   ack        f64 now · u32 items · per item: str token · u8 has result · [bytes result]
//              · [v1: u32 queues kept · per queue: str queue · f64 count · f64 ageMs]
//   nack       f64 now · str token · f64 delayMs · str? error · u8 flags (1 dead, 2 release,
//              [v2: 4 requeue]; none: a fail)
//   extend     f64 now · str token · f64 ms
//   remove     f64 now · u32 ids · str id… · u8 states (0xff: any) · u8 state…
//   hold       f64 now · u32 ids · str id…
//   retryDead  f64 now · str queue · u8 has ids · [u32 ids · str id…]
//   purge      f64 now · str queue
//   promote    f64 now · str queue · u8 has ids · [u32 ids · str id…]
//   paused     f64 now · str queue · u8 paused (read only: replayed as a configure of `paused`)
//   configure  f64 now · str queue · u8 fields present (bits in `settingFields` order), then each
//              present one: maxLength f64? · maxAttempts f64 · backoff u8 kind f64 delayMs
//              f64 maxDelayMs f64 jitter · visibilityMs f64 · ttlMs f64? · keepCompleted f64
//              count f64 ageMs · paused u8 · [v2: keepDead f64 count f64 ageMs] (f64 keeps
//              Infinity)
//   meta       u32 entries · per entry: str name · str? value (null deletes)
// pad and synced are the log's own (log.ts, recovery.ts); `operation` is only read.
import { StorageError } from '../../errors.ts';
import type { AddParams, Backoff, JobState, NackKind, NewJob, QueueSettings, Retention } from '../contract.ts';
import type { ByteWriter } from './bytes.ts';
import { ByteReader } from './bytes.ts';
import { decodeV0Operation } from './records-v0.ts';

/** A kind of record: its type number in the frame and the layout version written today. */
export interface RecordKind {
  readonly type: number;
  readonly version: number;
}

export const recordKinds = {
  add: { type: 1, version: 2 },
  move: { type: 2, version: 1 },
  /** Covers damage a repair skipped; its body is the LSN that comes next (f64). */
  pad: { type: 4, version: 1 },
  /** Written when the log goes idle after a sync: proves the records before it were synced. Body: 8 zero bytes. */
  synced: { type: 5, version: 1 },
  lease: { type: 6, version: 1 },
  ack: { type: 7, version: 2 },
  nack: { type: 8, version: 2 },
  extend: { type: 9, version: 1 },
  remove: { type: 10, version: 1 },
  retryDead: { type: 11, version: 1 },
  purge: { type: 12, version: 1 },
  /** Read only: written before queues stored their settings, replayed as a configure. */
  paused: { type: 13, version: 1 },
  meta: { type: 14, version: 1 },
  configure: { type: 15, version: 2 },
  promote: { type: 16, version: 1 },
  hold: { type: 17, version: 1 },
} as const satisfies Record<string, RecordKind>;

/** Version 0 only: every call but adds, moves, leases and acks, as JSON. */
const legacyOperationType = 3;
export const maxRecordType = 17;

// The calls a record stands for, as the file store keeps them: the job table takes each as is.

export interface LeaseRecord {
  readonly now: number;
  readonly queues: readonly string[];
  readonly max: number;
  readonly visibilityMs: number | null;
}
export interface AckRecord {
  readonly now: number;
  readonly items: readonly { readonly token: string; readonly result: Uint8Array | null }[];
  /**
   * Only in acks written before queues stored their settings (versions 0 and 1): the retention
   * the acking process gave each queue, none for a queue not named. A replay applies it as
   * the queue's stored retention, so an old log replays to the state it had.
   */
  readonly retention?: Readonly<Record<string, Retention>>;
}
export interface NackRecord {
  readonly now: number;
  readonly token: string;
  readonly delayMs: number;
  readonly error: string | null;
  readonly kind: NackKind;
}
export interface ExtendRecord {
  readonly now: number;
  readonly token: string;
  readonly ms: number;
}
export interface RemoveRecord {
  readonly now: number;
  readonly ids: readonly string[];
  readonly states: readonly JobState[] | null;
}
export interface HoldRecord {
  readonly now: number;
  readonly ids: readonly string[];
}
export interface RetryDeadRecord {
  readonly now: number;
  readonly queue: string;
  readonly ids: readonly string[] | null;
}
/** Promote names delayed jobs as retryDead names dead ones: the same fields, its own record type. */
export type PromoteRecord = RetryDeadRecord;
export interface PurgeRecord {
  readonly now: number;
  readonly queue: string;
}
export interface ConfigureRecord {
  readonly now: number;
  readonly queue: string;
  readonly changes: Partial<QueueSettings>;
}
export type MetaRecord = Readonly<Record<string, string | null>>;

/** A call that changes the table and carries no payload: every record but adds and moves. */
export type Operation =
  | { readonly kind: 'lease'; readonly record: LeaseRecord }
  | { readonly kind: 'ack'; readonly record: AckRecord }
  | { readonly kind: 'nack'; readonly record: NackRecord }
  | { readonly kind: 'extend'; readonly record: ExtendRecord }
  | { readonly kind: 'remove'; readonly record: RemoveRecord }
  | { readonly kind: 'hold'; readonly record: HoldRecord }
  | { readonly kind: 'retryDead'; readonly record: RetryDeadRecord }
  | { readonly kind: 'promote'; readonly record: PromoteRecord }
  | { readonly kind: 'purge'; readonly record: PurgeRecord }
  | { readonly kind: 'configure'; readonly record: ConfigureRecord }
  | { readonly kind: 'meta'; readonly record: MetaRecord };

/** Job states by the number a remove record writes for them. */
const stateCodes: readonly JobState[] = ['waiting', 'delayed', 'active', 'dead', 'completed'];
const anyState = 0xff;

/** An add, as logged: the call and the id its first new job gets. */
export interface LoggedAdd {
  readonly seq: number;
  readonly params: AddParams;
  /** Offset of each job's payload in the body. */
  readonly payloadAt: readonly number[];
}

/** Refuses a layout this code does not know: a newer spool wrote it. */
function known(type: number, version: number, newest: number): void {
  if (version > newest)
    throw new StorageError(`log record of type ${type} has layout version ${version}: a newer spool wrote it`);
}

/** An add's body: its size and where each payload starts in it, worked out before it is written. */
export interface AddLayout {
  readonly length: number;
  readonly payloadAt: readonly number[];
}

// seq · now · job count; per job, all but the queue, the key and the payload.
const addHeadBytes = 8 + 8 + 4;
const addJobBytes = 4 + 8 * 5 + 1 + 8 * 3 + 4 + 4;

/**
 * The size of an add's body and where its payloads go: the log hands out the place of a record
 * before the record is written into it (`writeAdd`), so a bulk add is encoded once, in place.
 */
export function layoutAdd({ jobs }: AddParams): AddLayout {
  const payloadAt: number[] = new Array<number>(jobs.length);
  let at = addHeadBytes;
  let queue = '';
  let queueBytes = 0;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as NewJob;
    // A batch's jobs mostly share a queue: its byte length is counted once.
    if (job.queue !== queue) {
      queue = job.queue;
      queueBytes = Buffer.byteLength(queue);
    }
    at += addJobBytes + queueBytes + (job.key === null ? 0 : Buffer.byteLength(job.key));
    payloadAt[i] = at;
    at += job.payload.byteLength;
  }
  return { length: at, payloadAt };
}

/** Writes an add's body, of the size `layoutAdd` gave, into `out`. */
export function writeAdd(out: ByteWriter, seq: number, { now, jobs }: AddParams): void {
  out.f64(seq);
  out.f64(now);
  out.u32(jobs.length);
  // Where the fields before the payload of the last job written field by field start, and their size.
  let head = 0;
  let headBytes = 0;
  let last: NewJob | null = null;
  let queueBytes: Buffer = Buffer.alloc(0);
  for (const job of jobs) {
    if (last !== null && sameHead(last, job)) out.repeat(head, headBytes);
    else {
      head = out.length;
      if (job.queue !== last?.queue) queueBytes = Buffer.from(job.queue);
      out.bytes(queueBytes);
      out.f64(job.priority);
      out.f64(job.maxAttempts);
      out.f64(job.availableAt);
      out.maybe(job.expiresAt);
      out.f64(job.visibilityMs);
      out.u8(job.backoff.kind === 'fixed' ? 0 : 1);
      out.f64(job.backoff.delayMs);
      out.f64(job.backoff.maxDelayMs);
      out.f64(job.backoff.jitter);
      out.maybeStr(job.key);
      headBytes = out.length - head;
      last = job;
    }
    out.bytes(job.payload);
  }
}

/**
 * Whether `b`'s fields before its payload are written as `a`'s are, byte for byte (Object.is:
 * 0 and -0 differ on disk); jobs with keys never are, as keys mostly differ.
 */
function sameHead(a: NewJob, b: NewJob): boolean {
  return (
    a.queue === b.queue &&
    a.key === null &&
    b.key === null &&
    Object.is(a.priority, b.priority) &&
    Object.is(a.availableAt, b.availableAt) &&
    Object.is(a.expiresAt, b.expiresAt) &&
    Object.is(a.maxAttempts, b.maxAttempts) &&
    Object.is(a.visibilityMs, b.visibilityMs) &&
    (a.backoff === b.backoff ||
      (a.backoff.kind === b.backoff.kind &&
        Object.is(a.backoff.delayMs, b.backoff.delayMs) &&
        Object.is(a.backoff.maxDelayMs, b.backoff.maxDelayMs) &&
        Object.is(a.backoff.jitter, b.backoff.jitter)))
  );
}

/** Versions 0 and 1 share a layout; 2 drops their per-call length limits (a logged add was within them). */
export function decodeAdd(version: number, body: Buffer): LoggedAdd {
  known(recordKinds.add.type, version, recordKinds.add.version);
  const r = new ByteReader(body);
  const seq = r.f64();
  const now = r.f64();
  if (version < 2) r.str();
  const count = r.u32();
  const jobs: NewJob[] = [];
  const payloadAt: number[] = [];
  for (let i = 0; i < count; i++) {
    const queue = r.str();
    const priority = r.f64();
    const maxAttempts = r.f64();
    const availableAt = r.f64();
    const expiresAt = r.maybe();
    const visibilityMs = r.f64();
    const kind = r.u8() === 0 ? 'fixed' : 'exponential';
    const backoff = { kind, delayMs: r.f64(), maxDelayMs: r.f64(), jitter: r.f64() } as const;
    const key = r.maybeStr();
    const payloadStart = r.at + 4;
    const payload = r.bytes();
    payloadAt.push(payloadStart);
    jobs.push({ queue, priority, maxAttempts, availableAt, expiresAt, visibilityMs, backoff, key, payload });
  }
  return { seq, params: { now, jobs }, payloadAt };
}

/** A compaction copy: jobs and their payloads, moved to the head of the log. */
export function encodeMove(out: ByteWriter, moved: readonly { id: string; payload: Uint8Array }[]): number[] {
  out.reset();
  out.u32(moved.length);
  const payloadAt: number[] = [];
  for (const { id, payload } of moved) {
    out.str(id);
    out.u32(payload.byteLength);
    payloadAt.push(out.length);
    out.raw(payload);
  }
  return payloadAt;
}

/** Versions 0 and 1 share the layout. */
export function decodeMove(version: number, body: Buffer): { id: string; payloadAt: number }[] {
  known(recordKinds.move.type, version, recordKinds.move.version);
  const r = new ByteReader(body);
  const count = r.u32();
  const moved: { id: string; payloadAt: number }[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.str();
    moved.push({ id, payloadAt: r.at + 4 });
    r.bytes();
  }
  return moved;
}

/** Encodes an operation into `out` (reset first); returns the kind of record it makes. */
export function encodeOperation(out: ByteWriter, operation: Operation): RecordKind {
  out.reset();
  switch (operation.kind) {
    case 'lease': {
      const { now, max, visibilityMs, queues } = operation.record;
      out.f64(now);
      out.u32(max);
      out.maybe(visibilityMs);
      out.u32(queues.length);
      for (const queue of queues) out.str(queue);
      break;
    }
    case 'ack': {
      const { now, items } = operation.record;
      out.f64(now);
      out.u32(items.length);
      for (const { token, result } of items) {
        out.str(token);
        out.u8(result === null ? 0 : 1);
        if (result !== null) out.bytes(result);
      }
      break;
    }
    case 'nack': {
      const { now, token, delayMs, error, kind } = operation.record;
      out.f64(now);
      out.str(token);
      out.f64(delayMs);
      out.maybeStr(error);
      out.u8(nackFlags[kind]);
      // Version 2 only for what version 1 cannot say: a log without requeues still opens in a
      // spool from before them, which stops at a version it does not know.
      if (kind !== 'requeue') return nackV1;
      break;
    }
    case 'extend': {
      const { now, token, ms } = operation.record;
      out.f64(now);
      out.str(token);
      out.f64(ms);
      break;
    }
    case 'remove': {
      const { now, ids, states } = operation.record;
      out.f64(now);
      strings(out, ids);
      out.u8(states === null ? anyState : states.length);
      for (const state of states ?? []) out.u8(stateCodes.indexOf(state));
      break;
    }
    case 'hold':
      out.f64(operation.record.now);
      strings(out, operation.record.ids);
      break;
    case 'retryDead':
    case 'promote': {
      const { now, queue, ids } = operation.record;
      out.f64(now);
      out.str(queue);
      out.u8(ids === null ? 0 : 1);
      if (ids !== null) strings(out, ids);
      break;
    }
    case 'purge':
      out.f64(operation.record.now);
      out.str(operation.record.queue);
      break;
    case 'configure':
      out.f64(operation.record.now);
      out.str(operation.record.queue);
      encodeChanges(out, operation.record.changes);
      break;
    case 'meta': {
      const entries = Object.entries(operation.record);
      out.u32(entries.length);
      for (const [name, value] of entries) {
        out.str(name);
        out.maybeStr(value);
      }
      break;
    }
  }
  return recordKinds[operation.kind];
}

/** The layout of a nack that is not a requeue: the requeue flag is all version 2 adds. */
const nackV1: RecordKind = { type: recordKinds.nack.type, version: 1 };

/** A nack's kind as its flags byte: one bit each, so the records written before 'requeue' read as they did. */
const nackFlags: Readonly<Record<NackKind, number>> = { fail: 0, dead: 1, release: 2, requeue: 4 };

/** The kind of a nack's flags byte; release first, as the job table read both bits before kinds. */
function nackKind(flags: number): NackKind {
  if ((flags & nackFlags.release) !== 0) return 'release';
  if ((flags & nackFlags.requeue) !== 0) return 'requeue';
  return (flags & nackFlags.dead) !== 0 ? 'dead' : 'fail';
}

function strings(out: ByteWriter, list: readonly string[]): void {
  out.u32(list.length);
  for (const s of list) out.str(s);
}

const operationKinds = new Map<number, keyof typeof recordKinds>(
  (Object.keys(recordKinds) as (keyof typeof recordKinds)[]).map((kind) => [recordKinds[kind].type, kind]),
);

/**
 * The operation a record holds; null for the records that are not one (adds, moves, and the
 * log's own pads and sync marks).
 */
export function decodeOperation(type: number, version: number, body: Buffer): Operation | null {
  if (type === legacyOperationType) return decodeV0Operation(body);
  const kind = operationKinds.get(type);
  if (kind === undefined) throw new StorageError(`log record of unknown type ${type}: a newer spool wrote it`);
  known(type, version, recordKinds[kind].version);
  const r = new ByteReader(body);
  const list = <T>(read: () => T): T[] => Array.from({ length: r.u32() }, read);
  switch (kind) {
    case 'add':
    case 'move':
    case 'pad':
    case 'synced':
      return null;
    case 'lease': {
      const now = r.f64();
      const max = r.u32();
      const visibilityMs = r.maybe();
      return { kind, record: { now, max, visibilityMs, queues: list(() => r.str()) } };
    }
    case 'ack': {
      const now = r.f64();
      const items = list(() => {
        const token = r.str();
        return { token, result: r.u8() === 1 ? new Uint8Array(r.bytes()) : null };
      });
      if (version >= 2) return { kind, record: { now, items } };
      const retention: Record<string, Retention> = {};
      for (let n = r.u32(); n > 0; n--) retention[r.str()] = { count: r.f64(), ageMs: r.f64() };
      return { kind, record: { now, items, retention } };
    }
    case 'nack': {
      const now = r.f64();
      const token = r.str();
      const delayMs = r.f64();
      const error = r.maybeStr();
      return { kind, record: { now, token, delayMs, error, kind: nackKind(r.u8()) } };
    }
    case 'extend':
      return { kind, record: { now: r.f64(), token: r.str(), ms: r.f64() } };
    case 'remove': {
      const now = r.f64();
      const ids = list(() => r.str());
      const count = r.u8();
      const states = count === anyState ? null : Array.from({ length: count }, () => state(r.u8()));
      return { kind, record: { now, ids, states } };
    }
    case 'hold': {
      const now = r.f64();
      return { kind, record: { now, ids: list(() => r.str()) } };
    }
    case 'retryDead':
    case 'promote': {
      const now = r.f64();
      const queue = r.str();
      return { kind, record: { now, queue, ids: r.u8() === 1 ? list(() => r.str()) : null } };
    }
    case 'purge':
      return { kind, record: { now: r.f64(), queue: r.str() } };
    case 'paused':
      return { kind: 'configure', record: { now: r.f64(), queue: r.str(), changes: { paused: r.u8() === 1 } } };
    case 'configure':
      return { kind, record: { now: r.f64(), queue: r.str(), changes: decodeChanges(r) } };
    case 'meta': {
      const record: Record<string, string | null> = {};
      for (let n = r.u32(); n > 0; n--) record[r.str()] = r.maybeStr();
      return { kind, record };
    }
  }
}

function state(code: number): JobState {
  const name = stateCodes[code];
  if (name === undefined) throw new StorageError(`log record names an unknown job state ${code}`);
  return name;
}

/** The settings a configure record may carry, in the order of their bits and fields. */
const settingFields = [
  'maxLength',
  'maxAttempts',
  'backoff',
  'visibilityMs',
  'ttlMs',
  'keepCompleted',
  'paused',
  'keepDead',
] as const satisfies readonly (keyof QueueSettings)[];

function encodeChanges(out: ByteWriter, changes: Partial<QueueSettings>): void {
  let present = 0;
  settingFields.forEach((field, bit) => {
    if (changes[field] !== undefined) present |= 1 << bit;
  });
  out.u8(present);
  const c = changes;
  if (c.maxLength !== undefined) out.maybe(c.maxLength);
  if (c.maxAttempts !== undefined) out.f64(c.maxAttempts);
  if (c.backoff !== undefined) {
    out.u8(c.backoff.kind === 'fixed' ? 0 : 1);
    out.f64(c.backoff.delayMs);
    out.f64(c.backoff.maxDelayMs);
    out.f64(c.backoff.jitter);
  }
  if (c.visibilityMs !== undefined) out.f64(c.visibilityMs);
  if (c.ttlMs !== undefined) out.maybe(c.ttlMs);
  if (c.keepCompleted !== undefined) {
    out.f64(c.keepCompleted.count);
    out.f64(c.keepCompleted.ageMs);
  }
  if (c.paused !== undefined) out.u8(c.paused ? 1 : 0);
  if (c.keepDead !== undefined) {
    out.f64(c.keepDead.count);
    out.f64(c.keepDead.ageMs);
  }
}

function decodeChanges(r: ByteReader): Partial<QueueSettings> {
  const present = r.u8();
  const has = (field: (typeof settingFields)[number]): boolean => (present & (1 << settingFields.indexOf(field))) !== 0;
  if (present >> settingFields.length !== 0)
    throw new StorageError(`configure record names settings this spool does not know (${present})`);
  const changes: { -readonly [K in keyof QueueSettings]?: QueueSettings[K] } = {};
  if (has('maxLength')) changes.maxLength = r.maybe();
  if (has('maxAttempts')) changes.maxAttempts = r.f64();
  if (has('backoff')) {
    const kind: Backoff['kind'] = r.u8() === 0 ? 'fixed' : 'exponential';
    changes.backoff = { kind, delayMs: r.f64(), maxDelayMs: r.f64(), jitter: r.f64() };
  }
  if (has('visibilityMs')) changes.visibilityMs = r.f64();
  if (has('ttlMs')) changes.ttlMs = r.maybe();
  if (has('keepCompleted')) changes.keepCompleted = { count: r.f64(), ageMs: r.f64() };
  if (has('paused')) changes.paused = r.u8() === 1;
  if (has('keepDead')) changes.keepDead = { count: r.f64(), ageMs: r.f64() };
  return changes;
}

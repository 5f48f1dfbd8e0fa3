// The LevelDB store's keys and values, version 1.
//
// Keys (UTF-8; a queue name is hex-encoded and ends with '.', which sorts before any hex digit,
// so one queue's keys never interleave with another's):
//   c                              the last sequence number handed out
//   m<name>                        a meta document
//   q<queue>.                      a queue's row: known, expired, stored settings, wake-by, counts
//   j<seq>                         a job's row (everything but its payload)
//   p<seq>                         a job's payload
//   w<queue>.<-priority><readyAt><seq>   a waiting job: key order is lease order, so the
//                                  waiting jobs of a priority come back FIFO from a range read
// Numbers in keys are 16 hex digits that sort as the numbers do (sortable()).
// Values: a JSON array whose first element is the encoding's version; a number that may be
// infinite is written as the string "Infinity" or "-Infinity".
import { StorageError } from '../../errors.ts';
import type { JobState } from '../contract.ts';
import { settingsOf, settingsText } from '../rows/settings-text.ts';
import type { QueueRow, Row } from '../rows/rows.ts';

const version = 1;
const scratch = Buffer.alloc(8);

/** 16 hex digits whose string order is the order of the numbers (IEEE 754 bits, sign-adjusted). */
export function sortable(value: number): string {
  scratch.writeDoubleBE(value === 0 ? 0 : value);
  if ((scratch[0] as number) & 0x80) for (let i = 0; i < 8; i++) scratch[i] = ~(scratch[i] as number) & 0xff;
  else scratch[0] = (scratch[0] as number) | 0x80;
  return scratch.toString('hex');
}

export const queuePart = (queue: string): string => `${Buffer.from(queue, 'utf8').toString('hex')}.`;
export const countersKey = 'c';
export const metaKey = (name: string): string => `m${name}`;
export const queueKey = (queue: string): string => `q${queuePart(queue)}`;
export const jobKey = (seq: number): string => `j${sortable(seq)}`;
export const payloadKey = (seq: number): string => `p${sortable(seq)}`;
export const waitingKey = (row: Row): string =>
  `w${queuePart(row.queue)}${sortable(-row.priority)}${sortable(row.availableAt)}${sortable(row.seq)}`;

/** The number `sortable` wrote. */
export function unsortable(hex: string): number {
  const b = Buffer.from(hex, 'hex');
  if ((b[0] as number) & 0x80) b[0] = (b[0] as number) & 0x7f;
  else for (let i = 0; i < 8; i++) b[i] = ~(b[i] as number) & 0xff;
  return b.readDoubleBE();
}

/** The sequence number at the end of a waiting key. */
export const seqOfWaitingKey = (key: string): number => unsortable(key.slice(-16));

const num = (value: number): number | string => (Number.isFinite(value) ? value : String(value));
const unnum = (value: unknown): number => (typeof value === 'string' ? Number(value) : (value as number));

export function encodeRow(row: Row): string {
  return JSON.stringify([
    version,
    row.seq,
    row.queue,
    row.state,
    row.priority,
    row.attempts,
    num(row.maxAttempts),
    row.nacks,
    row.createdAt,
    row.availableAt,
    row.expiresAt,
    row.until,
    row.finish,
    row.visibilityMs,
    row.backoff.kind,
    row.backoff.delayMs,
    row.backoff.maxDelayMs,
    row.backoff.jitter,
    row.key,
    row.errors,
    row.result === null ? null : Buffer.from(row.result).toString('base64'),
  ]);
}

export function decodeRow(text: string): Row {
  const f = JSON.parse(text) as unknown[];
  if (f[0] !== version) throw new StorageError(`job row of unknown encoding version ${String(f[0])}`);
  return {
    seq: f[1] as number,
    queue: f[2] as string,
    state: f[3] as JobState,
    priority: f[4] as number,
    attempts: f[5] as number,
    maxAttempts: unnum(f[6]),
    nacks: f[7] as number,
    createdAt: f[8] as number,
    availableAt: f[9] as number,
    expiresAt: f[10] as number | null,
    until: f[11] as number | null,
    finish: f[12] as number | null,
    visibilityMs: f[13] as number,
    backoff: {
      kind: f[14] as 'fixed' | 'exponential',
      delayMs: f[15] as number,
      maxDelayMs: f[16] as number,
      jitter: f[17] as number,
    },
    key: f[18] as string | null,
    errors: f[19] as string[],
    result: f[20] === null ? null : Buffer.from(f[20] as string, 'base64'),
  };
}

export function encodeQueue(q: QueueRow): string {
  const { known, expired, wakeBy, settings, pruneAt, finishes, dueAt, waiting, delayed, active, dead, completed } = q;
  return JSON.stringify([
    version,
    q.name,
    known,
    expired,
    num(wakeBy),
    settingsText(settings),
    num(pruneAt),
    finishes,
    num(dueAt),
    waiting,
    delayed,
    active,
    dead,
    completed,
  ]);
}

export function decodeQueue(text: string): QueueRow {
  const f = JSON.parse(text) as unknown[];
  if (f[0] !== version) throw new StorageError(`queue row of unknown encoding version ${String(f[0])}`);
  return {
    name: f[1] as string,
    known: f[2] as boolean,
    expired: f[3] as number,
    wakeBy: unnum(f[4]),
    settings: settingsOf(f[5] as string),
    pruneAt: unnum(f[6]),
    finishes: f[7] as number,
    dueAt: unnum(f[8]),
    waiting: f[9] as number,
    delayed: f[10] as number,
    active: f[11] as number,
    dead: f[12] as number,
    completed: f[13] as number,
  };
}

export function encodeCounter(seq: number): string {
  return JSON.stringify([version, seq]);
}

export function decodeCounter(text: string): number {
  const f = JSON.parse(text) as unknown[];
  if (f[0] !== version) throw new StorageError(`counter of unknown encoding version ${String(f[0])}`);
  return f[1] as number;
}

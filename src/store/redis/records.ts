// Between the store's values and the scripts' arguments and replies (see lua/lib.lua for the fields).
import { hash } from 'node:crypto';
import { formatToken, parseToken, sealsMatch } from '../contract.ts';
import type { Backoff, JobRecord, JobState, LeasedRecord } from '../contract.ts';

export const stateLetter: Readonly<Record<JobState, string>> = {
  waiting: 'w',
  delayed: 'd',
  active: 'a',
  dead: 'x',
  completed: 'c',
};

const stateOf: Readonly<Record<string, JobState>> = {
  w: 'waiting',
  d: 'delayed',
  a: 'active',
  x: 'dead',
  c: 'completed',
};

/** Job ids are `<queue>:<seq>`: the queue names the keys (and the Cluster slot), seq the job within it. */
export function jobId(queue: string, seq: string | number): string {
  return `${queue}:${seq}`;
}

export function parseJobId(id: string): { queue: string; seq: string } | null {
  const at = id.lastIndexOf(':');
  const seq = id.slice(at + 1);
  if (at <= 0 || !/^[1-9][0-9]{0,15}$/.test(seq)) return null;
  return { queue: id.slice(0, at), seq };
}

/** Infinity travels as 'inf'; everything else as its decimal string. */
export function encodeNumber(n: number): string {
  return n === Infinity ? 'inf' : String(n);
}

export function encodeBackoff(b: Backoff): string {
  return `${b.kind},${b.delayMs},${b.maxDelayMs},${b.jitter}`;
}

const backoffs = new Map<string, Backoff>();

/** Decoded once per distinct spec: a queue's jobs share a handful of them. */
function decodeBackoff(spec: string): Backoff {
  let backoff = backoffs.get(spec);
  if (backoff === undefined) {
    const [kind, delayMs, maxDelayMs, jitter] = spec.split(',');
    backoff = Object.freeze({
      kind: kind === 'fixed' ? 'fixed' : 'exponential',
      delayMs: Number(delayMs),
      maxDelayMs: Number(maxDelayMs),
      jitter: Number(jitter),
    });
    if (backoffs.size < 1000) backoffs.set(spec, backoff);
  }
  return backoff;
}

type Value = Buffer | null;

const int = (v: string, otherwise: number): number => (v === '' ? otherwise : Number(v));
const nullable = (v: string): number | null => (v === '' ? null : Number(v));

/** lib.lua's record fields in their order; the last, the key, may itself hold '|'. */
type RecordFields = [
  state: string,
  attempts: string,
  leaseUntil: string,
  finishedAt: string,
  visibilityMs: string,
  availableAt: string,
  nacks: string,
  priority: string,
  maxAttempts: string,
  createdAt: string,
  expiresAt: string,
  backoff: string,
  key: string,
];
const recordFields = 13;

function splitRecord(record: string): RecordFields {
  const fields: string[] = [];
  let from = 0;
  for (let i = 1; i < recordFields; i++) {
    const bar = record.indexOf('|', from);
    fields.push(record.slice(from, bar));
    from = bar + 1;
  }
  fields.push(record.slice(from));
  return fields as RecordFields;
}

/** A job as lib.lua's `records()` returns it: seq, payload, result, record, errors; null when the job is gone. */
export function decodeRecord(queue: string, reply: unknown): JobRecord | null {
  const [seq, payload, result, record, errors] = reply as [Buffer, Value, Value, Value, Value];
  if (record === null) return null;
  const [s, a, l, f, v, t, n, p, m, c, e, b, k] = splitRecord(record.toString());
  const state = stateOf[s];
  if (state === undefined) return null;
  return {
    id: jobId(queue, seq.toString()),
    queue,
    state,
    payload: payload ?? Buffer.alloc(0),
    priority: int(p, 0),
    attempts: int(a, 0),
    maxAttempts: m === 'inf' ? Infinity : Number(m),
    nacks: int(n, 0),
    createdAt: int(c, 0),
    availableAt: int(t, 0),
    expiresAt: nullable(e),
    leaseUntil: state === 'active' ? nullable(l) : null,
    visibilityMs: int(v, 0),
    backoff: decodeBackoff(b === '' ? 'exponential,0,0,0' : b),
    key: k === '' ? null : k,
    errors: errors === null ? [] : (JSON.parse(errors.toString()) as string[]),
    result: result ?? null,
    finishedAt: nullable(f),
  };
}

/**
 * A lease token's seal: 96 bits of SHA-256 over the store's key (`<prefix>:token-key`), job id and
 * attempt, made and checked here rather than in the scripts, so that a lease or an ack costs Redis
 * nothing more; a token with a wrong seal never reaches Redis (issue 20, defect 8). Ids name their
 * queue, so a hash takes them whole (the embedded stores encrypt a block of numbers instead).
 */
export function sealOf(key: string, id: string, attempt: number): string {
  return hash('sha256', `${key}:${id}:${attempt}`, 'base64url').slice(0, 16);
}

/** A job lease.lua just leased: its record with the lease's token added (one object per job, not a copy). */
export function decodeLeased(queue: string, reply: unknown, key: string): LeasedRecord {
  const record = decodeRecord(queue, reply) as JobRecord;
  return Object.assign(record, {
    state: 'active' as const,
    leaseUntil: record.leaseUntil as number,
    token: formatToken(record.id, record.attempts, sealOf(key, record.id, record.attempts)),
  });
}

export interface TokenJob {
  readonly queue: string;
  readonly seq: string;
  readonly attempt: number;
}

/** The job and attempt a token names, or null when it is no token of the store with `key`. */
export function tokenJob(token: string, key: string): TokenJob | null {
  const parsed = parseToken(token);
  if (parsed?.seal == null || !sealsMatch(parsed.seal, sealOf(key, parsed.id, parsed.attempt))) return null;
  const job = parseJobId(parsed.id);
  return job === null ? null : { ...job, attempt: parsed.attempt };
}

/** Entries by their job's queue, dropping those whose id names no queue (not in the store). */
export function groupBy<E extends { job: { queue: string } | null }>(
  entries: readonly E[],
): Map<string, (E & { job: NonNullable<E['job']> })[]> {
  const groups = new Map<string, (E & { job: NonNullable<E['job']> })[]>();
  for (const entry of entries) {
    if (entry.job === null) continue;
    let group = groups.get(entry.job.queue);
    if (group === undefined) groups.set(entry.job.queue, (group = []));
    group.push(entry as E & { job: NonNullable<E['job']> });
  }
  return groups;
}

// Between the store's values and the scripts' arguments and replies (see lua/lib.lua for the fields).
import { defaultQueueSettings, formatToken, parseToken } from '../contract.ts';
import type { Backoff, JobRecord, JobState, LeasedRecord, QueueSettings } from '../contract.ts';
import type { LeaseSeals } from './lease-seals.ts';

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
  if (at <= 0 || seqAt(id, at + 1) < 0) return null;
  return { queue: id.slice(0, at), seq: id.slice(at + 1) };
}

/** The sequence number written from `from` to the end of `id` (1 to 16 digits, no leading zero), or -1; read in place, every ack reads one. */
function seqAt(id: string, from: number): number {
  const digits = id.length - from;
  if (digits < 1 || digits > 16 || id.charCodeAt(from) === 48) return -1;
  let seq = 0;
  for (let i = from; i < id.length; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    seq = seq * 10 + c;
  }
  return seq;
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
export function decodeBackoff(spec: string): Backoff {
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

/** The token of the lease at `attempt` of job `id` of `queue`. */
export function tokenOf(seals: LeaseSeals, queue: string, id: string, attempt: number): string {
  return formatToken(id, attempt, seals.seal(queue, seqAt(id, queue.length + 1), attempt));
}

/** A job lease.lua just leased: its record with the lease's token added (one object per job, not a copy). */
export function decodeLeased(queue: string, reply: unknown, seals: LeaseSeals): LeasedRecord {
  const record = decodeRecord(queue, reply) as JobRecord;
  return Object.assign(record, {
    state: 'active' as const,
    leaseUntil: record.leaseUntil as number,
    token: tokenOf(seals, queue, record.id, record.attempts),
  });
}

export interface TokenJob {
  readonly queue: string;
  readonly seq: string;
  readonly attempt: number;
}

/** The job and attempt a token names, or null when it is no token of the store with `seals`. */
export function tokenJob(token: string, seals: LeaseSeals): TokenJob | null {
  const parsed = parseToken(token);
  if (parsed?.seal == null) return null;
  const job = parseJobId(parsed.id);
  if (job === null || !seals.matches(job.queue, Number(job.seq), parsed.attempt, parsed.seal)) return null;
  return { ...job, attempt: parsed.attempt };
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

/** The fields of B:m that hold a queue's stored settings, in the order configure.lua answers them. */
export const settingsFields = ['ml', 'ma', 'bo', 'vis', 'ttl', 'kc', 'ka', 'paused', 'kd', 'kda'] as const;

/** Field, value pairs for configure.lua: only the settings changed. */
export function encodeSettings(changes: Partial<QueueSettings>): string[] {
  const out: string[] = [];
  const { maxLength, maxAttempts, backoff, visibilityMs, ttlMs, keepCompleted, keepDead, paused } = changes;
  if (maxLength !== undefined) out.push('ml', maxLength === null ? '' : String(maxLength));
  if (maxAttempts !== undefined) out.push('ma', encodeNumber(maxAttempts));
  if (backoff !== undefined) out.push('bo', encodeBackoff(backoff));
  if (visibilityMs !== undefined) out.push('vis', String(visibilityMs));
  if (ttlMs !== undefined) out.push('ttl', ttlMs === null ? '' : String(ttlMs));
  if (keepCompleted !== undefined)
    out.push('kc', encodeNumber(keepCompleted.count), 'ka', encodeNumber(keepCompleted.ageMs));
  if (keepDead !== undefined) out.push('kd', encodeNumber(keepDead.count), 'kda', encodeNumber(keepDead.ageMs));
  if (paused !== undefined) out.push('paused', paused ? '1' : '0');
  return out;
}

/** The settings from B:m's fields (`settingsFields`, null where none is stored). */
export function decodeSettings(values: readonly unknown[]): QueueSettings {
  const [ml, ma, bo, vis, ttl, kc, ka, paused, kd, kda] = values.map((v) =>
    typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : null,
  );
  const number = (v: string | null | undefined): number => (v === 'inf' ? Infinity : Number(v));
  const d = defaultQueueSettings;
  return Object.freeze({
    maxLength: ml === null || ml === undefined ? d.maxLength : ml === '' ? null : Number(ml),
    maxAttempts: ma === null || ma === undefined ? d.maxAttempts : number(ma),
    backoff: bo === null || bo === undefined ? d.backoff : decodeBackoff(bo),
    visibilityMs: vis === null || vis === undefined ? d.visibilityMs : Number(vis),
    ttlMs: ttl === null || ttl === undefined ? d.ttlMs : ttl === '' ? null : Number(ttl),
    keepCompleted:
      kc === null || kc === undefined || ka === null || ka === undefined
        ? d.keepCompleted
        : Object.freeze({ count: number(kc), ageMs: number(ka) }),
    keepDead:
      kd === null || kd === undefined || kda === null || kda === undefined
        ? d.keepDead
        : Object.freeze({ count: number(kd), ageMs: number(kda) }),
    paused: paused !== null && paused !== undefined,
  });
}

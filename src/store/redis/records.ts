// Between the store's values and the scripts' arguments and replies (see lua/lib.lua for the fields).
import { parseToken } from '../contract.ts';
import type { Backoff, JobRecord, JobState } from '../contract.ts';

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

const text = (v: Value): string | null => (v === null ? null : v.toString());
const int = (v: Value, otherwise: number): number => (v === null ? otherwise : Number(v.toString()));
const nullable = (v: Value): number | null => (v === null ? null : Number(v.toString()));

/** A record as lib.lua's `record()` returns it: seq, payload, result, the job's fields; null when the job is gone. */
export function decodeRecord(queue: string, reply: unknown): JobRecord | null {
  const [seq, d, r, s, p, a, m, n, c, t, e, l, v, b, k, h, f] = reply as [number | Buffer, ...Value[]];
  const state = s === null || s === undefined ? undefined : stateOf[s.toString()];
  if (state === undefined) return null;
  const maxAttempts = text(m ?? null);
  return {
    id: jobId(queue, seq.toString()),
    queue,
    state,
    payload: d ?? Buffer.alloc(0),
    priority: int(p ?? null, 0),
    attempts: int(a ?? null, 0),
    maxAttempts: maxAttempts === 'inf' ? Infinity : Number(maxAttempts),
    nacks: int(n ?? null, 0),
    createdAt: int(c ?? null, 0),
    availableAt: int(t ?? null, 0),
    expiresAt: nullable(e ?? null),
    leaseUntil: state === 'active' ? nullable(l ?? null) : null,
    visibilityMs: int(v ?? null, 0),
    backoff: decodeBackoff(text(b ?? null) ?? 'exponential,0,0,0'),
    key: text(k ?? null),
    errors: h === null || h === undefined ? [] : (JSON.parse(h.toString()) as string[]),
    result: r ?? null,
    finishedAt: nullable(f ?? null),
  };
}

export interface TokenJob {
  readonly queue: string;
  readonly seq: string;
  readonly attempt: number;
}

export function tokenJob(token: string): TokenJob | null {
  const parsed = parseToken(token);
  const job = parsed === null ? null : parseJobId(parsed.id);
  return job === null || parsed === null ? null : { ...job, attempt: parsed.attempt };
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

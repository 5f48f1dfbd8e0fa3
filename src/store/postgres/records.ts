// Rows of spool.jobs as the contract's records, and stored queue settings as JSON.
import { defaultQueueSettings } from '../contract.ts';
import type { Backoff, JobRecord, JobState, QueueSettings } from '../contract.ts';

/** A row of spool.jobs as pg reads it (bigint as a string, bytea as a Buffer). */
export interface JobRow {
  readonly id: string;
  readonly queue: string;
  readonly state: 'queued' | 'active' | 'dead' | 'completed';
  readonly priority: number;
  readonly attempts: number;
  readonly max_attempts: number;
  readonly nacks: number;
  readonly created_at: number;
  readonly available_at: number;
  readonly expires_at: number | null;
  readonly until: number | null;
  readonly visibility_ms: number;
  readonly backoff_kind: Backoff['kind'];
  readonly backoff_delay_ms: number;
  readonly backoff_max_ms: number;
  readonly backoff_jitter: number;
  readonly key: string | null;
  readonly errors: string[];
  readonly result: Buffer | null;
  readonly payload: Buffer;
}

export function stateAt(row: JobRow, now: number): JobState {
  if (row.state !== 'queued') return row.state;
  return row.available_at > now ? 'delayed' : 'waiting';
}

export function jobRecord(row: JobRow, now: number): JobRecord {
  const state = stateAt(row, now);
  const done = state === 'dead' || state === 'completed';
  return {
    id: row.id,
    queue: row.queue,
    state,
    payload: row.payload,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nacks: row.nacks,
    createdAt: row.created_at,
    availableAt: row.available_at,
    expiresAt: row.expires_at,
    leaseUntil: state === 'active' ? row.until : null,
    visibilityMs: row.visibility_ms,
    backoff: {
      kind: row.backoff_kind,
      delayMs: row.backoff_delay_ms,
      maxDelayMs: row.backoff_max_ms,
      jitter: row.backoff_jitter,
    },
    key: row.key,
    errors: row.errors,
    result: state === 'completed' ? row.result : null,
    finishedAt: done ? row.until : null,
  };
}

/** JSON has no Infinity: it is written "inf". */
export function encodeSettings(settings: QueueSettings): string {
  return JSON.stringify(settings, (_, value: unknown) => (value === Infinity ? 'inf' : value));
}

export function decodeSettings(stored: unknown): QueueSettings {
  if (stored === null || stored === undefined) return defaultQueueSettings;
  const revive = (value: unknown): unknown => {
    if (value === 'inf') return Infinity;
    if (Array.isArray(value)) return value.map(revive);
    if (typeof value === 'object' && value !== null)
      return Object.freeze(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)])));
    return value;
  };
  return Object.freeze({ ...defaultQueueSettings, ...(revive(stored) as Partial<QueueSettings>) });
}

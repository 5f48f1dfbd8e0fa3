// Rows of spool.jobs as the contract's records, and stored queue settings as JSON.
import { defaultQueueSettings } from '../contract.ts';
import { decodeSettings as decodeSettingsDoc } from '../memory/settings-doc.ts';
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

/** A job due when added is waiting whatever `now` says (migration 004-delay-index.sql). */
export function stateAt(row: JobRow, now: number): JobState {
  if (row.state !== 'queued') return row.state;
  return row.available_at > now && row.available_at > row.created_at ? 'delayed' : 'waiting';
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

/** The stored settings as pg reads the jsonb column (an object, or null for the defaults). */
export function decodeSettings(stored: unknown): QueueSettings {
  return stored === null || stored === undefined ? defaultQueueSettings : decodeSettingsDoc(JSON.stringify(stored));
}

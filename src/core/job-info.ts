import type { JobRecord, JobState } from '../store/contract.ts';
import { jsonCodec } from './codec.ts';
import type { Codec } from './codec.ts';
import { splitTrace } from './trace-header.ts';

/** A job as `get`, `peek` and `dead` show it (kafkaq's JobInfo). Times are ms since the epoch. */
export interface JobInfo<T = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly state: JobState;
  readonly data: T;
  readonly priority: number;
  /** Leases so far. */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** How long each lease of it lasts unless the consumer asks for another (Disque's RETRY). */
  readonly visibilityMs: number;
  readonly nacks: number;
  readonly createdAt: number;
  /** When it may next run (its delay or back-off end). */
  readonly runAt: number;
  readonly expiresAt: number | null;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  /** Errors of failed attempts, oldest first (the last 10). */
  readonly errors: readonly string[];
  /** What the handler returned, while the job is kept completed. */
  readonly result: unknown;
  readonly finishedAt: number | null;
}

export function jobInfo<T>(record: JobRecord, codec: Codec<unknown>): JobInfo<T> {
  return {
    id: record.id,
    queue: record.queue,
    state: record.state,
    data: codec.decode(splitTrace(record.payload).body) as T,
    priority: record.priority,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    visibilityMs: record.visibilityMs,
    nacks: record.nacks,
    createdAt: record.createdAt,
    runAt: record.availableAt,
    expiresAt: record.expiresAt,
    leaseUntil: record.leaseUntil,
    lastError: record.errors.at(-1) ?? null,
    errors: record.errors,
    result: record.result === null ? undefined : jsonCodec.decode(record.result),
    finishedAt: record.finishedAt,
  };
}

/**
 * An error as the store keeps it: its message, bounded, a NUL as U+FFFD (PostgreSQL's text cannot
 * hold one: a nack whose error had one failed as a STORAGE error and left its job leased).
 */
export function errorText(error: unknown): string {
  const text = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replaceAll('\0', '\uFFFD');
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

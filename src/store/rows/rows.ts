// What the row engine (engine.ts) asks of a backend that keeps jobs as rows: SQLite keeps them
// in a table with partial indexes, LevelDB under keys whose order is the lease order. The engine
// changes rows only through `insert`, `update` and `delete`, handing `update` the row as it was,
// so a backend that keeps its own indexes knows which entries to move.
import { defaultQueueSettings } from '../contract.ts';
import type { Backoff, JobState, QueueSettings } from '../contract.ts';

/** One job, as the engine reads and writes it; its payload is read apart (`Rows.payload`). */
export interface Row {
  readonly seq: number;
  readonly queue: string;
  readonly state: JobState;
  readonly priority: number;
  readonly attempts: number;
  /** Infinity for no limit. */
  readonly maxAttempts: number;
  readonly nacks: number;
  readonly createdAt: number;
  /** When it becomes (or became) leasable: also its place in line after priority. */
  readonly availableAt: number;
  readonly expiresAt: number | null;
  /** The lease end while active, when it finished while dead or completed, else null. */
  readonly until: number | null;
  /** The order dead and completed jobs of its queue finished in, else null. */
  readonly finish: number | null;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
  readonly key: string | null;
  readonly errors: readonly string[];
  readonly result: Uint8Array | null;
}

/** One queue's own state; the counts make `counts` and the max-length check O(1). */
export interface QueueRow {
  readonly name: string;
  /** It had an add or a configure: `queues` lists it. */
  readonly known: boolean;
  /** Jobs that went past their TTL since the queue was first used. */
  readonly expired: number;
  /**
   * Every lease blocked on the queue wakes by then, as far as the store told them (contract.ts,
   * due means due); -Infinity while nobody was told anything.
   */
  readonly wakeBy: number;
  /** Its stored settings (contract.ts): maxLength, retention and pause are enforced here. */
  readonly settings: QueueSettings;
  /**
   * No completed job finished before this (the oldest one's finish time, or earlier): a prune
   * by age reads the oldest only once `now - keepCompleted.ageMs` reaches it. Infinity while none is kept.
   */
  readonly pruneAt: number;
  /** The finish order's next number: dead and completed jobs are listed (and pruned) by it. */
  readonly finishes: number;
  /**
   * Nothing here falls due by itself (a delay ends, a lease ends, a TTL passes) before this: a
   * call reads the due jobs only from then on. Lowered by every write that sets such a time, set
   * exactly by the settle that reaches it.
   */
  readonly dueAt: number;
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly dead: number;
  readonly completed: number;
}

export const newQueueRow = (name: string): QueueRow => ({
  name,
  known: false,
  expired: 0,
  wakeBy: -Infinity,
  settings: defaultQueueSettings,
  pruneAt: Infinity,
  finishes: 0,
  dueAt: Infinity,
  waiting: 0,
  delayed: 0,
  active: 0,
  dead: 0,
  completed: 0,
});

/** A backend's rows, read and written inside the call the store runs (a transaction). */
export interface Rows {
  /** Reserves `count` new sequence numbers, never handed out before; returns the first. */
  allocSeqs(count: number): number;
  job(seq: number): Row | null;
  /** The job holding `key` in `queue`, or null. */
  byKey(queue: string, key: string): number | null;
  payload(seq: number): Uint8Array;
  insert(row: Row, payload: Uint8Array): void;
  update(row: Row, before: Row): void;
  delete(row: Row): void;
  /** Deletes the `count` jobs of `queue` in `state` that finished first (retention). */
  deleteOldest(queue: string, state: 'dead' | 'completed', count: number): void;
  /** The queue's row as stored, or null for a queue never written. */
  queue(name: string): QueueRow | null;
  /** The names of the known queues, sorted. */
  queueNames(): string[];
  putQueue(row: QueueRow): void;
  /** The first `limit` waiting jobs from `offset` on, in lease order (priority, readyAt, seq). */
  waiting(queue: string, limit: number, offset?: number): Row[];
  /** Delayed jobs by due time, active ones by lease end, dead and completed ones by finish order. */
  inState(queue: string, state: Exclude<JobState, 'waiting'>, limit: number, offset: number): Row[];
  /** Delayed jobs due at `now`, by due time. */
  delayedDue(queue: string, now: number): Row[];
  /** Active jobs whose lease ended at `now`, by lease end. */
  leasesEnded(queue: string, now: number): Row[];
  /** Jobs past their TTL at `now`. */
  expired(queue: string, now: number): Row[];
  /** The earliest due time of a delayed job and lease end of an active one, or null. */
  nextAt(queue: string): number | null;
  /** The earliest TTL of a job of the queue, or null. */
  nextExpiry(queue: string): number | null;
  getMeta(name: string): string | null;
  setMeta(name: string, value: string | null): void;
  /** Names starting with `prefix`, sorted. */
  listMeta(prefix: string): string[];
}

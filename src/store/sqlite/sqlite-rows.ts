// The row engine's rows (rows/rows.ts) in SQLite: the tables of migrations/001-jobs.sql, read and
// written through statements prepared once. State names are literals in the statements, not
// parameters, so SQLite picks each duty's partial index.
import type { Backoff, JobState } from '../contract.ts';
import type { QueueRow, Row, Rows } from '../rows/rows.ts';
import { settingsOf, settingsText } from '../rows/settings-text.ts';
import { blob, bytes, rawStatement, scalar } from './driver.ts';
import type { Connection, Statement } from './driver.ts';

const jobColumns =
  'seq, queue, state, priority, attempts, max_attempts, nacks, created_at, available_at, expires_at, until, finish, ' +
  'visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter, key, errors, result';
/** The columns an update may change, in the order of their bits in an update's shape (`changes`). */
const updatable = [
  'state',
  'priority',
  'attempts',
  'max_attempts',
  'nacks',
  'created_at',
  'available_at',
  'expires_at',
  'until',
  'finish',
  'visibility_ms',
  'backoff_kind',
  'backoff_delay_ms',
  'backoff_max_ms',
  'backoff_jitter',
  'key',
  'errors',
  'result',
] as const;
const jobColumnCount = jobColumns.split(', ').length;
const queueColumns =
  'known, expired, wake_by, settings, prune_at, finishes, due_at, waiting, delayed, active, dead, completed';

const orderOf: Record<Exclude<JobState, 'waiting'>, string> = {
  delayed: 'available_at, seq',
  active: 'until, seq',
  dead: 'finish',
  completed: 'finish',
};

/**
 * Deletes the first `count` jobs of a queue in `state` by finish order, in one statement bound to
 * (queue, queue, count): those up to the `count`th one's finish number (unique in a queue), a
 * range of the state's index. `seq IN (SELECT … LIMIT ?)` first built a list of them apart (an
 * ephemeral table) at every prune.
 */
const deleteOldest = (state: 'dead' | 'completed'): string =>
  `DELETE FROM spool_jobs WHERE queue = ? AND state = '${state}' AND finish <= ` +
  `(SELECT finish FROM spool_jobs WHERE queue = ? AND state = '${state}' ORDER BY finish LIMIT 1 OFFSET ? - 1)`;

export class SqliteRows implements Rows {
  readonly #s;
  readonly #db: Connection;
  /**
   * The payloads of the last waiting jobs read: they are read with their rows, since a lease
   * hands each job's payload out next (a SELECT each cost a twentieth of a lease). A payload
   * never changes and a sequence number is never reused, so one read earlier is still right.
   */
  #payloads = new Map<number, Uint8Array>();
  /**
   * An UPDATE of only the columns that change, one per set of columns (a bit each in `updatable`
   * order): a lease sets three columns of twenty, and SQLite touches only the indexes on those.
   */
  readonly #updates = new Map<number, Statement>();

  /**
   * The rows of the jobs this connection leased, as it wrote them: the ack that follows reads
   * its job from here, not from the table. Right only while no other connection has written the
   * file: the store calls `forget` when one has (PRAGMA data_version), and after a rollback.
   * Null on a caller's connection (`tx`), whose writes and rollbacks the store does not see.
   */
  readonly #leased: Map<number, Row> | null;

  constructor(db: Connection, { keepLeased }: { keepLeased: boolean }) {
    this.#db = db;
    this.#leased = keepLeased ? new Map() : null;
    const p = (sql: string): Statement => rawStatement(db, sql);
    // A read of the first job has a literal LIMIT 1: with LIMIT and OFFSET bound, SQLite takes
    // three times as long over the same index (measured: 12 µs against 32 µs a read).
    const inState = (state: Exclude<JobState, 'waiting'>, limit = 'LIMIT ? OFFSET ?'): Statement =>
      p(
        `SELECT ${jobColumns} FROM spool_jobs WHERE queue = ? AND state = '${state}' ORDER BY ${orderOf[state]} ${limit}`,
      );
    const waiting = (limit = 'LIMIT ? OFFSET ?', payload = ', payload'): Statement =>
      p(
        `SELECT ${jobColumns}${payload} FROM spool_jobs WHERE queue = ? AND state = 'waiting' ` +
          `ORDER BY priority DESC, available_at, seq ${limit}`,
      );
    this.#s = {
      alloc: p('UPDATE spool_counters SET value = value + ? WHERE name = ? RETURNING value'),
      job: p(`SELECT ${jobColumns} FROM spool_jobs WHERE seq = ?`),
      byKey: p('SELECT seq FROM spool_jobs WHERE queue = ? AND key = ?'),
      payload: p('SELECT payload FROM spool_jobs WHERE seq = ?'),
      insert: p(`INSERT INTO spool_jobs (${jobColumns}, payload) VALUES (${'?, '.repeat(20)}?)`),
      delete: p('DELETE FROM spool_jobs WHERE seq = ?'),
      deleteOldest: {
        dead: p(deleteOldest('dead')),
        completed: p(deleteOldest('completed')),
      },
      queue: p(`SELECT ${queueColumns} FROM spool_queues WHERE name = ?`),
      queueNames: p('SELECT name FROM spool_queues WHERE known = 1 ORDER BY name'),
      putQueue: p(`INSERT OR REPLACE INTO spool_queues (name, ${queueColumns}) VALUES (?, ${'?, '.repeat(11)}?)`),
      waiting: waiting(),
      firstWaiting: waiting('LIMIT 1'),
      // Every waiting job from an offset (a purge), without the payloads nobody reads.
      allWaiting: waiting('LIMIT -1 OFFSET ?', ''),
      inState: {
        delayed: inState('delayed'),
        active: inState('active'),
        dead: inState('dead'),
        completed: inState('completed'),
      },
      first: {
        delayed: inState('delayed', 'LIMIT 1'),
        active: inState('active', 'LIMIT 1'),
        dead: inState('dead', 'LIMIT 1'),
        completed: inState('completed', 'LIMIT 1'),
      },
      delayedDue: p(
        `SELECT ${jobColumns} FROM spool_jobs WHERE queue = ? AND state = 'delayed' AND available_at <= ? ORDER BY available_at, seq`,
      ),
      leasesEnded: p(
        `SELECT ${jobColumns} FROM spool_jobs WHERE queue = ? AND state = 'active' AND until <= ? ORDER BY until, seq`,
      ),
      expired: p(`SELECT ${jobColumns} FROM spool_jobs WHERE queue = ? AND expires_at <= ? ORDER BY expires_at, seq`),
      nextDelayed: p("SELECT min(available_at) FROM spool_jobs WHERE queue = ? AND state = 'delayed'"),
      nextLeaseEnd: p("SELECT min(until) FROM spool_jobs WHERE queue = ? AND state = 'active'"),
      nextExpiry: p('SELECT min(expires_at) FROM spool_jobs WHERE queue = ? AND expires_at IS NOT NULL'),
      getMeta: p('SELECT value FROM spool_meta WHERE name = ?'),
      setMeta: p('INSERT OR REPLACE INTO spool_meta (name, value) VALUES (?, ?)'),
      deleteMeta: p('DELETE FROM spool_meta WHERE name = ?'),
      listMeta: p('SELECT name FROM spool_meta WHERE substr(name, 1, ?) = ? ORDER BY name'),
    };
  }

  allocSeqs(count: number): number {
    return (scalar(this.#s.alloc, count, 'seq') as number) - count + 1;
  }
  /** Drops the rows kept of leased jobs: another connection may have changed them. */
  forget(): void {
    this.#leased?.clear();
  }
  job(seq: number): Row | null {
    const kept = this.#leased?.get(seq);
    if (kept !== undefined) return kept;
    const found = this.#s.job.get(seq) as unknown[] | undefined;
    return found === undefined ? null : rowOf(found);
  }
  byKey(queue: string, key: string): number | null {
    return (scalar(this.#s.byKey, queue, key) as number | undefined) ?? null;
  }
  payload(seq: number): Uint8Array {
    return this.#payloads.get(seq) ?? (blob(scalar(this.#s.payload, seq)) as Uint8Array);
  }
  insert(row: Row, payload: Uint8Array): void {
    this.#s.insert.run(row.seq, row.queue, ...values(row), bytes(payload));
  }
  update(row: Row, before: Row): void {
    const params: unknown[] = [];
    const shape = changes(row, before, params);
    if (row.state === 'active') this.#leased?.set(row.seq, row);
    else this.#leased?.delete(row.seq);
    if (shape === 0) return;
    params.push(row.seq);
    this.#update(shape).run(...params);
  }
  delete(row: Row): void {
    this.#leased?.delete(row.seq);
    this.#s.delete.run(row.seq);
  }
  deleteOldest(queue: string, state: 'dead' | 'completed', count: number): void {
    this.#s.deleteOldest[state].run(queue, queue, count);
  }
  #update(shape: number): Statement {
    let statement = this.#updates.get(shape);
    if (statement === undefined) {
      const set = updatable.filter((_, i) => (shape & (1 << i)) !== 0).map((column) => `${column} = ?`);
      statement = rawStatement(this.#db, `UPDATE spool_jobs SET ${set.join(', ')} WHERE seq = ?`);
      this.#updates.set(shape, statement);
    }
    return statement;
  }
  queue(name: string): QueueRow | null {
    const q = this.#s.queue.get(name) as unknown[] | undefined;
    if (q === undefined) return null;
    const [known, expired, wakeBy, settings, pruneAt, finishes, dueAt, waiting, delayed, active, dead, completed] =
      q as [number, number, number, string, number, number, number, number, number, number, number, number];
    return {
      name,
      known: known === 1,
      expired,
      wakeBy,
      settings: settingsOf(settings),
      pruneAt,
      finishes,
      dueAt,
      waiting,
      delayed,
      active,
      dead,
      completed,
    };
  }
  queueNames(): string[] {
    return (this.#s.queueNames.all() as [string][]).map(([name]) => name);
  }
  putQueue(q: QueueRow): void {
    this.#s.putQueue.run(
      q.name,
      q.known ? 1 : 0,
      q.expired,
      q.wakeBy,
      settingsText(q.settings),
      q.pruneAt,
      q.finishes,
      q.dueAt,
      q.waiting,
      q.delayed,
      q.active,
      q.dead,
      q.completed,
    );
  }
  waiting(queue: string, limit: number, offset = 0): Row[] {
    if (limit === Infinity) return rows(this.#s.allWaiting.all(queue, offset));
    const found =
      limit === 1 && offset === 0 ? this.#s.firstWaiting.all(queue) : this.#s.waiting.all(queue, limit, offset);
    this.#payloads = new Map();
    return (found as unknown[][]).map((c) => {
      const row = rowOf(c);
      this.#payloads.set(row.seq, blob(c[jobColumnCount]) as Uint8Array);
      return row;
    });
  }
  inState(queue: string, state: Exclude<JobState, 'waiting'>, limit: number, offset: number): Row[] {
    if (limit === 1 && offset === 0) return rows(this.#s.first[state].all(queue));
    return rows(this.#s.inState[state].all(queue, sqlLimit(limit), offset));
  }
  delayedDue(queue: string, now: number): Row[] {
    return rows(this.#s.delayedDue.all(queue, now));
  }
  leasesEnded(queue: string, now: number): Row[] {
    return rows(this.#s.leasesEnded.all(queue, now));
  }
  expired(queue: string, now: number): Row[] {
    return rows(this.#s.expired.all(queue, now));
  }
  nextAt(queue: string): number | null {
    const due = scalar(this.#s.nextDelayed, queue) as number | null;
    const end = scalar(this.#s.nextLeaseEnd, queue) as number | null;
    if (due === null) return end;
    return end === null ? due : Math.min(due, end);
  }
  nextExpiry(queue: string): number | null {
    return scalar(this.#s.nextExpiry, queue) as number | null;
  }
  getMeta(name: string): string | null {
    return (scalar(this.#s.getMeta, name) as string | undefined) ?? null;
  }
  setMeta(name: string, value: string | null): void {
    if (value === null) this.#s.deleteMeta.run(name);
    else this.#s.setMeta.run(name, value);
  }
  listMeta(prefix: string): string[] {
    return (this.#s.listMeta.all(prefix.length, prefix) as [string][]).map(([name]) => name);
  }
}

/**
 * The columns of `updatable` whose fields differ between `row` and `before` (by identity: the
 * engine changes a row by spreading it, so an untouched array or object is the same one), a bit
 * each in the shape returned, their values pushed on `params` as bound. Written out field by
 * field: a loop over a table of accessors was a twentieth of a drain's time at c=64.
 */
function changes(row: Row, before: Row, params: unknown[]): number {
  let shape = 0;
  if (row.state !== before.state) shape = put(params, shape, 0, row.state);
  if (row.priority !== before.priority) shape = put(params, shape, 1, row.priority);
  if (row.attempts !== before.attempts) shape = put(params, shape, 2, row.attempts);
  if (row.maxAttempts !== before.maxAttempts) shape = put(params, shape, 3, row.maxAttempts);
  if (row.nacks !== before.nacks) shape = put(params, shape, 4, row.nacks);
  if (row.createdAt !== before.createdAt) shape = put(params, shape, 5, row.createdAt);
  if (row.availableAt !== before.availableAt) shape = put(params, shape, 6, row.availableAt);
  if (row.expiresAt !== before.expiresAt) shape = put(params, shape, 7, row.expiresAt);
  if (row.until !== before.until) shape = put(params, shape, 8, row.until);
  if (row.finish !== before.finish) shape = put(params, shape, 9, row.finish);
  if (row.visibilityMs !== before.visibilityMs) shape = put(params, shape, 10, row.visibilityMs);
  if (row.backoff !== before.backoff) {
    if (row.backoff.kind !== before.backoff.kind) shape = put(params, shape, 11, row.backoff.kind);
    if (row.backoff.delayMs !== before.backoff.delayMs) shape = put(params, shape, 12, row.backoff.delayMs);
    if (row.backoff.maxDelayMs !== before.backoff.maxDelayMs) shape = put(params, shape, 13, row.backoff.maxDelayMs);
    if (row.backoff.jitter !== before.backoff.jitter) shape = put(params, shape, 14, row.backoff.jitter);
  }
  if (row.key !== before.key) shape = put(params, shape, 15, row.key);
  if (row.errors !== before.errors) shape = put(params, shape, 16, encodeErrors(row.errors));
  if (row.result !== before.result) shape = put(params, shape, 17, row.result === null ? null : bytes(row.result));
  return shape;
}

/** Binds `value` on `params` and returns `shape` with `bit` set. */
function put(params: unknown[], shape: number, bit: number, value: unknown): number {
  params.push(value);
  return shape | (1 << bit);
}

/** SQLite's LIMIT takes -1 for none. */
const sqlLimit = (limit: number): number => (limit === Infinity ? -1 : limit);

/** The columns after `queue`, in `jobColumns` order. */
function values(row: Row): unknown[] {
  return [
    row.state,
    row.priority,
    row.attempts,
    row.maxAttempts,
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
    encodeErrors(row.errors),
    row.result === null ? null : bytes(row.result),
  ];
}

function encodeErrors(errors: readonly string[]): string | null {
  return errors.length === 0 ? null : JSON.stringify(errors);
}

function rows(found: unknown[]): Row[] {
  return (found as unknown[][]).map(rowOf);
}

/** A job from its columns in `jobColumns` order. */
function rowOf(c: unknown[]): Row {
  const errors = c[18] as string | null;
  return {
    seq: c[0] as number,
    queue: c[1] as string,
    state: c[2] as JobState,
    priority: c[3] as number,
    attempts: c[4] as number,
    maxAttempts: c[5] as number,
    nacks: c[6] as number,
    createdAt: c[7] as number,
    availableAt: c[8] as number,
    expiresAt: c[9] as number | null,
    until: c[10] as number | null,
    finish: c[11] as number | null,
    visibilityMs: c[12] as number,
    backoff: {
      kind: c[13] as Backoff['kind'],
      delayMs: c[14] as number,
      maxDelayMs: c[15] as number,
      jitter: c[16] as number,
    },
    key: c[17] as string | null,
    errors: errors === null ? [] : (JSON.parse(errors) as string[]),
    result: blob(c[19]),
  };
}

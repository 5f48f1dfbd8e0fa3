// `sqlite:./q.db`: jobs as rows of one SQLite file (BlockQueue's own backend), on better-sqlite3.
//
// WAL mode. synchronous=FULL (default) syncs the WAL at each commit: an answered call survives a
// power cut; synchronous=NORMAL syncs at checkpoints only: it survives a process crash, not a
// power cut. Calls made in one turn of the event loop share a transaction (rows/row-store.ts),
// so one sync serves many. Several processes may open one file: SQLite's locks serialise their
// transactions (a writer waits up to `busyTimeoutMs` for another), and each commit writes its
// events to spool_events; every store checks `PRAGMA data_version` (a read of the WAL index in
// shared memory, no table read) every `pollMs` and reads the events of other processes'
// commits, so a lease blocked in one process wakes within milliseconds of an add in another.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { StorageError, ValidationError } from '../../errors.ts';
import type { Capabilities, Outcome, StoreEvent } from '../contract.ts';
import { newTokenKey, tokenKeyName } from '../memory/token-seal.ts';
import { RowStore } from '../rows/row-store.ts';
import type { RowBackend } from '../rows/row-store.ts';
import { blob, bytes, rawStatement, scalar } from './driver.ts';
import type { Connection, Statement } from './driver.ts';
import { migrate } from './schema.ts';
import { SqliteRows } from './sqlite-rows.ts';

export type Synchronous = 'full' | 'normal';

export interface SqliteStoreOptions {
  /** full (default): an answered call survives a power cut; normal: a process crash, not a power cut. */
  synchronous?: Synchronous;
  /** How long a transaction waits for another process's to finish; default 5 s. */
  busyTimeoutMs?: number;
  /** How often the store looks for other processes' commits; default 2 ms. */
  pollMs?: number;
}

/** What each synchronous setting survives, in the words every durability printout uses. */
export const synchronousLabels: Readonly<Record<Synchronous, string>> = {
  full: 'survives a power cut',
  normal: 'survives a process crash, not a power cut',
};

/** Events older than this go from spool_events; a store that sleeps longer misses them. */
const keepEventsMs = 60_000;
const pruneEveryMs = 5_000;

type EventRow = [number, EventColumns['kind'], string, number | null, string | null, Outcome | null, number, unknown];

interface EventColumns {
  id: number;
  kind: 'ready' | 'due' | 'settled';
  queue: string;
  due_at: number | null;
  job: string | null;
  outcome: Outcome | null;
  has_result: number;
  result: Uint8Array | null;
}

export class SqliteStore extends RowStore {
  /** Opens (or creates) the database file `path` with better-sqlite3. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    return SqliteStore.on(path, options, (timeout) => new Database(path, { timeout }));
  }

  /**
   * The store on a connection `connect` makes (better-sqlite3's, or libsql's for `libsql:`),
   * given the busy time-out in milliseconds.
   */
  static on(path: string, options: SqliteStoreOptions, connect: (busyTimeoutMs: number) => Connection): SqliteStore {
    const synchronous = options.synchronous ?? 'full';
    if (synchronous !== 'full' && synchronous !== 'normal')
      throw new ValidationError('synchronous', `must be full or normal, got "${String(synchronous)}"`);
    let db: Connection;
    try {
      db = connect(options.busyTimeoutMs ?? 5000);
      db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
      migrate(db, path);
      db.prepare('INSERT OR IGNORE INTO spool_meta (name, value) VALUES (?, ?)').run(tokenKeyName, newTokenKey());
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(`${path}: cannot open the SQLite database: ${(error as Error).message}`, { cause: error });
    }
    const capabilities: Capabilities = Object.freeze({
      durable: synchronous === 'full' ? 'power-loss' : 'process-crash',
      shared: true,
      clock: 'injected',
      maxReplicas: 0,
    });
    return new SqliteStore(capabilities, new SqliteBackend(db, options.pollMs ?? 2));
  }
}

class SqliteBackend implements RowBackend {
  readonly rows: SqliteRows;
  readonly #origin = randomBytes(8).toString('hex');
  readonly #s: {
    dataVersion: Statement;
    since: Statement;
    write: Statement;
    prune: Statement;
    begin: Statement;
    savepoint: Statement;
    release: Statement;
    commit: Statement;
  };
  #poll: NodeJS.Timeout | null = null;
  #version: number;
  #lastEvent: number;
  #prunedAt = 0;
  #closed = false;

  constructor(
    private readonly db: Connection,
    private readonly pollMs: number,
  ) {
    this.rows = new SqliteRows(db);
    this.#s = {
      dataVersion: rawStatement(db, 'PRAGMA data_version'),
      since: rawStatement(
        db,
        'SELECT id, kind, queue, due_at, job, outcome, has_result, result FROM spool_events WHERE id > ? AND origin != ? ORDER BY id',
      ),
      write: db.prepare(
        'INSERT INTO spool_events (origin, written_at, kind, queue, due_at, job, outcome, has_result, result) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      prune: db.prepare('DELETE FROM spool_events WHERE written_at < ?'),
      // Prepared once: a transaction and a savepoint a call, parsed each time, cost a tenth of a lease.
      begin: db.prepare('BEGIN IMMEDIATE'),
      savepoint: db.prepare('SAVEPOINT call'),
      release: db.prepare('RELEASE call'),
      commit: db.prepare('COMMIT'),
    };
    this.#version = scalar(this.#s.dataVersion) as number;
    this.#lastEvent = (scalar(rawStatement(db, 'SELECT max(id) FROM spool_events')) as number | null) ?? 0;
  }

  begin(): void {
    this.#s.begin.run();
  }

  atomic<T>(run: () => T): T {
    this.#s.savepoint.run();
    try {
      const result = run();
      this.#s.release.run();
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK TO call; RELEASE call');
      throw error;
    }
  }

  commit(events: readonly StoreEvent[]): Promise<void> {
    this.#write(events);
    this.#s.commit.run();
    return Promise.resolve();
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  listen(deliver: (events: readonly StoreEvent[]) => void): void {
    // Not unref'd: like a Redis store's connection, an open store keeps the process alive, so a
    // lease blocked on another process's add is still there when the add comes.
    this.#poll = setInterval(() => this.#look(deliver), this.pollMs);
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#poll !== null) clearInterval(this.#poll);
    this.db.close();
    return Promise.resolve();
  }

  /** Writes a group's events for the other processes, and drops old ones now and then. */
  #write(events: readonly StoreEvent[]): void {
    const now = Date.now();
    const write = (
      e: StoreEvent,
      due: number | null,
      job: string | null,
      outcome: string | null,
      has = 0,
      result: Buffer | null = null,
    ): void => {
      this.#s.write.run(this.#origin, now, e.kind, e.queue, due, job, outcome, has, result);
    };
    for (const e of events) {
      if (e.kind === 'ready') write(e, null, null, null);
      else if (e.kind === 'due') write(e, e.at, null, null);
      else if (e.result === undefined) write(e, null, e.id, e.outcome);
      else write(e, null, e.id, e.outcome, 1, e.result === null ? null : bytes(e.result));
    }
    if (now - this.#prunedAt > pruneEveryMs) {
      this.#prunedAt = now;
      this.#s.prune.run(now - keepEventsMs);
    }
  }

  /** Hands this process's watchers what other processes committed since the last look. */
  #look(deliver: (events: readonly StoreEvent[]) => void): void {
    if (this.db.inTransaction || this.#closed) return;
    let found: EventColumns[];
    try {
      const version = scalar(this.#s.dataVersion) as number;
      if (version === this.#version) return;
      this.#version = version;
      found = (this.#s.since.all(this.#lastEvent, this.#origin) as EventRow[]).map(
        ([id, kind, queue, dueAt, job, outcome, hasResult, result]) => ({
          id,
          kind,
          queue,
          due_at: dueAt,
          job,
          outcome,
          has_result: hasResult,
          result: blob(result),
        }),
      );
    } catch {
      // Busy: the next look tries again; a failing database says so at the next call.
      return;
    }
    if (found.length === 0) return;
    this.#lastEvent = (found.at(-1) as EventColumns).id;
    deliver(found.map(eventOf));
  }
}

function eventOf(c: EventColumns): StoreEvent {
  if (c.kind === 'ready') return { kind: 'ready', queue: c.queue };
  if (c.kind === 'due') return { kind: 'due', queue: c.queue, at: c.due_at as number };
  return {
    kind: 'settled',
    queue: c.queue,
    id: c.job as string,
    outcome: c.outcome as Outcome,
    ...(c.has_result === 1 && { result: c.result }),
  };
}

// `sqlite:./q.db`: jobs as rows of one SQLite file (BlockQueue's own backend), on better-sqlite3.
//
// WAL mode. synchronous=FULL (default) syncs the WAL at each commit: an answered call survives a
// power cut; synchronous=NORMAL syncs at checkpoints only: it survives a process crash, not a
// power cut. Calls made in one turn of the event loop share a transaction (rows/row-store.ts),
// so one sync serves many. Several processes may open one file: SQLite's locks serialise their
// transactions (a writer waits up to `busyTimeoutMs` for another), and each commit writes its
// events to spool_events, one row a commit; every store checks `PRAGMA data_version` (a read of the WAL index in
// shared memory, no table read) every `pollMs` and reads the events of other processes'
// commits, so a lease blocked in one process wakes within milliseconds of an add in another.
// A store that commits often checkpoints the WAL on a thread of its own (checkpointer.ts).
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StorageError, ValidationError } from '../../errors.ts';
import type { Capabilities, ChangeEvent, IdParams, StoreEvent } from '../contract.ts';
import { openFailed } from '../local-path.ts';
import { newTokenKey, tokenKeyName } from '../memory/token-seal.ts';
import { seqOf } from '../rows/engine.ts';
import { Busy, RowStore } from '../rows/row-store.ts';
import type { Joined, RowBackend } from '../rows/row-store.ts';
import { backstopPages, Checkpointer } from './checkpointer.ts';
import type { CheckpointerOptions } from './checkpointer.ts';
import { rawStatement, scalar } from './driver.ts';
import { insertEvents, readEvents, selectEvents, writeEvents } from './events.ts';
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

/**
 * Commits after which a store checkpoints on a thread of its own (checkpointer.ts): one that
 * commits less (a test's, a CLI command's) never starts the thread.
 */
const checkpointerAfterCommits = 100;
const checkpointEveryMs = 100;
/** SQLite's own default, which the store's connection returns to should the thread fail. */
const defaultAutocheckpointPages = 1000;

/** The longest busy time-out the drivers take: SQLite's is an int of milliseconds. */
const maxBusyTimeoutMs = 2 ** 31 - 1;

/** Events older than this go from spool_events; a store that sleeps longer misses them. */
const keepEventsMs = 60_000;
const pruneEveryMs = 5_000;

/** A package with better-sqlite3's API: its name (for the checkpoint thread) and its Database. */
export interface SqliteDriver {
  readonly name: 'better-sqlite3' | 'libsql';
  readonly Database: new (path: string, options: { timeout: number }) => unknown;
}

export class SqliteStore extends RowStore {
  readonly #backend: SqliteBackend;

  private constructor(capabilities: Capabilities, backend: SqliteBackend) {
    super(capabilities, backend);
    this.#backend = backend;
  }

  /** Opens (or creates) the database file `path` with better-sqlite3. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    return SqliteStore.on(path, options, { name: 'better-sqlite3', Database });
  }

  /**
   * The store on a connection of `driver` (better-sqlite3, or libsql for `libsql:`); the
   * checkpoint thread opens its own connection with the same package, by its name.
   */
  static on(path: string, options: SqliteStoreOptions, driver: SqliteDriver): SqliteStore {
    const synchronous = options.synchronous ?? 'full';
    if (synchronous !== 'full' && synchronous !== 'normal')
      throw new ValidationError('synchronous', `must be full or normal, got "${String(synchronous)}"`);
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    // The drivers take whole milliseconds up to 2^31 - 1; past that better-sqlite3 threw at the
    // open, which reached the user as a StorageError about the database, not the parameter.
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > maxBusyTimeoutMs)
      throw new ValidationError(
        'busyTimeout',
        `must be a whole number of milliseconds from 0 to ${maxBusyTimeoutMs} (24.8 days), got ${String(busyTimeoutMs)}`,
      );
    let db: Connection | undefined;
    let inMemory: boolean;
    try {
      db = new driver.Database(path, { timeout: busyTimeoutMs }) as Connection;
      // A database in memory (sqlite::memory:) stays in journal mode 'memory': nothing of it
      // outlives the process and no other connection reaches it, whatever the URL asked.
      inMemory = scalar(rawStatement(db, 'PRAGMA journal_mode = WAL')) === 'memory';
      db.exec(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
      migrate(db, path);
      db.prepare('INSERT OR IGNORE INTO spool_meta (name, value) VALUES (?, ?)').run(tokenKeyName, newTokenKey());
    } catch (error) {
      // Left to the garbage collector, the connection of a refused file (a newer schema, a
      // read-only directory) kept its descriptors, and a lock on the file, open until then.
      db?.close();
      if (error instanceof StorageError) throw error;
      throw openFailed(path, 'the SQLite database', 'file', error);
    }
    const capabilities: Capabilities = Object.freeze({
      durable: inMemory ? 'none' : synchronous === 'full' ? 'power-loss' : 'process-crash',
      events: inMemory ? 'process' : 'shared',
      remote: false,
      sleepers: false,
      // A commit tells other processes of a job's end only while one watches it (004-watches.sql).
      endedEvents: 'watched',
      // add and ack join the caller's own transaction on the same file (SqliteBackend.join);
      // a caller's own ':memory:' is another database.
      transactions: !inMemory,
      maxReplicas: 0,
    });
    const checkpoints: CheckpointerOptions = {
      path,
      driver: createRequire(import.meta.url).resolve(driver.name),
      busyTimeoutMs,
      everyMs: checkpointEveryMs,
    };
    const pollMs = inMemory ? null : (options.pollMs ?? 2);
    return new SqliteStore(capabilities, new SqliteBackend(db, path, pollMs, checkpoints));
  }

  /** A row of spool_watches from when this resolves until the returned function is called. */
  async watchEnd({ id }: IdParams): Promise<() => Promise<void>> {
    const seq = seqOf(id);
    const ticket = seq === null ? null : await this.inGroup(() => this.#backend.watch(seq));
    // No job by that id: the first look says so, and there is nothing to end.
    if (seq === null || ticket === null) return () => Promise.resolve();
    return () => this.inGroup(() => this.#backend.unwatch(seq, ticket));
  }
}

class SqliteBackend implements RowBackend {
  readonly rows: SqliteRows;
  readonly #origin = randomBytes(8).toString('hex');
  readonly #s: {
    dataVersion: Statement;
    since: Statement;
    handedOut: Statement;
    write: Statement;
    prune: Statement;
    anyWatch: Statement;
    endWatches: Statement;
    watch: Statement;
    unwatch: Statement;
    sweepWatches: Statement;
    begin: Statement;
    savepoint: Statement;
    release: Statement;
    commit: Statement;
  };
  get location(): string {
    return this.path;
  }

  #poll: NodeJS.Timeout | null = null;
  #version: number;
  /** PRAGMA data_version at the last group's start: the rows kept of leased jobs are right while it stays. */
  #groupVersion: number;
  #lastEvent: number;
  #prunedAt = 0;
  #closed = false;
  #commits = 0;
  #tickets = 0;
  #checkpointer: Checkpointer | null = null;

  /** The caller's transaction handles joined so far (`join`). */
  readonly #joined = new WeakMap<object, Joined>();

  constructor(
    private readonly db: Connection,
    private readonly path: string,
    /** Null for a database in memory, which no other connection writes. */
    private readonly pollMs: number | null,
    private readonly checkpoints: CheckpointerOptions,
  ) {
    this.rows = new SqliteRows(db, { keepLeased: true });
    this.#s = {
      dataVersion: rawStatement(db, 'PRAGMA data_version'),
      since: rawStatement(db, selectEvents),
      // The last event id handed out, its row pruned or not (AUTOINCREMENT's).
      handedOut: rawStatement(db, "SELECT seq FROM sqlite_sequence WHERE name = 'spool_events'"),
      write: db.prepare(insertEvents),
      prune: db.prepare('DELETE FROM spool_events WHERE written_at < ?'),
      anyWatch: rawStatement(db, 'SELECT 1 FROM spool_watches LIMIT 1'),
      endWatches: db.prepare('DELETE FROM spool_watches WHERE job = ?'),
      watch: db.prepare('INSERT INTO spool_watches (job, ticket) SELECT seq, ? FROM spool_jobs WHERE seq = ?'),
      unwatch: db.prepare('DELETE FROM spool_watches WHERE job = ? AND ticket = ?'),
      // Watches a stopped process left of jobs that are gone since (an end through a caller's
      // transaction does not delete them).
      sweepWatches: db.prepare('DELETE FROM spool_watches WHERE job NOT IN (SELECT seq FROM spool_jobs)'),
      // Prepared once: a transaction and a savepoint a call, parsed each time, cost a tenth of a lease.
      begin: db.prepare('BEGIN IMMEDIATE'),
      savepoint: db.prepare('SAVEPOINT call'),
      release: db.prepare('RELEASE call'),
      commit: db.prepare('COMMIT'),
    };
    this.#version = scalar(this.#s.dataVersion) as number;
    this.#groupVersion = this.#version;
    // The last id handed out, pruned or not (AUTOINCREMENT's): the next row is this + 1.
    this.#lastEvent = this.#handedOut();
  }

  begin(): void {
    try {
      this.#s.begin.run();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
      throw new Busy(
        `${this.path}: another connection held the database's write lock past busyTimeout ` +
          `(${this.checkpoints.busyTimeoutMs}ms); nothing of this call was done, it may be tried again`,
        { cause: error },
      );
    }
    // Read under the write lock: no other connection commits between this and the group's end.
    const version = scalar(this.#s.dataVersion) as number;
    if (version !== this.#groupVersion) this.rows.forget();
    this.#groupVersion = version;
  }

  atomic<T>(run: () => T): T {
    this.#s.savepoint.run();
    try {
      const result = run();
      this.#s.release.run();
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK TO call; RELEASE call');
      this.rows.forget();
      throw error;
    }
  }

  commit(events: readonly ChangeEvent[]): Promise<void> {
    this.#write(events);
    this.#s.commit.run();
    if (++this.#commits === checkpointerAfterCommits) this.#startCheckpointer();
    return Promise.resolve();
  }

  #startCheckpointer(): void {
    // A database that is not in WAL mode (one in memory) has no WAL to checkpoint.
    if (scalar(rawStatement(this.db, 'PRAGMA journal_mode')) !== 'wal') return;
    this.#checkpointer = new Checkpointer(this.checkpoints, () => {
      this.#checkpointer = null;
      if (!this.#closed) this.db.exec(`PRAGMA wal_autocheckpoint = ${defaultAutocheckpointPages}`);
    });
    this.db.exec(`PRAGMA wal_autocheckpoint = ${backstopPages}`);
  }

  rollback(): void {
    this.rows.forget();
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  /**
   * `tx`: the caller's own better-sqlite3 (or libsql) Database on this file, inside a
   * transaction. The call's rows and events are written through it, so they commit or roll back
   * with the caller's work; the events reach every store's watchers, this one's too, once it
   * commits (they bear another origin than this store's own).
   */
  join(tx: unknown): Joined {
    const db = tx as Partial<Connection> & { name?: unknown };
    if (typeof tx !== 'object' || tx === null || typeof db.prepare !== 'function')
      throw new ValidationError('tx', "must be a better-sqlite3 Database open on the store's file");
    if (db.inTransaction !== true)
      throw new ValidationError('tx', 'must be inside a transaction (call add or ack within db.transaction(…))');
    const known = this.#joined.get(tx);
    if (known !== undefined) return known;
    // libsql's handles name no file (''): for them the check is the caller's.
    if (typeof db.name === 'string' && db.name !== '' && resolve(db.name) !== resolve(this.path))
      throw new ValidationError('tx', `is a Database on ${db.name}, not on the store's file ${this.path}`);
    const connection = tx as Connection;
    const insert = connection.prepare(insertEvents);
    const savepoint = connection.prepare('SAVEPOINT spool');
    const release = connection.prepare('RELEASE spool');
    const origin = `${this.#origin}:tx`;
    const joined: Joined = {
      rows: new SqliteRows(connection, { keepLeased: false }),
      atomic: <T>(run: () => T): T => {
        savepoint.run();
        try {
          const result = run();
          release.run();
          return result;
        } catch (error) {
          connection.exec('ROLLBACK TO spool; RELEASE spool');
          throw error;
        }
      },
      // Every end, watched or not: such calls are few, and spool_watches is the store's to keep.
      tell: (events) => writeEvents(insert, origin, events),
    };
    this.#joined.set(tx, joined);
    return joined;
  }

  listen(deliver: (events: readonly StoreEvent[]) => void): void {
    if (this.pollMs === null) return;
    // Not unref'd: like a Redis store's connection, an open store keeps the process alive, so a
    // lease blocked on another process's add is still there when the add comes.
    this.#poll = setInterval(() => this.#look(deliver), this.pollMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll !== null) clearInterval(this.#poll);
    // The thread's connection first: the last one to close checkpoints the WAL and deletes it.
    await this.#checkpointer?.close();
    this.#deleteWal();
    this.db.close();
  }

  /**
   * Checkpoints the WAL and deletes it and its -shm file if this is the file's last connection,
   * the work better-sqlite3's close does. libsql's close leaves the connection open while a
   * statement of it lives (each holds it until the garbage collector takes the statement), and an
   * open connection keeps its WAL: both files stayed beside every closed libsql: store. Leaving
   * WAL mode does that work now; coming back to it leaves the file as it was, its WAL made again
   * only at the next read.
   */
  #deleteWal(): void {
    try {
      this.db.exec('PRAGMA journal_mode = DELETE');
      this.db.exec('PRAGMA journal_mode = WAL');
    } catch {
      // SQLITE_BUSY at once while another connection has the file open: the WAL is the last one's
      // to delete. A failed checkpoint (a full disk) leaves the WAL to the next open, as SQLite's
      // own close does without a word; a file left in rollback mode is set to WAL at the next open.
    }
  }

  /** Writes a group's events for the other processes, and drops old ones now and then. */
  #write(events: readonly ChangeEvent[]): void {
    writeEvents(this.#s.write, this.#origin, this.#told(events));
    const now = Date.now();
    if (now - this.#prunedAt > pruneEveryMs) {
      this.#prunedAt = now;
      this.#s.prune.run(now - keepEventsMs);
      this.#s.sweepWatches.run();
    }
  }

  /**
   * The events other processes hear of: the end of a job only while one of them watches it,
   * its watches deleted with the telling. Read under the group's write lock (004-watches.sql).
   */
  #told(events: readonly ChangeEvent[]): readonly ChangeEvent[] {
    if (!events.some((e) => e.kind === 'ended')) return events;
    const watched = scalar(this.#s.anyWatch) !== undefined;
    return events.filter((e) => e.kind !== 'ended' || (watched && this.#s.endWatches.run(Number(e.id)).changes > 0));
  }

  /** Watches job `seq` for this store: a ticket, or null when there is no such job. */
  watch(seq: number): string | null {
    const ticket = `${this.#origin}:${++this.#tickets}`;
    return this.#s.watch.run(ticket, seq).changes > 0 ? ticket : null;
  }

  unwatch(seq: number, ticket: string): void {
    this.#s.unwatch.run(seq, ticket);
  }

  /** Hands this process's watchers what other connections committed since the last look. */
  #look(deliver: (events: readonly StoreEvent[]) => void): void {
    if (this.db.inTransaction || this.#closed) return;
    let told: StoreEvent[];
    try {
      const version = scalar(this.#s.dataVersion) as number;
      if (version === this.#version) return;
      const found = this.#s.since.all(this.#origin, this.#lastEvent);
      const { events: changes, first, last } = readEvents(found);
      const events: StoreEvent[] = changes;
      const newest = found.length > 0 ? last : this.#handedOut();
      // Ids follow on (AUTOINCREMENT; a rolled-back row's id is handed out again): a gap is rows
      // pruned unread, older than keepEventsMs, while this process was stopped (SIGSTOP, a paused
      // container, a blocked event loop). Their events are lost: a lease asleep here slept on
      // beside waiting jobs until an add to its queue, a waitFor past its job's end.
      if (newest > this.#lastEvent && (found.length === 0 || first !== this.#lastEvent + 1))
        events.unshift({ kind: 'missed' });
      this.#version = version;
      this.#lastEvent = Math.max(this.#lastEvent, newest);
      told = events;
    } catch {
      // Busy: the next look tries again; a failing database says so at the next call.
      return;
    }
    if (told.length > 0) deliver(told);
  }

  #handedOut(): number {
    return (scalar(this.#s.handedOut) as number | undefined) ?? 0;
  }
}

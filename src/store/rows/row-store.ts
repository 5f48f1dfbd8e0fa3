// The Store of a database that keeps jobs as rows (SQLite, LevelDB): calls run on the row engine
// in groups, one database transaction and one sync a group (group commit), each call atomic on
// its own inside it. A call that changes state answers once its group is durable; a lease or an
// extension answers at once (contract.ts: losing one only hands the job out again); events go to
// watchers only once the group is committed, so nobody wakes for a change that was rolled back.
import { asError, ClosedError, StorageError } from '../../errors.ts';
import { refuseTx } from '../contract.ts';
import { Listeners } from '../listeners.ts';
import type {
  AckParams,
  AckResult,
  AddParams,
  AddResult,
  Capabilities,
  Counts,
  ExtendParams,
  ExtendResult,
  GetMetaParams,
  Health,
  IdsParams,
  JobRecord,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  HoldParams,
  ListMetaParams,
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  ConfigureParams,
  NowParams,
  QueueSettings,
  PeekParams,
  PromoteParams,
  PurgeParams,
  QueuesParams,
  RemoveParams,
  RetryDeadParams,
  SetMetaParams,
  Store,
  ChangeEvent,
  StoreEvent,
  TokensParams,
} from '../contract.ts';
import { RowEngine } from './engine.ts';
import type { Rows } from './rows.ts';

/** What a database gives the row store. */
export interface RowBackend {
  readonly rows: Rows;
  /** The file or directory, named by the store's errors. */
  readonly location: string;
  /**
   * Opens a group of calls: one transaction. A `Busy` thrown means the database is held
   * elsewhere for now: the group's calls fail with it and the next group tries again; anything
   * else fails the store.
   */
  begin(): void;
  /** Runs one call of the group: all of its writes happen or none do. */
  atomic<T>(run: () => T): T;
  /** Commits the group with its events; resolves once it is as durable as the store says. */
  commit(events: readonly ChangeEvent[]): Promise<void>;
  /** Undoes the group after a failure outside any call. */
  rollback(): void;
  /**
   * The caller's own transaction `tx` (`AddParams.tx`) joined: rows read and written through
   * it, a call run atomically in it, and its events written where every store's watchers hear
   * of them once the caller commits. Absent for a database whose callers have no transactions.
   */
  join?(tx: unknown): Joined;
  /** A database other processes share: calls `deliver` with the events of their commits. */
  listen?(deliver: (events: readonly StoreEvent[]) => void): void;
  close(): Promise<void>;
}

export interface Joined {
  readonly rows: Rows;
  atomic<T>(run: () => T): T;
  tell(events: readonly ChangeEvent[]): void;
}

/**
 * What `begin` throws when the group cannot start now, nothing of it done: another process held
 * the database past the wait (SQLite's busy time-out). Its calls fail with a StorageError saying
 * so; the store goes on.
 */
export class Busy extends Error {}

interface Call {
  readonly durable: boolean;
  readonly run: (engine: RowEngine) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class RowStore implements Store {
  readonly #engine: RowEngine;
  readonly #listeners = new Listeners();
  #pending: Call[] = [];
  #scheduled = false;
  /** The last group's commit: close waits for it. */
  #committed: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  #closed = false;
  /** The engine on each caller's transaction handle joined so far. */
  readonly #joinedEngines = new WeakMap<object, RowEngine>();

  constructor(
    readonly capabilities: Capabilities,
    private readonly backend: RowBackend,
  ) {
    this.#engine = new RowEngine(backend.rows);
    backend.listen?.((events) => this.#dispatch(events));
  }

  add(params: AddParams): Promise<AddResult> {
    if (params.tx !== undefined) return this.#joined(params.tx, (e) => e.add(params));
    return this.#run(true, (e) => e.add(params));
  }
  lease(params: LeaseParams): Promise<LeaseResult> {
    return this.#run(false, (e) => e.lease(params));
  }
  ack(params: AckParams): Promise<readonly AckResult[]> {
    if (params.tx !== undefined) return this.#joined(params.tx, (e) => e.ack(params));
    return this.#run(true, (e) => e.ack(params));
  }
  nack(params: NackParams): Promise<NackResult> {
    return this.#run(true, (e) => e.nack(params));
  }
  extend(params: ExtendParams): Promise<ExtendResult> {
    return this.#run(false, (e) => e.extend(params));
  }
  leases(params: TokensParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(false, (e) => e.leases(params));
  }
  leasesOf(params: IdsParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(false, (e) => e.leasesOf(params));
  }
  get(params: IdsParams): Promise<readonly (JobRecord | null)[]> {
    return this.#run(false, (e) => e.get(params));
  }
  peek(params: PeekParams): Promise<readonly JobRecord[]> {
    return this.#run(false, (e) => e.peek(params));
  }
  list(params: ListParams): Promise<ListResult> {
    return this.#run(false, (e) => e.list(params));
  }
  counts(params: QueuesParams): Promise<readonly Counts[]> {
    return this.#run(false, (e) => e.counts(params));
  }
  remove(params: RemoveParams): Promise<readonly string[]> {
    return this.#run(true, (e) => e.remove(params));
  }
  hold(params: HoldParams): Promise<readonly string[]> {
    return this.#run(true, (e) => e.hold(params));
  }
  retryDead(params: RetryDeadParams): Promise<number> {
    return this.#run(true, (e) => e.retryDead(params));
  }
  promote(params: PromoteParams): Promise<number> {
    return this.#run(true, (e) => e.promote(params));
  }
  purge(params: PurgeParams): Promise<number> {
    return this.#run(true, (e) => e.purge(params));
  }
  settings(params: QueuesParams): Promise<readonly QueueSettings[]> {
    return this.#run(false, (e) => e.settings(params));
  }
  configure(params: ConfigureParams): Promise<QueueSettings> {
    return this.#run(true, (e) => e.configure(params));
  }
  queues(_params: NowParams): Promise<readonly string[]> {
    return this.#run(false, (e) => e.queues());
  }
  getMeta(params: GetMetaParams): Promise<readonly (string | null)[]> {
    return this.#run(false, (e) => e.getMeta(params));
  }
  setMeta(params: SetMetaParams): Promise<void> {
    return this.#run(true, (e) => e.setMeta(params));
  }
  listMeta(params: ListMetaParams): Promise<readonly string[]> {
    return this.#run(false, (e) => e.listMeta(params));
  }

  /** Every answered call is as durable as the store gets once answered: this waits for the calls in flight. */
  async sync(): Promise<void> {
    if (this.#closed) throw new ClosedError('store');
    await this.#run(false, () => undefined);
    await this.#committed;
  }

  health(): Promise<Health> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'closed' });
    return Promise.resolve(this.#failure === null ? { ok: true } : { ok: false, reason: this.#failure.message });
  }

  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return Promise.resolve(this.#listeners.add(listener));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#pending.length > 0 || this.#scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.#committed.catch(() => {});
    await this.backend.close();
  }

  /** Runs `run` in the next group, as a call of its own: answered once the group is committed. */
  protected inGroup<T>(run: () => T): Promise<T> {
    return this.#run(true, () => run());
  }

  /**
   * A database's failure as a StorageError naming the file: SQLite's own messages ('database disk
   * image is malformed', 'database or disk is full') name none, and a server may hold several.
   */
  #storageError(what: string, error: unknown): StorageError {
    return new StorageError(`${this.backend.location}: ${what}: ${(error as Error).message}`, { cause: error });
  }

  #dispatch(events: readonly StoreEvent[]): void {
    this.#listeners.emitAll(events);
  }

  /**
   * A call inside the caller's transaction: run now, before this returns, since the caller's
   * transaction may end as soon as its own code does (better-sqlite3's are synchronous). It is
   * as durable as the caller's commit; watchers hear of it after that commit.
   */
  #joined<T>(tx: unknown, run: (engine: RowEngine) => T): Promise<T> {
    try {
      if (this.#closed) throw new ClosedError('store');
      if (this.#failure !== null) throw this.#failure;
      // As declared: an SQLite database in memory has a join, but no caller's handle reaches it.
      if (!this.capabilities.transactions || this.backend.join === undefined) {
        refuseTx({ tx });
        throw new Error('unreachable: refuseTx refuses any tx');
      }
      const joined = this.backend.join(tx);
      const engine = this.#joinedEngines.get(tx as object) ?? new RowEngine(joined.rows);
      this.#joinedEngines.set(tx as object, engine);
      const done = joined.atomic(() => engine.call(run));
      joined.tell(done.events);
      return Promise.resolve(done.result);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  #run<T>(durable: boolean, run: (engine: RowEngine) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('store'));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ durable, run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Calls sent in the same turn of the event loop share a transaction and its sync.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const calls = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    if (this.#failure !== null) {
      for (const call of calls) call.reject(this.#failure);
      return;
    }
    const events: ChangeEvent[] = [];
    const answers: (() => void)[] = [];
    try {
      this.backend.begin();
    } catch (error) {
      let failure: StorageError;
      // Another process's transaction outlasted the wait: a failure of these calls, not of the store.
      if (error instanceof Busy) failure = new StorageError(error.message, { cause: error.cause });
      else
        failure = this.#failure =
          error instanceof StorageError ? error : this.#storageError('cannot start a transaction', error);
      for (const call of calls) call.reject(failure);
      return;
    }
    for (const call of calls) {
      try {
        const done = this.backend.atomic(() => this.#engine.call(call.run));
        events.push(...done.events);
        if (call.durable) answers.push(() => call.resolve(done.result));
        else call.resolve(done.result);
      } catch (error) {
        call.reject(error instanceof StorageError ? error : this.#storageError('a call failed', error));
      }
    }
    let commit: Promise<void>;
    try {
      commit = this.backend.commit(events);
    } catch (error) {
      commit = Promise.reject(asError(error));
    }
    this.#committed = commit.then(
      () => {
        for (const answer of answers) answer();
        this.#dispatch(events);
      },
      (error: unknown) => {
        // A failed commit may have left anything on disk: nothing more is answered as durable
        // until a reopen looks again (the file store's fsyncgate rule).
        this.#failure = this.#storageError('a commit failed; reopen the store', error);
        try {
          this.backend.rollback();
        } catch {
          // The transaction is gone with the failure.
        }
        for (const call of calls) if (call.durable) call.reject(this.#failure);
      },
    );
  }
}

// `postgres://…`: the Store contract on PostgreSQL. Every call is one statement (sql/*.sql) in
// its own transaction, or in the caller's (`tx`): a lease is one UPDATE over rows picked FOR
// UPDATE SKIP LOCKED in lease order, the acks of a tick one UPDATE over `id = ANY($1)`, an add
// batch one INSERT from arrays. Due work is applied lazily by the calls that look at a queue:
// a delay ends by itself (waiting and delayed are one stored state, told apart by
// `available_at`), ended leases and TTLs are applied by settle.sql when a lease finds some.
// Events go to this process's watchers once the statement answered, and to other processes by
// NOTIFY at commit (events.ts).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { ClientConfig, Pool, PoolClient, QueryResultRow } from 'pg';
import { ClosedError, SpoolError, StorageError, ValidationError } from '../../errors.ts';
import { defaultQueueSettings, formatToken, parseToken } from '../contract.ts';
import { Listeners } from '../listeners.ts';
import type {
  AckParams,
  AckResult,
  AddParams,
  AddResult,
  Capabilities,
  ConfigureParams,
  Counts,
  ExtendParams,
  ExtendResult,
  GetMetaParams,
  HoldParams,
  Health,
  IdParams,
  IdsParams,
  JobRecord,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  ListMetaParams,
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  NowParams,
  PeekParams,
  PromoteParams,
  PurgeParams,
  QueueSettings,
  QueuesParams,
  RemoveParams,
  RetryDeadParams,
  SetMetaParams,
  Store,
  StoreEvent,
  TokensParams,
} from '../contract.ts';
import { newTokenKey, TokenSealer, tokenKeyName } from '../memory/token-seal.ts';
import { StatementLine } from './statement-line.ts';
import { numberArray, packed, textArray } from './arrays.ts';
import { decodeEvents, Listener } from './events.ts';
import { LeaseLine } from './lease-line.ts';
import type { TakeResult } from './lease-line.ts';
import { migrate } from './migrate.ts';
import { encodeSettings } from '../memory/settings-doc.ts';
import { decodeSettings, jobRecord } from './records.ts';
import type { JobRow } from './records.ts';
import { loadStatements } from './statements.ts';
import type { StatementName } from './statements.ts';

export interface PostgresStoreOptions {
  /** The schema of spool's tables; default 'spool'. Created and migrated at open. */
  readonly schema?: string;
  /** A pool of the caller's own; the store leaves it open at close. */
  readonly pool?: Pool;
  /** What to connect to when no pool is given: a `postgres://` connection string. */
  readonly connectionString?: string;
  /** Connections of the store's own pool; default 10. */
  readonly max?: number;
  /** PostgreSQL's statement_timeout for the store's own connections, in ms; none by default. */
  readonly statementTimeoutMs?: number;
}

/** Anything with pg's `query`: a Pool, a PoolClient or a Client. */
interface Queryable {
  query<R extends QueryResultRow>(config: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: R[] }>;
}

/** How long a call waits for a connection of the pool before it fails (PostgreSQL down or busy). */
const connectTimeoutMs = 5000;

/** Jobs a store acks or fails between two vacuums of the jobs table. */
const vacuumEvery = 20_000;

/**
 * Jobs a store adds before it analyzes a jobs table that has no statistics (analyze.sql); after
 * that it analyzes again each time it has added as many jobs as the table held at the last one,
 * so a growing table is analyzed at each doubling and the cost stays a constant per job.
 */
const analyzeFloor = 1_000;

/** How long a lease that passed over locked jobs waits before it asks again, and how many times. */
const lockedPauseMs = 10;
const lockedTries = 5;

/** How often acks prune completed jobs past their retention, at most. */
const pruneEveryMs = 250;

/**
 * How long a lease that found nothing sleeps at most before it looks again. As long as the default
 * visibility (contract.ts), so a lease of default length ends after its queue's sleepers wake and
 * sends no due event (005-wake-horizon.sql); it is also the longest a wake-up lost with a dropped
 * notification can keep a job waiting.
 */
const wakeHorizonMs = defaultQueueSettings.visibilityMs;

/**
 * The schema's token key, stored first if it has none. Two processes opening a new schema at once
 * both insert one: the second's insert waits for the first's commit and then does nothing, and its
 * statement's snapshot, taken before that commit, does not see the row either, so it answers none;
 * the statement run again sees it.
 */
async function storedTokenKey(client: PoolClient, metaInit: string): Promise<string> {
  for (let tries = 0; tries < 3; tries++) {
    const stored = await client.query<{ value: string }>({ text: metaInit, values: [tokenKeyName, newTokenKey()] });
    const row = stored.rows[0];
    if (row !== undefined) return row.value;
  }
  throw new StorageError('the token key was stored and removed again while this store opened');
}

export class PostgresStore implements Store {
  readonly capabilities: Capabilities = Object.freeze({
    // synchronous_commit decides the rest; spool asks for nothing weaker than the server's setting.
    durable: 'power-loss',
    events: 'shared',
    remote: true,
    sleepers: false,
    endedEvents: 'watched',
    transactions: true,
    maxReplicas: 0,
  });
  readonly #pool: Pool;
  readonly #ownPool: boolean;
  readonly #schema: string;
  readonly #sql: Record<StatementName, string>;
  readonly #channel: string;
  readonly #origin = randomBytes(8).toString('hex');
  readonly #listeners = new Listeners();
  readonly #listener: Listener;
  readonly #sealer: TokenSealer;
  /** Queues this store has put in the queue list (know.sql). */
  readonly #known = new Set<string>();
  /** Queues whose last lease here found fewer jobs than it asked for. */
  readonly #drained = new Set<string>();
  #closed = false;
  /** The last call's connection failure, until a call succeeds again. */
  #down: string | null = null;

  private constructor(pool: Pool, ownPool: boolean, schema: string, sealer: TokenSealer, config: ClientConfig) {
    this.#pool = pool;
    this.#ownPool = ownPool;
    this.#schema = schema;
    this.#sql = loadStatements(schema);
    this.#channel = `spool:${schema}`;
    this.#sealer = sealer;
    this.#listener = new Listener(
      config,
      this.#channel,
      this.#origin,
      (events) => this.#dispatch(events),
      // Listening again after the connection was down: what was notified meanwhile is lost.
      () => this.#dispatch([{ kind: 'missed' }]),
    );
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'spool';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,49}$/.test(schema))
      throw new ValidationError(
        'schema',
        `must be 1-50 letters, digits or '_', not starting with a digit, got "${schema}"`,
      );
    let pool = options.pool;
    const ownPool = pool === undefined;
    if (pool === undefined) {
      if (options.connectionString === undefined)
        throw new ValidationError('connectionString', 'give a connection string or a pool');
      pool = new pg.Pool({
        connectionString: options.connectionString,
        max: options.max ?? 10,
        connectionTimeoutMillis: connectTimeoutMs,
        ...(options.statementTimeoutMs !== undefined && { statement_timeout: options.statementTimeoutMs }),
        // Each statement is prepared once per connection and run with a plan for any values: left
        // to choose, the server planned an ack or an add again at every call, as its plan for the
        // values at hand costs less than a plan for any (an array of 1 id, not of 10), and
        // planning them took about 0.4 ms of server time, more than running them (issue 15).
        // JIT off: on a deep table a plan's estimated cost passes jit_above_cost and an add spent
        // ~50 ms compiling a statement that runs in ~15.
        options: '-c plan_cache_mode=force_generic_plan -c jit=off',
      });
      // An idle connection that dies (a restart, pg_terminate_backend) must not take the process down.
      pool.on('error', () => {});
    }
    const config = (pool as unknown as { options: ClientConfig }).options;
    try {
      const client = await pool.connect();
      let key: string;
      try {
        await migrate(client, schema);
        key = await storedTokenKey(client, loadStatements(schema)['meta-init']);
      } finally {
        client.release();
      }
      const store = new PostgresStore(pool, ownPool, schema, new TokenSealer(key), config);
      await store.#countRows();
      await store.#listener.start();
      return store;
    } catch (error) {
      if (ownPool) await pool.end().catch(() => {});
      throw storageError(error, 'cannot open the PostgreSQL store');
    }
  }

  /** The schema the store's tables are in. */
  get schema(): string {
    return this.#schema;
  }

  /**
   * This store's adds in flight, by queue, in the order they were called (the order the add line
   * commits them in): each settles when its add has, and brings `jobs` jobs of the queue. A lease
   * sent after one runs after it (`#take`).
   */
  readonly #adding = new Map<string, Set<AddInFlight>>();

  /**
   * Adds outside a transaction, merged while one is in flight: single adds that come one by one
   * would each wait for a commit of their own and fall behind. A merged statement that meets a
   * full queue adds nothing, so its calls are then sent one by one, each answering for itself.
   */
  readonly #adds = new StatementLine<AddParams, AddResult>(async (calls) => {
    if (calls.length === 1) return [await this.#add(calls[0] as AddParams)];
    const merged = await this.#add({ now: Math.max(...calls.map((c) => c.now)), jobs: calls.flatMap((c) => c.jobs) });
    if (!merged.ok) {
      // In the order they came, so the first calls are the ones that fit.
      const alone: AddResult[] = [];
      for (const call of calls) alone.push(await this.#add(call));
      return alone;
    }
    let at = 0;
    return calls.map((c) => {
      const from = at;
      at += c.jobs.length;
      return { ok: true, ids: merged.ids.slice(from, at), created: merged.created.slice(from, at) };
    });
  });

  add(params: AddParams): Promise<AddResult> {
    if (params.tx !== undefined) return this.#add(params);
    const done = this.#adds.call(params);
    const settled = done.catch(() => undefined);
    const perQueue = new Map<string, number>();
    for (const job of params.jobs) perQueue.set(job.queue, (perQueue.get(job.queue) ?? 0) + 1);
    for (const [queue, jobs] of perQueue) {
      let set = this.#adding.get(queue);
      if (set === undefined) this.#adding.set(queue, (set = new Set()));
      const entry = { settled, jobs };
      set.add(entry);
      void settled.then(() => {
        set.delete(entry);
        if (set.size === 0 && this.#adding.get(queue) === set) this.#adding.delete(queue);
      });
    }
    return done;
  }

  async #add(params: AddParams): Promise<AddResult> {
    const { now, jobs } = params;
    if (jobs.length === 0) return { ok: true, ids: [], created: [] };
    const tx = this.#tx(params.tx);
    const fresh = [...new Set(jobs.map((j) => j.queue))].filter((q) => !this.#known.has(q));
    if (fresh.length > 0) await this.#query('know', [fresh], tx);
    const payloads = packed(jobs.map((j) => j.payload));
    const [row] = await this.#query<{
      fresh_id: string | null;
      fresh_n: string[] | null;
      inserted: string[] | null;
      existing_n: string[] | null;
      existing_id: string[] | null;
      full_queue: string | null;
      max_length: string | null;
      events: unknown;
    }>(
      'add',
      [
        textArray(jobs.map((j) => j.queue)),
        payloads.bytes,
        payloads.starts,
        payloads.lengths,
        numberArray(jobs.map((j) => j.priority)),
        numberArray(jobs.map((j) => j.maxAttempts)),
        numberArray(jobs.map((j) => j.availableAt)),
        numberArray(jobs.map((j) => j.expiresAt)),
        numberArray(jobs.map((j) => j.visibilityMs)),
        textArray(jobs.map((j) => j.backoff.kind)),
        numberArray(jobs.map((j) => j.backoff.delayMs)),
        numberArray(jobs.map((j) => j.backoff.maxDelayMs)),
        numberArray(jobs.map((j) => j.backoff.jitter)),
        textArray(jobs.map((j) => j.key)),
        now,
        this.#channel,
        this.#originOf(tx),
      ],
      tx,
    );
    // Known once the add committed: a rolled-back transaction may have taken the queue row with it.
    if (tx === null) for (const q of fresh) this.#known.add(q);
    if (row === undefined) throw new StorageError('the add statement answered no row');
    if (row.full_queue !== null) return { ok: false, fullQueue: row.full_queue, maxLength: Number(row.max_length) };
    const newIds = row.fresh_id === null ? [] : row.fresh_id.split(',');
    // Every job new and in, the common case: the ids are the batch's in order.
    const { ids, created } =
      row.fresh_n === null && row.inserted === null
        ? { ids: newIds, created: newIds.map(() => true) }
        : await this.#matched(jobs, row, newIds, tx);
    if (tx === null) this.#dispatch(decodeEvents(row.events));
    this.#added(newIds.length);
    return { ok: true, ids, created };
  }

  /** Each job's id when some jobs met a stored key or a key inserted meanwhile, and whether it is new. */
  async #matched(
    jobs: AddParams['jobs'],
    row: {
      fresh_n: string[] | null;
      inserted: string[] | null;
      existing_n: string[] | null;
      existing_id: string[] | null;
    },
    newIds: readonly string[],
    tx: Queryable | null,
  ): Promise<{ ids: string[]; created: boolean[] }> {
    const freshIds = byJob(row.fresh_n, newIds);
    const existing = byJob(row.existing_n, row.existing_id ?? []);
    const inserted = new Set(row.inserted ?? newIds);
    const ids: string[] = [];
    const created: boolean[] = [];
    const byKey = new Map<string, string>();
    for (const [i, job] of jobs.entries()) {
      const both = job.key === null ? null : `${job.queue}\0${job.key}`;
      const newId = freshIds.get(i + 1);
      if (newId !== undefined && inserted.has(newId)) {
        ids.push(newId);
        created.push(true);
        if (both !== null) byKey.set(both, newId);
        continue;
      }
      const id =
        existing.get(i + 1) ??
        (both === null ? undefined : byKey.get(both)) ??
        (await this.#byKey(job.queue, job.key, tx));
      ids.push(id);
      created.push(false);
    }
    return { ids, created };
  }

  /** The job holding `key` in `queue`: one another call inserted while this add's statement ran. */
  async #byKey(queue: string, key: string | null, tx: Queryable | null): Promise<string> {
    const rows = await this.#query<{ id: string }>('job-by-key', [queue, key], tx);
    const id = rows[0]?.id;
    if (id === undefined)
      throw new StorageError(`the job holding key ${String(key)} in ${queue} vanished during the add`);
    return id;
  }

  readonly #leases = new LeaseLine(
    (params) => this.#take(params),
    async (queues, now) =>
      (await this.#query<{ next_at: number | null }>('told', [queues, now, wakeHorizonMs]))[0]?.next_at ?? null,
  );

  lease(params: LeaseParams): Promise<LeaseResult> {
    if (this.#closed) return Promise.reject(new ClosedError('store'));
    return this.#leases.lease(params);
  }

  /**
   * A lease over the queues left to right; a caller that gets nothing is told by LeaseLine.
   * Leasable jobs held locked by another statement (lease.sql's `skipped`) are asked for again
   * after a moment when the lease found nothing: the statement holding them may change nothing and
   * send no event, and the lease would sleep to the wake horizon (30 s) with the job waiting.
   * Asked again only once every queue was looked at: a pause for each such queue held up the
   * jobs of the queues after it, and every lease in line behind. Real time, not the Spool's clock:
   * the wait is for a lock, which no clock of the caller's moves.
   */
  async #take(params: LeaseParams): Promise<TakeResult> {
    for (let tries = 0; ; tries++) {
      const { skipped, ...taken } = await this.#takeOnce(params);
      if (!skipped) return { ...taken, lockedUntil: null };
      // Still held after those tries (a long transaction), or passed over beside jobs taken:
      // looked at again soon, not at the horizon.
      if (taken.jobs.length > 0 || tries === lockedTries)
        return { ...taken, lockedUntil: params.now + lockedPauseMs * lockedTries };
      await sleep(lockedPauseMs);
    }
  }

  /** One look at each queue; `skipped` when one held leasable jobs locked and gave none. */
  async #takeOnce({
    now,
    queues,
    max,
    visibilityMs,
  }: LeaseParams): Promise<LeaseResult & { covered: boolean; skipped: boolean }> {
    const jobs: LeasedRecord[] = [];
    let nextAt: number | null = null;
    let covered = true;
    let skipped = false;
    for (const queue of queues) {
      if (jobs.length >= max) {
        // Not looked at: whoever sleeps on it is not known to be covered.
        covered = false;
        break;
      }
      const adding = this.#adding.get(queue);
      // The queue was empty at this store's last lease: a lease now would find only what this
      // store's adds on their way bring, once they commit. Asked before, an idle worker woken by
      // its own process's add leased twice per job (issue 15).
      const waited = adding !== undefined && this.#drained.has(queue);
      const limit = max - jobs.length;
      if (waited) await firstAdds(adding, limit);
      let answer = await this.#leaseFrom(queue, now, limit, visibilityMs);
      if (answer.due) {
        await this.#settle([queue], now);
        answer = await this.#leaseFrom(queue, now, limit, visibilityMs);
      }
      // A lease sent after an add of this store sees its jobs, as on a store that runs calls in
      // order: short of jobs, it waits for the adds that were on their way and asks once more,
      // before the leases behind it in the line (LeaseLine).
      if (!waited && adding !== undefined && answer.jobs.length < limit) {
        await firstAdds(adding, limit - answer.jobs.length);
        const more = await this.#leaseFrom(queue, now, limit - answer.jobs.length, visibilityMs);
        answer = { ...more, jobs: [...answer.jobs, ...more.jobs] };
      }
      // A full lease whose snapshot held no other job drained the queue as well.
      if (answer.jobs.length < limit || !answer.more) this.#drained.add(queue);
      else this.#drained.delete(queue);
      jobs.push(...answer.jobs);
      // Until it is past, wake_by is when every lease sleeping on the queue has woken (told() in
      // 005-wake-horizon.sql), and every write that makes a job leasable sooner sends a due event:
      // a sleeper that wakes by then at the latest misses nothing, and the store need not be told.
      // 'Infinity', told by an older spool, is told again, to get the horizon.
      const wakeBy = answer.wakeBy;
      const told = wakeBy !== null && wakeBy > now && wakeBy < Infinity;
      const by = told ? Math.min(answer.nextAt ?? Infinity, wakeBy) : answer.nextAt;
      if (answer.skipped && answer.jobs.length === 0) skipped = true;
      if (!told) covered = false;
      if (by !== null && (nextAt === null || by < nextAt)) nextAt = by;
    }
    return { jobs, nextAt, covered, skipped };
  }

  async #leaseFrom(
    queue: string,
    now: number,
    limit: number,
    visibilityMs: number | null,
  ): Promise<{
    due: boolean;
    jobs: LeasedRecord[];
    nextAt: number | null;
    more: boolean;
    skipped: boolean;
    wakeBy: number | null;
  }> {
    const rows = await this.#query<
      JobRow & {
        due: boolean;
        next_at: number | null;
        more: boolean | null;
        skipped: boolean | null;
        wake_by: number | null;
        events: unknown;
      }
    >('lease', [queue, now, limit, visibilityMs, this.#channel, this.#origin]);
    const head = rows[0];
    if (head === undefined) return { due: false, jobs: [], nextAt: null, more: false, skipped: false, wakeBy: null };
    this.#dispatch(decodeEvents(head.events));
    const jobs = head.id === null ? [] : rows.map((row) => this.#leased(row, now));
    return {
      due: head.due,
      jobs,
      nextAt: head.next_at,
      more: head.more === true,
      skipped: head.skipped === true,
      wakeBy: head.wake_by,
    };
  }

  async #settle(queues: readonly string[], now: number): Promise<void> {
    const rows = await this.#query<{ events: unknown }>('settle', [queues, now, this.#channel, this.#origin]);
    this.#dispatch(decodeEvents(rows[0]?.events));
  }

  /** Settles the queues and drops the completed jobs past their retention: before a call reads them. */
  async #current(queues: readonly string[], now: number): Promise<void> {
    if (queues.length === 0) return;
    await this.#settle(queues, now);
    await this.#query('prune', [queues, now]);
  }

  readonly #acks = new StatementLine<AckParams, readonly AckResult[]>(
    async (calls) => {
      const scope = (calls[0] as AckParams).scope;
      const results = await this.#ack({
        now: Math.max(...calls.map((c) => c.now)),
        items: calls.flatMap((c) => c.items),
        ...(scope !== undefined && { scope }),
      });
      let at = 0;
      return calls.map((c) => results.slice(at, (at += c.items.length)));
    },
    (params) => params.scope,
  );

  ack(params: AckParams): Promise<readonly AckResult[]> {
    if (params.tx !== undefined) return this.#ack(params);
    if (this.#closed) return Promise.reject(new ClosedError('store'));
    return this.#acks.call(params);
  }

  async #ack(params: AckParams): Promise<readonly AckResult[]> {
    const { now, items, scope } = params;
    const tx = this.#tx(params.tx);
    const ids: string[] = [];
    const attempts: number[] = [];
    const results: (Uint8Array | null)[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      const parts = this.#token(item.token);
      if (parts === null || seen.has(parts.id)) continue;
      seen.add(parts.id);
      ids.push(parts.id);
      attempts.push(parts.attempt);
      results.push(item.result);
    }
    const done = new Map<string, string>();
    if (ids.length > 0) {
      const rows = await this.#query<{ id: string; queue: string; events: unknown }>(
        'ack',
        [
          ids,
          attempts,
          results,
          now,
          scope === undefined ? null : scope.queues,
          scope === undefined ? null : scope.prefixes,
          this.#channel,
          this.#originOf(tx),
          tx !== null,
        ],
        tx,
      );
      for (const row of rows) done.set(row.id, row.queue);
      if (tx === null) this.#dispatch(decodeEvents(rows[0]?.events));
      // Retention keeps the newest; the prune follows the ack, and reads prune before they look.
      if (rows.length > 0 && tx === null) this.#prune(new Set(rows.map((r) => r.queue)), now, rows.length);
    }
    const answered = new Set<string>();
    return items.map(({ token }) => {
      const id = this.#token(token)?.id;
      if (id === undefined || answered.has(id)) return null;
      answered.add(id);
      return done.get(id) ?? null;
    });
  }

  /**
   * Prunes after acks, at most one statement every `pruneEveryMs` per store: the prune reads a
   * queue's completed jobs, which cost more than the acks; reads prune before they look, so what
   * they see is exact.
   */
  #pruning: NodeJS.Timeout | null = null;
  #toPrune = new Set<string>();
  #pruneNow = 0;
  /** Jobs this store acked or failed since it last vacuumed the jobs table. */
  #endedSinceVacuum = 0;
  #prune(queues: Set<string>, now: number, ended = 0): void {
    this.#endedSinceVacuum += ended;
    for (const q of queues) this.#toPrune.add(q);
    this.#pruneNow = Math.max(this.#pruneNow, now);
    if (this.#pruning !== null) return;
    this.#pruning = setTimeout(() => {
      const batch = [...this.#toPrune];
      this.#toPrune = new Set();
      const done = (): void => {
        this.#pruning = null;
        if (this.#toPrune.size > 0 && !this.#closed) this.#prune(new Set(), this.#pruneNow);
        if (this.#endedSinceVacuum >= vacuumEvery && !this.#closed) void this.#upkeep('vacuum');
      };
      if (this.#closed) return;
      this.#query('prune', [batch, this.#pruneNow]).then(done, done);
    }, pruneEveryMs);
    this.#pruning.unref();
  }

  /** Jobs this store added since the jobs table was last analyzed, and the table's rows then. */
  #addedSinceAnalyze = 0;
  #rowsAtAnalyze = 0;
  #added(jobs: number): void {
    this.#addedSinceAnalyze += jobs;
    if (this.#addedSinceAnalyze >= Math.max(analyzeFloor, this.#rowsAtAnalyze) && !this.#closed)
      void this.#upkeep('analyze');
  }

  /** Reads the jobs table's rows as its last vacuum or analyze counted them (none: 0). */
  async #countRows(client: PoolClient | null = null): Promise<void> {
    const [row] = await this.#query<{ rows: number }>('table-rows', [], client);
    this.#rowsAtAnalyze = Math.max(0, row?.rows ?? 0);
  }

  /**
   * Vacuums or analyzes the jobs table, unless another process is at it. Vacuum: each job leaves
   * about three dead row versions (its lease, its ack, its prune), and a table nobody vacuums
   * grows with the jobs done (a soak of 600,000 jobs on a server without autovacuum: 300 MB and
   * growing); the watches a process left when it stopped go first (sweep-watches.sql). Analyze:
   * see analyze.sql. A failure is left to the next turn: this is upkeep, no caller waits for it.
   */
  async #upkeep(job: 'vacuum' | 'analyze'): Promise<void> {
    if (job === 'vacuum') this.#endedSinceVacuum = 0;
    else this.#addedSinceAnalyze = 0;
    const key = `${this.#schema}.${job}`;
    let client: PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      const [lock] = await this.#query<{ locked: boolean }>('upkeep-lock', [key], client);
      if (lock?.locked !== true) return;
      try {
        if (job === 'vacuum') await this.#query('sweep-watches', [], client);
        await this.#query(job, [], client);
        if (job === 'analyze') await this.#countRows(client);
      } finally {
        await this.#query('upkeep-unlock', [key], client);
      }
    } catch {
      // The next turn tries again.
    } finally {
      client?.release();
    }
  }

  async nack({ now, token, delayMs, error, kind }: NackParams): Promise<NackResult> {
    const parts = this.#token(token);
    if (parts === null) return { outcome: 'lost' };
    const rows = await this.#query<{ state: string; queue: string; events: unknown }>('nack', [
      parts.id,
      parts.attempt,
      now,
      delayMs,
      error,
      kind,
      this.#channel,
      this.#origin,
    ]);
    const row = rows[0];
    if (row === undefined) return { outcome: 'lost' };
    this.#dispatch(decodeEvents(row.events));
    if (row.state !== 'dead') return { outcome: 'retry' };
    // Dead jobs past the queue's keepDead go as completed ones past keepCompleted do.
    this.#prune(new Set([row.queue]), now, 1);
    return { outcome: 'dead' };
  }

  async extend({ now, token, ms }: ExtendParams): Promise<ExtendResult> {
    const parts = this.#token(token);
    if (parts === null) return { outcome: 'lost' };
    const rows = await this.#query<{ until: number; events: unknown }>('extend', [
      parts.id,
      parts.attempt,
      now,
      ms,
      this.#channel,
      this.#origin,
    ]);
    const row = rows[0];
    if (row === undefined) return { outcome: 'lost' };
    this.#dispatch(decodeEvents(row.events));
    return { outcome: 'ok', leaseUntil: row.until };
  }

  async leases({ now, tokens }: TokensParams): Promise<readonly (LeasedRecord | null)[]> {
    const parts = tokens.map((token) => this.#token(token));
    const rows = await this.#rows(
      parts.flatMap((p) => (p === null ? [] : [p.id])),
      now,
    );
    return parts.map((p) => {
      const row = p === null ? undefined : rows.get(p.id);
      if (row === undefined || p === null || row.attempts !== p.attempt) return null;
      return this.#currentLease(row, now);
    });
  }

  async leasesOf({ now, ids }: IdsParams): Promise<readonly (LeasedRecord | null)[]> {
    const rows = await this.#rows(ids.filter(isId), now);
    return ids.map((id) => {
      const row = rows.get(id);
      return row === undefined ? null : this.#currentLease(row, now);
    });
  }

  /** watch.sql: an ack of job `id` tells every process from here on; unwatch.sql ends it. */
  async watchEnd({ id }: IdParams): Promise<() => Promise<void>> {
    const rows = isId(id) ? await this.#query<{ ticket: string }>('watch', [id]) : [];
    const ticket = rows[0]?.ticket;
    // No job by that id: the first look says so, and there is nothing to end.
    if (ticket === undefined) return () => Promise.resolve();
    return async () => {
      await this.#query('unwatch', [ticket]);
    };
  }

  async get({ now, ids }: IdsParams): Promise<readonly (JobRecord | null)[]> {
    const rows = await this.#rows(ids.filter(isId), now);
    return ids.map((id) => {
      const row = rows.get(id);
      return row === undefined ? null : jobRecord(row, now);
    });
  }

  /** The rows of jobs by id, their queues settled and pruned at `now` first. */
  async #rows(ids: readonly string[], now: number): Promise<Map<string, JobRow>> {
    if (ids.length === 0) return new Map();
    const queues = await this.#query<{ queue: string }>('job-queues', [ids]);
    await this.#current(
      queues.map((r) => r.queue),
      now,
    );
    const rows = await this.#query<JobRow>('jobs', [ids]);
    return new Map(rows.map((row) => [row.id, row]));
  }

  async peek({ now, queue, limit }: PeekParams): Promise<readonly JobRecord[]> {
    await this.#current([queue], now);
    const rows = await this.#query<JobRow>('list-waiting', [queue, now, 0, limit]);
    return rows.map((row) => jobRecord(row, now));
  }

  async list({ now, queue, state, cursor, limit }: ListParams): Promise<ListResult> {
    await this.#current([queue], now);
    const from = cursor === null ? 0 : Number(cursor);
    const page = [from, limit + 1];
    const rows =
      state === 'waiting'
        ? await this.#query<JobRow>('list-waiting', [queue, now, ...page])
        : state === 'delayed'
          ? await this.#query<JobRow>('list-delayed', [queue, now, ...page])
          : state === 'active'
            ? await this.#query<JobRow>('list-active', [queue, now, ...page])
            : await this.#query<JobRow>('list-finished', [queue, state, ...page]);
    return {
      jobs: rows.slice(0, limit).map((row) => jobRecord(row, now)),
      cursor: rows.length > limit ? String(from + limit) : null,
    };
  }

  async counts({ now, queues }: QueuesParams): Promise<readonly Counts[]> {
    await this.#current(queues, now);
    const rows = await this.#query<Counts & { expired: string }>('counts', [queues, now]);
    return rows.map((r) => ({
      waiting: r.waiting,
      delayed: r.delayed,
      active: r.active,
      dead: r.dead,
      completed: r.completed,
      expired: Number(r.expired),
      paused: r.paused,
    }));
  }

  async remove({ now, ids, states }: RemoveParams): Promise<readonly string[]> {
    const valid = ids.filter(isId);
    if (valid.length === 0) return [];
    const queues = await this.#query<{ queue: string }>('job-queues', [valid]);
    await this.#current(
      queues.map((r) => r.queue),
      now,
    );
    const rows = await this.#query<{ id: string; events: unknown }>('remove', [
      valid,
      now,
      states,
      this.#channel,
      this.#origin,
    ]);
    this.#dispatch(decodeEvents(rows[0]?.events));
    const gone = new Set(rows.map((r) => r.id));
    return ids.filter((id) => gone.has(id));
  }

  retryDead({ now, queue, ids }: RetryDeadParams): Promise<number> {
    return this.#requeue(now, queue, 'dead', ids);
  }

  promote({ now, queue, ids }: PromoteParams): Promise<number> {
    return this.#requeue(now, queue, 'delayed', ids);
  }

  /** The jobs `ids` of `queue`, or all, that are in `state` back to waiting now (requeue.sql). */
  async #requeue(
    now: number,
    queue: string,
    state: 'dead' | 'delayed',
    ids: readonly string[] | null,
  ): Promise<number> {
    await this.#current([queue], now);
    const rows = await this.#query<{ n: number; events: unknown }>('requeue', [
      queue,
      now,
      ids === null ? null : ids.filter(isId),
      this.#channel,
      this.#origin,
      state,
    ]);
    this.#dispatch(decodeEvents(rows[0]?.events));
    return rows[0]?.n ?? 0;
  }

  async hold({ now, ids }: HoldParams): Promise<readonly string[]> {
    const wanted = [...new Set(ids.filter(isId))];
    if (wanted.length === 0) return [];
    // A lease that ended or a TTL that passed is applied first: such a job is not waiting.
    const queues = (await this.#query<{ queue: string }>('job-queues', [wanted])).map((r) => r.queue);
    await this.#settle([...new Set(queues)], now);
    const held = new Set((await this.#query<{ id: string }>('hold', [wanted, now])).map((r) => r.id));
    return wanted.filter((id) => held.has(id));
  }

  async purge({ now, queue }: PurgeParams): Promise<number> {
    await this.#current([queue], now);
    const rows = await this.#query<{ n: number; events: unknown }>('purge', [queue, this.#channel, this.#origin]);
    this.#dispatch(decodeEvents(rows[0]?.events));
    return rows[0]?.n ?? 0;
  }

  async settings({ queues }: QueuesParams): Promise<readonly QueueSettings[]> {
    const rows = await this.#query<{ settings: unknown }>('settings', [queues]);
    return rows.map((r) => decodeSettings(r.settings));
  }

  async configure({ now, queue, changes }: ConfigureParams): Promise<QueueSettings> {
    await this.#settle([queue], now);
    const client = await this.#connect();
    let events: unknown;
    let settings: QueueSettings;
    try {
      await client.query('BEGIN');
      const [stored] = await this.#query<{ settings: unknown; paused: boolean }>('settings-lock', [queue], client);
      const before = decodeSettings(stored?.settings);
      settings = Object.freeze({ ...before, ...changes });
      const resumed = before.paused && changes.paused === false;
      const [written] = await this.#query<{ events: unknown }>(
        'configure',
        [
          queue,
          encodeSettings(settings),
          settings.paused,
          settings.maxLength,
          settings.keepCompleted.count,
          settings.keepCompleted.ageMs,
          this.#channel,
          this.#origin,
          resumed,
          settings.keepDead.count,
          settings.keepDead.ageMs,
        ],
        client,
      );
      events = written?.events;
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw storageError(error, 'configure failed');
    } finally {
      client.release();
    }
    this.#known.add(queue);
    // A shorter retention applies now, not at the next ack.
    await this.#query('prune', [[queue], now]);
    this.#dispatch(decodeEvents(events));
    return settings;
  }

  async queues(_params: NowParams): Promise<readonly string[]> {
    const rows = await this.#query<{ name: string }>('queues', []);
    return rows.map((r) => r.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async getMeta({ names }: GetMetaParams): Promise<readonly (string | null)[]> {
    const rows = await this.#query<{ name: string; value: string }>('meta-get', [names]);
    const found = new Map(rows.map((r) => [r.name, r.value]));
    return names.map((name) => found.get(name) ?? null);
  }

  async setMeta({ entries }: SetMetaParams): Promise<void> {
    const names = Object.keys(entries);
    if (names.length === 0) return;
    await this.#query('meta-set', [names, names.map((n) => entries[n] ?? null)]);
  }

  async listMeta({ prefix }: ListMetaParams): Promise<readonly string[]> {
    const rows = await this.#query<{ name: string }>('meta-list', [prefix]);
    return rows
      .map((r) => r.name)
      .filter((name) => name !== tokenKeyName)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every answered call has committed (synchronous_commit decides how durably). */
  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('store'));
    return Promise.resolve();
  }

  health(): Promise<Health> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'closed' });
    const reason = this.#down ?? this.#listener.down;
    return Promise.resolve(reason === null ? { ok: true } : { ok: false, reason });
  }

  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return Promise.resolve(this.#listeners.add(listener));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pruning !== null) clearTimeout(this.#pruning);
    await this.#listener.close();
    if (this.#ownPool) await this.#pool.end();
  }

  #dispatch(events: readonly StoreEvent[]): void {
    this.#listeners.emitAll(events);
  }

  /** The caller's client inside its transaction, checked; null for none. */
  #tx(tx: unknown): Queryable | null {
    if (tx === undefined) return null;
    if (typeof tx !== 'object' || tx === null || typeof (tx as { query?: unknown }).query !== 'function')
      throw new ValidationError('tx', 'must be a pg Client or PoolClient inside a transaction (after BEGIN)');
    if (tx instanceof pg.Pool)
      throw new ValidationError('tx', 'must be one client inside a transaction, not a Pool (pool.connect() gives one)');
    return tx as Queryable;
  }

  /** A call in the caller's transaction is heard by this store too, at its commit, through LISTEN. */
  #originOf(tx: Queryable | null): string {
    return tx === null ? this.#origin : `${this.#origin}:tx`;
  }

  /** The job id and attempt of a token this store sealed, or null. */
  #token(token: string): { id: string; attempt: number } | null {
    const parsed = parseToken(token);
    if (parsed === null || parsed.seal === null || !isId(parsed.id)) return null;
    if (!this.#sealer.matches(Number(parsed.id), parsed.attempt, parsed.seal)) return null;
    return { id: parsed.id, attempt: parsed.attempt };
  }

  #leased(row: JobRow, now: number): LeasedRecord {
    const token = formatToken(row.id, row.attempts, this.#sealer.seal(Number(row.id), row.attempts));
    return { ...jobRecord(row, now), token } as LeasedRecord;
  }

  #currentLease(row: JobRow, now: number): LeasedRecord | null {
    if (row.state !== 'active' || (row.until as number) <= now) return null;
    if (row.expires_at !== null && row.expires_at <= now) return null;
    return this.#leased(row, now);
  }

  async #connect(): Promise<PoolClient> {
    if (this.#closed) throw new ClosedError('store');
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw this.#failed(error);
    }
  }

  async #query<R extends QueryResultRow>(
    name: StatementName,
    values: unknown[],
    on: Queryable | null = null,
  ): Promise<R[]> {
    if (this.#closed) throw new ClosedError('store');
    try {
      const target: Queryable = on ?? this.#pool;
      const result = await target.query<R>({
        name: `spool:${this.#schema}:${name}`,
        text: this.#sql[name],
        values,
      });
      if (on === null) this.#down = null;
      return result.rows;
    } catch (error) {
      throw this.#failed(error);
    }
  }

  #failed(error: unknown): Error {
    if (error instanceof SpoolError) return error;
    const e = error as { code?: string; message?: string };
    // A SQLSTATE is the server's answer to the statement; anything else is the connection's.
    if (e.code === undefined || !/^[0-9A-Z]{5}$/.test(e.code) || /^(08|57P)/.test(e.code))
      this.#down = e.message ?? String(error);
    return storageError(error, 'a PostgreSQL call failed');
  }
}

/** One add of this store on its way, as a lease on one of its queues sees it (`#adding`). */
interface AddInFlight {
  /** Settles once the add has (committed or failed). */
  readonly settled: Promise<unknown>;
  /** The jobs it brings to the queue. */
  readonly jobs: number;
}

/**
 * Waits for the first of a queue's adds in flight (`#adding`, in call order) that bring `jobs`
 * jobs between them, or for all of them when they bring fewer: a lease for one job waits for
 * the add being committed, not for the adds queued behind it (issue 15: with commits slowed by
 * a busy disk, waiting for all made an idle c=1 worker's lease wait two commits, not one).
 */
function firstAdds(adding: Iterable<AddInFlight>, jobs: number): Promise<unknown> {
  const first: Promise<unknown>[] = [];
  let brought = 0;
  for (const add of adding) {
    first.push(add.settled);
    brought += add.jobs;
    if (brought >= jobs) break;
  }
  return Promise.all(first);
}

/** Each id by the job it went to: `n[i]` (1-based) for `id[i]`, or `i + 1` when `n` is null. */
function byJob(n: readonly string[] | null, id: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  id.forEach((each, i) => out.set(n === null ? i + 1 : Number(n[i]), each));
  return out;
}

function isId(id: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(id) && Number.isSafeInteger(Number(id));
}

function storageError(error: unknown, what: string): Error {
  if (error instanceof SpoolError) return error;
  const e = error as { code?: string; message?: string };
  const code = e.code === undefined ? '' : ` (${e.code})`;
  return new StorageError(`${what}: ${e.message ?? String(error)}${code}`, { cause: error });
}

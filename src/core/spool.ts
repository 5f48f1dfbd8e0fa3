import {
  checkId,
  checkIds,
  checkKeys,
  checkToken,
  ClosedError,
  LeaseLostError,
  positiveInteger,
  QueueFullError,
  ValidationError,
} from '../errors.ts';
import type {
  AddParams,
  AddResult,
  Capabilities,
  Counts,
  Health,
  NewJob,
  QueueScope,
  QueueSettings,
  SleeperExtension,
  Store,
  TokenParts,
} from '../store/contract.ts';
import { systemClock } from './clock.ts';
import type { Clock } from './clock.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';
import { AuditLog } from './audit-log.ts';
import { beatKind, Heartbeat, postBeat, workerProcesses } from './heartbeat.ts';
import type { ProcessBeat, WorkerProcess } from './heartbeat.ts';
import { ChangeHub } from './hub.ts';
import { jsonCodec } from './codec.ts';
import { jobInfo } from './job-info.ts';
import type { JobInfo } from './job-info.ts';
import { lease, leaseRequest } from './lease.ts';
import type { LeaseOptions } from './lease.ts';
import { LeasedJob } from './leased-job.ts';
import { Observers } from './observers.ts';
import type { SpoolObserver } from './observers.ts';
import { checkQueueName, queueConfig } from './options.ts';
import type { QueueConfig, QueueOptions } from './options.ts';
import { Announcement, present, storeBoard } from './presence.ts';
import type { Presence } from './presence.ts';
import { Queue } from './queue.ts';
import type { AdoptedWorker, Runtime } from './runtime.ts';
import { TickBatch } from './tick-batch.ts';
import { listTopics, Topic } from './topic.ts';

/** A queue as `spool.queues()` lists it. */
export interface QueueInfo {
  readonly name: string;
  readonly counts: Counts;
  readonly settings: QueueSettings;
}

/**
 * How long a Spool trusts the stored settings it read: a change made in another process is seen
 * within this time (by the Spool's clock).
 */
export const settingsMaxAgeMs = 1000;

export interface SpoolOptions {
  /** Where time comes from; tests pass a ManualClock. */
  clock?: Clock;
  /** In [0, 1); used for back-off jitter. */
  random?: () => number;
  /** Largest encoded payload an add accepts; default 1 MiB. */
  maxPayloadBytes?: number;
}

interface SettingsEntry {
  readonly at: number;
  readonly settings: Promise<QueueSettings>;
  value: QueueSettings | null;
}

/** What an ack by tokens did: how many leases it completed, and the tokens it could not. */
export interface AckAnswer {
  readonly acked: number;
  readonly lost: string[];
}

/** A connection to one store: makes queue handles, leases across queues, closes everything it made. */
export class Spool implements AsyncDisposable {
  readonly #runtime: Runtime;
  readonly #configs = new Map<string, QueueConfig>();
  readonly #workers = new Set<AdoptedWorker>();
  /** Announcements not withdrawn yet: withdrawn at close. */
  readonly #announcements = new Set<Announcement>();
  readonly #store: Store;
  readonly #hub: ChangeHub;
  readonly #observers: Observers;
  /** Who changed what and when: the servers' admin actions (the dashboard's among them). */
  readonly audit: AuditLog;
  #unwatch: (() => Promise<void>) | null = null;
  #closed: Promise<void> | null = null;

  private constructor(store: Store, options: SpoolOptions) {
    const o = checkKeys(options, ['clock', 'random', 'maxPayloadBytes'], 'options');
    const clock = (o.clock as Clock | undefined) ?? systemClock;
    this.#store = store;
    const sleepers = sleeperExtension(store);
    this.#hub = new ChangeHub(clock, (queue, count) => {
      sleepers?.wake({ now: clock.now(), queue, count }).catch(() => {});
    });
    const configs = this.#configs;
    /** Stored settings by queue, as read or written at `at`; `value` once the answer is in. */
    const settings = new Map<string, SettingsEntry>();
    const remember = (queue: string, at: number, answer: Promise<QueueSettings>): Promise<QueueSettings> => {
      const entry: SettingsEntry = { at, settings: answer, value: null };
      settings.set(queue, entry);
      // A failed read is not kept: the next call asks the store again.
      answer.then(
        (value) => (entry.value = value),
        () => settings.get(queue) === entry && settings.delete(queue),
      );
      return answer;
    };
    /**
     * Configures of a queue on their way, and whether two of them overlapped: the store may write
     * overlapping changes in another order than they were asked (PostgreSQL, on two connections),
     * so the answer of the last one asked, the one remembered, may lack the other's change.
     */
    const configuring = new Map<string, { pending: number; overlapped: boolean }>();
    const fresh = (queue: string, now: number): SettingsEntry | undefined => {
      const hit = settings.get(queue);
      return hit !== undefined && now - hit.at < settingsMaxAgeMs ? hit : undefined;
    };
    const defaults = new Map<string, QueueConfig>();
    const hub = this.#hub;
    const observers = (this.#observers = new Observers(clock));
    this.audit = new AuditLog(store, clock);
    const add = (params: AddParams): Promise<AddResult> => {
      // An add in the caller's transaction wakes nobody here: its jobs are not there until the
      // caller commits, and the store's own notification after the commit wakes the leases.
      if (params.tx !== undefined) {
        const result = store.add(params);
        observers.added(params.jobs, result);
        return result;
      }
      const result = sleepers === null ? store.add(params) : sleepers.add({ ...params, origin: hub.id });
      observers.added(params.jobs, result);
      hub.sent(jobsPerQueue(params.jobs), result);
      return result;
    };
    this.#runtime = {
      store,
      sleepers,
      watchEnd: endWatch(store),
      clock,
      random: (o.random as (() => number) | undefined) ?? Math.random,
      hub: this.#hub,
      observers,
      add,
      acks: new TickBatch((items) => store.ack({ now: clock.now(), items })),
      adds: new TickBatch(async (jobs) => {
        const result = await add({ now: clock.now(), jobs });
        // Only queues without a length limit join these batches: a limit set in another process
        // in the last second can still refuse one, whole.
        if (!result.ok) throw new QueueFullError(result.fullQueue, result.maxLength);
        return result.ids;
      }),
      maxPayloadBytes:
        o.maxPayloadBytes === undefined ? 1 << 20 : positiveInteger(o.maxPayloadBytes, 'options.maxPayloadBytes'),
      config(queue) {
        let config = configs.get(queue) ?? defaults.get(queue);
        if (config === undefined) defaults.set(queue, (config = queueConfig(queue, undefined)));
        return config;
      },
      heartbeat: new Heartbeat(clock, storeBoard(store, clock, beatKind, hub.id)),
      settings(queue) {
        const now = clock.now();
        const hit = fresh(queue, now);
        if (hit !== undefined) return hit.settings;
        return remember(
          queue,
          now,
          store.settings({ now, queues: [queue] }).then(([s]) => s as QueueSettings),
        );
      },
      knownSettings: (queue) => fresh(queue, clock.now())?.value ?? null,
      configure(queue, changes) {
        const now = clock.now();
        const flight = configuring.get(queue) ?? { pending: 0, overlapped: false };
        flight.overlapped ||= flight.pending > 0;
        flight.pending++;
        configuring.set(queue, flight);
        const answer = remember(queue, now, store.configure({ now, queue, changes }));
        const landed = (): void => {
          if (--flight.pending > 0) return;
          configuring.delete(queue);
          // Which of them the store wrote last is not known here: the next read asks the store.
          if (flight.overlapped) settings.delete(queue);
        };
        answer.then(landed, landed);
        return answer;
      },
      assertOpen: () => {
        if (this.#closed !== null) throw new ClosedError();
      },
      adopt: (worker) => {
        this.#workers.add(worker);
      },
    };
  }

  /** A Spool on `store`, watching it for changes. Most code calls `open(url)` instead. */
  static async create(store: Store, options: SpoolOptions = {}): Promise<Spool> {
    const spool = new Spool(store, options);
    spool.#unwatch = await (spool.#runtime.sleepers ?? store).watch(spool.#hub.onEvent);
    return spool;
  }

  get capabilities(): Capabilities {
    return this.#store.capabilities;
  }

  /**
   * Where this Spool reads time: a server times its answers (a lease's time left, a TTL) by it,
   * so that they agree with the store's and follow a ManualClock in tests.
   */
  get clock(): Clock {
    return this.#runtime.clock;
  }

  /** Largest encoded payload an add accepts, in bytes: a server refuses a bigger body before reading it. */
  get maxPayloadBytes(): number {
    return this.#runtime.maxPayloadBytes;
  }

  /**
   * A handle on queue `name`. The options that are queue settings (`StoredQueueOptions`:
   * maxLength, maxAttempts, backoff, visibility, ttl, keepCompleted) are written to the store,
   * for every process; a handle made without options uses what is stored. The others (delay,
   * priority, replicate, a back-off function, the codec) are this handle's own.
   */
  queue<T = unknown, R = unknown>(name: string, options?: QueueOptions<T>): Queue<T, R> {
    this.#runtime.assertOpen();
    // Without options the queue's config is cached: a server makes a handle per request.
    if (options === undefined) return new Queue<T, R>(this.#runtime, this.#runtime.config(name));
    const config = queueConfig(name, options);
    this.#configs.set(name, config);
    if (Object.keys(config.stored).length === 0) return new Queue<T, R>(this.#runtime, config);
    // The options are written to the store, for every process; the handle's calls wait for it,
    // and a failed write is theirs to report.
    const written = this.#runtime.configure(name, config.stored);
    written.catch(() => {});
    return new Queue<T, R>(this.#runtime, config, written);
  }

  /**
   * Every queue the store knows (each that had an add or stored settings), sorted, with its
   * counts and stored settings: read from the store's list of queues, never a scan of jobs.
   */
  async queues(): Promise<QueueInfo[]> {
    this.#runtime.assertOpen();
    const now = this.#runtime.clock.now();
    const names = await this.#store.queues({ now });
    if (names.length === 0) return [];
    const [counts, settings] = await Promise.all([
      this.#store.counts({ now, queues: names }),
      this.#store.settings({ now, queues: names }),
    ]);
    return names.map((name, i) => ({
      name,
      counts: counts[i] as Counts,
      settings: settings[i] as QueueSettings,
    }));
  }

  /** A handle on topic `name`: its subscribers are queues, a publish adds to each of them at once. */
  topic<T = unknown>(name: string): Topic<T> {
    this.#runtime.assertOpen();
    return new Topic<T>(this.#runtime, name);
  }

  /** Names of every topic, sorted. */
  async topics(): Promise<string[]> {
    this.#runtime.assertOpen();
    return listTopics(this.#runtime);
  }

  /**
   * The job with this id in whichever queue holds it, or null when the store has none — for a
   * caller that kept only the id (Disque's ACKJOB and SHOW name a job by id alone).
   */
  async job<T = unknown>(id: string): Promise<JobInfo<T> | null> {
    this.#runtime.assertOpen();
    const [record] = await this.#store.get({ now: this.#runtime.clock.now(), ids: [checkId(id, 'id')] });
    return record === null || record === undefined
      ? null
      : jobInfo<T>(record, this.#runtime.config(record.queue).codec);
  }

  /**
   * The lease a token stands for, as a LeasedJob to ack, nack, extend or release — for a
   * consumer that kept only the token (a server's client, another process). LeaseLostError
   * when the token's lease is over.
   */
  async leased<T = unknown>(token: string): Promise<LeasedJob<T>> {
    this.#runtime.assertOpen();
    checkToken(token, 'token');
    const [record] = await this.#store.leases({ now: this.#runtime.clock.now(), tokens: [token] });
    if (record === null || record === undefined) throw new LeaseLostError(token);
    return new LeasedJob<T>(record, this.#runtime);
  }

  /**
   * The current lease of the job `id`, or null when it is not leased now: for a trusted server
   * that settles by id as its protocol does (the Disque server's ACKJOB, NACK, WORKING) after
   * checking the caller's rights. A consumer holds its lease's token instead (`leased`).
   */
  async currentLease<T = unknown>(id: string): Promise<LeasedJob<T> | null> {
    this.#runtime.assertOpen();
    const [record] = await this.#store.leasesOf({ now: this.#runtime.clock.now(), ids: [checkId(id, 'id')] });
    return record === null || record === undefined ? null : new LeasedJob<T>(record, this.#runtime);
  }

  /**
   * Takes the waiting jobs among `ids` out of line without handing them out (Disque's DEQUEUE):
   * each is leasable again once its visibility has passed, as if a lease had run out, but with
   * no attempt counted. Answers the ids it held; a job in any other state, or unknown, is left be.
   */
  async hold(ids: readonly string[]): Promise<string[]> {
    this.#runtime.assertOpen();
    if (checkIds(ids, 'ids').length === 0) return [];
    return [...(await this.#store.hold({ now: this.#runtime.clock.now(), ids }))];
  }

  /**
   * Every process running workers on this store, from their heartbeats: one that stopped
   * beating without closing its workers shows as `gone` until its document is swept.
   */
  async workers(): Promise<WorkerProcess[]> {
    this.#runtime.assertOpen();
    return workerProcesses(this.#store, this.#runtime.clock.now());
  }

  /**
   * Posts one heartbeat of process `id`, whose workers reach the store through this process
   * (spool/client's, through a server): `workers()` shows it as it shows a local one, gone when
   * it is not posted again within three beats (15 s). `null` withdraws it.
   */
  async postBeat(id: string, beat: ProcessBeat | null): Promise<void> {
    this.#runtime.assertOpen();
    if (typeof id !== 'string' || id === '' || id.length > 200)
      throw new ValidationError('id', 'must be a string of 1 to 200 characters');
    // Readers (the dashboard's overview) open each beat's queues: a name no queue can have
    // would fail them for every caller while the beat lasts.
    beat?.workers.forEach((worker, i) => checkQueueName(worker.queue, `beat.workers[${i}].queue`));
    await postBeat(this.#store, this.#runtime.clock.now(), id, beat);
  }

  /**
   * Acks the leases these tokens hold, all in one store call: for a consumer that kept only
   * tokens (a script, a server's batch ack). `results[i]`, when there and not undefined, is
   * the result of the job of `tokens[i]`, as a job's own ack takes it. A token whose lease is
   * over, or whose job is in a queue outside `within`, changes nothing and is named in `lost`;
   * the store checks `within` in the same atomic step as the ack. Without `within` the call is
   * shared with this tick's other acks (the workers', other clients'), as a job's own ack is.
   */
  async ack(
    tokens: readonly string[],
    options: { within?: QueueScope; results?: readonly unknown[] } = {},
  ): Promise<AckAnswer> {
    this.#runtime.assertOpen();
    checkKeys(options, ['within', 'results'], 'options');
    const { within, results } = options;
    const leases = tokens.map((token, i) => checkToken(token, 'tokens', i));
    if (results !== undefined && (!Array.isArray(results) || results.length !== tokens.length))
      throw new ValidationError('options.results', `must be an array of one result per token (${tokens.length})`);
    if (tokens.length === 0) return { acked: 0, lost: [] };
    const items = tokens.map((token, i) => {
      const result: unknown = results?.[i];
      return { token, result: result === undefined ? null : jsonCodec.encode(result) };
    });
    const queues = await (within === undefined
      ? this.#runtime.acks.pushAll(items)
      : this.#store.ack({ now: this.#runtime.clock.now(), items, scope: within }));
    const lost: string[] = [];
    const lostLeases: TokenParts[] = [];
    queues.forEach((queue, i) => {
      const lease = leases[i] as TokenParts;
      if (queue !== null) this.#observers.settled(queue, lease.id, 'completed');
      else {
        lost.push(tokens[i] as string);
        lostLeases.push(lease);
      }
    });
    if (lostLeases.length > 0 && this.#observers.any) await this.#reportLost(lostLeases);
    return { acked: tokens.length - lost.length, lost };
  }

  /**
   * Counts the leases an ack by tokens found gone as `LeasedJob.ack` counts its own, under their
   * jobs' queues: a store names no queue for a lost token, so the jobs are read (only then, and
   * only for observers). A lease still held (a token outside `within`) is not lost; a job gone
   * since has no queue left to count it under. Counting is best effort: a failed read leaves
   * the ack's answer as it is.
   */
  async #reportLost(leases: readonly TokenParts[]): Promise<void> {
    const now = this.#runtime.clock.now();
    const records = await this.#store.get({ now, ids: leases.map((lease) => lease.id) }).catch(() => []);
    records.forEach((record, i) => {
      const held = record?.state === 'active' && record.attempts === leases[i]?.attempt;
      if (record !== null && record !== undefined && !held) this.#observers.leaseLost(record.queue);
    });
  }

  /**
   * Calls `observer` for every add, lease and settle made through this Spool, until the
   * returned function is called. Metrics are built on it (`spool/server`'s /metrics).
   */
  observe(observer: SpoolObserver): () => void {
    return this.#observers.add(observer);
  }

  /**
   * Announces this process as `id` of `kind` to every process sharing the store, renewed until
   * the returned function withdraws it (or the process dies, and it goes stale): how the
   * Disque server's nodes find each other.
   */
  async announce(kind: string, id: string, info: unknown): Promise<() => Promise<void>> {
    this.#runtime.assertOpen();
    const { clock } = this.#runtime;
    const announcement = new Announcement(clock, storeBoard(this.#store, clock, kind, id), () => info);
    try {
      await announcement.start();
    } catch (error) {
      await announcement.stop().catch(() => {});
      throw error;
    }
    this.#announcements.add(announcement);
    return async () => {
      this.#announcements.delete(announcement);
      await announcement.stop();
    };
  }

  /** The live announcements of `kind` (see `announce`), sorted by id; gone ones are deleted on the way. */
  present<T = unknown>(kind: string): Promise<Presence<T>[]> {
    this.#runtime.assertOpen();
    return present<T>(this.#store, this.#runtime.clock.now(), kind);
  }

  /**
   * Leases jobs from `queues`, left to right. With `wait` it blocks until a job arrives or the
   * time runs out; `{ max: 1, wait }` is dque's DequeueBlock. Resolves with [] when none came.
   */
  async lease<T = unknown>(options: LeaseOptions): Promise<LeasedJob<T>[]> {
    this.#runtime.assertOpen();
    return lease<T>(this.#runtime, leaseRequest(options));
  }

  /**
   * Makes everything answered so far durable now: with a file store in `interval` or `none`
   * durability, this is dque's TurboSync. A no-op on stores that sync every call.
   */
  async sync(): Promise<void> {
    this.#runtime.assertOpen();
    await this.#store.sync();
  }

  /** Whether the store can take calls now: not after a failed write, nor while its server is unreachable. */
  health(): Promise<Health> {
    if (this.#closed !== null) return Promise.resolve({ ok: false, reason: 'closed' });
    return this.#store.health();
  }

  /**
   * Closes workers (gracefully), wakes blocked leases, then closes the store. With `timeout`,
   * handlers still running after it are aborted and their jobs handed back, as
   * `worker.close({ timeout })` does, so a handler that never returns cannot hold the close. The
   * first call's time-out is the one that counts: later calls answer when that close is done.
   */
  async close(options: { timeout?: Duration } = {}): Promise<void> {
    const o = checkKeys(options, ['timeout'], 'close');
    const timeout = o.timeout === undefined ? undefined : parseDuration(o.timeout, 'close.timeout');
    this.#closed ??= this.#shutdown(timeout);
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(timeout: number | undefined): Promise<void> {
    // Workers finish first: their running handlers still need the store to ack.
    const workers = [...this.#workers];
    this.#hub.wakeAll();
    await Promise.allSettled(workers.map((w) => w.close(timeout === undefined ? {} : { timeout })));
    await Promise.allSettled([...this.#announcements].map((a) => a.stop()));
    await this.#unwatch?.();
    await this.#store.close();
  }
}

/** The store's sleepers as its capabilities declare them; a store that declares them and has none is refused. */
function sleeperExtension(store: Store): SleeperExtension | null {
  if (!store.capabilities.sleepers) return null;
  if (store.sleepers === undefined)
    throw new ValidationError('store', 'declares capabilities.sleepers but has no sleepers extension');
  return store.sleepers;
}

/** The store's watchEnd as its capabilities declare it; a store that declares it and has none is refused. */
function endWatch(store: Store): Runtime['watchEnd'] {
  if (store.capabilities.endedEvents === 'every') return null;
  if (store.watchEnd === undefined)
    throw new ValidationError('store', "declares capabilities.endedEvents 'watched' but has no watchEnd");
  return store.watchEnd.bind(store);
}

/** How many of `jobs` go to each queue; counted by runs, as a bulk add's jobs mostly share one. */
function jobsPerQueue(jobs: readonly NewJob[]): Map<string, number> {
  const counts = new Map<string, number>();
  let queue = '';
  let run = 0;
  for (const job of jobs) {
    if (job.queue === queue) {
      run++;
      continue;
    }
    if (run > 0) counts.set(queue, (counts.get(queue) ?? 0) + run);
    queue = job.queue;
    run = 1;
  }
  if (run > 0) counts.set(queue, (counts.get(queue) ?? 0) + run);
  return counts;
}

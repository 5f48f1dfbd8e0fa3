import {
  asError,
  checkId,
  checkIds,
  checkKeys,
  NotFoundError,
  positiveInteger,
  QueueFullError,
  ValidationError,
} from '../errors.ts';
import { checkCursor } from '../store/contract.ts';
import type { Counts, JobState, NewJob, QueueSettings } from '../store/contract.ts';
import { consume } from './consume.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';
import { jobInfo } from './job-info.ts';
import type { JobInfo } from './job-info.ts';
import { lease, leaseRequest, maxLeaseBatch } from './lease.ts';
import type { LeaseOptions } from './lease.ts';
import type { LeasedJob } from './leased-job.ts';
import { jobDefaults, jobSettings, newJob, settingsChanges, txOption, wholeNumber } from './options.ts';
import type { JobOptions, JobSettings, QueueConfig, StoredQueueOptions } from './options.ts';
import type { Runtime } from './runtime.ts';
import { waitFor } from './wait-for.ts';
import { Worker, workerSettings } from './worker.ts';
import type { Handler, JobSource, ProcessOptions } from './worker.ts';

export interface BulkItem<T> {
  data: T;
  options?: JobOptions;
}

/** A worker's jobs from this Spool's store: `queue`'s leases, its observers around handlers, its heartbeat. */
function spoolSource<T, R>(runtime: Runtime, queue: string, visibilityMs: number | null): JobSource<LeasedJob<T, R>> {
  const queues = [queue];
  return {
    clock: runtime.clock,
    // A remote store (capabilities.remote) is a round trip a lease.
    lanes: runtime.store.capabilities.remote ? 2 : 1,
    lease(max, signal) {
      // The acks of the handlers that just ended go first: a store may carry them with the lease (Redis: one script).
      runtime.acks.flush();
      // Woken by an add, a due time (hub.ts) or close, never by a poll.
      return lease<T, R>(runtime, { queues, max, visibilityMs, waitMs: Infinity, signal });
    },
    // A store's failure may pass (an outage ends); a closed spool is a ClosedError.
    refuses: () => false,
    // The store's word that it may have lost events, which it says once it is back after an outage.
    onBack: (fn) => runtime.hub.onMissed(fn),
    handle: (job, run) => runtime.observers.handle(job, run),
    attach: (worker) => runtime.heartbeat.register(worker),
    detach: (worker) => runtime.heartbeat.unregister(worker),
  };
}

export interface ConsumeOptions {
  /** Jobs fetched per lease call; those not yet handed out are released when the loop ends. Default 1. */
  prefetch?: number;
  visibility?: Duration;
  /** Ends the loop. */
  signal?: AbortSignal;
}

export interface Page<T> {
  readonly jobs: readonly JobInfo<T>[];
  /** Pass to get the next page; null at the end. */
  readonly cursor: string | null;
}

export interface PageOptions {
  limit?: number;
  cursor?: string | null;
}

const bulkItemKeys = ['data', 'options'];

/** Dead jobs removeDead reads and removes with each pair of store calls. */
const removeDeadPage = 1000;

/** `item` of an addBulk checked as `checkKeys` would, without its array of keys for each job. */
function bulkItem(item: unknown, i: number): { data?: unknown; options?: unknown } {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    return checkKeys(item, bulkItemKeys, `items[${i}]`);
  for (const key in item) {
    if (key !== 'data' && key !== 'options' && Object.hasOwn(item, key)) checkKeys(item, bulkItemKeys, `items[${i}]`);
  }
  return item;
}

/** A handle on one queue. Cheap: the queue itself lives in the store. */
export class Queue<T = unknown, R = unknown> {
  readonly name: string;
  /** The write of this handle's options to the store's settings; null for a handle made without. */
  readonly #written: Promise<unknown> | null;
  /** Whether `#written` has succeeded: from then on the calls need not wait for it. */
  #isWritten: boolean;
  /** The job defaults last made from the stored settings, and those settings. */
  #defaults: { readonly from: QueueSettings; readonly job: JobSettings } | null = null;
  /** `written`: the write of the handle's options to the store (Spool.queue), which every call waits for. */
  constructor(
    private readonly runtime: Runtime,
    private readonly config: QueueConfig,
    written: Promise<unknown> | null = null,
  ) {
    this.name = config.name;
    this.#written = written;
    this.#isWritten = written === null;
    written?.then(
      () => (this.#isWritten = true),
      () => {},
    );
  }

  /**
   * Adds one job; resolves with its id once the store has it (with an idempotency key: the first
   * job's id). Its defaults are the queue's stored settings (`settings`) and this handle's own.
   */
  add(data: T, options?: JobOptions): Promise<string> {
    // Not async: an add that joins the tick's batch hands back the batch's own promise, without
    // an async function's promise around it and the turns that takes to settle. Errors are still
    // rejections, never thrown.
    try {
      const stored = this.#knownSettings();
      return stored === null
        ? this.settings().then((read) => this.#addOne(read, data, options))
        : this.#addOne(stored, data, options);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /** `add` over the queue's stored settings; throws at once what it refuses. */
  #addOne(stored: QueueSettings, data: T, options: JobOptions | undefined): Promise<string> {
    const settings = jobSettings(this.#jobDefaults(stored), options);
    const job = this.#newJob(this.config.codec.encode(data), settings);
    const tx = options?.tx;
    // A single add joins the tick's batch unless it must wait for replicas, or belongs to the
    // caller's transaction; with a maxLength the store might refuse the batch (QueueFullError
    // for every add in it), so only queues without one join.
    if (settings.replicate === 1 && tx === undefined && stored.maxLength === null) {
      this.runtime.assertOpen();
      return this.runtime.adds.push(job);
    }
    return this.#add([job], settings.replicate, tx).then(([id]) => id as string);
  }

  /** Adds many jobs in one atomic call: all of them or, on error, none. `tx`: see JobOptions.tx. */
  async addBulk(items: readonly BulkItem<T>[], options: { tx?: unknown } = {}): Promise<string[]> {
    if (!Array.isArray(items)) throw new ValidationError('items', 'must be an array');
    const tx = txOption(options, 'options');
    const defaults = this.#jobDefaults(this.#knownSettings() ?? (await this.settings()));
    let replicate = 1;
    // One time for the whole call, as the store gets: a bulk's jobs with the same delay become
    // available together, and the clock is read once, not per job.
    const now = this.runtime.clock.now();
    // Made at the first item without options: the queue's delay may be too long for its ttl
    // where every item gives its own.
    let plain: JobSettings | undefined;
    // An indexed loop that makes no string for a field name an error cannot need: a bulk add
    // spends ~1 µs a job in all, and `items[${i}]` for every job showed (issue 16).
    const values = new Array<T>(items.length);
    const settings = new Array<JobSettings>(items.length);
    for (let i = 0; i < items.length; i++) {
      const { data, options } = bulkItem(items[i], i);
      const own =
        options === undefined
          ? (plain ??= jobSettings(defaults, undefined, `items[${i}].options`))
          : jobSettings(defaults, options, `items[${i}].options`);
      if (own.replicate > replicate) replicate = own.replicate;
      values[i] = data as T;
      settings[i] = own;
    }
    const { codec } = this.config;
    const payloads = codec.encodeAll?.(values) ?? values.map((value) => codec.encode(value));
    if (payloads.length !== values.length)
      throw new ValidationError(
        'options.codec',
        `encodeAll gave ${payloads.length} payloads for ${values.length} values`,
      );
    const jobs = new Array<NewJob>(items.length);
    for (let i = 0; i < items.length; i++)
      jobs[i] = this.#newJob(payloads[i] as Uint8Array, settings[i] as JobSettings, i, now);
    return jobs.length === 0 ? [] : this.#add(jobs, replicate, tx, now);
  }

  /** The queue's settings as the store keeps them (read at most a second ago): the same in every process. */
  async settings(): Promise<QueueSettings> {
    await this.#written;
    return this.runtime.settings(this.name);
  }

  /**
   * Changes the queue's stored settings, for every process: the others see the change within a
   * second. Options not given keep their stored values.
   */
  async configure(options: StoredQueueOptions): Promise<QueueSettings> {
    const changes = settingsChanges(options);
    await this.#written;
    return this.runtime.configure(this.name, changes);
  }

  /** The stored settings when no wait is needed for them (the usual case): an add then takes no extra turn. */
  #knownSettings(): QueueSettings | null {
    return this.#isWritten ? this.runtime.knownSettings(this.name) : null;
  }

  #jobDefaults(stored: QueueSettings): JobSettings {
    if (this.#defaults?.from !== stored) this.#defaults = { from: stored, job: jobDefaults(this.config.job, stored) };
    return this.#defaults.job;
  }

  async get(id: string): Promise<JobInfo<T> | null> {
    const [record] = await this.runtime.store.get({ now: this.runtime.clock.now(), ids: [checkId(id, 'id')] });
    return record === null || record === undefined || record.queue !== this.name
      ? null
      : jobInfo<T>(record, this.config.codec);
  }

  /** Removes the job if it has not started (waiting or delayed). True if it did. */
  async cancel(id: string): Promise<boolean> {
    return this.#remove(checkId(id, 'id'), ['waiting', 'delayed']);
  }

  /** Removes the job in any state; a worker holding it gets LeaseLostError when it settles. */
  async remove(id: string): Promise<boolean> {
    return this.#remove(checkId(id, 'id'), null);
  }

  /** The next `n` jobs a lease would take, changing nothing (dque's Peek). */
  async peek(n = 1): Promise<JobInfo<T>[]> {
    const limit = positiveInteger(n, 'n');
    const records = await this.runtime.store.peek({ now: this.runtime.clock.now(), queue: this.name, limit });
    return records.map((r) => jobInfo<T>(r, this.config.codec));
  }

  async counts(): Promise<Counts> {
    const [counts] = await this.runtime.store.counts({ now: this.runtime.clock.now(), queues: [this.name] });
    return counts as Counts;
  }

  /** Leases stop taking from this queue, in every process, until `resume` (the stored `paused`). */
  async pause(): Promise<void> {
    await this.#written;
    await this.runtime.configure(this.name, { paused: true });
  }

  async resume(): Promise<void> {
    await this.#written;
    await this.runtime.configure(this.name, { paused: false });
  }

  /** Removes every job that is not active. Resolves with how many. */
  async purge(): Promise<number> {
    return this.runtime.store.purge({ now: this.runtime.clock.now(), queue: this.name });
  }

  /** Jobs in `state`, a page at a time. */
  async list(state: JobState, page: PageOptions = {}): Promise<Page<T>> {
    const o = checkKeys(page, ['limit', 'cursor'], 'page');
    const limit = o.limit === undefined ? 100 : positiveInteger(o.limit, 'page.limit');
    const cursor = checkCursor(o.cursor, 'page.cursor');
    const result = await this.runtime.store.list({
      now: this.runtime.clock.now(),
      queue: this.name,
      state,
      cursor,
      limit,
    });
    return { jobs: result.jobs.map((r) => jobInfo<T>(r, this.config.codec)), cursor: result.cursor };
  }

  /** Dead jobs, oldest death first, a page at a time. */
  async dead(page: PageOptions = {}): Promise<Page<T>> {
    return this.list('dead', page);
  }

  /**
   * Makes the delayed job `id` due now: it joins the waiting line as a job ready now would, and
   * blocked leases wake for it. NotFoundError when there is no such job in this queue, or when
   * it is not delayed (its `reason` says which state it is in).
   */
  async promote(id: string): Promise<void> {
    if ((await this.promoteDelayed([checkId(id, 'id')])) === 1) return;
    const existing = await this.get(id);
    throw new NotFoundError(
      'job',
      id,
      this.name,
      existing === null ? 'not found' : `not delayed: it is ${existing.state}`,
    );
  }

  /** Delayed jobs made due now: these (the others are left alone), or all. Resolves with how many. */
  async promoteDelayed(ids?: readonly string[]): Promise<number> {
    const only = ids === undefined ? null : checkIds(ids, 'ids');
    return this.runtime.store.promote({ now: this.runtime.clock.now(), queue: this.name, ids: only });
  }

  /** Dead jobs back to waiting with fresh attempts: these, or all. Resolves with how many. */
  async retryDead(ids?: readonly string[]): Promise<number> {
    const only = ids === undefined ? null : checkIds(ids, 'ids');
    return this.runtime.store.retryDead({ now: this.runtime.clock.now(), queue: this.name, ids: only });
  }

  /**
   * Removes every dead job (one by its id: `remove`). Resolves with how many. Two store calls a
   * page of jobs, not one a job.
   */
  async removeDead(): Promise<number> {
    const { store, clock } = this.runtime;
    // The first page again until none are left: those removed are gone from it. Stops too at a
    // page none of which could be removed, which no job can make it loop on.
    let removed = 0;
    for (;;) {
      const now = clock.now();
      const page = await store.list({ now, queue: this.name, state: 'dead', cursor: null, limit: removeDeadPage });
      if (page.jobs.length === 0) return removed;
      const gone = await store.remove({ now, ids: page.jobs.map((job) => job.id), states: ['dead'] });
      if (gone.length === 0) return removed;
      removed += gone.length;
    }
  }

  /** Leases from this queue only; see Spool.lease. */
  async lease(options: Omit<LeaseOptions, 'queues'> = {}): Promise<LeasedJob<T, R>[]> {
    return lease<T, R>(this.runtime, leaseRequest({ ...options, queues: [this.name] }));
  }

  /** Starts `concurrency` handlers on this queue; see Worker. */
  process(handler: Handler<T, R>, options: ProcessOptions = {}): Worker<T, R> {
    // A worker of a closed Spool would never take a job, and say nothing.
    this.runtime.assertOpen();
    if (typeof handler !== 'function') throw new ValidationError('handler', 'must be a function');
    const { settings, signal } = workerSettings(options);
    const source = spoolSource<T, R>(this.runtime, this.name, settings.visibilityMs);
    const worker = new Worker<T, R>(source, this.name, handler, settings, signal);
    this.runtime.adopt(worker);
    return worker;
  }

  /** `for await (const job of queue.consume())`: ack, nack or fail each job in the loop. */
  consume(options: ConsumeOptions = {}): AsyncGenerator<LeasedJob<T, R>, void, undefined> {
    const o = checkKeys(options, ['prefetch', 'visibility', 'signal'], 'options');
    const prefetch = o.prefetch === undefined ? 1 : wholeNumber(o.prefetch, 'options.prefetch', 1, maxLeaseBatch);
    // Woken by an add, a due time (hub.ts) or the signal, never by a poll, as a worker is.
    const request = leaseRequest({
      queues: [this.name],
      max: prefetch,
      visibility: o.visibility,
      wait: Infinity,
      signal: o.signal,
    });
    return consume(() => lease<T, R>(this.runtime, request), request.signal);
  }

  /**
   * The job's result once acked; rejects with JobFailedError once dead (Disque's Wait), with
   * TimeoutError after `timeout`, with the signal's reason when `signal` aborts. Typed by the
   * queue's Result (`spool.queue<Data, Result>`), which its handlers must return.
   */
  async waitFor(id: string, options: { timeout?: Duration; signal?: AbortSignal } = {}): Promise<R> {
    const o = checkKeys(options, ['timeout', 'signal'], 'options');
    const timeoutMs = o.timeout === undefined ? null : parseDuration(o.timeout, 'options.timeout');
    return waitFor<R>(this.runtime, checkId(id, 'id'), timeoutMs, o.signal as AbortSignal | undefined);
  }

  /** `item`: the job's place in an addBulk, which names its field in an error; `now`: the time it is made at. */
  #newJob(payload: Uint8Array, settings: JobSettings, item?: number, now = this.runtime.clock.now()): NewJob {
    if (payload.byteLength > this.runtime.maxPayloadBytes) {
      throw new ValidationError(
        item === undefined ? 'data' : `items[${item}].data`,
        `is ${payload.byteLength} bytes encoded, over the limit of ${this.runtime.maxPayloadBytes}`,
      );
    }
    return newJob(this.name, this.runtime.observers.stamp(payload), settings, now);
  }

  /** `now`: the time the jobs were made at, by default this call's. */
  async #add(
    jobs: readonly NewJob[],
    replicate: number,
    tx: unknown,
    now = this.runtime.clock.now(),
  ): Promise<string[]> {
    this.runtime.assertOpen();
    const { maxReplicas } = this.runtime.store.capabilities;
    if (replicate > maxReplicas + 1) {
      throw new ValidationError(
        'options.replicate',
        `this store keeps at most ${maxReplicas + 1} ${maxReplicas === 0 ? 'copy' : 'copies'} of a job, got ${replicate}`,
      );
    }
    const result = await this.runtime.add({
      now,
      jobs,
      ...(replicate > 1 && { replicate }),
      ...(tx !== undefined && { tx }),
    });
    if (!result.ok) throw new QueueFullError(result.fullQueue, result.maxLength);
    return [...result.ids];
  }

  async #remove(id: string, states: readonly JobState[] | null): Promise<boolean> {
    const existing = await this.get(id);
    if (existing === null) throw new NotFoundError('job', id, this.name);
    const removed = await this.runtime.store.remove({ now: this.runtime.clock.now(), ids: [id], states });
    return removed.length > 0;
  }
}

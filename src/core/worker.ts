// A pool of handlers fed from one queue, whichever side of a network the queue is on: a local
// Spool's (Queue.process) or a server's over HTTP (spool/client's RemoteQueue.process) is the
// same worker on another JobSource, so both behave alike, prefetch and time-outs included.
import { EventEmitter } from 'node:events';
import {
  checkKeys,
  ClosedError,
  positiveInteger,
  reportWorkerError,
  TimeoutError,
  ValidationError,
} from '../errors.ts';
import { onAbort } from './abort.ts';
import type { Clock } from './clock.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';
import type { BeatSource, WorkerBeat } from './heartbeat.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { maxLeaseBatch } from './lease.ts';
import type { LeasedJob } from './leased-job.ts';
import { wholeNumber } from './options.ts';

/** Runs one job; what it returns is the job's result. Throwing fails the attempt. */
export type Handler<T, R = unknown, J = LeasedJob<T, R>> = (job: J) => R | PromiseLike<R>;

/** What a worker does with a job: a local LeasedJob and spool/client's RemoteLeasedJob are both one. */
export interface WorkerJob<R> {
  readonly id: string;
  /** The lease's time left now, by the clock of whoever holds it (the store's side). */
  readonly leaseLeftMs: number;
  /** True once the job's signal is aborted (lease lost, time-out, close). */
  readonly aborted: boolean;
  readonly settled: boolean;
  abort(reason: unknown): void;
  ack(result: R): Promise<void>;
  nack(options: { error?: unknown }): Promise<'retry' | 'dead'>;
  release(): Promise<void>;
  extend(ms?: number): Promise<number>;
}

/** Where a worker's jobs come from, and what runs around its handlers. */
export interface JobSource<J> {
  readonly clock: Clock;
  /**
   * Leases a worker keeps on their way at once: 2 where each is a round trip (a remote store,
   * HTTP), so that while one is answered the worker runs the jobs of the other; else 1.
   */
  readonly lanes: number;
  /**
   * Up to `max` jobs, waiting for the first as long as it takes (woken, never polling); no
   * jobs once `signal` aborts. Rejects with ClosedError once the source is closed for good.
   */
  lease(max: number, signal: AbortSignal): Promise<J[]>;
  /**
   * Whether a failed lease is a refusal that asking again cannot change (a server refusing the
   * worker's token or its request): the worker reports it once and closes, where it reports any
   * other failure and asks again after a pause.
   */
  refuses(error: unknown): boolean;
  /** Calls `handler` on `job`, inside whatever wraps handlers (a Spool's observers). */
  handle(job: J, handler: (job: J) => unknown): unknown;
  /**
   * Calls `fn` each time the source says it is back after failing (a store connected again after
   * an outage), until the returned function is called: a worker pausing after a failed lease asks
   * again then.
   */
  onBack(fn: () => void): () => void;
  /** Told when a worker starts and when it has closed (a Spool's heartbeat). */
  attach(worker: BeatSource): void;
  detach(worker: BeatSource): Promise<void>;
}

export interface ProcessOptions {
  /** Handlers running at once; default 1. */
  concurrency?: number;
  /** Aborting it closes the worker at once: running handlers' signals abort and their jobs are handed back (docs/timing.md). */
  signal?: AbortSignal;
  /** Per-job limit: past it the job's signal aborts and the attempt counts as failed. */
  timeout?: Duration;
  /** Lease length; default each job's visibility. */
  visibility?: Duration;
  /** Extend the lease while the handler runs (and while a prefetched job waits); default true. */
  autoExtend?: boolean;
  /**
   * Jobs leased ahead of a free handler, at most, each waiting in the worker for one; default 0.
   * Under load the worker then leases and acks in batches of about `concurrency + prefetch`
   * instead of `concurrency`: fewer store calls a job, and on a remote store many more jobs a
   * second for short handlers (graphile-worker's local queue, AMQP's prefetch). The price: a
   * prefetched job is nobody else's while it waits, and a close hands it back unstarted.
   */
  prefetch?: number;
}

/** ProcessOptions, checked: the settings and the signal. */
export function workerSettings(options: unknown): { settings: WorkerSettings; signal: AbortSignal | undefined } {
  const o = checkKeys(options, ['concurrency', 'signal', 'timeout', 'visibility', 'autoExtend', 'prefetch'], 'options');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new ValidationError('options.signal', 'must be an AbortSignal');
  return {
    settings: {
      concurrency: o.concurrency === undefined ? 1 : positiveInteger(o.concurrency, 'options.concurrency'),
      timeoutMs: o.timeout === undefined ? null : parseDuration(o.timeout, 'options.timeout'),
      visibilityMs: o.visibility === undefined ? null : parseDuration(o.visibility, 'options.visibility'),
      autoExtend: o.autoExtend === undefined ? true : Boolean(o.autoExtend),
      prefetch: o.prefetch === undefined ? 0 : wholeNumber(o.prefetch, 'options.prefetch', 0, maxLeaseBatch),
    },
    signal: o.signal,
  };
}

export interface WorkerSettings {
  readonly concurrency: number;
  /** Handler time-out per job, or null. */
  readonly timeoutMs: number | null;
  readonly visibilityMs: number | null;
  readonly autoExtend: boolean;
  /** Jobs leased ahead of a free slot, at most (ProcessOptions.prefetch). */
  readonly prefetch: number;
}

export interface WorkerEvents<T, R = unknown, J = LeasedJob<T, R>> {
  completed: [job: J, result: R];
  /** The attempt failed and the job will be retried. */
  failed: [job: J, error: unknown];
  /** The attempt failed and the job is dead. */
  dead: [job: J, error: unknown];
  /**
   * Something went wrong around the handlers (the store, a lost lease); the worker carries on,
   * unless its lease was refused for good (JobSource.refuses): then it closes.
   */
  error: [error: unknown];
  /** The worker has closed, by close() or on its own (a refused lease), once. */
  closed: [];
}

/**
 * Pause before asking again after a failed lease call (ended early by the source's word that it is
 * back, JobSource.onBack), or (spool/client) after a long-poll that a server answered empty before
 * the time asked.
 */
export const retryPauseMs = 1_000;
/** The least number of unsettled acks a worker allows, whatever its concurrency. */
const minUnsettled = 1_024;

/** How a handler ended: what it returned or threw. */
type HandlerResult = { ok: true; result: unknown } | { ok: false; error: unknown };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A pool of `concurrency` handlers fed from one queue (diskoque's Receive with N workers).
 * It leases only as many jobs as it has free slots and `prefetch` more, so by default nothing
 * waits leased but unstarted: a lease on its way holds the slots it asked for.
 */
export class Worker<T = unknown, R = unknown, J extends WorkerJob<R> = LeasedJob<T, R>>
  extends EventEmitter<WorkerEvents<T, R, J>>
  implements BeatSource
{
  /** Handlers that returned a promise and have not settled it, by job; close() waits for them. */
  readonly #pending = new Map<J, Promise<void>>();
  /** The jobs of those handlers until each returns: what a close past its time-out hands back. */
  readonly #handling = new Set<J>();
  /** Resolved once a close past its time-out has handed back the jobs of the handlers still running. */
  readonly #handedBack: Promise<void>;
  #markHandedBack = (): void => {};
  #running = 0;
  /** Jobs leased ahead of a slot (`prefetch`), in lease order. */
  #held: J[] = [];
  /** Set while `#startHeld` runs: a handler that ends at once must not start the next one inside it. */
  #startingHeld = false;
  /** Slots held by leases on their way to the store. */
  #reserved = 0;
  /** Lease lanes not waiting for the store now. */
  #idleLanes: number;
  /** Acks and nacks on their way to the store: a handler's slot is free before its ack is durable. */
  #unsettled = 0;
  #allSettled: (() => void) | null = null;
  #drained: Promise<void> | null = null;
  readonly #stop = new AbortController();
  readonly #lanes: Promise<void>[];
  /** Unsettled acks the loop lets pile up before it waits; the store's commits catch up meanwhile. */
  readonly #maxUnsettled: number;
  /** Lanes waiting for a slot to free up. */
  #slotWaiters: (() => void)[] = [];
  #closing = false;
  #closed = false;
  /** Stops listening to the caller's signal, which may outlive this worker (one for a whole process). */
  #offSignal = (): void => {};
  /**
   * Aborted when the source says it is back (JobSource.onBack), then replaced: a lane pausing
   * after a failed lease asks again at once, and so does one whose lease was on its way then.
   */
  #back = new AbortController();
  readonly #offBack: () => void;
  readonly #keeper: LeaseKeeper<J>;
  readonly #clock: Clock;
  /** Since the start, for the heartbeat. */
  #completed = 0;
  #failed = 0;

  constructor(
    private readonly source: JobSource<J>,
    private readonly queue: string,
    private readonly handler: Handler<T, R, J>,
    private readonly settings: WorkerSettings,
    signal: AbortSignal | undefined,
  ) {
    super();
    this.#handedBack = new Promise<void>((resolve) => (this.#markHandedBack = resolve));
    this.#clock = source.clock;
    // A commit takes a disk sync or a round trip; handlers that finish faster than that would
    // wait for it if only a slot's worth of acks could be on the way.
    this.#maxUnsettled = Math.max(2 * settings.concurrency, minUnsettled);
    this.#keeper = new LeaseKeeper<J>(source.clock, settings.visibilityMs ?? undefined, (error) => this.#report(error));
    this.#offBack = source.onBack(() => {
      this.#back.abort();
      this.#back = new AbortController();
    });
    const lanes = Math.min(source.lanes, settings.concurrency);
    this.#idleLanes = lanes;
    // A signal aborted already sends no 'abort' event: such a worker ran every job until close(),
    // where diskoque's Receive with a cancelled ctx returns at once. It leases nothing.
    const gaveUp = signal?.aborted === true;
    this.#lanes = gaveUp ? [] : Array.from({ length: lanes }, () => this.#run());
    source.attach(this);
    // The caller gave up: nothing is waited for (diskoque's cancelled ctx).
    if (gaveUp) void this.close({ timeout: 0 });
    else if (signal !== undefined) this.#offSignal = onAbort(signal, () => void this.close({ timeout: 0 }));
  }

  /** What the process's heartbeat document says of this worker. */
  beat(): WorkerBeat {
    const { concurrency } = this.settings;
    return {
      queue: this.queue,
      concurrency,
      running: this.#running,
      prefetched: this.#held.length,
      completed: this.#completed,
      failed: this.#failed,
    };
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Stops leasing, waits for running handlers to settle their jobs, hands back anything leased
   * late. With `timeout`, handlers still running after it have their `job.signal` aborted and
   * their jobs handed back (released: the attempt does not count), and close does not wait for
   * them to return.
   */
  async close(options: { timeout?: Duration } = {}): Promise<void> {
    const o = checkKeys(options, ['timeout'], 'close');
    const graceMs = o.timeout === undefined ? Infinity : parseDuration(o.timeout, 'close.timeout');
    if (!this.#closing) {
      this.#closing = true;
      this.#offSignal();
      this.#offBack();
      this.#stop.abort();
      this.#wakeLanes();
    }
    // Leased ahead and never started: handed back at once, the attempt not counted.
    const held = this.#held;
    this.#held = [];
    for (const job of held) this.#keeper.release(job);
    // The grace runs from the call, while the lanes wind down too.
    let cancel = (): void => {};
    const grace =
      graceMs === Infinity
        ? null
        : graceMs === 0
          ? Promise.resolve(false as const)
          : new Promise<false>((resolve) => (cancel = this.#clock.setTimer(graceMs, () => resolve(false))));
    try {
      await Promise.all([...this.#lanes, this.#handBack(held)]);
      await this.#finishHandlers(grace);
    } finally {
      cancel();
    }
    if (this.#unsettled > 0) await (this.#drained ??= new Promise<void>((resolve) => (this.#allSettled = resolve)));
    await this.source.detach(this);
    if (!this.#closed) {
      this.#closed = true;
      this.emit('closed');
    }
  }

  /** Waits for the running handlers until `grace` ends (never when null); then hands back the jobs of the rest. */
  async #finishHandlers(grace: Promise<false> | null): Promise<void> {
    // An earlier close that handed the jobs back (a signal's, at once) ends this one too.
    const handlers = Promise.race([Promise.allSettled([...this.#pending.values()]), this.#handedBack]).then(
      () => true as const,
    );
    if (await Promise.race(grace === null ? [handlers] : [handlers, grace])) return;
    const jobs = [...this.#handling];
    this.#handling.clear();
    // A handler that ignores its aborted signal is not waited for again, by a later close either.
    for (const job of jobs) this.#pending.delete(job);
    await Promise.allSettled(
      jobs.map((job) => {
        this.#keeper.release(job);
        job.abort(new ClosedError('worker'));
        return job.release();
      }),
    );
    this.#markHandedBack();
  }

  async #run(): Promise<void> {
    const { concurrency, prefetch } = this.settings;
    while (!this.#closing) {
      const free = concurrency + prefetch - this.#running - this.#held.length - this.#reserved;
      if (free === 0 || this.#unsettled >= this.#maxUnsettled) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
        continue;
      }
      // The free slots are shared with the other idle lanes, so that each lease on its way is a part of the batch.
      const max = Math.min(Math.ceil(free / this.#idleLanes), maxLeaseBatch);
      this.#reserved += max;
      this.#idleLanes--;
      const back = this.#back.signal;
      let jobs: J[];
      try {
        jobs = await this.source.lease(max, this.#stop.signal);
      } catch (error) {
        if (error instanceof ClosedError) break;
        if (this.source.refuses(error)) {
          // Told once though every lane is refused, and not after a close the caller began.
          if (!this.#closing) {
            this.#report(error);
            void this.close();
          }
          break;
        }
        this.#report(error);
        // A store that keeps failing is not asked in a hot loop; one back (an outage over) is at once.
        await pause(this.#clock, retryPauseMs, this.#stop.signal, back);
        continue;
      } finally {
        this.#reserved -= max;
        this.#idleLanes++;
        // What the lease did not fill is free again for a lane waiting on a full worker.
        this.#wakeLanes();
      }
      if (this.#closing) {
        await this.#handBack(jobs);
        break;
      }
      for (const job of jobs) {
        // Behind the jobs already waiting, in lease order; at once when a slot is free.
        if (this.#running < concurrency && this.#held.length === 0) {
          this.#start(job);
          continue;
        }
        this.#held.push(job);
        // A prefetched job's lease runs while it waits: kept as a running job's is.
        if (this.settings.autoExtend) this.#keeper.keep(job);
      }
    }
  }

  /** Starts prefetched jobs while slots are free. */
  #startHeld(): void {
    if (this.#startingHeld) return;
    this.#startingHeld = true;
    try {
      while (this.#running < this.settings.concurrency && this.#held.length > 0 && !this.#closing) {
        const job = this.#held.shift() as J;
        this.#keeper.release(job);
        // Its lease ended while it waited (or was found lost): the job is someone else's now.
        if (job.aborted || job.leaseLeftMs <= 0) continue;
        this.#start(job);
      }
    } finally {
      this.#startingHeld = false;
    }
  }

  /** Hands back jobs this worker will not run: waiting again at once, the attempt not counted. */
  async #handBack(jobs: readonly J[]): Promise<void> {
    await Promise.allSettled(jobs.map((job) => job.release()));
  }

  /**
   * Runs the handler at once. One that returns a plain value needs no timers and no promise of
   * its own: most of a fast handler's cost was the machinery around it.
   */
  #start(job: J): void {
    this.#running++;
    let value: unknown;
    try {
      value = this.source.handle(job, this.handler);
    } catch (error) {
      this.#settleJob(job, { ok: false, error });
      this.#freeSlot();
      return;
    }
    if (!isThenable(value)) {
      this.#settleJob(job, { ok: true, result: value });
      this.#freeSlot();
      return;
    }
    this.#handling.add(job);
    const run = this.#await(job, value);
    this.#pending.set(job, run);
    void run.then(() => this.#pending.delete(job));
  }

  async #await(job: J, value: PromiseLike<unknown>): Promise<void> {
    if (this.settings.autoExtend) this.#keeper.keep(job);
    const attempt = Promise.resolve(value).then(
      (result): HandlerResult => ({ ok: true, result }),
      (error: unknown): HandlerResult => ({ ok: false, error }),
    );
    let cancelTimeout = (): void => {};
    const ms = this.settings.timeoutMs;
    const timedOut =
      ms === null
        ? null
        : new Promise<HandlerResult>((resolve) => {
            cancelTimeout = this.#clock.setTimer(ms, () => {
              const error = new TimeoutError(`job ${job.id}`, ms);
              job.abort(error);
              resolve({ ok: false, error });
            });
          });
    const outcome = timedOut === null ? await attempt : await Promise.race([attempt, timedOut]);
    cancelTimeout();
    // Handed back by a close past its time-out: the job is not this worker's to settle any more.
    if (!this.#handling.delete(job)) {
      this.#freeSlot();
      return;
    }
    this.#keeper.release(job);
    this.#settleJob(job, outcome);
    // A handler that ignores its aborted signal keeps its slot until it returns.
    if (timedOut !== null) await attempt;
    this.#freeSlot();
  }

  #freeSlot(): void {
    this.#running--;
    if (this.#held.length > 0) this.#startHeld();
    this.#wakeLanes();
  }

  #wakeLanes(): void {
    if (this.#slotWaiters.length === 0) return;
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const wake of waiters) wake();
  }

  #settleJob(job: J, outcome: HandlerResult): void {
    const timeout = !outcome.ok && outcome.error instanceof TimeoutError;
    // A lost lease aborts the signal too: then the job is someone else's and stays untouched.
    if (job.settled || (job.aborted && !timeout)) return;
    this.#unsettled++;
    const done = (): void => {
      if (--this.#unsettled === 0) this.#allSettled?.();
      this.#wakeLanes();
    };
    this.#settle(job, outcome).then(done, (error: unknown) => {
      this.#report(error);
      done();
    });
  }

  async #settle(job: J, outcome: HandlerResult): Promise<void> {
    if (outcome.ok) {
      // The handler's return value, typed R by Handler<T, R>; a plain call, not a spread of [result].
      const result = outcome.result as R;
      try {
        await job.ack(result);
      } catch (error) {
        // A result no store can hold (a BigInt, a cycle) fails the attempt as a throw would. Only
        // reported, it left the job leased, to run again when the lease ran out, and again.
        if (!(error instanceof ValidationError)) throw error;
        return this.#settle(job, { ok: false, error });
      }
      this.#completed++;
      this.emit('completed', job, result);
      return;
    }
    const next = await job.nack({ error: outcome.error });
    this.#failed++;
    this.emit(next === 'dead' ? 'dead' : 'failed', job, outcome.error);
  }

  #report(error: unknown): void {
    reportWorkerError(this, error);
  }
}

/** Resolves after `ms`, or at once when one of `signals` aborts. */
export function pause(clock: Clock, ms: number, ...signals: readonly (AbortSignal | undefined)[]): Promise<void> {
  const given = signals.filter((signal) => signal !== undefined);
  // An aborted signal sends no 'abort' event any more.
  if (given.some((signal) => signal.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      cancel();
      for (const stop of stops) stop();
      resolve();
    };
    const cancel = clock.setTimer(ms, done);
    // The caller's signal may be one of many loops' (spool/client's consume pauses on it).
    const stops = given.map((signal) => onAbort(signal, done));
  });
}

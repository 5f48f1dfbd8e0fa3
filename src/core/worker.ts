import { EventEmitter } from 'node:events';
import { checkKeys, ClosedError, reportWorkerError, TimeoutError } from '../errors.ts';
import type { Clock } from './clock.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';
import type { BeatSource, WorkerBeat } from './heartbeat.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { lease, maxLeaseBatch } from './lease.ts';
import type { LeaseRequest } from './lease.ts';
import type { LeasedJob } from './leased-job.ts';
import type { Runtime } from './runtime.ts';

/** Runs one job; what it returns is the job's result. Throwing fails the attempt. */
export type Handler<T, R = unknown> = (job: LeasedJob<T, R>) => R | PromiseLike<R>;

export interface WorkerSettings {
  readonly concurrency: number;
  /** Handler time-out per job, or null. */
  readonly timeoutMs: number | null;
  readonly visibilityMs: number | null;
  readonly autoExtend: boolean;
  /** Jobs leased ahead of a free slot, at most (ProcessOptions.prefetch). */
  readonly prefetch: number;
}

export interface WorkerEvents<T, R = unknown> {
  completed: [job: LeasedJob<T, R>, result: R];
  /** The attempt failed and the job will be retried. */
  failed: [job: LeasedJob<T>, error: unknown];
  /** The attempt failed and the job is dead. */
  dead: [job: LeasedJob<T>, error: unknown];
  /** Something went wrong around the handlers (the store, a lost lease); the worker carries on. */
  error: [error: unknown];
}

/** Pause after a failed lease call before trying again. */
const errorPauseMs = 1_000;
/** The least number of unsettled acks a worker allows, whatever its concurrency. */
const minUnsettled = 1_024;
/**
 * Leases a worker keeps on their way to a remote store (`capabilities.remote`): while the store
 * answers one, the worker runs the jobs of the other, so neither side waits for the other.
 */
const remoteLeaseLanes = 2;

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
export class Worker<T = unknown, R = unknown> extends EventEmitter<WorkerEvents<T, R>> implements BeatSource {
  /** Handlers that returned a promise and have not settled it, by job; close() waits for them. */
  readonly #pending = new Map<LeasedJob<T, R>, Promise<void>>();
  /** The jobs of those handlers until each returns: what a close past its time-out hands back. */
  readonly #handling = new Set<LeasedJob<T, R>>();
  #running = 0;
  /** Jobs leased ahead of a slot (`prefetch`), in lease order. */
  #held: LeasedJob<T, R>[] = [];
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
  readonly #keeper: LeaseKeeper;
  /** Since the start, for the heartbeat. */
  #completed = 0;
  #failed = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly queue: string,
    private readonly handler: Handler<T, R>,
    private readonly settings: WorkerSettings,
    signal: AbortSignal | undefined,
  ) {
    super();
    // A commit takes a disk sync or a round trip; handlers that finish faster than that would
    // wait for it if only a slot's worth of acks could be on the way.
    this.#maxUnsettled = Math.max(2 * settings.concurrency, minUnsettled);
    this.#keeper = new LeaseKeeper(runtime.clock, settings.visibilityMs ?? undefined, (error) => this.#report(error));
    // The caller gave up: nothing is waited for (diskoque's cancelled ctx).
    signal?.addEventListener('abort', () => void this.close({ timeout: 0 }), { once: true });
    const lanes = runtime.store.capabilities.remote ? Math.min(remoteLeaseLanes, settings.concurrency) : 1;
    this.#idleLanes = lanes;
    this.#lanes = Array.from({ length: lanes }, () => this.#run());
    runtime.heartbeat.register(this);
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
          : new Promise<false>((resolve) => (cancel = this.runtime.clock.setTimer(graceMs, () => resolve(false))));
    try {
      await Promise.all([...this.#lanes, this.#handBack(held)]);
      await this.#finishHandlers(grace);
    } finally {
      cancel();
    }
    if (this.#unsettled > 0) await (this.#drained ??= new Promise<void>((resolve) => (this.#allSettled = resolve)));
    await this.runtime.heartbeat.unregister(this);
  }

  /** Waits for the running handlers until `grace` ends (never when null); then hands back the jobs of the rest. */
  async #finishHandlers(grace: Promise<false> | null): Promise<void> {
    const handlers = Promise.allSettled([...this.#pending.values()]).then(() => true as const);
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
  }

  async #run(): Promise<void> {
    const request: LeaseRequest = {
      queues: [this.queue],
      max: 1,
      visibilityMs: this.settings.visibilityMs,
      // Woken by an add, a due time (hub.ts) or close, never by a poll.
      waitMs: Infinity,
      signal: this.#stop.signal,
    };
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
      let jobs: LeasedJob<T>[];
      try {
        // The acks of the handlers that just ended go first: a store may carry them with the lease (Redis: one script).
        this.runtime.acks.flush();
        jobs = await lease<T>(this.runtime, { ...request, max });
      } catch (error) {
        if (error instanceof ClosedError) break;
        this.#report(error);
        await pause(this.runtime.clock, errorPauseMs, this.#stop.signal);
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
        const job = this.#held.shift() as LeasedJob<T, R>;
        this.#keeper.release(job);
        // Its lease ended while it waited (or was found lost): the job is someone else's now.
        if (job.aborted || job.leaseUntil <= this.runtime.clock.now()) continue;
        this.#start(job);
      }
    } finally {
      this.#startingHeld = false;
    }
  }

  /** Hands back jobs this worker will not run: waiting again at once, the attempt not counted. */
  async #handBack(jobs: readonly LeasedJob<T>[]): Promise<void> {
    await Promise.allSettled(jobs.map((job) => job.release()));
  }

  /**
   * Runs the handler at once. One that returns a plain value needs no timers and no promise of
   * its own: most of a fast handler's cost was the machinery around it.
   */
  #start(job: LeasedJob<T>): void {
    this.#running++;
    let value: unknown;
    try {
      value = this.runtime.observers.handle(job, this.handler);
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

  async #await(job: LeasedJob<T>, value: PromiseLike<unknown>): Promise<void> {
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
            cancelTimeout = this.runtime.clock.setTimer(ms, () => {
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

  #settleJob(job: LeasedJob<T>, outcome: HandlerResult): void {
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

  async #settle(job: LeasedJob<T>, outcome: HandlerResult): Promise<void> {
    if (outcome.ok) {
      // The handler's return value, typed R by Handler<T, R>; a plain call, not a spread of [result].
      const result = outcome.result as R;
      await job.ack(result);
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

function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.setTimer(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}

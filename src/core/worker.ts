import { EventEmitter } from 'node:events';
import { ClosedError, TimeoutError } from '../errors.ts';
import type { Clock } from './clock.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { lease } from './lease.ts';
import type { LeaseRequest } from './lease.ts';
import type { AckArgs, LeasedJob } from './leased-job.ts';
import type { Runtime } from './runtime.ts';

/** Runs one job; what it returns is the job's result. Throwing fails the attempt. */
export type Handler<T, R = unknown> = (job: LeasedJob<T, R>) => R | PromiseLike<R>;

export interface WorkerSettings {
  readonly concurrency: number;
  /** Handler time-out per job, or null. */
  readonly timeoutMs: number | null;
  readonly visibilityMs: number | null;
  readonly autoExtend: boolean;
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

/** How long one blocked lease waits before the loop asks again; a close wakes it at once. */
const idleWaitMs = 30_000;
/** Pause after a failed lease call before trying again. */
const errorPauseMs = 1_000;
/** The least number of unsettled acks a worker allows, whatever its concurrency. */
const minUnsettled = 1_024;
/**
 * Leases a worker keeps on their way to a shared store (one across a network): while the store
 * answers one, the worker runs the jobs of the other, so neither side waits for the other.
 */
const sharedLeaseLanes = 2;

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A pool of `concurrency` handlers fed from one queue (diskoque's Receive with N workers).
 * It leases only as many jobs as it has free slots, so nothing waits leased but unstarted: a
 * lease on its way holds the slots it asked for.
 */
export class Worker<T = unknown, R = unknown> extends EventEmitter<WorkerEvents<T, R>> {
  /** Handlers that returned a promise and have not settled it; close() waits for them. */
  readonly #pending = new Set<Promise<void>>();
  #running = 0;
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
    signal?.addEventListener('abort', () => void this.close(), { once: true });
    const lanes = runtime.store.capabilities.shared ? Math.min(sharedLeaseLanes, settings.concurrency) : 1;
    this.#idleLanes = lanes;
    this.#lanes = Array.from({ length: lanes }, () => this.#run());
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running;
  }

  /** Stops leasing, waits for running handlers to settle their jobs, hands back anything leased late. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#stop.abort();
      this.#wakeLanes();
    }
    await Promise.all(this.#lanes);
    await Promise.allSettled([...this.#pending]);
    if (this.#unsettled > 0) await (this.#drained ??= new Promise<void>((resolve) => (this.#allSettled = resolve)));
  }

  async #run(): Promise<void> {
    const request: LeaseRequest = {
      queues: [this.queue],
      max: 1,
      visibilityMs: this.settings.visibilityMs,
      waitMs: idleWaitMs,
      signal: this.#stop.signal,
    };
    while (!this.#closing) {
      const free = this.settings.concurrency - this.#running - this.#reserved;
      if (free === 0 || this.#unsettled >= this.#maxUnsettled) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
        continue;
      }
      // The free slots are shared with the other idle lanes, so that each lease on its way is a part of the batch.
      const max = Math.ceil(free / this.#idleLanes);
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
        await Promise.allSettled(jobs.map((job) => job.release()));
        break;
      }
      for (const job of jobs) this.#start(job);
    }
  }

  /**
   * Runs the handler at once. One that returns a plain value needs no timers and no promise of
   * its own: most of a fast handler's cost was the machinery around it.
   */
  #start(job: LeasedJob<T>): void {
    this.#running++;
    let value: unknown;
    try {
      value = this.handler(job);
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
    const run = this.#await(job, value);
    this.#pending.add(run);
    void run.then(() => this.#pending.delete(run));
  }

  async #await(job: LeasedJob<T>, value: PromiseLike<unknown>): Promise<void> {
    if (this.settings.autoExtend) this.#keeper.keep(job);
    const attempt = Promise.resolve(value).then(
      (result): Outcome => ({ ok: true, result }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    let cancelTimeout = (): void => {};
    const ms = this.settings.timeoutMs;
    const timedOut =
      ms === null
        ? null
        : new Promise<Outcome>((resolve) => {
            cancelTimeout = this.runtime.clock.setTimer(ms, () => {
              const error = new TimeoutError(`job ${job.id}`, ms);
              job.abort(error);
              resolve({ ok: false, error });
            });
          });
    const outcome = timedOut === null ? await attempt : await Promise.race([attempt, timedOut]);
    cancelTimeout();
    this.#keeper.release(job);
    this.#settleJob(job, outcome);
    // A handler that ignores its aborted signal keeps its slot until it returns.
    if (timedOut !== null) await attempt;
    this.#freeSlot();
  }

  #freeSlot(): void {
    this.#running--;
    this.#wakeLanes();
  }

  #wakeLanes(): void {
    if (this.#slotWaiters.length === 0) return;
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const wake of waiters) wake();
  }

  #settleJob(job: LeasedJob<T>, outcome: Outcome): void {
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

  async #settle(job: LeasedJob<T>, outcome: Outcome): Promise<void> {
    if (outcome.ok) {
      // The handler's return value, typed R by Handler<T, R>.
      const result = outcome.result as R;
      await (job as LeasedJob<T, R>).ack(...([result] as AckArgs<R>));
      this.emit('completed', job, result);
      return;
    }
    const next = await job.nack({ error: outcome.error });
    this.emit(next === 'dead' ? 'dead' : 'failed', job, outcome.error);
  }

  #report(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'SpoolWorkerWarning');
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

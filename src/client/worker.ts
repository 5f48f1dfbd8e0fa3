// A worker over HTTP: `concurrency` loops, each long-polling for one job, running the handler
// with the lease extended while it runs, then acking or nacking. A failed call (the server
// restarting, the network) is reported as 'error' (a process warning when nobody listens) and
// retried after a pause: it reconnects.
// close({ timeout }) and the `signal` option behave as the library's worker (src/core/worker.ts).
import { EventEmitter } from 'node:events';
import { checkKeys, ClosedError, LeaseLostError, reportWorkerError, TimeoutError, ValidationError } from '../errors.ts';
import type { AckArgs, Duration } from '../index.ts';
import type { RemoteLeasedJob } from './leased.ts';

export type RemoteHandler<T, R = unknown> = (job: RemoteLeasedJob<T, R>) => R | PromiseLike<R>;

export interface RemoteWorkerEvents<T, R = unknown> {
  completed: [job: RemoteLeasedJob<T, R>, result: R];
  /** The attempt failed and the job will be retried. */
  failed: [job: RemoteLeasedJob<T, R>, error: unknown];
  /** The attempt failed and the job is dead. */
  dead: [job: RemoteLeasedJob<T, R>, error: unknown];
  error: [error: unknown];
}

export interface RemoteProcessOptions {
  concurrency?: number;
  /** Aborting it closes the worker at once: running handlers' signals abort and their jobs are handed back. */
  signal?: AbortSignal;
  /**
   * Per-job limit in ms (as `close`'s, milliseconds only): past it the job's signal aborts
   * (TimeoutError) and the attempt counts as failed.
   */
  timeout?: number;
  /** Lease length; default each job's visibility. */
  visibility?: Duration;
  /** Extend the lease at half its length while the handler runs; default true. */
  autoExtend?: boolean;
}

export interface RemoteCloseOptions {
  /** Milliseconds running handlers may go on; then their signals abort and their jobs are handed back. Default: no limit. */
  timeout?: number;
}

type Lease<T, R> = (signal: AbortSignal) => Promise<RemoteLeasedJob<T, R>[]>;

/** A worker's options, checked (RemoteQueue.process). */
export interface RemoteWorkerSettings {
  readonly concurrency: number;
  readonly timeoutMs: number | null;
  readonly autoExtend: boolean;
}

type Outcome<R> = { ok: true; result: R } | { ok: false; error: unknown };

const errorPauseMs = 500;

/**
 * Milliseconds ≥ 0 for `field`, or `fallback` when not given. Milliseconds only: the client
 * carries no duration parser (it talks HTTP and sends duration strings for the server to read),
 * and these stay in the process.
 */
export function millis(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
    throw new ValidationError(field, `must be a number of ms ≥ 0, got ${String(value)}`);
  return value;
}

export class RemoteWorker<T = unknown, R = unknown> extends EventEmitter<RemoteWorkerEvents<T, R>> {
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[];
  /** Jobs whose handler is running, with what stops extending their lease: what a close past its time-out hands back. */
  readonly #handling = new Map<RemoteLeasedJob<T, R>, () => void>();
  /** Resolved once a close past its time-out has handed back the jobs of the handlers still running. */
  readonly #handedBack: Promise<void>;
  #markHandedBack = (): void => {};

  constructor(
    lease: Lease<T, R>,
    private readonly handler: RemoteHandler<T, R>,
    private readonly settings: RemoteWorkerSettings,
    signal: AbortSignal | undefined,
  ) {
    super();
    this.#handedBack = new Promise<void>((resolve) => (this.#markHandedBack = resolve));
    this.#loops = Array.from({ length: settings.concurrency }, () => this.#loop(lease));
    // The caller gave up: nothing is waited for.
    signal?.addEventListener('abort', () => void this.close({ timeout: 0 }), { once: true });
  }

  /**
   * Stops leasing, lets running handlers finish and settle, then resolves. With `timeout`,
   * handlers still running after it have their `job.signal` aborted and their jobs handed back
   * (released: the attempt does not count), and close does not wait for them to return.
   */
  async close(options: RemoteCloseOptions = {}): Promise<void> {
    checkKeys(options, ['timeout'], 'close');
    const graceMs = millis(options.timeout, 'close.timeout', Infinity);
    this.#stop.abort();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<false>((resolve) => {
      // setTimeout fires at once past 2^31 - 1 ms (24.8 days): longer is as good as no limit.
      if (graceMs < 2 ** 31) timer = setTimeout(() => resolve(false), graceMs);
    });
    // An earlier close that handed the jobs back ends this one too: their handlers are not waited for again.
    const finished = Promise.race([Promise.all(this.#loops), this.#handedBack]).then(() => true as const);
    try {
      if (await Promise.race([finished, grace])) return;
    } finally {
      clearTimeout(timer);
    }
    const jobs = [...this.#handling];
    this.#handling.clear();
    await Promise.allSettled(
      jobs.map(([job, stopExtending]) => {
        stopExtending();
        job.abort(new ClosedError('worker'));
        return job.release();
      }),
    );
    this.#markHandedBack();
  }

  async #loop(lease: Lease<T, R>): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let jobs: RemoteLeasedJob<T, R>[];
      try {
        jobs = await lease(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.#report(error);
        await new Promise((resolve) => setTimeout(resolve, errorPauseMs));
        continue;
      }
      // Answered after close began: nobody will run these, hand them back now.
      if (signal.aborted) {
        await Promise.allSettled(jobs.map((job) => job.release()));
        return;
      }
      for (const job of jobs) await this.#run(job);
    }
  }

  async #run(job: RemoteLeasedJob<T, R>): Promise<void> {
    const halfLease = Math.max(1, job.leaseLeftMs / 2);
    const timer = this.settings.autoExtend
      ? setInterval(() => {
          job.extend().catch((error: unknown) => {
            // A lost lease is not coming back: its handler was told (job.signal), and asking again is an error each time.
            if (error instanceof LeaseLostError) stopExtending();
            this.#report(error);
          });
        }, halfLease)
      : null;
    const stopExtending = (): void => {
      if (timer !== null) clearInterval(timer);
    };
    this.#handling.set(job, stopExtending);
    const attempt = this.#attempt(job);
    let timeout: NodeJS.Timeout | undefined;
    const ms = this.settings.timeoutMs;
    const timedOut =
      ms === null
        ? null
        : new Promise<Outcome<R>>((resolve) => {
            timeout = setTimeout(() => {
              const error = new TimeoutError(`job ${job.id}`, ms);
              job.abort(error);
              resolve({ ok: false, error });
            }, ms);
          });
    // Neither the attempt nor the time-out rejects, and #settle reports its own failure.
    const outcome = timedOut === null ? await attempt : await Promise.race([attempt, timedOut]);
    clearTimeout(timeout);
    // Handed back by a close past its time-out (which stopped the extensions): not this worker's to settle any more.
    if (!this.#handling.delete(job)) return;
    stopExtending();
    // A lost lease aborts the signal too: then the job is someone else's and stays untouched.
    if (!(job.signal.reason instanceof LeaseLostError)) await this.#settle(job, outcome);
    // A handler that ignores its aborted signal keeps its slot until it returns.
    if (timedOut !== null) await attempt;
  }

  async #attempt(job: RemoteLeasedJob<T, R>): Promise<Outcome<R>> {
    try {
      return { ok: true, result: await this.handler(job) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  async #settle(job: RemoteLeasedJob<T, R>, outcome: Outcome<R>): Promise<void> {
    try {
      if (!outcome.ok) {
        const next = await job.nack({ error: outcome.error });
        this.emit(next === 'dead' ? 'dead' : 'failed', job, outcome.error);
        return;
      }
      await job.ack(...([outcome.result] as AckArgs<R>));
      this.emit('completed', job, outcome.result);
    } catch (error) {
      // The settle call itself failed (lease lost, server gone): the job comes back after its lease.
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    reportWorkerError(this, error);
  }
}

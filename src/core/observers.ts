import type { AddResult, LeasedRecord, NewJob } from '../store/contract.ts';
import type { Clock } from './clock.ts';
import type { LeasedJob } from './leased-job.ts';
import { withTrace } from './trace-header.ts';

/** How an attempt ended, as the holder of its lease settled it. */
export type AttemptOutcome = 'completed' | 'failed' | 'dead';

/**
 * What a Spool tells its observers as it happens in this process: adds, leases and settles
 * made through it (its workers, its queues, a server's routes). Metrics hang on it (issue 18),
 * so the core counts in one place instead of a counter at every call site. Every method is
 * optional and runs synchronously on the caller's path: keep it cheap and never throw.
 */
export interface SpoolObserver {
  /** `count` new jobs reached the store in `queue` (an idempotent repeat is not new). */
  added?(queue: string, count: number): void;
  /**
   * A lease handed out `record` at `now`. `expired`: the job's previous lease ran out before
   * its holder settled it (the store reclaimed it), so this lease is its retry.
   */
  leased?(record: LeasedRecord, now: number, expired: boolean): void;
  /**
   * The lease on job `id` ended with `outcome` at `now`. A job handed back by release (untouched)
   * or requeue (as if its lease ran out) is not an outcome, unless the requeue made it dead.
   */
  settled?(queue: string, id: string, outcome: AttemptOutcome, now: number): void;
  /** An ack, nack or extend found its lease gone: it ran out and the job moved on. */
  leaseLost?(queue: string): void;
  /**
   * Runs a worker's handler for `job`, so that it runs inside a context of the observer's (a
   * trace span): call `run` once and return what it returns, a promise as it is.
   */
  around?(job: LeasedJob<unknown>, run: () => unknown): unknown;
  /**
   * The W3C traceparent of the code adding a job now, or null: the job carries it (trace-header.ts)
   * and its lease shows it (`LeasedJob.traceparent`), so a worker's span can link to the producer's.
   */
  traceparent?(): string | null;
}

/** The error a store writes into a job whose lease it reclaimed (every store spells it so). */
const leaseExpired = 'lease expired';

/** The observers of one Spool; with none, each call costs one length check. */
export class Observers {
  #list: SpoolObserver[] = [];
  /** The observers that wrap handlers, outermost first. */
  #arounds: SpoolObserver[] = [];
  /** The observers that give trace context to new jobs. */
  #tracers: SpoolObserver[] = [];

  constructor(private readonly clock: Clock) {}

  get any(): boolean {
    return this.#list.length > 0;
  }

  /** Adds `observer` until the returned function is called. */
  add(observer: SpoolObserver): () => void {
    this.#list = [...this.#list, observer];
    this.#sort();
    return () => {
      this.#list = this.#list.filter((o) => o !== observer);
      this.#sort();
    };
  }

  #sort(): void {
    this.#arounds = this.#list.filter((o) => o.around !== undefined);
    this.#tracers = this.#list.filter((o) => o.traceparent !== undefined);
  }

  /** The payload of a job added now: behind a trace header when an observer gives trace context. */
  stamp(payload: Uint8Array): Uint8Array {
    for (const o of this.#tracers) {
      const traceparent = o.traceparent?.() ?? null;
      if (traceparent !== null) return withTrace(payload, traceparent);
    }
    return payload;
  }

  /** Reports the new jobs of an add once the store has answered it. */
  added(jobs: readonly NewJob[], result: Promise<AddResult>): void {
    if (!this.any) return;
    result.then(
      (answer) => {
        if (!answer.ok) return;
        const perQueue = new Map<string, number>();
        jobs.forEach(({ queue }, i) => {
          if (answer.created[i] === true) perQueue.set(queue, (perQueue.get(queue) ?? 0) + 1);
        });
        for (const o of this.#list) for (const [queue, count] of perQueue) o.added?.(queue, count);
      },
      // The add's caller gets the failure; an observer has nothing to count.
      () => {},
    );
  }

  leased(records: readonly LeasedRecord[]): void {
    if (!this.any) return;
    const now = this.clock.now();
    for (const record of records) {
      const expired = record.attempts > 1 && record.errors.at(-1) === leaseExpired;
      for (const o of this.#list) o.leased?.(record, now, expired);
    }
  }

  settled(queue: string, id: string, outcome: AttemptOutcome): void {
    if (!this.any) return;
    const now = this.clock.now();
    for (const o of this.#list) o.settled?.(queue, id, outcome, now);
  }

  leaseLost(queue: string): void {
    for (const o of this.#list) o.leaseLost?.(queue);
  }

  /** Runs `handler` on `job` inside every observer's `around`; without any, just calls it. */
  handle<J extends LeasedJob<unknown>>(job: J, handler: (job: J) => unknown): unknown {
    if (this.#arounds.length === 0) return handler(job);
    let run = (): unknown => handler(job);
    for (const o of this.#arounds.toReversed()) {
      const inner = run;
      run = () => o.around?.(job, inner);
    }
    return run();
  }
}

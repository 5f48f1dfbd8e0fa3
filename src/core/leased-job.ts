import { checkNackOptions, LeaseLostError } from '../errors.ts';
import { backoffDelayMs } from '../store/contract.ts';
import type { LeasedRecord, NackKind } from '../store/contract.ts';
import { jsonCodec } from './codec.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';
import { errorText } from './job-info.ts';
import type { AttemptOutcome } from './observers.ts';
import { txOption } from './options.ts';
import type { Runtime } from './runtime.ts';
import { splitTrace } from './trace-header.ts';

export interface NackOptions {
  /** Wait before the job may run again; default: the queue's back-off. */
  delay?: Duration;
  /** Why it failed; kept in the job's error history. */
  error?: unknown;
}

/**
 * A job this consumer holds a lease on. Settle it with exactly one of ack, nack or fail; a
 * call after the lease was lost throws LeaseLostError and changes nothing.
 */
/**
 * `ack`'s arguments for a job whose result is `R`: the result may be left out only when
 * `undefined` is one (a queue without a Result type takes anything).
 */
/** `tx`: the caller's own transaction, on a store with `capabilities.transactions` (see Queue.add). */
export interface AckOptions {
  tx?: unknown;
}

export type AckArgs<R> = undefined extends R ? [result?: R, options?: AckOptions] : [result: R, options?: AckOptions];

export class LeasedJob<T = unknown, R = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly data: T;
  readonly priority: number;
  /** This lease's attempt number, from 1. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly createdAt: number;
  /** When it is gone whatever its state (its TTL), or null. */
  readonly expiresAt: number | null;
  /** Times it was nacked so far. */
  readonly nacks: number;
  /** Errors of earlier attempts, oldest first. */
  readonly errors: readonly string[];
  /** The fence of this lease: `<id>:<attempt>.<seal>`, made by the store (contract.ts, token). */
  readonly token: string;
  /** The W3C traceparent of the code that added the job, when a tracing observer gave one (traceWorkers). */
  readonly traceparent: string | null;
  #leaseUntil: number;
  #settled = false;
  // Made on first use: most jobs never look at their signal, and an AbortController per job
  // was a tenth of the worker's time in the end-to-end benchmark.
  #abort: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;

  constructor(
    private readonly record: LeasedRecord,
    private readonly runtime: Runtime,
  ) {
    this.id = record.id;
    this.queue = record.queue;
    const { body, traceparent } = splitTrace(record.payload);
    this.data = runtime.config(record.queue).codec.decode(body) as T;
    this.traceparent = traceparent;
    this.priority = record.priority;
    this.attempt = record.attempts;
    this.maxAttempts = record.maxAttempts;
    this.createdAt = record.createdAt;
    this.expiresAt = record.expiresAt;
    this.nacks = record.nacks;
    this.errors = record.errors;
    this.token = record.token;
    this.#leaseUntil = record.leaseUntil;
  }

  /** When the lease ends unless extended. */
  get leaseUntil(): number {
    return this.#leaseUntil;
  }

  /**
   * The lease's time left now, by the Spool's clock: what a process with a clock of its own (a
   * remote worker) times its extensions by, where leaseUntil would be off by the clocks' skew.
   */
  get leaseLeftMs(): number {
    return this.#leaseUntil - this.runtime.clock.now();
  }

  /** True once ack, nack, fail, release or requeue went through. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Aborted when the lease is lost or a worker's time-out for this job passes. */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#aborted) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  /** True once the signal is aborted, without making the signal. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Done: the job leaves the queue (kept as completed, with `result`, if the queue keeps them). */
  ack(...args: AckArgs<R>): Promise<void>;
  // Plain parameters underneath: a rest parameter destructured cost an array and an iterator an ack.
  async ack(result?: unknown, options?: { tx?: unknown }): Promise<void> {
    const bytes = result === undefined ? null : jsonCodec.encode(result);
    const tx = txOption(options, 'options');
    const item = { token: this.token, result: bytes };
    // An ack in the caller's transaction goes alone: a tick's batch would commit with it others' acks.
    const outcome =
      tx === undefined
        ? await this.runtime.acks.push(item)
        : (await this.runtime.store.ack({ now: this.runtime.clock.now(), items: [item], tx }))[0];
    this.#settle(outcome !== null);
    this.runtime.observers.settled(this.queue, this.id, 'completed');
  }

  /** Failed this time: retried after the delay (default: the back-off), or dead when attempts are used up. */
  async nack(options: NackOptions = {}): Promise<'retry' | 'dead'> {
    const { delay, error } = checkNackOptions(options);
    const delayMs = delay === undefined ? this.retryDelayMs(error) : parseDuration(delay, 'delay');
    return this.#nack(delayMs, error, 'fail');
  }

  /** Failed for good: straight to dead, whatever attempts are left. */
  async fail(error?: unknown): Promise<void> {
    await this.#nack(0, error, 'dead');
  }

  /**
   * Hands the job back untouched, as if it had not been leased: the attempt does not count. It
   * returns to its old place in line, or with `delay` waits that long first.
   */
  async release(options: { delay?: Duration } = {}): Promise<void> {
    const delayMs = options.delay === undefined ? 0 : parseDuration(options.delay, 'delay');
    await this.#nack(delayMs, undefined, 'release');
  }

  /**
   * Puts the job back in line now, as if its lease had run out this moment (Disque's ENQUEUE).
   * Unlike release, the attempt counts: on its last attempt the job goes dead, as after an
   * expired lease, with `requeued on its last attempt` as its last error. Unlike nack, no failure
   * is recorded (neither a nack nor, while it has attempts left, an error), and it returns to its
   * old place in line at once, without the back-off.
   */
  async requeue(): Promise<'retry' | 'dead'> {
    return this.#nack(0, requeuedOnLastAttempt, 'requeue');
  }

  /** Keeps the lease for `ms` more from now (Disque's WORKING); default: the job's visibility. */
  async extend(ms?: Duration): Promise<number> {
    const extendMs = ms === undefined ? this.record.visibilityMs : parseDuration(ms, 'ms', { positive: true });
    const { store, clock } = this.runtime;
    const result = await store.extend({ now: clock.now(), token: this.token, ms: extendMs });
    if (result.outcome === 'lost') {
      this.#lost();
      throw new LeaseLostError(this.token);
    }
    this.#leaseUntil = result.leaseUntil;
    return result.leaseUntil;
  }

  /** The wait before the next attempt after this one fails with `error`. */
  retryDelayMs(error: unknown): number {
    const fn = this.runtime.config(this.queue).retryDelay;
    if (fn !== null) return parseDuration(fn(this.attempt, error), 'backoff()');
    return backoffDelayMs(this.record.backoff, this.attempt, this.runtime.random());
  }

  /** Aborts `signal` with `reason`; the lease itself is untouched. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#abort?.abort(reason);
  }

  async #nack(delayMs: number, error: unknown, kind: NackKind): Promise<'retry' | 'dead'> {
    const { store, clock } = this.runtime;
    const text = error === undefined ? null : errorText(error);
    const result = await store.nack({ now: clock.now(), token: this.token, delayMs, error: text, kind });
    if (result.outcome === 'lost') return this.#settle(false);
    this.#settle(true);
    const outcome = attemptOutcome(kind, result.outcome);
    if (outcome !== null) this.runtime.observers.settled(this.queue, this.id, outcome);
    return result.outcome;
  }

  #settle(ok: false): never;
  #settle(ok: boolean): void;
  #settle(ok: boolean): void {
    if (!ok) {
      this.#lost();
      throw new LeaseLostError(this.token);
    }
    this.#settled = true;
  }

  #lost(): void {
    this.runtime.observers.leaseLost(this.queue);
    this.abort(new LeaseLostError(this.token));
  }
}

/**
 * The error a store keeps when a requeue ends the job's attempts: a dead job says why it is dead,
 * as one whose last lease expired says 'lease expired'. A requeue that leaves it alive keeps none.
 */
const requeuedOnLastAttempt = 'requeued on its last attempt';

/**
 * What observers hear of a nack of `kind` that ended as `outcome`: a failure is one; a job handed
 * back (released, or requeued and still alive) is not; a requeue that used the last attempt is a
 * death.
 */
function attemptOutcome(kind: NackKind, outcome: 'retry' | 'dead'): AttemptOutcome | null {
  if (outcome === 'dead') return 'dead';
  return kind === 'fail' ? 'failed' : null;
}

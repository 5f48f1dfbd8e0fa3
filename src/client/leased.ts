import { checkNackOptions, LeaseLostError } from '../errors.ts';
import type { AckArgs, Duration } from '../index.ts';
import { ackBatchOf } from './ack-batch.ts';
import { call } from './http.ts';
import type { Transport } from './http.ts';

/** A leased job as the server sends it. */
export interface LeasedJson<T> {
  readonly id: string;
  readonly queue: string;
  readonly token: string;
  readonly data: T;
  readonly attempt: number;
  readonly maxAttempts: number | null;
  readonly priority: number;
  readonly createdAt: number;
  readonly leaseUntil: number;
  /** The lease's time left when the server answered, by its clock; missing from a server before it. */
  readonly leaseLeftMs?: number;
  readonly errors: readonly string[];
  /** Missing from a server before it. */
  readonly traceparent?: string | null;
}

/** A job this client holds a lease on: the same settle calls as a local LeasedJob, by token over HTTP. */
export class RemoteLeasedJob<T = unknown, R = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly data: T;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly createdAt: number;
  readonly errors: readonly string[];
  readonly token: string;
  /** The W3C traceparent of the code that added the job, as a local LeasedJob has it. */
  readonly traceparent: string | null;
  #leaseUntil: number;
  /** When the lease ends by this process's monotonic clock (performance.now), which no skew between the machines moves. */
  #leaseEnds: number;
  #settled = false;
  readonly #abort = new AbortController();

  constructor(
    json: LeasedJson<T>,
    private readonly transport: Transport,
  ) {
    this.id = json.id;
    this.queue = json.queue;
    this.data = json.data;
    this.attempt = json.attempt;
    this.maxAttempts = json.maxAttempts ?? Infinity;
    this.priority = json.priority;
    this.createdAt = json.createdAt;
    this.errors = json.errors;
    this.token = json.token;
    this.traceparent = json.traceparent ?? null;
    this.#leaseUntil = json.leaseUntil;
    this.#leaseEnds = leaseEnds(json);
  }

  /** When the lease ends unless extended, by the server's clock. */
  get leaseUntil(): number {
    return this.#leaseUntil;
  }

  /** The lease's time left now, as the server counts it, whatever this machine's clock says. */
  get leaseLeftMs(): number {
    return this.#leaseEnds - performance.now();
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** True once the signal is aborted. */
  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Aborted, as a local job's, when the worker running this job gives it up (a close past its
   * time-out), and with LeaseLostError once a call finds the lease lost.
   */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Aborts `signal` with `reason`; the lease itself is untouched. */
  abort(reason: unknown): void {
    this.#abort.abort(reason);
  }

  /** Sent with the other acks of this turn on the same connection, in one request. */
  async ack(...[result]: AckArgs<R>): Promise<void> {
    if (!(await ackBatchOf(this.transport).ack(this.token, result))) this.#lost();
    this.#settled = true;
  }

  async nack(options: { delay?: Duration; error?: unknown } = {}): Promise<'retry' | 'dead'> {
    const { delay, error } = checkNackOptions(options);
    const body: Record<string, unknown> = {};
    if (delay !== undefined) body.delay = delay;
    if (error !== undefined) body.error = errorText(error);
    return (await this.#settle<{ outcome: 'retry' | 'dead' }>('/v1/nack', body)).outcome;
  }

  async fail(error?: unknown): Promise<void> {
    await this.#settle('/v1/nack', error === undefined ? { dead: true } : { dead: true, error: errorText(error) });
  }

  async release(): Promise<void> {
    await this.#settle('/v1/release', {});
  }

  /** Back in line at once, as if the lease had run out: the attempt counts (LeasedJob.requeue). */
  async requeue(): Promise<'retry' | 'dead'> {
    return (await this.#settle<{ outcome: 'retry' | 'dead' }>('/v1/requeue', {})).outcome;
  }

  /** Keeps the lease `ms` more from now; default: the job's visibility. */
  async extend(ms?: Duration): Promise<number> {
    const answer = await this.#call<{ leaseUntil: number; leaseLeftMs?: number }>(
      '/v1/extend',
      ms === undefined ? { token: this.token } : { token: this.token, ms },
    );
    this.#leaseUntil = answer.leaseUntil;
    this.#leaseEnds = leaseEnds(answer);
    return answer.leaseUntil;
  }

  async #settle<R>(path: string, body: Record<string, unknown>): Promise<R> {
    const answer = await this.#call<R>(path, { token: this.token, ...body });
    this.#settled = true;
    return answer;
  }

  /** A call on this lease; one that finds it lost tells the handler through `signal`, as a local job's does. */
  async #call<R>(path: string, body: Record<string, unknown>): Promise<R> {
    try {
      return await call<R>(this.transport, 'POST', path, body);
    } catch (error) {
      if (error instanceof LeaseLostError) this.abort(error);
      throw error;
    }
  }

  #lost(): never {
    const error = new LeaseLostError(this.token);
    this.abort(error);
    throw error;
  }
}

/** The server takes an error text of at most 2,000 characters. */
function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
}

/**
 * A lease's end by performance.now, from the time left the server gave: counted from the answer's
 * arrival, a little late by the answer's way back, which a worker extending at half the lease can
 * spare. A server from before leaseLeftMs gives leaseUntil alone, read against this clock.
 */
function leaseEnds(answer: { leaseUntil: number; leaseLeftMs?: number }): number {
  return performance.now() + (answer.leaseLeftMs ?? answer.leaseUntil - Date.now());
}

// A worker over HTTP: `concurrency` loops, each long-polling for one job, running the handler
// with the lease extended while it runs, then acking or nacking. A failed call (the server
// restarting, the network) is reported as 'error' and retried after a pause: it reconnects.
import { EventEmitter } from 'node:events';
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
  /** Lease length; default each job's visibility. */
  visibility?: Duration;
  /** Extend the lease at half its length while the handler runs; default true. */
  autoExtend?: boolean;
}

type Lease<T, R> = (signal: AbortSignal) => Promise<RemoteLeasedJob<T, R>[]>;

const errorPauseMs = 500;

export class RemoteWorker<T = unknown, R = unknown> extends EventEmitter<RemoteWorkerEvents<T, R>> {
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[];

  constructor(
    lease: Lease<T, R>,
    private readonly handler: RemoteHandler<T, R>,
    private readonly autoExtend: boolean,
    concurrency: number,
  ) {
    super();
    this.#loops = Array.from({ length: concurrency }, () => this.#loop(lease));
  }

  /** Stops leasing, lets running handlers finish and settle, then resolves. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#loops);
  }

  async #loop(lease: Lease<T, R>): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let jobs: RemoteLeasedJob<T, R>[];
      try {
        jobs = await lease(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.emit('error', error);
        await new Promise((resolve) => setTimeout(resolve, errorPauseMs));
        continue;
      }
      for (const job of jobs) await this.#run(job);
    }
  }

  async #run(job: RemoteLeasedJob<T, R>): Promise<void> {
    const halfLease = Math.max(1, (job.leaseUntil - Date.now()) / 2);
    const timer = this.autoExtend
      ? setInterval(() => {
          job.extend().catch((error: unknown) => this.emit('error', error));
        }, halfLease)
      : null;
    try {
      let result: R;
      try {
        result = await this.handler(job);
      } catch (error) {
        if (timer !== null) clearInterval(timer);
        const outcome = await job.nack({ error });
        this.emit(outcome === 'dead' ? 'dead' : 'failed', job, error);
        return;
      }
      if (timer !== null) clearInterval(timer);
      await job.ack(...([result] as AckArgs<R>));
      this.emit('completed', job, result);
    } catch (error) {
      // The settle call itself failed (lease lost, server gone): the job comes back after its lease.
      this.emit('error', error);
    } finally {
      if (timer !== null) clearInterval(timer);
    }
  }
}

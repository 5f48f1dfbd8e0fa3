// A worker over HTTP: `concurrency` loops, each long-polling for one job, running the handler
// with the lease extended while it runs, then acking or nacking. A failed call (the server
// restarting, the network) is reported as 'error' and retried after a pause: it reconnects.
import { EventEmitter } from 'node:events';
import type { Duration } from '../index.ts';
import type { RemoteLeasedJob } from './leased.ts';

export type RemoteHandler<T> = (job: RemoteLeasedJob<T>) => unknown;

export interface RemoteWorkerEvents<T> {
  completed: [job: RemoteLeasedJob<T>, result: unknown];
  /** The attempt failed and the job will be retried. */
  failed: [job: RemoteLeasedJob<T>, error: unknown];
  /** The attempt failed and the job is dead. */
  dead: [job: RemoteLeasedJob<T>, error: unknown];
  error: [error: unknown];
}

export interface RemoteProcessOptions {
  concurrency?: number;
  /** Lease length; default each job's visibility. */
  visibility?: Duration;
  /** Extend the lease at half its length while the handler runs; default true. */
  autoExtend?: boolean;
}

type Lease<T> = (signal: AbortSignal) => Promise<RemoteLeasedJob<T>[]>;

const errorPauseMs = 500;

export class RemoteWorker<T = unknown> extends EventEmitter<RemoteWorkerEvents<T>> {
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[];

  constructor(
    lease: Lease<T>,
    private readonly handler: RemoteHandler<T>,
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

  async #loop(lease: Lease<T>): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let jobs: RemoteLeasedJob<T>[];
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

  async #run(job: RemoteLeasedJob<T>): Promise<void> {
    const halfLease = Math.max(1, (job.leaseUntil - Date.now()) / 2);
    const timer = this.autoExtend
      ? setInterval(() => {
          job.extend().catch((error: unknown) => this.emit('error', error));
        }, halfLease)
      : null;
    try {
      let result: unknown;
      try {
        result = await this.handler(job);
      } catch (error) {
        if (timer !== null) clearInterval(timer);
        const outcome = await job.nack({ error });
        this.emit(outcome === 'dead' ? 'dead' : 'failed', job, error);
        return;
      }
      if (timer !== null) clearInterval(timer);
      await job.ack(result);
      this.emit('completed', job, result);
    } catch (error) {
      // The settle call itself failed (lease lost, server gone): the job comes back after its lease.
      this.emit('error', error);
    } finally {
      if (timer !== null) clearInterval(timer);
    }
  }
}

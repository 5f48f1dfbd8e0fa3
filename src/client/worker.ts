// A worker over HTTP is the library's own Worker (src/core/worker.ts) fed by the server: its
// leases are long-polls, two on their way at once, each for as many jobs as the worker has free
// slots and `prefetch` more; its acks of one turn are one request (ack-batch.ts); it beats to the
// server (heartbeat.ts). So concurrency, prefetch, time-outs, lease extension, close and heartbeat
// behave exactly as a local worker's. A failed call (the server restarting, the network) is
// reported as 'error' (a process warning when nobody listens) and tried again after a pause: it
// reconnects. A refusal that asking again cannot change (the token, its scope) closes it instead.
import { systemClock } from '../core/clock.ts';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../errors.ts';
import type { Heartbeat } from '../core/heartbeat.ts';
import type { Worker, WorkerEvents } from '../core/worker.ts';
import type { Handler, JobSource, ProcessOptions } from '../core/worker.ts';
import type { RemoteLeasedJob } from './leased.ts';

export type RemoteHandler<T, R = unknown> = Handler<T, R, RemoteLeasedJob<T, R>>;
export type RemoteWorker<T = unknown, R = unknown> = Worker<T, R, RemoteLeasedJob<T, R>>;
export type RemoteWorkerEvents<T, R = unknown> = WorkerEvents<T, R, RemoteLeasedJob<T, R>>;
export type RemoteProcessOptions = ProcessOptions;

/** Long-polls on its way at once: while the server answers one, the worker runs the jobs of the other. */
const lanes = 2;

/**
 * A queue's jobs from a server, for a Worker: `lease` is the queue's long-poll for up to `max`
 * jobs; the worker beats on `heartbeat` (heartbeat.ts) while it runs.
 */
export function remoteSource<T, R>(
  lease: (max: number, signal: AbortSignal) => Promise<RemoteLeasedJob<T, R>[]>,
  heartbeat: Heartbeat,
): JobSource<RemoteLeasedJob<T, R>> {
  return {
    // Only for the worker's own timers (handler time-outs, a close's grace, extensions at half a
    // lease): the lease's time is the server's (RemoteLeasedJob.leaseLeftMs).
    clock: systemClock,
    lanes,
    async lease(max, signal) {
      try {
        return await lease(max, signal);
      } catch (error) {
        // A close ends the long-poll: no jobs, as a local lease answers.
        if (signal.aborted) return [];
        throw error;
      }
    },
    // The same answer each time: the token refused (401), its scope or prefix (403), the request
    // itself (400: a queue name no queue may have).
    refuses: (error) =>
      error instanceof UnauthorizedError || error instanceof ForbiddenError || error instanceof ValidationError,
    // A server says nothing when it is reachable again: a failed long-poll is asked again after
    // the worker's pause.
    onBack: () => () => {},
    handle: (job, handler) => handler(job),
    attach: (worker) => heartbeat.register(worker),
    detach: (worker) => heartbeat.unregister(worker),
  };
}

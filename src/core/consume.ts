import { lease } from './lease.ts';
import type { LeaseRequest } from './lease.ts';
import type { LeasedJob } from './leased-job.ts';
import type { Runtime } from './runtime.ts';

/**
 * Leased jobs as an async iterable: `for await (const job of queue.consume())`. Each job must be
 * acked, nacked or failed by the loop body. Leaving the loop releases the jobs fetched ahead
 * and not yet handed out; aborting `signal` ends the loop after the current job.
 */
export async function* consume<T, R = unknown>(
  runtime: Runtime,
  request: LeaseRequest,
): AsyncGenerator<LeasedJob<T, R>, void, undefined> {
  const ahead: LeasedJob<T, R>[] = [];
  try {
    while (request.signal?.aborted !== true) {
      if (ahead.length === 0) ahead.push(...(await lease<T, R>(runtime, request)));
      const job = ahead.shift();
      if (job !== undefined) yield job;
    }
  } finally {
    await Promise.allSettled(ahead.map((job) => job.release()));
  }
}

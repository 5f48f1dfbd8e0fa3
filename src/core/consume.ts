// Leased jobs as an async iterable, from any source of leases: a Spool's store (queue.ts) or a
// server's long-polls (spool/client), so both loops end, hand back and fail alike.

/** A leased job as the loop needs it: one it can hand back. */
interface Releasable {
  release(): Promise<unknown>;
}

/**
 * Leased jobs as an async iterable: `for await (const job of queue.consume())`, the next ones
 * from `lease` whenever those fetched are handed out. Each job must be acked, nacked or failed by
 * the loop body. Leaving the loop releases the jobs fetched ahead and not yet handed out;
 * aborting `signal` ends the loop after the current job, and a lease it cuts short ends it at once.
 */
export async function* consume<J extends Releasable>(
  lease: () => Promise<J[]>,
  signal: AbortSignal | undefined,
): AsyncGenerator<J, void, undefined> {
  const stopped = (): boolean => signal?.aborted === true;
  const ahead: J[] = [];
  try {
    while (!stopped()) {
      if (ahead.length === 0) {
        try {
          ahead.push(...(await lease()));
        } catch (error) {
          if (stopped()) return;
          throw error;
        }
      }
      const job = ahead.shift();
      if (job !== undefined) yield job;
    }
  } finally {
    await Promise.allSettled(ahead.map((job) => job.release()));
  }
}

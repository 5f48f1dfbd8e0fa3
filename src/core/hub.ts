import type { Outcome, StoreEvent } from '../store/contract.ts';
import type { Clock } from './clock.ts';

interface ReadyWaiter {
  readonly queues: ReadonlySet<string>;
  readonly wake: () => void;
}

/**
 * Turns the store's change notifications into wake-ups: blocked leases wait here for a job to
 * become ready, `waitFor` waits for a job to settle. Nothing here polls.
 */
export class ChangeHub {
  /** Counts ready events; a lease compares it before and after asking the store so no wake-up is lost. */
  ready = 0;
  readonly #readyWaiters = new Set<ReadyWaiter>();
  readonly #settledWaiters = new Map<string, Set<(outcome: Outcome) => void>>();

  constructor(private readonly clock: Clock) {}

  readonly onEvent = (event: StoreEvent): void => {
    if (event.kind === 'ready') {
      this.ready++;
      this.#wake([event.queue]);
      return;
    }
    const waiters = this.#settledWaiters.get(event.id);
    if (waiters !== undefined) for (const fn of [...waiters]) fn(event.outcome);
  };

  /** Resolves when one of `queues` gets a ready job or after `ms` (false), or when `signal` aborts (true). */
  waitReady(queues: readonly string[], ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (aborted: boolean): void => {
        cancelTimer();
        this.#readyWaiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
        resolve(aborted);
      };
      const onAbort = (): void => done(true);
      const waiter: ReadyWaiter = { queues: new Set(queues), wake: () => done(false) };
      const cancelTimer = this.clock.setTimer(ms, () => done(false));
      this.#readyWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `fn` when job `id` settles, until the returned function is called. */
  onSettled(id: string, fn: (outcome: Outcome) => void): () => void {
    let set = this.#settledWaiters.get(id);
    if (set === undefined) this.#settledWaiters.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#settledWaiters.delete(id);
    };
  }

  /**
   * Wakes the leases blocked on `queues` as soon as this Spool has sent an add to them, before the
   * store's event comes back: on a store that runs one connection's calls in order (Redis) the
   * lease they send now runs right behind the add, a round trip sooner, and shares its fsync. The
   * store's event still counts when it comes, so a store that answers that lease before it has
   * the job only costs an empty lease.
   */
  sent(queues: readonly string[]): void {
    this.#wake(queues);
  }

  #wake(queues: readonly string[]): void {
    for (const waiter of this.#readyWaiters) if (queues.some((q) => waiter.queues.has(q))) waiter.wake();
  }

  /** Wakes every blocked lease, so they notice the Spool closing. */
  wakeAll(): void {
    for (const waiter of [...this.#readyWaiters]) waiter.wake();
  }
}

// The lease calls of one process, per queue list: one statement in flight at a time, and the
// calls that come meanwhile go together as the next one (LIMIT the sum of their `max`), served in
// the order they came. Under load a lease is then one statement for many callers, not a
// round trip each; and the first caller to ask is the first served, as on a store that runs its
// calls one by one (a lease woken first takes the job first).
import type { LeaseParams, LeaseResult, LeasedRecord } from '../contract.ts';

/**
 * A lease's answer, and whether the sleepers it leaves are covered already: the queues' wake-up
 * times, as the store last recorded them, wake them by the answer's `nextAt` (then no told).
 */
export interface TakeResult extends LeaseResult {
  readonly covered: boolean;
  /** When jobs another statement held locked, which the lease passed over, are looked at again; null when none were. */
  readonly lockedUntil: number | null;
}

interface Waiter {
  readonly params: LeaseParams;
  readonly resolve: (result: LeaseResult) => void;
  readonly reject: (error: unknown) => void;
}

export class LeaseLine {
  readonly #lines = new Map<string, Waiter[]>();

  constructor(
    /** Leases for all of a batch, telling nobody it sleeps. */
    private readonly take: (params: LeaseParams) => Promise<TakeResult>,
    /** Records that leases on `queues` found nothing at `now`; answers when they are to wake at the latest. */
    private readonly told: (queues: readonly string[], now: number) => Promise<number | null>,
  ) {}

  lease(params: LeaseParams): Promise<LeaseResult> {
    const key = `${String(params.visibilityMs)}\0${params.queues.join('\0')}`;
    return new Promise((resolve, reject) => {
      const line = this.#lines.get(key);
      if (line !== undefined) {
        line.push({ params, resolve, reject });
        return;
      }
      this.#lines.set(key, []);
      void this.#serve(key, [{ params, resolve, reject }]);
    });
  }

  async #serve(key: string, first: Waiter[]): Promise<void> {
    let batch = first;
    while (batch.length > 0) {
      const head = batch[0] as Waiter;
      const now = Math.max(...batch.map((w) => w.params.now));
      const max = batch.reduce((sum, w) => sum + w.params.max, 0);
      try {
        const result = await this.take({ ...head.params, now, max });
        let at = 0;
        const shares = batch.map((w) => {
          const mine: LeasedRecord[] = result.jobs.slice(at, at + w.params.max);
          at += mine.length;
          return mine;
        });
        // A caller that got nothing sleeps: the store must know, so a due time comes to it. An
        // idle worker's every empty lease told it the same thing again, a statement per job (issue 15).
        const sleeps = shares.some((s) => s.length === 0);
        const due = sleeps && !result.covered ? await this.told(head.params.queues, now) : result.nextAt;
        const nextAt = result.lockedUntil === null ? due : Math.min(due ?? Infinity, result.lockedUntil);
        batch.forEach((w, i) => w.resolve({ jobs: shares[i] as LeasedRecord[], nextAt }));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
      batch = this.#lines.get(key) ?? [];
      this.#lines.set(key, []);
    }
    this.#lines.delete(key);
  }
}

// The leases this node's GETJOBs handed out, by job id, so that the ACKJOB that follows acks
// the lease it already holds instead of asking the store for the job's current one first (a
// store read per id, in the hot path of every consumer). A lease that moved on since (its RETRY
// ran out and another consumer has the job) fails its ack with LeaseLostError, and the caller
// falls back to asking the store.
import type { LeasedJob } from '../../index.ts';

/** Most leases kept; past it the oldest is forgotten (its ACKJOB then asks the store). */
const maxLeases = 10_000;

export class HandedOut {
  readonly #leases = new Map<string, LeasedJob>();

  remember(lease: LeasedJob): void {
    if (this.#leases.size >= maxLeases) {
      const oldest = this.#leases.keys().next();
      if (oldest.done !== true) this.#leases.delete(oldest.value);
    }
    this.#leases.set(lease.id, lease);
  }

  /** The lease handed out for job `id`, forgotten from now on; undefined when there is none. */
  take(id: string): LeasedJob | undefined {
    const lease = this.#leases.get(id);
    if (lease !== undefined) this.#leases.delete(id);
    return lease;
  }

  get size(): number {
    return this.#leases.size;
  }
}

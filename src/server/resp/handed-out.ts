// The leases a connection's GETJOBs handed out, so that the ACKJOB that follows on it acks the
// lease it already holds instead of asking the store for the job's current one first (a store
// read per id, in the hot path of every consumer). A lease that moved on since (its RETRY ran
// out and another consumer has the job) fails its ack with LeaseLostError, and the caller falls
// back to asking the store. Kept per connection in a short array: a consumer acks on the
// connection it got the jobs on, mostly in the order it got them, and a Map keyed by ids made
// afresh for every command cost more than the scan.
import type { LeasedJob } from '../../index.ts';

/** Most leases kept per connection; past it the oldest is forgotten (its ACKJOB then asks the store). */
const maxLeases = 256;

export class HandedOut {
  readonly #leases: LeasedJob[] = [];

  remember(lease: LeasedJob): void {
    if (this.#leases.length >= maxLeases) this.#leases.shift();
    this.#leases.push(lease);
  }

  /** The lease handed out for job `id`, forgotten from now on; undefined when there is none. */
  take(id: string): LeasedJob | undefined {
    const i = this.#leases.findIndex((lease) => lease.id === id);
    return i < 0 ? undefined : this.#leases.splice(i, 1)[0];
  }
}

// The leases a connection's GETJOBs handed out, so that the ACKJOB that follows on it acks the
// lease it already holds instead of asking the store for the job's current one first (a store
// read per id, in the hot path of every consumer). A lease that moved on since (its RETRY ran
// out and another consumer has the job) fails its ack with LeaseLostError, and the caller falls
// back to asking the store. Kept per connection in a short array: a consumer acks on the
// connection it got the jobs on, mostly in the order it got them, and a Map keyed by ids made
// afresh for every command cost more than the scan. Each is found by the Disque id it was
// handed out under, as the client sends it back: no decoding of the id to find it (issue 17).
import type { LeasedJob } from '../../index.ts';

/** Most leases kept per connection; past it the oldest is forgotten (its ACKJOB then asks the store). */
const maxLeases = 256;

export class HandedOut {
  readonly #leases: LeasedJob[] = [];
  /** The Disque id each of `#leases` was handed out under, at the same index. */
  readonly #ids: string[] = [];

  remember(lease: LeasedJob, disqueId: string): void {
    if (this.#leases.length >= maxLeases) {
      this.#leases.shift();
      this.#ids.shift();
    }
    this.#leases.push(lease);
    this.#ids.push(disqueId);
  }

  /** The lease handed out under `disqueId`, forgotten from now on; undefined when there is none. */
  take(disqueId: string): LeasedJob | undefined {
    const i = this.#ids.indexOf(disqueId);
    if (i < 0) return undefined;
    const lease = this.#leases[i];
    // Mostly the oldest: a consumer acks in the order it got them.
    if (i === 0) {
      this.#ids.shift();
      this.#leases.shift();
    } else {
      this.#ids.splice(i, 1);
      this.#leases.splice(i, 1);
    }
    return lease;
  }
}

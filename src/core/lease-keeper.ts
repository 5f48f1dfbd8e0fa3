import type { Clock } from './clock.ts';

/** A lease a keeper can keep: a local LeasedJob, or spool/client's RemoteLeasedJob. */
export interface KeptLease {
  /** Time left by the lease holder's clock, which may not be this process's (a server's). */
  readonly leaseLeftMs: number;
  extend(ms?: number): Promise<unknown>;
}

/**
 * Extends the leases of a worker's running jobs at half-time, on one timer for them all: a
 * timer per job cost more than a short handler, and most handlers end long before half-time.
 */
export class LeaseKeeper<J extends KeptLease> {
  /** Each kept job and when its lease is next extended. */
  readonly #due = new Map<J, number>();
  #cancel: (() => void) | null = null;
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    /** Lease length to ask for; undefined: each job's own visibility. */
    private readonly lengthMs: number | undefined,
    private readonly report: (error: unknown) => void,
  ) {}

  keep(job: J): void {
    this.#schedule(job);
  }

  release(job: J): void {
    this.#due.delete(job);
    if (this.#due.size === 0) this.#disarm();
  }

  #schedule(job: J): void {
    const at = this.clock.now() + Math.max(1, job.leaseLeftMs / 2);
    this.#due.set(job, at);
    if (at < this.#armedAt) this.#arm(at);
  }

  #arm(at: number): void {
    this.#disarm();
    this.#armedAt = at;
    this.#cancel = this.clock.setTimer(Math.max(1, at - this.clock.now()), () => this.#tick());
  }

  #disarm(): void {
    this.#cancel?.();
    this.#cancel = null;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  #tick(): void {
    this.#cancel = null;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [job, at] of this.#due) {
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      // Off the schedule while the extension is on its way; back on it with the new lease.
      this.#due.set(job, Number.POSITIVE_INFINITY);
      job.extend(this.lengthMs).then(
        () => {
          if (this.#due.has(job)) this.#schedule(job);
        },
        (error: unknown) => this.report(error),
      );
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }
}

import type { Clock } from './clock.ts';

/**
 * A blocked wait's time-out: one timer armed for all of it, which counts elapsed time. A deadline
 * on the wall clock (`now() + ms`, compared at each look) moved with every step of the system
 * clock: stepped back an hour (NTP, a resumed VM, an operator), a lease's 30 s wait lasted an
 * hour and 30 s; stepped forward, it ended at once. The wall clock stays what a store is given
 * (due times, lease ends, a sleeper's `until`): those are shared with other processes.
 */
export class TimeOut {
  /** The time is up. */
  passed = false;
  /** Settles the promise the wait is on now (`or`). */
  #wake: (() => void) | undefined;
  readonly #forever: boolean;
  readonly cancel: () => void;

  /** `ms`: Infinity arms nothing and never passes. */
  constructor(clock: Clock, ms: number) {
    this.#forever = ms === Infinity;
    this.cancel = this.#forever
      ? () => {}
      : clock.setTimer(ms, () => {
          this.passed = true;
          this.#wake?.();
        });
  }

  /**
   * What a wait is on besides its own wake-ups: settles when the time is up or `also` settles.
   * One wait at a time: each call takes the wake-up from the one before.
   */
  or(also: Promise<unknown> | undefined): Promise<unknown> | undefined {
    if (this.#forever) return also;
    return new Promise<void>((resolve) => {
      if (this.passed) return resolve();
      const done = (): void => resolve();
      this.#wake = done;
      also?.then(done, done);
    });
  }
}

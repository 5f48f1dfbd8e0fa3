/**
 * Where the core reads time and sets timers. Tests pass a ManualClock and move it with
 * `advance()` instead of sleeping; stores never read time themselves, they get `now`.
 */
export interface Clock {
  /** The wall clock (ms since the epoch), which a step of the system clock moves: for times a store keeps. */
  now(): number;
  /** Calls `fn` once after `ms` of elapsed time, whatever steps `now()` takes; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** setTimeout's longest wait: past it node waits 1 ms instead. */
const longestTimeoutMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    if (ms <= longestTimeoutMs) {
      const timer = setTimeout(fn, Math.max(0, ms));
      return () => clearTimeout(timer);
    }
    // A longer wait is several timeouts in a row: one cut to the longest fired 24.8 days in, so a
    // waitFor, handler or close time-out of 30 days ran out then.
    let timer: NodeJS.Timeout;
    const arm = (left: number): void => {
      timer =
        left > longestTimeoutMs
          ? setTimeout(() => arm(left - longestTimeoutMs), longestTimeoutMs)
          : setTimeout(fn, Math.max(0, left));
    };
    arm(ms);
    return () => clearTimeout(timer);
  },
};

interface ManualTimer {
  /** By `now()`: moved with every `step`. */
  at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when told to; timers fire, in order, as it passes them. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<ManualTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Moves time forward by `ms`, firing each timer it passes at its own time. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers)
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
          next = t;
      if (next === undefined) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }

  /**
   * Steps the wall clock by `ms` (back when negative), as NTP, a resumed VM or an operator does:
   * `now()` moves, no timer fires, and each still fires after the same elapsed time.
   */
  step(ms: number): void {
    this.#now += ms;
    for (const t of this.#timers) t.at += ms;
  }

  /** Timers still pending: lets a test wait until the code under test has armed its timer. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Whether a pending timer fires at `at`: lets a test wait until the code under test heard of that time. */
  armedFor(at: number): boolean {
    for (const t of this.#timers) if (t.at === at) return true;
    return false;
  }
}

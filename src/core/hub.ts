import { randomUUID } from 'node:crypto';
import type { JobEnd, SleeperEvent } from '../store/contract.ts';
import type { Clock } from './clock.ts';
import { onAbort } from './abort.ts';

interface ReadyWaiter {
  readonly queues: ReadonlySet<string>;
  /** `added`: the add this Spool sent that wakes it, settling once the store has the jobs. */
  readonly wake: (added?: Promise<unknown>) => void;
}

/**
 * `end`: how the job ended, or null when its end may have gone untold (look again); `result`: a
 * completed job's result when the store did not keep the job (see StoreEvent).
 */
type EndListener = (end: JobEnd | null, result?: Uint8Array | null) => void;

/** How a blocked lease's wait ended. */
export type Wakeup =
  | { readonly kind: 'aborted' }
  /** A store event, the end of its time, or the promise it was also waiting on. */
  | { readonly kind: 'ready' }
  /** This Spool sent an add to one of its queues; `added` settles once the store has the jobs. */
  | { readonly kind: 'sent'; readonly added: Promise<unknown> };

/**
 * Turns the store's change notifications into wake-ups: blocked leases wait here for a job to
 * become ready, `waitFor` waits for a job to end. Nothing here polls. It takes a store's events
 * with the sleepers' fields (`SleeperEvent`), which a store without sleepers never sends.
 */
export class ChangeHub {
  /** Counts ready events and sent adds; a lease compares it before and after asking the store so no wake-up is lost. */
  ready = 0;
  /** This hub's add origin (`SleeperExtension.add`): the ready events of its own adds come back marked with it. */
  readonly id = randomUUID();
  /** Sleeper ids start with it: `<id>/<n>`. */
  readonly #sleeperPrefix = `${this.id}/`;
  readonly #readyWaiters = new Set<ReadyWaiter>();
  readonly #endWaiters = new Map<string, Set<EndListener>>();
  /** Blocked leases by their sleeper id (`SleeperExtension.lease`), while they wait. */
  readonly #sleeping = new Map<string, ReadyWaiter>();
  /** Sleeper ids of the lease calls still running, waiting or asking the store. */
  readonly #live = new Set<string>();
  /** One timer per queue, at the earliest due time heard of (`due` events), not one per job. */
  readonly #dueTimers = new Map<string, { readonly at: number; readonly cancel: () => void }>();
  /** The Spool is closing: no lease will block again, and no timer may keep the process alive. */
  #closing = false;
  readonly #closeListeners = new Set<() => void>();
  readonly #missedListeners = new Set<() => void>();
  #sleepers = 0;

  /** `passOn` sends the wakes of this hub's sleepers that have gone on to every watcher (`SleeperExtension.wake`). */
  constructor(
    private readonly clock: Clock,
    private readonly passOn: (queue: string, count: number) => void = () => {},
  ) {}

  readonly onEvent = (event: SleeperEvent): void => {
    if (event.kind === 'due') {
      this.#due(event.queue, event.at);
      return;
    }
    if (event.kind === 'ready') {
      // This hub's own add, which woke its leases when it was sent.
      if (event.origin === this.id) return;
      if (event.sleepers !== undefined) {
        this.#wakeSleepers(event.queue, event.sleepers);
        return;
      }
      this.ready++;
      this.#wake(event.queue, event.wake ?? Infinity);
      return;
    }
    if (event.kind === 'missed') {
      this.#missed();
      return;
    }
    const waiters = this.#endWaiters.get(event.id);
    if (waiters !== undefined) for (const fn of [...waiters]) fn(event.end, event.result);
  };

  /**
   * Resolves when one of `queues` gets a ready job, after `ms`, when `also` settles, or when
   * `signal` aborts.
   */
  waitReady(
    queues: readonly string[],
    ms: number,
    signal: AbortSignal | undefined,
    also?: Promise<unknown>,
    sleeper?: string,
  ): Promise<Wakeup> {
    return new Promise((resolve) => {
      let waiting = true;
      const done = (wakeup: Wakeup): void => {
        if (!waiting) return;
        waiting = false;
        cancelTimer();
        this.#readyWaiters.delete(waiter);
        if (sleeper !== undefined) this.#sleeping.delete(sleeper);
        offAbort();
        resolve(wakeup);
      };
      const ready: Wakeup = { kind: 'ready' };
      const waiter: ReadyWaiter = {
        queues: new Set(queues),
        wake: (added) => done(added === undefined ? ready : { kind: 'sent', added }),
      };
      const offAbort = signal === undefined ? () => {} : onAbort(signal, () => done({ kind: 'aborted' }));
      const cancelTimer = this.clock.setTimer(ms, () => done(ready));
      this.#readyWaiters.add(waiter);
      if (sleeper !== undefined) this.#sleeping.set(sleeper, waiter);
      also?.then(
        () => done(ready),
        () => done(ready),
      );
    });
  }

  /**
   * Calls `fn` when the Spool starts closing, until the returned function is called: a waitFor
   * then answers ClosedError, as a blocked lease does, instead of never.
   */
  onClose(fn: () => void): () => void {
    this.#closeListeners.add(fn);
    return () => this.#closeListeners.delete(fn);
  }

  /**
   * Calls `fn` each time the store may have lost events (StoreEvent 'missed'), which a store says
   * once it is back after an outage, until the returned function is called.
   */
  onMissed(fn: () => void): () => void {
    this.#missedListeners.add(fn);
    return () => this.#missedListeners.delete(fn);
  }

  /**
   * Calls `fn` when job `id` ends (with its end), or when the store may have lost the event of its
   * end (with none: look at the job again), until the returned function is called.
   */
  onEnded(id: string, fn: EndListener): () => void {
    let set = this.#endWaiters.get(id);
    if (set === undefined) this.#endWaiters.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#endWaiters.delete(id);
    };
  }

  /** The store may have lost events (StoreEvent 'missed'): every blocked lease and waitFor looks again. */
  #missed(): void {
    this.ready++;
    for (const waiter of [...this.#readyWaiters]) waiter.wake();
    for (const waiters of [...this.#endWaiters.values()]) for (const fn of [...waiters]) fn(null);
    for (const fn of [...this.#missedListeners]) fn();
  }

  /**
   * Wakes as many leases blocked on each queue as jobs were sent to it, as soon as this Spool
   * has sent the add, before the store's event comes back: on a store that runs one
   * connection's calls in order (Redis) the lease they send now runs right behind the add, a
   * round trip sooner, and shares its fsync. A lease already on its way when the add was sent
   * asks again (`ready` moves on). A store that keeps that order marks the add's own events
   * with `id`, and they wake nobody a second time. A lease that still finds nothing (the
   * store answered it before it had the jobs, or another process took them) asks once more
   * when `added` settles (see `lease`).
   */
  sent(jobsPerQueue: ReadonlyMap<string, number>, added: Promise<unknown>): void {
    this.ready++;
    for (const [queue, jobs] of jobsPerQueue) this.#wake(queue, jobs, added);
  }

  /** A sleeper id for one lease call, until `endSleeper`. */
  newSleeper(): string {
    const id = `${this.#sleeperPrefix}${++this.#sleepers}`;
    this.#live.add(id);
    return id;
  }

  endSleeper(id: string): void {
    this.#live.delete(id);
  }

  /** Wakes up to `most` of the leases blocked on `queue`, the longest waiting first; returns how many. */
  #wake(queue: string, most: number, added?: Promise<unknown>): number {
    let woken = 0;
    for (const waiter of this.#readyWaiters) {
      if (woken >= most) break;
      if (!waiter.queues.has(queue)) continue;
      waiter.wake(added);
      woken++;
    }
    return woken;
  }

  /**
   * An event that names the sleepers to wake: this hub's own wake; one asking the store now asks
   * again (`ready` moves on); the wake of one gone (its call ended: it took jobs of another
   * queue, or its signal aborted) goes to another lease here, or else to every watcher.
   */
  #wakeSleepers(queue: string, ids: readonly string[]): void {
    let gone = 0;
    for (const id of ids) {
      if (!id.startsWith(this.#sleeperPrefix)) continue;
      const waiter = this.#sleeping.get(id);
      if (waiter !== undefined) waiter.wake();
      else if (this.#live.has(id)) this.ready++;
      else gone++;
    }
    const left = gone - this.#wake(queue, gone);
    if (left > 0) this.passOn(queue, left);
  }

  /** Wakes every blocked lease, so they notice the Spool closing; due timers go for good. */
  wakeAll(): void {
    this.#closing = true;
    for (const { cancel } of this.#dueTimers.values()) cancel();
    this.#dueTimers.clear();
    for (const waiter of [...this.#readyWaiters]) waiter.wake();
    for (const fn of [...this.#closeListeners]) fn();
    this.#closeListeners.clear();
  }

  /**
   * Something in `queue` falls due at `at`: then every lease blocked on it wakes and asks the
   * store, which applies what is due. A later time than the timer's is covered by it: the leases
   * it wakes learn the next time from the store's answer (`LeaseResult.nextAt`).
   */
  #due(queue: string, at: number): void {
    const armed = this.#dueTimers.get(queue);
    if (this.#closing || (armed !== undefined && armed.at <= at)) return;
    armed?.cancel();
    const fire = (): void => {
      this.#dueTimers.delete(queue);
      // A lease asking the store right now may get an answer from before the due time: it asks again.
      this.ready++;
      this.#wake(queue, Infinity);
    };
    const ms = at - this.clock.now();
    // Due already (the event came late, or another process's clock is ahead).
    if (ms <= 0) fire();
    else this.#dueTimers.set(queue, { at, cancel: this.clock.setTimer(ms, fire) });
  }
}

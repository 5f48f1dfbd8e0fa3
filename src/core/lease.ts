import { checkKeys, ValidationError } from '../errors.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';
import { LeasedJob } from './leased-job.ts';
import { checkQueueName, wholeNumber } from './options.ts';
import type { Runtime } from './runtime.ts';
import { TimeOut } from './time-out.ts';

export interface LeaseOptions {
  /** Taken left to right: a job of the first queue before any of the second (Disque's GETJOB FROM a b c). */
  queues: string | readonly string[];
  /** Most jobs to take; default 1. */
  max?: number;
  /** Lease length; default each job's own visibility. */
  visibility?: Duration;
  /**
   * Block up to this long for a job to arrive; default 0 (answer at once). Infinity (or
   * 'forever') blocks until a job comes or `signal` aborts (Disque's GETJOB, dque's DequeueBlock).
   */
  wait?: Duration;
  /** Ends a blocked wait early (the call then resolves with no jobs). */
  signal?: AbortSignal;
}

export interface LeaseRequest {
  readonly queues: readonly string[];
  readonly max: number;
  readonly visibilityMs: number | null;
  readonly waitMs: number;
  readonly signal: AbortSignal | undefined;
}

export const maxLeaseBatch = 1000;
/**
 * Longest a sleeper sleeps before it asks again, and so how long a shared store keeps naming a
 * sleeper whose process died: a job it was woken for waits that long at most.
 */
const sleeperMs = 5_000;

export function leaseRequest(options: unknown): LeaseRequest {
  const o = checkKeys(options, ['queues', 'max', 'visibility', 'wait', 'signal'], 'lease');
  const queues = typeof o.queues === 'string' ? [o.queues] : o.queues;
  if (!Array.isArray(queues) || queues.length === 0)
    throw new ValidationError('lease.queues', 'must name at least one queue');
  const max = o.max === undefined ? 1 : wholeNumber(o.max, 'lease.max', 1, maxLeaseBatch);
  let visibilityMs: number | null = null;
  if (o.visibility !== undefined) {
    visibilityMs = parseDuration(o.visibility, 'lease.visibility', { positive: true });
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new ValidationError('lease.signal', 'must be an AbortSignal');
  return {
    queues: queues.map((q, i) => checkQueueName(q, `lease.queues[${i}]`)),
    max,
    visibilityMs,
    waitMs: o.wait === undefined ? 0 : parseDuration(o.wait, 'lease.wait', { forever: true }),
    signal: o.signal,
  };
}

/**
 * Leases up to `max` jobs; with `waitMs` it blocks until a job arrives, woken by the store's
 * change notification or by the time the store says something falls due — never by polling.
 */
export async function lease<T, R = unknown>(runtime: Runtime, request: LeaseRequest): Promise<LeasedJob<T, R>[]> {
  const { store, sleepers, clock, hub } = runtime;
  const { queues, max, visibilityMs, waitMs, signal } = request;
  // The add this Spool sent that ended the last wait: until it settles the store may not have
  // its jobs yet (a file store's commit; a Redis script sent again after NOSCRIPT, behind the
  // lease), so a lease that finds nothing then asks again when it does.
  let added: Promise<unknown> | undefined;
  // On a store with sleepers a blocked lease is one the store may wake by name (one add, one
  // lease, not one in every process), and asks again at least every `sleeperMs`.
  const sleeper = waitMs > 0 && sleepers !== null ? hub.newSleeper() : undefined;
  // Whether the store may still name it: the last answer found nothing.
  let noted = false;
  // The end of the wait, armed at the first answer that finds nothing: a lease that finds jobs at
  // once sets no timer.
  let timeOut: TimeOut | undefined;
  try {
    for (;;) {
      runtime.assertOpen();
      // Read before asking the store: a job added while the store answers "none" bumps it.
      const seen = hub.ready;
      const asked = clock.now();
      // By the wall clock, as every time a store keeps; not the wait's end, which is elapsed time:
      // a lease whose wait ends sooner forgets its sleeper then.
      const until = sleeper === undefined ? Infinity : asked + sleeperMs;
      const params = { now: asked, queues, max, visibilityMs };
      const result = await (sleeper === undefined || sleepers === null
        ? store.lease(params)
        : sleepers.lease({ ...params, sleeper: { id: sleeper, until } }));
      noted = sleeper !== undefined && result.jobs.length === 0;
      if (result.jobs.length > 0) {
        runtime.observers.leased(result.jobs);
        return result.jobs.map((record) => new LeasedJob<T, R>(record, runtime));
      }
      const now = clock.now();
      if (signal?.aborted === true) return [];
      if (timeOut === undefined) {
        // The first answer's own time is the one span of the wait the wall clock still measures:
        // a step back during that store call is not counted, a step forward shortens the wait.
        const leftMs = waitMs - Math.max(0, now - asked);
        if (leftMs <= 0) return [];
        timeOut = new TimeOut(clock, leftMs);
      } else if (timeOut.passed) return [];
      // Time moved on while the store answered: what it said falls due later may be due already.
      if (hub.ready !== seen || (result.nextAt !== null && result.nextAt <= now)) continue;
      const sleepMs = Math.min(until, result.nextAt ?? Infinity) - now;
      const wakeup = await hub.waitReady(queues, sleepMs, signal, timeOut.or(added), sleeper);
      // An aborted wait ends here: another lease now would take jobs nobody asked for any more.
      if (wakeup.kind === 'aborted') return [];
      added = wakeup.kind === 'sent' ? wakeup.added : undefined;
    }
  } finally {
    timeOut?.cancel();
    if (sleeper !== undefined && sleepers !== null) {
      hub.endSleeper(sleeper);
      // Gone before its time (its wait over, aborted, closed): a wake the store would still send
      // it goes to nobody once this Spool has closed. Not waited for: the store forgets a sleeper
      // past its `until` anyway, and with its server unreachable the forget waits as long as any
      // call may, where an aborted lease must answer now (a spool serve stopped during a Redis
      // outage took the store's whole time-out to answer its long-polls and close).
      if (noted) void sleepers.forget({ now: clock.now(), id: sleeper, queues }).catch(() => undefined);
    }
  }
}

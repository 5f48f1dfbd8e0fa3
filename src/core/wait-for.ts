import { asError, ClosedError, JobFailedError, NotFoundError, TimeoutError } from '../errors.ts';
import type { JobEnd, JobRecord } from '../store/contract.ts';
import { jsonCodec } from './codec.ts';
import { onAbort } from './abort.ts';
import type { Runtime } from './runtime.ts';

/**
 * Resolves with the job's result once it is acked; rejects with JobFailedError once it is
 * dead. The rule, the same on every store (issue 13: memory said NOT_FOUND where Redis
 * resolved): waitFor looks once when called, and a job the store does not have then is
 * NOT_FOUND (never added, removed, or finished and not kept). After that look it waits, and a
 * completion it sees resolves with the result even when the queue does not keep the job.
 * Events that arrive before that first answer wait for it: on Redis a completion published
 * just before the call can arrive after it, and must not turn a NOT_FOUND into a resolve.
 * Aborting `signal` rejects with its reason and lets go of the job (a server's client left);
 * the Spool closing rejects with ClosedError.
 */
export function waitFor<R>(runtime: Runtime, id: string, timeoutMs: number | null, signal?: AbortSignal): Promise<R> {
  const { store, clock, hub, watchEnd } = runtime;
  return new Promise<R>((resolve, reject) => {
    // Thrown here, a ClosedError rejects the promise before anything is watched.
    runtime.assertOpen();
    let done = false;
    let looked = false;
    let seen: { end: JobEnd; result: Uint8Array | null | undefined } | null = null;
    // The job's TTL at the last look that found it unfinished: its end, if it ends so unseen.
    let expiresAt: number | null = null;
    // Cancels the look again at the time the job ends by itself (endsBy).
    let cancelEnd = (): void => {};
    let unwatch: (() => Promise<void>) | null = null;
    let offAbort = (): void => {};
    const failed = (error: unknown): void => finish(() => reject(asError(error)));
    const finish = (answer: () => void): void => {
      if (done) return;
      done = true;
      unsubscribe();
      offClose();
      unwatch?.().catch(() => {});
      cancelTimer();
      cancelEnd();
      offAbort();
      answer();
    };
    const aborted = (): void => {
      const reason: unknown = signal?.reason;
      finish(() => reject(reason instanceof Error ? reason : new Error('aborted', { cause: reason })));
    };
    const decide = (record: JobRecord | null | undefined, first: boolean): void => {
      if (record?.state === 'completed') {
        const result = record.result === null ? undefined : jsonCodec.decode(record.result);
        finish(() => resolve(result as R));
      } else if (record?.state === 'dead') {
        finish(() => reject(new JobFailedError(id, record.errors)));
      } else if (record !== null && record !== undefined) {
        // A TTL passing ends the job with no call to the store, and no event, until some call
        // settles its queue: in a quiet queue this waitFor would wait past the job's end for good.
        expiresAt = record.expiresAt;
        const at = endsBy(record);
        cancelEnd();
        cancelEnd = at === null ? () => {} : clock.setTimer(at - clock.now(), check);
      } else if (!first && seen?.end === 'completed') {
        const result = seen.result === null || seen.result === undefined ? undefined : jsonCodec.decode(seen.result);
        finish(() => resolve(result as R));
      } else {
        // The expired event may come after the look that found the job gone (Redis' pub/sub).
        const end = seen?.end ?? (expiresAt !== null && expiresAt <= clock.now() ? 'expired' : null);
        const why =
          first || end === null
            ? 'not found (never added, removed, or finished and not kept)'
            : `${end} before it finished`;
        finish(() => reject(new NotFoundError('job', id, null, why)));
      }
    };
    const look = async (): Promise<void> => {
      const first = !looked;
      const [record] = await store.get({ now: clock.now(), ids: [id] });
      looked = true;
      decide(record, first);
      // What ended while the first look was on its way is read now.
      if (first && seen !== null && !done) check();
    };
    const check = (): void => {
      look().catch(failed);
    };
    const unsubscribe = hub.onEnded(id, (end, result) => {
      // No end: it may have been lost (StoreEvent 'missed'), and the job is read again.
      if (end !== null) seen = { end, result };
      if (looked) check();
    });
    const cancelTimer =
      timeoutMs === null
        ? () => {}
        : clock.setTimer(timeoutMs, () => finish(() => reject(new TimeoutError(`waitFor(${id})`, timeoutMs))));
    const offClose = hub.onClose(() => finish(() => reject(new ClosedError())));
    if (signal?.aborted === true) return aborted();
    if (signal !== undefined) offAbort = onAbort(signal, aborted);
    if (watchEnd === null) return check();
    // A store that tells other processes only of the ends somebody watches: watched before the
    // first look, so an end that look misses is told (contract.ts, Store.watchEnd).
    watchEnd({ now: clock.now(), id }).then((stop) => {
      if (done) return void stop().catch(() => {});
      unwatch = stop;
      check();
    }, failed);
  });
}

/**
 * When an unfinished job ends by time alone, with no call that ends it: at its TTL, or on its last
 * attempt when its lease runs out (the reclaim sends it dead); null when only a call ends it.
 */
function endsBy(record: JobRecord): number | null {
  const lastLease = record.state === 'active' && record.attempts >= record.maxAttempts ? record.leaseUntil : null;
  if (lastLease === null) return record.expiresAt;
  return record.expiresAt === null ? lastLease : Math.min(record.expiresAt, lastLease);
}

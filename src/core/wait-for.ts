import { JobFailedError, NotFoundError, TimeoutError } from '../errors.ts';
import type { Outcome } from '../store/contract.ts';
import { jsonCodec } from './codec.ts';
import type { Runtime } from './runtime.ts';

/**
 * Resolves with the job's result once it is acked; rejects with JobFailedError once it is
 * dead. It subscribes before it looks, so a job that finishes at any moment is seen; a job
 * that finished before the call is seen as long as the queue keeps it (keepCompleted).
 * Aborting `signal` rejects with its reason and lets go of the job (a server's client left).
 */
export function waitFor<R>(runtime: Runtime, id: string, timeoutMs: number | null, signal?: AbortSignal): Promise<R> {
  const { store, clock, hub } = runtime;
  return new Promise<R>((resolve, reject) => {
    let done = false;
    let seen: Outcome | null = null;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      unsubscribe();
      cancelTimer();
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      finish(() => reject(reason instanceof Error ? reason : new Error('aborted', { cause: reason })));
    };
    const look = async (): Promise<void> => {
      const [record] = await store.get([id], clock.now());
      if (record?.state === 'completed') {
        const result = record.result === null ? undefined : jsonCodec.decode(record.result);
        finish(() => resolve(result as R));
      } else if (record?.state === 'dead') {
        finish(() => reject(new JobFailedError(id, record.errors)));
      } else if (record === null || record === undefined) {
        if (seen === 'completed') finish(() => resolve(undefined as R));
        else
          finish(() =>
            reject(
              new NotFoundError(
                `job ${id}`,
                seen === null ? 'not found (never added, or removed)' : `${seen} before it finished`,
              ),
            ),
          );
      }
    };
    const check = (): void => {
      look().catch((error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))));
    };
    const unsubscribe = hub.onSettled(id, (outcome) => {
      seen = outcome;
      check();
    });
    const cancelTimer =
      timeoutMs === null
        ? () => {}
        : clock.setTimer(timeoutMs, () => finish(() => reject(new TimeoutError(`waitFor(${id})`, timeoutMs))));
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

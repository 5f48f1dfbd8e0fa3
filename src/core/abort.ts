// Many waits on one signal: a process's one shutdown signal given to each of its workers and
// consume loops, or to a lease per queue. An 'abort' listener of each passes Node's limit of 10 an
// EventTarget, and Node prints a MaxListenersExceededWarning ("possible memory leak") for a use
// that leaks nothing. Here a signal has one listener, and what waits on it is a set behind it.

const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once `signal` aborts, until the returned function is called. As with
 * addEventListener, a signal aborted already calls nothing: the caller looks at `aborted` first.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = waiting.get(signal);
  if (callbacks === undefined) {
    const set = new Set<() => void>();
    waiting.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const call of set) call();
      },
      { once: true },
    );
    callbacks = set;
  }
  // Its own function: the same callback waiting twice is called twice, and each is stopped alone.
  const call = (): void => callback();
  callbacks.add(call);
  const set = callbacks;
  return () => void set.delete(call);
}

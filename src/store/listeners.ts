// Who watches a store (Store.watch): each event goes to every listener, in the order they came.
import type { StoreEvent } from './contract.ts';

export class Listeners<E = StoreEvent> {
  readonly #all = new Set<(event: E) => void>();

  get size(): number {
    return this.#all.size;
  }

  /** Adds `listener`; what it returns removes it, as Store.watch's answer does. */
  add(listener: (event: E) => void): () => Promise<void> {
    this.#all.add(listener);
    return () => {
      this.#all.delete(listener);
      return Promise.resolve();
    };
  }

  emit(event: E): void {
    for (const listener of this.#all) listener(event);
  }

  emitAll(events: readonly E[]): void {
    for (const event of events) for (const listener of this.#all) listener(event);
  }

  clear(): void {
    this.#all.clear();
  }
}

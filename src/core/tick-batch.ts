/**
 * Calls made in the same tick go to the store as one: the single adds of a producer that keeps
 * many in flight, the acks of a worker whose handlers finish together. One call is one log
 * record and one commit wait in the file store, one script in Redis; a call each cost more
 * than the work in it.
 */
export class TickBatch<I, O> {
  #open: { readonly items: I[]; readonly done: Promise<readonly O[]> } | null = null;

  /** `send` answers for every item, in order, or rejects for them all. */
  constructor(private readonly send: (items: I[]) => Promise<readonly O[]>) {}

  /** Joins this tick's batch; resolves with this item's own answer. */
  async push(item: I): Promise<O> {
    let batch = this.#open;
    if (batch === null) {
      const items: I[] = [];
      // The batch closes on the microtask queue: what this tick's synchronous run adds has joined by then.
      const done = Promise.resolve().then(() => {
        this.#open = null;
        return this.send(items);
      });
      batch = this.#open = { items, done };
    }
    const index = batch.items.push(item) - 1;
    const answers = await batch.done;
    return answers[index] as O;
  }
}

interface Batch<I, O> {
  readonly items: I[];
  readonly done: Promise<readonly O[]>;
  readonly settle: (answers: Promise<readonly O[]>) => void;
}

/**
 * Calls made in the same tick go to the store as one: the single adds of a producer that keeps
 * many in flight, the acks of a worker whose handlers finish together. One call is one log
 * record and one commit wait in the file store, one script in Redis; a call each cost more
 * than the work in it.
 */
export class TickBatch<I, O> {
  #open: Batch<I, O> | null = null;

  /** `send` answers for every item, in order, or rejects for them all. */
  constructor(private readonly send: (items: I[]) => Promise<readonly O[]>) {}

  /** Joins this tick's batch; resolves with this item's own answer. */
  push(item: I): Promise<O> {
    const batch = this.#open ?? this.#start();
    const index = batch.items.push(item) - 1;
    // A `then`, not an async function: every ack and single add comes through here.
    return batch.done.then((answers) => answers[index] as O);
  }

  /** Joins this tick's batch with all of `items` at once: one promise for them, their answers in order. */
  pushAll(items: readonly I[]): Promise<O[]> {
    const batch = this.#open ?? this.#start();
    const from = batch.items.length;
    for (const item of items) batch.items.push(item);
    return batch.done.then((answers) => answers.slice(from, from + items.length));
  }

  /** Sends the open batch now, not at the end of the tick: a worker does so before it leases, so that a store can take the acks along. */
  flush(): void {
    const batch = this.#open;
    if (batch === null) return;
    this.#open = null;
    batch.settle(this.send(batch.items));
  }

  #start(): Batch<I, O> {
    let settle: (answers: Promise<readonly O[]>) => void = () => {};
    const done = new Promise<readonly O[]>((resolve) => (settle = resolve));
    const batch: Batch<I, O> = { items: [], done, settle };
    // The batch closes on the microtask queue: what this tick's synchronous run adds has joined by then.
    queueMicrotask(() => {
      if (this.#open === batch) this.flush();
    });
    return (this.#open = batch);
  }
}

// Calls of one kind from one process (acks, adds): one statement in flight at a time, and the
// calls that come meanwhile go together as the next one. They then answer in the order they were
// sent (a worker's 'completed' events keep the job order), and a busy process sends one statement
// for many calls instead of a commit each.

interface Waiter<P, R> {
  readonly params: P;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export class StatementLine<P, R> {
  #waiting: Waiter<P, R>[] | null = null;

  /**
   * `send` makes one statement of calls that share a group and answers each, in order; calls of
   * another group (`groupOf`) go in a statement of their own, in turn.
   */
  constructor(
    private readonly send: (calls: readonly P[]) => Promise<readonly R[]>,
    private readonly groupOf: (params: P) => unknown = () => undefined,
  ) {}

  call(params: P): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.#waiting !== null) {
        this.#waiting.push({ params, resolve, reject });
        return;
      }
      this.#waiting = [];
      void this.#serve([{ params, resolve, reject }]);
    });
  }

  async #serve(first: Waiter<P, R>[]): Promise<void> {
    let batch = first;
    while (batch.length > 0) {
      const group = this.groupOf((batch[0] as Waiter<P, R>).params);
      const same = batch.filter((w) => this.groupOf(w.params) === group);
      const rest = batch.filter((w) => this.groupOf(w.params) !== group);
      try {
        const results = await this.send(same.map((w) => w.params));
        same.forEach((w, i) => w.resolve(results[i] as R));
      } catch (error) {
        for (const w of same) w.reject(error);
      }
      batch = [...rest, ...(this.#waiting ?? [])];
      this.#waiting = [];
    }
    this.#waiting = null;
  }
}

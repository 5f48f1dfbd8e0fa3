// Calls of one kind from one process (acks, adds): one statement in flight at a time, and the
// calls that come meanwhile go together as the next one. They then answer in the order they were
// sent (a worker's 'completed' events keep the job order), and a busy process sends one statement
// for many calls instead of a commit each. Another statement may take the waiting calls along
// (`take`): a lease carries a worker's acks (issue 15); they still answer in order.

interface Waiter<P, R> {
  readonly params: P;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Calls taken out of the line for another statement to carry; `answer` or `fail` settles them. */
export interface Taken<P, R> {
  readonly calls: readonly P[];
  answer(results: readonly R[]): void;
  fail(error: unknown): void;
}

export class StatementLine<P, R> {
  /** Calls not sent yet; null while nothing is in flight or scheduled. */
  #waiting: Waiter<P, R>[] | null = null;
  /** Settles once every batch sent or taken so far has been answered: the next answers wait for it. */
  #answered: Promise<void> = Promise.resolve();

  /**
   * `send` makes one statement of calls that share a group and answers each, in order; calls of
   * another group (`groupOf`) go in a statement of their own, in turn. `defer` schedules the
   * first statement after an idle spell: a statement that would carry the calls may come first.
   */
  constructor(
    private readonly send: (calls: readonly P[]) => Promise<readonly R[]>,
    private readonly groupOf: (params: P) => unknown = () => undefined,
    private readonly defer: ((serve: () => void) => void) | null = null,
  ) {}

  call(params: P): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.#waiting !== null) {
        this.#waiting.push({ params, resolve, reject });
        return;
      }
      this.#waiting = [{ params, resolve, reject }];
      if (this.defer === null) void this.#serve();
      else this.defer(() => void this.#serve());
    });
  }

  /** Takes the waiting calls of `group` out of the line, for another statement to carry; null when none wait. */
  take(group: unknown): Taken<P, R> | null {
    const waiting = this.#waiting;
    if (waiting === null) return null;
    const taken = waiting.filter((w) => this.groupOf(w.params) === group);
    if (taken.length === 0) return null;
    this.#waiting = waiting.filter((w) => this.groupOf(w.params) !== group);
    let settle: (outcome: { results: readonly R[] } | { error: unknown }) => void = () => {};
    this.#inTurn(taken, new Promise((resolve) => (settle = resolve)));
    return {
      calls: taken.map((w) => w.params),
      answer: (results) => settle({ results }),
      fail: (error) => settle({ error }),
    };
  }

  /** Answers `batch` once `outcome` is in and every batch before it has been answered. */
  #inTurn(batch: readonly Waiter<P, R>[], outcome: Promise<{ results: readonly R[] } | { error: unknown }>): void {
    const before = this.#answered;
    this.#answered = outcome.then(async (o) => {
      await before;
      if ('error' in o) for (const w of batch) w.reject(o.error);
      else batch.forEach((w, i) => w.resolve(o.results[i] as R));
    });
  }

  async #serve(): Promise<void> {
    for (;;) {
      const batch = this.#waiting ?? [];
      if (batch.length === 0) break;
      const group = this.groupOf((batch[0] as Waiter<P, R>).params);
      const same = batch.filter((w) => this.groupOf(w.params) === group);
      this.#waiting = batch.filter((w) => this.groupOf(w.params) !== group);
      const sent = this.send(same.map((w) => w.params)).then(
        (results) => ({ results }),
        (error: unknown) => ({ error }),
      );
      this.#inTurn(same, sent);
      await sent;
    }
    this.#waiting = null;
  }
}

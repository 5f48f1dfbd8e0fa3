// The acks of one process: one statement in flight at a time, and the ack calls that come
// meanwhile go together as the next one. Acks then answer in the order they were sent (a worker's
// 'completed' events keep the job order), and a busy process sends one UPDATE for many.
import type { AckParams, AckResult } from '../contract.ts';

interface Waiter {
  readonly params: AckParams;
  readonly resolve: (results: readonly AckResult[]) => void;
  readonly reject: (error: unknown) => void;
}

export class AckLine {
  #waiting: Waiter[] | null = null;

  constructor(private readonly send: (params: AckParams) => Promise<readonly AckResult[]>) {}

  ack(params: AckParams): Promise<readonly AckResult[]> {
    return new Promise((resolve, reject) => {
      if (this.#waiting !== null) {
        this.#waiting.push({ params, resolve, reject });
        return;
      }
      this.#waiting = [];
      void this.#serve([{ params, resolve, reject }]);
    });
  }

  async #serve(first: Waiter[]): Promise<void> {
    let batch = first;
    while (batch.length > 0) {
      // Calls with another scope go in a statement of their own, in turn.
      const scope = (batch[0] as Waiter).params.scope;
      const same = batch.filter((w) => w.params.scope === scope);
      const rest = batch.filter((w) => w.params.scope !== scope);
      try {
        const results = await this.send({
          now: Math.max(...same.map((w) => w.params.now)),
          items: same.flatMap((w) => w.params.items),
          ...(scope !== undefined && { scope }),
        });
        let at = 0;
        for (const w of same) {
          w.resolve(results.slice(at, at + w.params.items.length));
          at += w.params.items.length;
        }
      } catch (error) {
        for (const w of same) w.reject(error);
      }
      batch = [...rest, ...(this.#waiting ?? [])];
      this.#waiting = [];
    }
    this.#waiting = null;
  }
}

// Acks of one queue issued in the same turn of the event loop (a worker's 64 handlers finishing
// on one burst of replies) go to Redis as one ack script: the script's fixed cost (settle, the
// event message) is paid once per batch instead of once per job. Each ack stays atomic; the
// batch is atomic as a whole, which is stronger.
import type { Retention } from '../contract.ts';
import { encodeNumber } from './records.ts';
import type { Arg } from './scripts.ts';

export interface PendingAck {
  readonly seq: string;
  readonly attempt: number;
  readonly result: Buffer | '';
}

interface Batch {
  readonly queue: string;
  readonly now: number;
  readonly keep: Retention;
  readonly acks: PendingAck[];
  readonly waiters: { from: number; count: number; resolve: (ok: boolean[]) => void; reject: (e: unknown) => void }[];
}

/** Sends one batch: the arguments after the script's now / channel / queue; resolves with 1 (ok) or 0 per ack. */
export type SendAcks = (queue: string, now: number, args: readonly Arg[]) => Promise<number[]>;

export class AckBatcher {
  readonly #batches = new Map<string, Batch>();
  #scheduled = false;

  constructor(private readonly send: SendAcks) {}

  /** Acks with the same queue, `now` and retention share a call; resolves with ok per ack. */
  ack(queue: string, now: number, keep: Retention, acks: readonly PendingAck[]): Promise<boolean[]> {
    const key = `${queue}\0${now}\0${keep.count}\0${keep.ageMs}`;
    let batch = this.#batches.get(key);
    if (batch === undefined) this.#batches.set(key, (batch = { queue, now, keep, acks: [], waiters: [] }));
    const from = batch.acks.length;
    batch.acks.push(...acks);
    const target = batch;
    const done = new Promise<boolean[]>((resolve, reject) =>
      target.waiters.push({ from, count: acks.length, resolve, reject }),
    );
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return done;
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = [...this.#batches.values()];
    this.#batches.clear();
    for (const batch of batches) {
      const args: Arg[] = [encodeNumber(batch.keep.count), encodeNumber(batch.keep.ageMs)];
      for (const a of batch.acks) args.push(a.seq, a.attempt, a.result);
      this.send(batch.queue, batch.now, args).then(
        (reply) => {
          for (const w of batch.waiters) w.resolve(reply.slice(w.from, w.from + w.count).map((ok) => ok === 1));
        },
        (error: unknown) => {
          for (const w of batch.waiters) w.reject(error);
        },
      );
    }
  }
}

// Acks of one queue issued in the same turn of the event loop (a worker's 64 handlers finishing
// on one burst of replies) go to Redis as one ack script: the script's fixed cost (settle, the
// event message) is paid once per batch instead of once per job. Each ack stays atomic; the
// batch is atomic as a whole, which is stronger. A lease of the same queue in that turn (the
// worker filling the slots those acks freed) takes the batch along instead: one call, and on a
// server with `appendfsync always` one fsync, for both.
import type { Arg } from './scripts.ts';

/** An ack by the job's number in its queue and its attempt (the token's lease). */
export interface SeqAck {
  readonly seq: string;
  readonly attempt: number;
  readonly result: Buffer | '';
}

/** Acks waiting to be sent: their queue and `now`, and the callers to answer. */
export class AckBatch {
  readonly acks: SeqAck[] = [];
  readonly #waiters: { from: number; count: number; resolve: (ok: boolean[]) => void; reject: (e: unknown) => void }[] =
    [];

  constructor(
    readonly queue: string,
    readonly now: number,
  ) {}

  add(acks: readonly SeqAck[]): Promise<boolean[]> {
    const from = this.acks.length;
    this.acks.push(...acks);
    return new Promise((resolve, reject) => this.#waiters.push({ from, count: acks.length, resolve, reject }));
  }

  /** Seq, attempt, result per ack: what ack.lua and lease.lua read. */
  args(): Arg[] {
    const args: Arg[] = [];
    for (const a of this.acks) args.push(a.seq, a.attempt, a.result);
    return args;
  }

  /** Answers every caller from the script's reply, 1 (ok) or 0 (lost) per ack. */
  settle(reply: readonly unknown[]): void {
    for (const w of this.#waiters) w.resolve(reply.slice(w.from, w.from + w.count).map((ok) => ok === 1));
  }

  fail(error: unknown): void {
    for (const w of this.#waiters) w.reject(error);
  }
}

/** Sends one batch: the arguments after the script's now / channel / queue; resolves with 1 (ok) or 0 per ack. */
export type SendAcks = (queue: string, now: number, args: readonly Arg[]) => Promise<number[]>;

export class AckBatcher {
  readonly #batches = new Map<string, AckBatch>();
  #scheduled = false;

  constructor(private readonly send: SendAcks) {}

  /** Acks with the same queue and `now` share a call; resolves with ok per ack. */
  ack(queue: string, now: number, acks: readonly SeqAck[]): Promise<boolean[]> {
    const key = `${queue}\0${now}`;
    let batch = this.#batches.get(key);
    if (batch === undefined) this.#batches.set(key, (batch = new AckBatch(queue, now)));
    const done = batch.add(acks);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return done;
  }

  /** Takes one pending batch of `queue` out, for a lease of that queue to carry; the caller settles it. */
  take(queue: string): AckBatch | undefined {
    for (const [key, batch] of this.#batches) {
      if (batch.queue !== queue) continue;
      this.#batches.delete(key);
      return batch;
    }
    return undefined;
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = [...this.#batches.values()];
    this.#batches.clear();
    for (const batch of batches) {
      this.send(batch.queue, batch.now, batch.args()).then(
        (reply) => batch.settle(reply),
        (error: unknown) => batch.fail(error),
      );
    }
  }
}

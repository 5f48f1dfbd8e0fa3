// The seals of a Redis store's lease tokens (contract.ts, token): Chaskey (memory/token-seal.ts)
// of the job's sequence number and attempt, under a key of the job's queue, since sequence
// numbers count per queue. A queue's key is SHA-256 of the store's key (`<prefix>:token-key`,
// shared by every process) and the queue's name, made once per queue; a lease or an ack then
// costs a few tens of nanoseconds here and nothing in Redis. They were a SHA-256 per token: about
// a tenth of a worker's CPU end to end. Made and checked in Node, never in the scripts, so a
// token with a wrong seal never reaches Redis (issue 20, defect 8).
import { createHash } from 'node:crypto';
import { TokenSealer } from '../memory/token-seal.ts';

/** Queues whose sealers are kept; past it the cache starts again (made-up queue names must not grow it). */
const maxQueues = 4096;

export class LeaseSeals {
  readonly #key: string;
  readonly #byQueue = new Map<string, TokenSealer>();

  constructor(key: string) {
    this.#key = key;
  }

  /** The seal of job `seq` of `queue` at `attempt`. */
  seal(queue: string, seq: number, attempt: number): string {
    return this.#sealer(queue).seal(seq, attempt);
  }

  /** Whether `seal` is that seal, in a time that does not tell how much of it matched. */
  matches(queue: string, seq: number, attempt: number, seal: string): boolean {
    return this.#sealer(queue).matches(seq, attempt, seal);
  }

  #sealer(queue: string): TokenSealer {
    let sealer = this.#byQueue.get(queue);
    if (sealer === undefined) {
      if (this.#byQueue.size >= maxQueues) this.#byQueue.clear();
      const key = createHash('sha256').update(this.#key).update('\0').update(queue).digest().subarray(0, 16);
      sealer = new TokenSealer(key.toString('base64url'));
      this.#byQueue.set(queue, sealer);
    }
    return sealer;
  }
}

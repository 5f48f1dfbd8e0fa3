// The acks of one connection (connect()) that fall in the same turn go to the server as one
// request (POST /v1/ack/batch, each with its result): a worker's handlers that end together are
// one round trip, not one each. While a request is on its way the next acks gather behind it.
import { jsonText } from '../core/codec.ts';
import type { AckAnswer } from '../index.ts';
import { call, JsonText, perConnection } from './http.ts';
import type { Transport } from './http.ts';

/** Most acks in one request: the server's limit. */
const maxAcks = 1000;
/**
 * Most characters of acks in one request, well under a server's body limit (1 MiB by default):
 * a batch of large results goes as several requests; one result larger than it goes alone.
 */
const maxChars = 256 * 1024;

interface Pending {
  readonly token: string;
  /** The ack as JSON, made when it was asked for: a result that cannot be sent fails that ack alone. */
  readonly json: string;
  readonly done: (acked: boolean) => void;
  readonly fail: (error: unknown) => void;
}

export class AckBatch {
  #queued: Pending[] = [];
  #sending = false;

  constructor(private readonly transport: Transport) {}

  /** Acks the lease `token` holds, with `result` unless undefined: true once acked, false when the lease was lost. */
  ack(token: string, result: unknown): Promise<boolean> {
    // Encoded as a local ack encodes its result: a function or a symbol is refused, not sent as no
    // result, and a BigInt or a cycle is the same ValidationError a local ack throws.
    const json =
      result === undefined
        ? JSON.stringify({ token })
        : `{"token":${JSON.stringify(token)},"result":${jsonText(result)}}`;
    return new Promise((done, fail) => {
      this.#queued.push({ token, json, done, fail });
      if (this.#sending) return;
      this.#sending = true;
      // Whatever else ends in this turn goes along.
      setImmediate(() => void this.#send());
    });
  }

  async #send(): Promise<void> {
    while (this.#queued.length > 0) {
      const batch = this.#take();
      try {
        const body = new JsonText(`{"acks":[${batch.map((ack) => ack.json).join(',')}]}`);
        const { lost } = await call<AckAnswer>(this.transport, 'POST', '/v1/ack/batch', body);
        const acked = outcomes(batch, lost);
        batch.forEach((ack, i) => ack.done(acked[i] as boolean));
      } catch (error) {
        for (const ack of batch) ack.fail(error);
      }
    }
    this.#sending = false;
  }

  /** The next request's acks, in the order they were asked for. */
  #take(): Pending[] {
    let chars = 0;
    let n = 0;
    while (n < this.#queued.length && n < maxAcks) {
      chars += (this.#queued[n] as Pending).json.length + 1;
      if (n > 0 && chars > maxChars) break;
      n++;
    }
    return this.#queued.splice(0, n);
  }
}

/**
 * Whether each ack went through, from the tokens the server named lost. A token acked twice in
 * one batch is named once for its second ack, which found the job done: the first went through.
 */
function outcomes(batch: readonly Pending[], lost: readonly string[]): boolean[] {
  const unclaimed = new Map<string, number>();
  for (const token of lost) unclaimed.set(token, (unclaimed.get(token) ?? 0) + 1);
  const acked = new Array<boolean>(batch.length);
  for (let i = batch.length - 1; i >= 0; i--) {
    const { token } = batch[i] as Pending;
    const n = unclaimed.get(token) ?? 0;
    if (n > 0) unclaimed.set(token, n - 1);
    acked[i] = n === 0;
  }
  return acked;
}

/** Each connection's batch. */
export const ackBatchOf = perConnection((transport) => new AckBatch(transport));

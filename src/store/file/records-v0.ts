// The operation records of layout version 0, written before issue 14 and only read since: one
// record type for every call but adds, moves, leases and acks, its body `{ op, params }` JSON.
import { StorageError } from '../../errors.ts';
import type { JobState } from '../contract.ts';
import type { MetaRecord, Operation } from './records.ts';

/** The fields of version-0 operations, by the names they were written with. */
interface V0Params {
  readonly now: number;
  readonly queues: readonly string[];
  readonly max: number;
  readonly visibilityMs: number | null;
  readonly items: readonly { readonly token: string; readonly result: Uint8Array | null }[];
  readonly token: string;
  readonly delayMs: number;
  readonly error: string | null;
  readonly dead: boolean;
  readonly keep: Readonly<Record<string, { readonly count: number; readonly ageMs: number }>>;
  readonly release?: boolean;
  readonly ms: number;
  readonly ids: readonly string[] | null;
  readonly states: readonly JobState[] | null;
  readonly queue: string;
  readonly paused: boolean;
}

/**
 * A version-0 operation record: `{ op, params }` in JSON, the params named as the contract named
 * them then, byte arrays as `{ $b: base64 }`. Leases and acks were written this way too before
 * they got a binary layout.
 */
export function decodeV0Operation(body: Buffer): Operation {
  const { op, params } = JSON.parse(body.toString('utf8'), (_key, value: unknown) =>
    typeof value === 'object' && value !== null && '$b' in value
      ? new Uint8Array(Buffer.from((value as { $b: string }).$b, 'base64'))
      : value,
  ) as { op: string; params: V0Params };
  const p = params;
  switch (op) {
    case 'lease':
      return { kind: 'lease', record: { now: p.now, queues: p.queues, max: p.max, visibilityMs: p.visibilityMs } };
    case 'ack':
      return { kind: 'ack', record: { now: p.now, items: p.items, retention: p.keep } };
    case 'nack':
      return {
        kind: 'nack',
        record: {
          now: p.now,
          token: p.token,
          delayMs: p.delayMs,
          error: p.error,
          kind: p.release === true ? 'release' : p.dead ? 'dead' : 'fail',
        },
      };
    case 'extend':
      return { kind: 'extend', record: { now: p.now, token: p.token, ms: p.ms } };
    case 'remove':
      return { kind: 'remove', record: { now: p.now, ids: p.ids ?? [], states: p.states } };
    case 'retryDead':
      return { kind: 'retryDead', record: { now: p.now, queue: p.queue, ids: p.ids } };
    case 'purge':
      return { kind: 'purge', record: { now: p.now, queue: p.queue } };
    case 'setPaused':
      return { kind: 'configure', record: { now: p.now, queue: p.queue, changes: { paused: p.paused } } };
    case 'setMeta':
      return { kind: 'meta', record: params as unknown as MetaRecord };
    default:
      throw new StorageError(`log record of version 0 holds an unknown operation ${JSON.stringify(op)}`);
  }
}

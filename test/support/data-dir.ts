// What a data-directory fixture holds, read the same way by the script that writes one
// (test/fixtures/write-data-dir.ts) and by the test that opens it (test/data-dir.test.ts).
import type { Store } from '../../src/store/contract.ts';

/** The time the fixtures' jobs are read at: every call that wrote them came before it. */
export const fixtureNow = 1_700_000_000_000;
export const fixtureQueues = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

const base64 = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : Buffer.from(bytes).toString('base64');

/** Every job (ids 1 to 60) with its state, each queue's counts and order, and the metadata. */
export async function readState(store: Store): Promise<unknown> {
  const ids = Array.from({ length: 60 }, (_, i) => String(i + 1));
  const records = await store.get({ now: fixtureNow, ids });
  const names = await store.listMeta({ now: fixtureNow, prefix: '' });
  const values = await store.getMeta({ now: fixtureNow, names });
  const state = {
    records: records.map((r) => (r === null ? null : { ...r, payload: base64(r.payload), result: base64(r.result) })),
    counts: await store.counts({ now: fixtureNow, queues: fixtureQueues }),
    order: await Promise.all(
      fixtureQueues.map(async (q) => (await store.peek({ now: fixtureNow, queue: q, limit: 100 })).map((r) => r.id)),
    ),
    meta: Object.fromEntries(names.map((name, i) => [name, values[i]])),
  };
  return JSON.parse(JSON.stringify(state)) as unknown;
}

/** The queues' stored settings and the store's list of queues: in the fixtures written since queues stored them. */
export async function readSettings(store: Store): Promise<unknown> {
  const state = {
    queues: await store.queues({ now: fixtureNow }),
    settings: await store.settings({ now: fixtureNow, queues: fixtureQueues }),
  };
  // Infinity survives as a string: JSON has none.
  return JSON.parse(JSON.stringify(state, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v))) as unknown;
}

// An add or ack in the caller's transaction, on a store that declares `capabilities.transactions`:
// it goes to the store alone, with its tx, and wakes no lease itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, Spool } from '../src/index.ts';
import type { AckParams, AddParams, LeaseParams, StoreEvent } from '../src/store/contract.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { settle } from '../src/conformance/harness.ts';
import { overriding } from './fixtures/overriding.ts';

/**
 * A memory store that declares transactions: it takes the tx of each call (and applies the call
 * at once, as if committed), counts lease calls, and keeps its own events from the Spool until
 * the test sends them, as a store would after the caller's commit.
 */
function transactionalStore() {
  const inner = new MemoryStore();
  let listener: (event: StoreEvent) => void = () => {};
  const adds: AddParams[] = [];
  const acks: AckParams[] = [];
  let leases = 0;
  const store = overriding(inner, {
    capabilities: { ...inner.capabilities, transactions: true },
    watch: (fn: (event: StoreEvent) => void) => {
      listener = fn;
      return Promise.resolve(() => Promise.resolve());
    },
    add: ({ tx, ...params }: AddParams) => {
      adds.push({ ...params, ...(tx !== undefined && { tx }) });
      return inner.add(params);
    },
    ack: ({ tx, ...params }: AckParams) => {
      acks.push({ ...params, ...(tx !== undefined && { tx }) });
      return inner.ack(params);
    },
    lease: (params: LeaseParams) => {
      leases++;
      return inner.lease(params);
    },
  });
  return { store, adds, acks, leases: () => leases, send: (event: StoreEvent) => listener(event) };
}

void test('adds in a transaction skip the tick batch and wake no lease until the store says so', async () => {
  const s = transactionalStore();
  await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
  const q = spool.queue<string>('q');
  const pending = q.lease({ wait: '1h', signal: AbortSignal.timeout(5_000) });
  await settle();
  assert.equal(s.leases(), 1);
  const tx = { name: 'the caller transaction' };
  await Promise.all([q.add('a', { tx }), q.add('b', { tx })]);
  assert.deepEqual(
    s.adds.map((a) => [a.jobs.length, a.tx]),
    [
      [1, tx],
      [1, tx],
    ],
    'two adds of one tick in a transaction went as one batch',
  );
  await settle();
  assert.equal(s.leases(), 1, 'an add in a transaction woke a lease before its commit');
  await Promise.all([q.add('c'), q.add('d')]);
  assert.equal(s.adds.at(-1)?.jobs.length, 2, 'adds outside a transaction still share the tick batch');
  s.send({ kind: 'ready', queue: 'q' });
  const [job] = await pending;
  assert.equal(job?.data, 'a');
  await job?.ack(undefined, { tx });
  assert.deepEqual(
    s.acks.map((a) => [a.items.length, a.tx]),
    [[1, tx]],
  );
});

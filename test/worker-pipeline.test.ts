import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import type { AckParams, AckResult } from '../src/store/contract.ts';
import { settle, until } from '../src/conformance/harness.ts';
import { overriding } from './fixtures/overriding.ts';
import { testStore } from './support/test-store.ts';

/** The test store with acks that wait until the test lets them through, like a slow fsync. */
async function slowAcks(): Promise<{ store: Store; release: () => void; pending: () => number }> {
  const inner = await testStore.open();
  const held: (() => void)[] = [];
  const ack = (params: AckParams): Promise<readonly AckResult[]> =>
    new Promise<void>((resolve) => held.push(resolve)).then(() => inner.ack(params));
  const store = overriding(inner, { ack });
  return { store, release: () => held.splice(0).forEach((go) => go()), pending: () => held.length };
}

void test('a worker starts the next jobs while earlier acks are on their way, up to a bound; close waits for the acks', async () => {
  const { store, release, pending } = await slowAcks();
  const spool = await Spool.create(store);
  const q = spool.queue('pipe');
  const total = 1_100;
  await q.addBulk(Array.from({ length: total }, (_, i) => ({ data: i })));
  const started: unknown[] = [];
  const completed: unknown[] = [];
  const worker = q.process((job) => void started.push(job.data), { concurrency: 1 });
  worker.on('completed', (job) => completed.push(job.data));
  // One slot, yet handlers go on while the acks wait: until 1,024 of them are unsettled.
  await until(() => started.length === 1_024, '1,024 jobs started');
  await settle();
  assert.equal(started.length, 1_024);
  assert.ok(pending() > 0);
  assert.deepEqual(completed, []);
  release();
  await until(() => started.length === total, 'every job started');
  const closed = worker.close();
  await until(() => pending() > 0, 'the last acks held');
  await settle();
  assert.ok(completed.length < total);
  release();
  await closed;
  assert.deepEqual(
    completed,
    Array.from({ length: total }, (_, i) => i),
  );
  const counts = await q.counts();
  assert.equal(counts.waiting + counts.active, 0);
  await spool.close();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import type { AckParams, Settle } from '../src/store/contract.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { settle, until } from './conformance/harness.ts';

/** A memory store whose acks wait until the test lets them through, like a slow fsync. */
function slowAcks(): { store: Store; release: () => void; pending: () => number } {
  const inner = new MemoryStore();
  const held: (() => void)[] = [];
  const ack = (params: AckParams): Promise<readonly Settle[]> =>
    new Promise<void>((resolve) => held.push(resolve)).then(() => inner.ack(params));
  const store = new Proxy(inner, {
    get: (target, name) => {
      if (name === 'ack') return ack;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as Store;
  return { store, release: () => held.splice(0).forEach((go) => go()), pending: () => held.length };
}

void test('a worker with one slot starts the next job while the last ack is still on its way; close waits for the acks', async () => {
  const { store, release, pending } = slowAcks();
  const spool = await Spool.create(store);
  const q = spool.queue('pipe');
  await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
  const started: unknown[] = [];
  const completed: unknown[] = [];
  const worker = q.process((job) => void started.push(job.data), { concurrency: 1 });
  worker.on('completed', (job) => completed.push(job.data));
  // The next handler runs while the last ack waits, up to two acks per slot on their way.
  await until(() => started.length === 2, 'two jobs started');
  await settle();
  assert.deepEqual(started, [1, 2]);
  assert.equal(pending(), 2);
  assert.deepEqual(completed, []);
  release();
  await until(() => started.length === 3, 'the third job started');
  const closed = worker.close();
  await until(() => pending() === 1, 'the third ack held');
  release();
  await closed;
  assert.deepEqual(completed, [1, 2, 3]);
  assert.equal((await q.counts()).completed, 3);
  await spool.close();
});

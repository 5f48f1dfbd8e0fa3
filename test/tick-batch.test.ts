import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueFullError, Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { until } from '../src/conformance/harness.ts';

/** A memory store that counts the calls it gets, by name. */
function counting(): { store: Store; calls: Map<string, number> } {
  const inner = new MemoryStore();
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get: (target, name) => {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  return { store, calls };
}

void test('single adds made in one tick reach the store as one call, each with its own id', async () => {
  const { store, calls } = counting();
  const spool = await Spool.create(store);
  const q = spool.queue('many');
  const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => q.add({ i })));
  assert.equal(calls.get('add'), 1);
  assert.equal(new Set(ids).size, 100);
  const jobs = await Promise.all(ids.map((id) => q.get(id)));
  assert.deepEqual(
    jobs.map((job) => job?.data),
    Array.from({ length: 100 }, (_, i) => ({ i })),
  );
  await spool.close();
});

void test('a queue with a length limit answers each add on its own: one over the limit fails alone', async () => {
  const { store } = counting();
  const spool = await Spool.create(store);
  const q = spool.queue('short', { maxLength: 2 });
  const outcomes = await Promise.allSettled([q.add(1), q.add(2), q.add(3)]);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['fulfilled', 'fulfilled', 'rejected'],
  );
  assert.ok((outcomes[2] as PromiseRejectedResult).reason instanceof QueueFullError);
  assert.equal((await q.counts()).waiting, 2);
  await spool.close();
});

void test('the acks of handlers that finish together reach the store as one call', async () => {
  const { store, calls } = counting();
  const spool = await Spool.create(store);
  const q = spool.queue('acks');
  await q.addBulk(Array.from({ length: 32 }, (_, i) => ({ data: i })));
  let completed = 0;
  const worker = q.process(() => undefined, { concurrency: 32 });
  worker.on('completed', () => completed++);
  await until(() => completed === 32, 'every job completed');
  await worker.close();
  assert.equal(calls.get('ack'), 1);
  await spool.close();
});

void test('spool.ack of tokens joins the acks of the same tick: one store call, each answered', async () => {
  const { store, calls } = counting();
  const spool = await Spool.create(store);
  const q = spool.queue('tokens');
  await q.addBulk(Array.from({ length: 4 }, (_, i) => ({ data: i })));
  const [first, second, ...rest] = await spool.lease({ queues: 'tokens', max: 4 });
  assert.ok(first !== undefined && second !== undefined);
  await second.ack();
  calls.clear();
  const [own, byTokens] = await Promise.all([
    first.ack(),
    // The second's lease is over: named lost, while the rest are acked in the same call.
    spool.ack([second.token, ...rest.map((job) => job.token)]),
  ]);
  assert.equal(own, undefined);
  assert.deepEqual(byTokens, { acked: 2, lost: [second.token] });
  assert.equal(calls.get('ack'), 1);
  assert.equal((await q.counts()).completed, 4);
  await spool.close();
});

void test('async handlers that end together free slots that one lease fills', async () => {
  const { store, calls } = counting();
  const spool = await Spool.create(store);
  const q = spool.queue('waves');
  await q.addBulk(Array.from({ length: 64 }, (_, i) => ({ data: i })));
  let open = (): void => {};
  let gate = new Promise<void>((resolve) => (open = resolve));
  let started = 0;
  let completed = 0;
  const worker = q.process(
    async () => {
      started++;
      await gate;
    },
    { concurrency: 16 },
  );
  worker.on('completed', () => completed++);
  for (let wave = 1; wave <= 4; wave++) {
    await until(() => started === 16 * wave, `wave ${wave} started`);
    const release = open;
    gate = new Promise<void>((resolve) => (open = resolve));
    release();
  }
  await until(() => completed === 64, 'every job completed');
  await worker.close();
  // One lease per wave, and the blocked one that close() ends: not one per slot.
  assert.ok((calls.get('lease') ?? 0) <= 6, `${calls.get('lease')} lease calls`);
  await spool.close();
});

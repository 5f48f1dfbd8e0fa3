// POST /v1/ack/batch: N tokens are one store call, which also holds the caller's prefix (issue 14;
// issue 20: no token outside it is acked, and the answer tells nothing of another scope's jobs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';
import { MemoryStore } from '../src/store/memory/memory-store.ts';
import { request } from './server/harness.ts';

/** `store`, with every contract call it gets counted by name. */
function counting(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

void test('a batch ack of 50 tokens is one store call, and a token outside the caller prefix stays leased', async () => {
  const { store, calls } = counting(new MemoryStore());
  const spool = await Spool.create(store);
  const token = 'tenant-a-consumer-token';
  const server = await createServer({
    spool,
    logger: false,
    tokens: [{ token, scopes: ['consume'], prefix: 'tenant-a' }],
  });
  try {
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    await spool.queue('tenant-a.mail').addBulk(Array.from({ length: 50 }, (_, n) => ({ data: n })));
    await spool.queue('tenant-ab').add('not theirs');
    const auth = { authorization: `Bearer ${token}` };
    const leased = await request(base, 'POST', '/v1/lease', { queues: ['tenant-a.mail'], max: 50 }, auth);
    const tokens = (leased.body as { jobs: { token: string }[] }).jobs.map((j) => j.token);
    assert.equal(tokens.length, 50);
    const [foreign] = await spool.queue('tenant-ab').lease({ visibility: '1m' });
    assert.ok(foreign);

    calls.clear();
    const answer = await request(base, 'POST', '/v1/ack/batch', { tokens: [...tokens, foreign.token] }, auth);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body, { acked: 50, lost: [foreign.token] });
    // The acks are one call; the server's metrics then read the job of the token that was not acked,
    // to count a lost lease (this one is still held, so it is not).
    assert.deepEqual(Object.fromEntries(calls), { ack: 1, get: 1 });

    assert.deepEqual(
      await spool
        .queue('tenant-a.mail')
        .counts()
        .then((c) => [c.active, c.completed]),
      [0, 50],
    );
    const theirs = await spool.job(foreign.id);
    assert.equal(theirs?.state, 'active');
    await foreign.ack();
    assert.equal((await spool.job(foreign.id))?.state, 'completed');
  } finally {
    await server.close();
    await spool.close();
  }
});

// A bounded load test against `spool serve` in its own process: 50 consumers long-polling,
// 10 producers adding for a few seconds; every published message is delivered and acked
// exactly once, none lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, serve, stop } from './server/harness.ts';
import { testStore } from './support/test-store.ts';

const consumers = 50;
const producers = 10;
const produceMs = Number(process.env.SPOOL_LOAD_MS ?? 3000);

void test(`${consumers} long-poll consumers and ${producers} producers for ${produceMs}ms: every message acked once`, async () => {
  const served = await serve(testStore.url());
  const s = { call: (method: string, path: string, body?: unknown) => request(served.base, method, path, body) };
  try {
    const published = new Set<string>();
    const acked = new Set<string>();
    let duplicateAcks = 0;
    let producing = true;
    let consuming = true;

    const producer = async (p: number): Promise<void> => {
      for (let n = 0; producing; n++) {
        const answer = await s.call('POST', '/v1/queues/load/jobs', { data: { p, n } });
        assert.equal(answer.status, 201, answer.text);
        published.add((answer.body as { id: string }).id);
      }
    };
    const consumer = async (): Promise<void> => {
      while (consuming) {
        const answer = await s.call('POST', '/v1/lease', { queues: ['load'], max: 10, wait: '500ms' });
        assert.equal(answer.status, 200, answer.text);
        for (const job of (answer.body as { jobs: { id: string; token: string }[] }).jobs) {
          const ack = await s.call('POST', '/v1/ack', { token: job.token });
          assert.equal(ack.status, 200, ack.text);
          if (acked.has(job.id)) duplicateAcks++;
          acked.add(job.id);
        }
      }
    };

    const consuming$ = Array.from({ length: consumers }, () => consumer());
    const producing$ = Array.from({ length: producers }, (_, p) => producer(p));
    await new Promise((resolve) => setTimeout(resolve, produceMs));
    producing = false;
    await Promise.all(producing$);
    const deadline = Date.now() + 20_000;
    while (acked.size < published.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    consuming = false;
    await Promise.all(consuming$);

    // The floor is low on purpose: CI machines are slow and shared; the point is that none is lost.
    assert.ok(published.size >= 50, `only ${published.size} published`);
    assert.equal(duplicateAcks, 0);
    assert.deepEqual(
      [...published].filter((id) => !acked.has(id)),
      [],
      'published but never acked',
    );
    assert.equal(acked.size, published.size);
    const counts = (await s.call('GET', '/v1/queues/load/counts')).body as { waiting: number; active: number };
    assert.equal(counts.waiting, 0);
    assert.equal(counts.active, 0);
    console.log(`load: ${published.size} published and acked in ${produceMs}ms of producing`);
  } finally {
    await stop(served);
  }
});

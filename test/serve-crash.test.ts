// kill -9 of `spool serve` (the real CLI, on a file store) under load, three times, then a
// restart: every publish answered 201 is still there or was acked, no ack answered 200 is
// undone, and draining the queue afterwards delivers every message that was not acked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request, serve } from './server/harness.ts';

void test('kill -9 of spool serve under load, three times: nothing acknowledged is lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-serve-crash-'));
  const published = new Set<string>();
  const acked = new Set<string>();
  /** Acks sent whose answer never came: they may or may not have happened. */
  const unsure = new Set<string>();
  try {
    for (let round = 0; round < 3; round++) {
      const { child, base } = await serve(`file:${dir}`);
      let running = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const producer = async (): Promise<void> => {
        while (running) {
          const answer = await request(base, 'POST', '/v1/queues/crash/jobs', { data: { round } }).catch(() => null);
          if (answer === null) return;
          assert.equal(answer.status, 201, answer.text);
          published.add((answer.body as { id: string }).id);
        }
      };
      const consumer = async (): Promise<void> => {
        while (running) {
          const answer = await request(base, 'POST', '/v1/lease', {
            queues: ['crash'],
            max: 5,
            visibility: '1s',
            wait: '200ms',
          }).catch(() => null);
          if (answer === null) return;
          for (const job of (answer.body as { jobs: { id: string; token: string }[] }).jobs) {
            unsure.add(job.id);
            const ack = await request(base, 'POST', '/v1/ack', { token: job.token }).catch(() => null);
            if (ack === null) return;
            // 409: its lease ran out (a restart later) and another consumer has it; it stays unsure.
            if (ack.status === 200) {
              acked.add(job.id);
              unsure.delete(job.id);
            }
          }
        }
      };
      const load = [...Array.from({ length: 4 }, producer), ...Array.from({ length: 4 }, consumer)];
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
      child.kill('SIGKILL');
      await exited;
      running = false;
      await Promise.all(load);
    }

    const { child, base } = await serve(`file:${dir}`);
    try {
      for (const id of published) {
        const answer = await request(base, 'GET', `/v1/queues/crash/jobs/${id}`);
        const state = (answer.body as { state?: string }).state;
        if (acked.has(id))
          assert.ok(answer.status === 404 || state === 'completed', `acked job ${id} came back as ${state}`);
        else if (!unsure.has(id)) assert.equal(answer.status, 200, `published job ${id} was lost`);
      }
      // Drain: every message not acked before is delivered now (leases of the dead server run out in 1s).
      const deadline = Date.now() + 20_000;
      for (;;) {
        const counts = (await request(base, 'GET', '/v1/queues/crash/counts')).body as Record<string, number>;
        if (counts.waiting === 0 && counts.active === 0 && counts.delayed === 0) break;
        assert.ok(Date.now() < deadline, `not drained: ${JSON.stringify(counts)}`);
        const answer = await request(base, 'POST', '/v1/lease', { queues: ['crash'], max: 100, wait: '1500ms' });
        for (const job of (answer.body as { jobs: { id: string; token: string }[] }).jobs) {
          assert.equal((await request(base, 'POST', '/v1/ack', { token: job.token })).status, 200);
          acked.add(job.id);
          unsure.delete(job.id);
        }
      }
      const missing = [...published].filter((id) => !acked.has(id) && !unsure.has(id));
      assert.deepEqual(missing, [], 'published, never acked, and not delivered after the restarts');
      assert.ok(published.size > 20, `only ${published.size} published`);
      assert.ok(acked.size > 0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

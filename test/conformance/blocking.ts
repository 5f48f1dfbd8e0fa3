import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { JobFailedError, NotFoundError, TimeoutError } from '../../src/index.ts';
import { conformanceTest, settle } from './harness.ts';
import type { Suite } from './harness.ts';

export function blocking(suite: Suite): void {
  void describe('blocking lease and waitFor', () => {
    conformanceTest(suite, 'a blocked lease wakes when a job is added', async ({ spool }) => {
      const q = spool.queue('block');
      const pending = spool.lease({ queues: ['block'], wait: '1h' });
      await settle();
      await q.add('hello');
      const [job] = await pending;
      assert.equal(job?.data, 'hello');
    });

    conformanceTest(suite, 'a blocked lease resolves empty when its wait runs out', async ({ spool, clock }) => {
      const pending = spool.lease({ queues: ['block-timeout'], wait: '10s' });
      let resolved = false;
      void pending.then(() => (resolved = true));
      await settle();
      clock.advance(9999);
      await settle();
      assert.equal(resolved, false);
      clock.advance(1);
      assert.deepEqual(await pending, []);
    });

    conformanceTest(suite, 'a blocked lease wakes when a delayed job falls due', async ({ spool, clock }) => {
      const q = spool.queue('block-delay');
      await q.add('soon', { delay: '3s' });
      const pending = q.lease({ wait: '1m' });
      await settle();
      clock.advance(3000);
      const [job] = await pending;
      assert.equal(job?.data, 'soon');
    });

    conformanceTest(
      suite,
      'a blocked lease over several queues takes the leftmost that has a job',
      async ({ spool }) => {
        const pending = spool.lease({ queues: ['b-urgent', 'b-low'], wait: '1m', max: 5 });
        await settle();
        await spool.queue('b-low').add('low');
        const jobs = await pending;
        assert.deepEqual(
          jobs.map((j) => j.data),
          ['low'],
        );
      },
    );

    conformanceTest(
      suite,
      'waitFor resolves with the result whether the ack comes before or after the call',
      async ({ spool }) => {
        const q = spool.queue('wait');
        const before = await q.add('b');
        const after = await q.add('a');
        const [first] = await q.lease();
        await first!.ack({ n: 1 });
        assert.deepEqual(await q.waitFor(before), { n: 1 });
        const waiting = q.waitFor(after);
        await settle();
        const [second] = await q.lease();
        await second!.ack('done');
        assert.equal(await waiting, 'done');
      },
    );

    conformanceTest(
      suite,
      'a queue that keeps no completed job: waitFor gets the result of an ack made while it waits, NOT_FOUND for a job gone before the call',
      async ({ spool }) => {
        const q = spool.queue('wait-unkept', { keepCompleted: false });
        const [withResult, without, gone] = [await q.add('a'), await q.add('b'), await q.add('c')];
        const waiting = [q.waitFor(withResult), q.waitFor(without)];
        await settle();
        const [first, second] = await q.lease({ max: 2 });
        await first!.ack({ sent: 1 });
        await second!.ack();
        assert.deepEqual(await waiting[0], { sent: 1 });
        assert.equal(await waiting[1], undefined);
        const [third] = await q.lease();
        await third!.ack('too late');
        assert.equal(await q.get(gone), null);
        await assert.rejects(q.waitFor(gone), NotFoundError);
      },
    );

    conformanceTest(suite, 'waitFor rejects with the last error when the job goes dead', async ({ spool }) => {
      const q = spool.queue('wait-dead', { maxAttempts: 1 });
      const id = await q.add('x');
      const rejected = assert.rejects(
        q.waitFor(id),
        (e: unknown) => e instanceof JobFailedError && e.message.includes('boom'),
      );
      const [job] = await q.lease();
      await job!.nack({ error: new Error('boom') });
      await rejected;
      await assert.rejects(q.waitFor(id), JobFailedError);
    });

    conformanceTest(suite, 'waitFor times out, and rejects for an unknown job', async ({ spool, clock }) => {
      const q = spool.queue('wait-timeout');
      const id = await q.add('x');
      const waiting = q.waitFor(id, { timeout: '5s' });
      await settle();
      clock.advance(5000);
      await assert.rejects(waiting, TimeoutError);
      await assert.rejects(q.waitFor('nope'), NotFoundError);
    });

    conformanceTest(
      suite,
      'waitFor rejects with the reason when its signal aborts, job untouched',
      async ({ spool }) => {
        const q = spool.queue('wait-abort');
        const id = await q.add('x');
        const abort = new AbortController();
        const waiting = q.waitFor(id, { signal: abort.signal });
        await settle();
        abort.abort(new Error('client left'));
        await assert.rejects(waiting, /client left/);
        assert.equal((await q.get(id))?.state, 'waiting');
        await assert.rejects(q.waitFor(id, { signal: AbortSignal.abort() }), { name: 'AbortError' });
      },
    );

    conformanceTest(suite, '50 concurrent leasers never hold the same job at once', async ({ spool }) => {
      const q = spool.queue<number>('crowd');
      await q.addBulk(Array.from({ length: 500 }, (_, i) => ({ data: i })));
      const held = new Set<string>();
      const seen: number[] = [];
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          for (;;) {
            const jobs = await q.lease({ max: 3 });
            if (jobs.length === 0) return;
            for (const job of jobs) {
              assert.ok(!held.has(job.id), `job ${job.id} held twice`);
              held.add(job.id);
            }
            await settle();
            for (const job of jobs) {
              held.delete(job.id);
              seen.push(job.data);
              await job.ack();
            }
          }
        }),
      );
      assert.equal(seen.length, 500);
      assert.equal(new Set(seen).size, 500);
    });
  });
}

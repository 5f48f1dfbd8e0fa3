import assert from 'node:assert/strict';
import { QueueFullError } from '../index.ts';
import { area, conformanceTest } from './harness.ts';
import type { Suite } from './harness.ts';

export function ordering(suite: Suite): void {
  area(suite, 'ordering', () => {
    conformanceTest(suite, 'higher priority first, then FIFO', async ({ spool }) => {
      const q = spool.queue<string>('prio');
      await q.add('low-1', { priority: -1 });
      await q.add('mid-1');
      await q.add('high-1', { priority: 5 });
      await q.add('mid-2');
      await q.add('high-2', { priority: 5 });
      const jobs = await q.lease({ max: 10 });
      assert.deepEqual(
        jobs.map((j) => j.data),
        ['high-1', 'high-2', 'mid-1', 'mid-2', 'low-1'],
      );
    });

    conformanceTest(
      suite,
      "the waiting list's pages run in lease order: its first page is the peek",
      async ({ spool, clock }) => {
        // spool/client pages a peek past the server's 1,000 a request through this list.
        const q = spool.queue<string>('listed-prio');
        for (const [data, priority] of [
          ['low', -1],
          ['mid-1', 0],
          ['high-1', 5],
          ['mid-2', 0],
          ['high-2', 5],
        ] as const)
          await q.add(data, { priority });
        await q.add('due', { delay: 1 });
        clock.advance(1);
        const first = await q.list('waiting', { limit: 2 });
        const rest = await q.list('waiting', { limit: 10, cursor: first.cursor });
        const listed = [...first.jobs, ...rest.jobs].map((j) => j.data);
        assert.deepEqual(listed, ['high-1', 'high-2', 'mid-1', 'mid-2', 'due', 'low']);
        assert.deepEqual(
          (await q.peek(10)).map((j) => j.data),
          listed,
        );
      },
    );

    conformanceTest(suite, 'a lease over several queues drains them left to right', async ({ spool }) => {
      const urgent = spool.queue('urgent');
      const high = spool.queue('high');
      const low = spool.queue('low');
      await low.add('l1');
      await high.add('h1');
      await urgent.add('u1');
      await high.add('h2');
      const first = await spool.lease({ queues: ['urgent', 'high', 'low'], max: 2 });
      assert.deepEqual(
        first.map((j) => j.data),
        ['u1', 'h1'],
      );
      const rest = await spool.lease({ queues: ['urgent', 'high', 'low'], max: 5 });
      assert.deepEqual(
        rest.map((j) => j.data),
        ['h2', 'l1'],
      );
    });

    conformanceTest(suite, 'maxLength refuses the add that would overflow, whole batch included', async ({ spool }) => {
      const q = spool.queue('bounded', { maxLength: 2 });
      await q.add(1);
      await q.add(2, { delay: 10 });
      await assert.rejects(q.add(3), QueueFullError);
      await assert.rejects(q.addBulk([{ data: 4 }]), { code: 'QUEUE_FULL' });
      assert.equal((await q.counts()).waiting, 1);
      await (await q.lease())[0]!.ack();
      await q.add(5);
      const fresh = spool.queue('bounded-bulk', { maxLength: 2 });
      await assert.rejects(fresh.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]), QueueFullError);
      assert.equal((await fresh.counts()).waiting, 0);
    });

    conformanceTest(
      suite,
      'a second add with the same key returns the first id and adds nothing',
      async ({ spool }) => {
        const q = spool.queue('idem');
        const a = await q.add('first', { key: 'order-7' });
        const b = await q.add('second', { key: 'order-7' });
        assert.equal(b, a);
        const [x, y] = await q.addBulk([
          { data: 'bulk', options: { key: 'k2' } },
          { data: 'bulk again', options: { key: 'k2' } },
        ]);
        assert.equal(x, y);
        assert.equal((await q.counts()).waiting, 2);
        assert.equal((await q.get(a))?.data, 'first');
        const other = spool.queue('idem-other');
        assert.notEqual(await other.add('x', { key: 'order-7' }), a);
      },
    );

    conformanceTest(
      suite,
      'keepCompleted keeps the newest completed jobs and drops the rest',
      async ({ spool, clock }) => {
        const q = spool.queue<number>('keep', { keepCompleted: { count: 2, age: '1h' } });
        const ids = await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
        for (const job of await q.lease({ max: 3 })) await job.ack(job.data);
        assert.equal(await q.get(ids[0]!), null);
        assert.equal((await q.get(ids[2]!))?.result, 3);
        assert.equal((await q.counts()).completed, 2);
        clock.advance(3_600_000);
        assert.equal((await q.counts()).completed, 0);
        const none = spool.queue('keep-none', { keepCompleted: false });
        const id = await none.add('x');
        await (await none.lease())[0]!.ack('r');
        assert.equal(await none.get(id), null);
        assert.equal((await none.counts()).completed, 0);
      },
    );

    conformanceTest(
      suite,
      'keepDead keeps the newest dead jobs and drops the rest; by default every dead job is kept',
      async ({ spool, clock }) => {
        const q = spool.queue<number>('keep-dead', { keepDead: { count: 2, age: '1h' }, maxAttempts: 1 });
        const ids = await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
        for (const job of await q.lease({ max: 3 })) {
          await job.fail(new Error(`no ${job.data}`));
          clock.advance(1000);
        }
        assert.equal(await q.get(ids[0]!), null);
        assert.equal((await q.get(ids[2]!))?.state, 'dead');
        assert.equal((await q.counts()).dead, 2);
        // A lease that runs out with no attempt left dies too, and the oldest dead job makes room.
        const expiring = await q.add(4, { visibility: '10s' });
        await q.lease();
        clock.advance(10_000);
        assert.equal((await q.get(expiring))?.state, 'dead');
        assert.equal(await q.get(ids[1]!), null);
        assert.equal((await q.get(ids[2]!))?.state, 'dead');
        clock.advance(3_600_000);
        assert.equal((await q.counts()).dead, 0);

        const every = spool.queue('keep-dead-default', { maxAttempts: 1 });
        await every.addBulk([{ data: 1 }, { data: 2 }]);
        for (const job of await every.lease({ max: 2 })) await job.fail(new Error('no'));
        clock.advance(30 * 86_400_000);
        assert.equal((await every.counts()).dead, 2);
      },
    );

    conformanceTest(suite, 'pause stops leases from the queue until resume', async ({ spool }) => {
      const q = spool.queue('pausable');
      await q.add('x');
      await q.pause();
      assert.equal((await q.counts()).paused, true);
      assert.deepEqual(await q.lease(), []);
      await q.resume();
      assert.equal((await q.lease()).length, 1);
    });
  });
}

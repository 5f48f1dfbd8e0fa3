// Promote (issue 18): a delayed job made due now, by id or every delayed job of a queue.
import assert from 'node:assert/strict';
import { area, conformanceTest, needs, settle } from './harness.ts';
import type { Suite } from './harness.ts';

export function promote(suite: Suite): void {
  area(suite, 'promote', () => {
    conformanceTest(
      suite,
      'promoting a delayed job wakes a lease blocked on its queue at once, and leaves other delayed jobs delayed',
      async ({ spool, clock }) => {
        const q = spool.queue('promote-wake');
        const id = await q.add('later', { delay: '1h' });
        const other = await q.add('still later', { delay: '1h' });
        const pending = q.lease({ wait: '1m' });
        await settle();
        clock.advance(1000);
        await q.promote(id);
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job.attempt, 1);
        assert.equal((await q.get(other))?.state, 'delayed');
        await job.ack();
      },
    );

    conformanceTest(
      suite,
      'a promoted job joins the line as a job ready now: behind the jobs already waiting',
      async ({ spool, clock }) => {
        const q = spool.queue('promote-order');
        const delayed = await q.add('delayed', { delay: '1h' });
        clock.advance(1000);
        const waiting = await q.add('waiting');
        clock.advance(1000);
        await q.promote(delayed);
        const info = await q.get(delayed);
        assert.equal(info?.state, 'waiting');
        assert.equal(info.runAt, clock.now());
        const jobs = await q.lease({ max: 2 });
        assert.deepEqual(
          jobs.map((j) => j.id),
          [waiting, delayed],
        );
      },
    );

    conformanceTest(
      suite,
      'promoting a job that is not delayed is refused with its state, and changes nothing',
      async ({ spool }) => {
        const q = spool.queue('promote-refused');
        const waiting = await q.add('now');
        const elsewhere = await spool.queue('promote-elsewhere').add('later', { delay: '1h' });
        await assert.rejects(q.promote(waiting), { code: 'NOT_FOUND', reason: 'not delayed: it is waiting' });
        await assert.rejects(q.promote(elsewhere), { code: 'NOT_FOUND', reason: 'not found' });
        await assert.rejects(q.promote('no-such-job'), { code: 'NOT_FOUND', reason: 'not found' });
        assert.equal(await q.promoteDelayed([waiting, elsewhere]), 0);
        assert.equal((await q.get(waiting))?.state, 'waiting');
        assert.equal((await spool.queue('promote-elsewhere').get(elsewhere))?.state, 'delayed');
      },
    );

    conformanceTest(
      suite,
      "promoting every delayed job of a queue leaves the other queues' delayed jobs alone",
      async ({ spool }) => {
        const q = spool.queue('promote-all');
        const other = spool.queue('promote-all-other');
        await q.add('a', { delay: '1h' });
        await q.add('b', { delay: '2h' });
        await q.add('c');
        const untouched = await other.add('d', { delay: '1h' });
        assert.equal(await q.promoteDelayed(), 2);
        const counts = await q.counts();
        assert.equal(counts.delayed, 0);
        assert.equal(counts.waiting, 3);
        assert.equal((await other.get(untouched))?.state, 'delayed');
        assert.equal(await q.promoteDelayed(), 0);
      },
    );

    conformanceTest(
      suite,
      'a promotion outlives a reopen of the store',
      async ({ spool, reopen }) => {
        const q = spool.queue('promote-reopen');
        const id = await q.add('later', { delay: '1h' });
        const kept = await q.add('still later', { delay: '1h' });
        await q.promote(id);
        const again = (await reopen()).spool.queue('promote-reopen');
        assert.equal((await again.get(id))?.state, 'waiting');
        assert.equal((await again.get(kept))?.state, 'delayed');
        const [job] = await again.lease();
        assert.equal(job?.id, id);
      },
      { needs: needs.outlives },
    );
  });
}

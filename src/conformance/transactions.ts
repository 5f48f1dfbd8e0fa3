// Adds and acks that join the caller's own database transaction (`tx`): they take effect with
// its commit and not at all with its rollback, and the leases they would wake wake only after
// the commit. Only for stores that declare `capabilities.transactions`, with the `transaction`
// option of runConformance to open one.
import assert from 'node:assert/strict';
import { area, conformanceTest, needs, settle } from './harness.ts';
import type { Suite } from './harness.ts';

export function transactions(suite: Suite): void {
  area(suite, 'transactions', () => {
    conformanceTest(
      suite,
      "an add in the caller's transaction is stored when it commits and not at all when it rolls back",
      async ({ spool, begin }) => {
        const q = spool.queue<string>('tx-add');
        const committed = await begin();
        const kept = await q.add('kept', { tx: committed.tx });
        await committed.commit();
        const rolledBack = await begin();
        const gone = await q.addBulk([{ data: 'dropped' }, { data: 'dropped too' }], { tx: rolledBack.tx });
        await rolledBack.rollback();
        assert.equal((await q.get(kept))?.data, 'kept');
        for (const id of gone) assert.equal(await q.get(id), null);
        assert.equal((await q.counts()).waiting, 1);
        assert.deepEqual(
          (await q.lease({ max: 5 })).map((j) => j.data),
          ['kept'],
        );
      },
      { needs: needs.transactions },
    );

    conformanceTest(
      suite,
      "a lease blocked before an add in the caller's transaction takes the job once it commits, not before",
      async ({ spool, begin }) => {
        const q = spool.queue<string>('tx-wake');
        let taken = false;
        const pending = q.lease({ wait: '1h' }).then((jobs) => {
          taken = true;
          return jobs;
        });
        await settle();
        const transaction = await begin();
        await q.add('after commit', { tx: transaction.tx });
        await settle();
        assert.equal(taken, false, 'the lease took a job of an uncommitted transaction');
        await transaction.commit();
        const [job] = await pending;
        assert.equal(job?.data, 'after commit');
      },
      { needs: needs.transactions },
    );

    conformanceTest(
      suite,
      "an ack in the caller's transaction completes the job when it commits and leaves it leased when it rolls back",
      async ({ spool, begin }) => {
        const q = spool.queue<string>('tx-ack');
        await q.add('x');
        const [job] = await q.lease();
        assert.ok(job);
        const rolledBack = await begin();
        await job.ack('rolled back', { tx: rolledBack.tx });
        await rolledBack.rollback();
        assert.equal((await q.get(job.id))?.state, 'active');
        // The same lease, found again by its token: the rollback left it held.
        const again = await spool.leased(job.token);
        const committed = await begin();
        await again.ack('committed', { tx: committed.tx });
        await committed.commit();
        const done = await q.get(job.id);
        assert.equal(done?.state, 'completed');
        assert.equal(done.result, 'committed');
      },
      { needs: needs.transactions },
    );
  });
}

// Adds and acks that join the caller's own database transaction (`tx`): they take effect with
// its commit and not at all with its rollback, and the leases they would wake wake only after
// the commit. Only for stores that declare `capabilities.transactions`, with the `transaction`
// option of runConformance to open one. Core has no `tx` option yet, so these call the store.
import assert from 'node:assert/strict';
import { area, conformanceTest, needs, rawJob, settle } from './harness.ts';
import type { Suite } from './harness.ts';

/** Completed jobs kept, so a case can see a committed ack's effect. */
const keep = (queue: string) => ({ [queue]: { count: 100, ageMs: 86_400_000 } });

export function transactions(suite: Suite): void {
  area(suite, 'transactions', () => {
    conformanceTest(
      suite,
      "an add in the caller's transaction is stored when it commits and not at all when it rolls back",
      async ({ spool, store, clock, begin }) => {
        const q = spool.queue<string>('tx-add');
        const committed = await begin();
        const kept = await store.add({
          now: clock.now(),
          jobs: [rawJob('tx-add', 'kept', clock.now())],
          maxLength: {},
          tx: committed.tx,
        });
        await committed.commit();
        const dropped = await begin();
        const gone = await store.add({
          now: clock.now(),
          jobs: [rawJob('tx-add', 'dropped', clock.now()), rawJob('tx-add', 'dropped too', clock.now())],
          maxLength: {},
          tx: dropped.tx,
        });
        await dropped.rollback();
        assert.ok(kept.ok && gone.ok);
        assert.equal((await q.get(kept.ids[0]!))?.data, 'kept');
        for (const id of gone.ids) assert.equal(await q.get(id), null);
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
      async ({ spool, store, clock, begin }) => {
        const q = spool.queue<string>('tx-wake');
        let taken = false;
        const pending = q.lease({ wait: '1h' }).then((jobs) => {
          taken = true;
          return jobs;
        });
        await settle();
        const transaction = await begin();
        await store.add({
          now: clock.now(),
          jobs: [rawJob('tx-wake', 'after commit', clock.now())],
          maxLength: {},
          tx: transaction.tx,
        });
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
      async ({ spool, store, clock, begin }) => {
        const q = spool.queue<string>('tx-ack');
        await q.add('x');
        const [job] = await q.lease();
        assert.ok(job);
        const ack = { now: clock.now(), items: [{ token: job.token, result: null }], keep: keep('tx-ack') };
        const dropped = await begin();
        assert.deepEqual(await store.ack({ ...ack, tx: dropped.tx }), ['ok']);
        await dropped.rollback();
        assert.equal((await q.get(job.id))?.state, 'active');
        const committed = await begin();
        assert.deepEqual(await store.ack({ ...ack, tx: committed.tx }), ['ok']);
        await committed.commit();
        assert.equal((await q.get(job.id))?.state, 'completed');
        await assert.rejects(job.ack(), { code: 'LEASE_LOST' });
      },
      { needs: needs.transactions },
    );
  });
}

import assert from 'node:assert/strict';
import { area, conformanceTest, needs } from './harness.ts';
import type { Suite } from './harness.ts';

export function time(suite: Suite): void {
  area(suite, 'time', () => {
    conformanceTest(suite, 'a delayed job is leasable only once its delay has passed', async ({ spool, clock }) => {
      const q = spool.queue('delay');
      const id = await q.add('later', { delay: '5s' });
      assert.equal((await q.get(id))?.state, 'delayed');
      assert.deepEqual(await q.lease(), []);
      clock.advance(4999);
      assert.deepEqual(await q.lease(), []);
      clock.advance(1);
      const [job] = await q.lease();
      assert.equal(job?.id, id);
    });

    conformanceTest(
      suite,
      'hold takes waiting jobs out of line for their visibility, counting no attempt, and leaves other states be',
      async ({ spool, clock }) => {
        const q = spool.queue('hold');
        const held = await q.add('held', { visibility: '10s' });
        const behind = await q.add('behind');
        const delayed = await q.add('delayed', { delay: '1m' });
        assert.deepEqual(await spool.hold([held, held, delayed, 'no-such-id']), [held]);
        assert.deepEqual(await spool.hold([held]), [], 'a held job is not waiting');
        const job = await q.get(held);
        assert.equal(job?.state, 'delayed');
        assert.equal(job?.attempts, 0, 'a hold counts no attempt');
        assert.equal((await q.get(delayed))?.runAt, clock.now() + 60_000, 'a delayed job is untouched');
        assert.deepEqual(await q.counts(), { ...(await q.counts()), waiting: 1, delayed: 2 });
        clock.advance(9_999);
        assert.equal((await q.counts()).waiting, 1);
        clock.advance(1);
        // Back in line as of when it fell due, behind the job that waited all along, and once.
        const leased = await q.lease({ max: 10 });
        assert.deepEqual(
          leased.map((j) => [j.id, j.attempt]),
          [
            [behind, 1],
            [held, 1],
          ],
        );
        assert.deepEqual(await q.lease({ max: 10 }), []);
      },
    );

    conformanceTest(
      suite,
      'a job past its TTL is gone in any state and counted as expired',
      async ({ spool, clock }) => {
        const q = spool.queue('ttl');
        const delayed = await q.add('d', { ttl: '1m' });
        const waiting = await q.add('w', { ttl: '1m' });
        const kept = await q.add('k');
        // Delayed past its TTL by a retry's back-off (an add with such a delay is refused).
        const [retried] = await q.lease({ max: 1 });
        assert.equal(retried?.id, delayed);
        assert.equal(await retried.nack({ delay: '2m' }), 'retry');
        assert.equal((await q.get(delayed))?.state, 'delayed');
        const [active] = await q.lease({ max: 1 });
        assert.equal(active?.id, waiting);
        clock.advance(60_000);
        assert.equal(await q.get(waiting), null);
        assert.equal(await q.get(delayed), null);
        assert.equal((await q.get(kept))?.state, 'waiting');
        const counts = await q.counts();
        assert.equal(counts.expired, 2);
        assert.equal(counts.active, 0);
        await assert.rejects(active.ack(), { code: 'LEASE_LOST' });
      },
    );

    conformanceTest(
      suite,
      'an expired lease is handed out again at its end, without the back-off, and the stale token is refused',
      async ({ spool, clock }) => {
        const q = spool.queue('expiry', { backoff: { type: 'fixed', delay: '1m' } });
        const id = await q.add('x', { visibility: '10s' });
        const [first] = await q.lease();
        clock.advance(9999);
        assert.deepEqual(await q.lease(), []);
        clock.advance(1);
        // Reclaimed at the visibility time-out (Disque's RETRY), the back-off not waited for.
        const [second] = await q.lease();
        assert.equal(second?.id, id);
        assert.equal(second?.attempt, 2);
        assert.deepEqual(second?.errors, ['lease expired']);
        await assert.rejects(first!.ack(), { code: 'LEASE_LOST' });
        await assert.rejects(first!.extend(), { code: 'LEASE_LOST' });
        await assert.rejects(first!.nack(), { code: 'LEASE_LOST' });
        assert.equal((await q.get(id))?.state, 'active');
        await second.ack();
      },
    );

    conformanceTest(
      suite,
      'an expired lease counts as an attempt: a job whose every lease expires goes dead',
      async ({ spool, clock }) => {
        const q = spool.queue('expiry-dead', { maxAttempts: 2 });
        const id = await q.add('poison', { visibility: '10s' });
        assert.equal((await q.lease()).length, 1);
        clock.advance(10_000);
        const [again] = await q.lease();
        assert.equal(again?.attempt, 2);
        clock.advance(10_000);
        assert.deepEqual(await q.lease(), []);
        const info = await q.get(id);
        assert.equal(info?.state, 'dead');
        assert.equal(info?.attempts, 2);
        assert.deepEqual(info?.errors, ['lease expired', 'lease expired']);
      },
    );

    conformanceTest(
      suite,
      'requeue puts a job back at once in its old place in line, its attempt counted, no nack or error kept',
      async ({ spool, clock }) => {
        const q = spool.queue('requeue', { backoff: { type: 'fixed', delay: '1m' } });
        const first = await q.add('first');
        clock.advance(1000);
        const second = await q.add('second');
        const [job] = await q.lease();
        assert.equal(job?.id, first);
        clock.advance(1000);
        // As if the lease had run out now (Disque's ENQUEUE), without the back-off or a failure.
        assert.equal(await job.requeue(), 'retry');
        const info = await q.get(first);
        assert.deepEqual(
          [info?.state, info?.attempts, info?.nacks, info?.errors, info?.leaseUntil],
          ['waiting', 1, 0, [], null],
        );
        assert.deepEqual(
          (await q.peek(10)).map((j) => j.id),
          [first, second],
          'ahead of the job added after it',
        );
        await assert.rejects(job.ack(), { code: 'LEASE_LOST' });
        const [again] = await q.lease();
        assert.deepEqual([again?.id, again?.attempt, again?.nacks], [first, 2, 0]);
        await again!.ack();
        assert.equal((await q.get(second))?.attempts, 0, 'the other job untouched');
      },
    );

    conformanceTest(
      suite,
      'requeue on the last attempt sends the job dead, as an expired lease does, with an error saying so and no nack',
      async ({ spool }) => {
        const q = spool.queue('requeue-last', { maxAttempts: 2 });
        const id = await q.add('x');
        const [a] = await q.lease();
        assert.equal(await a!.nack({ error: 'one', delay: 0 }), 'retry');
        const [b] = await q.lease();
        assert.equal(b?.attempt, 2);
        assert.equal(await b.requeue(), 'dead');
        const info = await q.get(id);
        // Before: errors ['one'], and a dead job whose only requeue killed it showed no reason at all.
        assert.deepEqual(
          [info?.state, info?.attempts, info?.nacks, info?.errors],
          ['dead', 2, 1, ['one', 'requeued on its last attempt']],
        );
        assert.deepEqual(await q.lease(), []);
        assert.equal((await q.counts()).dead, 1);
      },
    );

    conformanceTest(
      suite,
      "a requeue's error on the last attempt outlives a reopen, and an earlier requeue left none",
      async ({ spool, reopen }) => {
        const q = spool.queue('requeue-last-reopen', { maxAttempts: 2 });
        const id = await q.add('x');
        const [a] = await q.lease();
        assert.equal(await a!.requeue(), 'retry');
        const [b] = await q.lease();
        assert.equal(await b!.requeue(), 'dead');
        const info = await (await reopen()).spool.queue('requeue-last-reopen').get(id);
        assert.deepEqual(
          [info?.state, info?.attempts, info?.nacks, info?.errors],
          ['dead', 2, 0, ['requeued on its last attempt']],
        );
      },
      { needs: needs.outlives },
    );

    conformanceTest(suite, 'extend keeps the lease past its first end', async ({ spool, clock }) => {
      const q = spool.queue('extend');
      await q.add('x', { visibility: '10s' });
      const [job] = await q.lease();
      clock.advance(9000);
      const until = await job!.extend('10s');
      assert.equal(until, clock.now() + 10_000);
      clock.advance(9000);
      assert.deepEqual(await q.lease(), []);
      await job!.ack();
    });

    conformanceTest(
      suite,
      'an extend that shortens the lease hands the job out again at the new end',
      async ({ spool, clock }) => {
        const q = spool.queue('extend-shorter');
        const id = await q.add('x', { visibility: '1h' });
        const [job] = await q.lease();
        assert.equal(await job!.extend('10s'), clock.now() + 10_000);
        clock.advance(9999);
        assert.deepEqual(await q.lease(), []);
        clock.advance(1);
        const [again] = await q.lease();
        assert.equal(again?.id, id);
        assert.equal(again?.attempt, 2);
        await assert.rejects(job!.ack(), { code: 'LEASE_LOST' });
      },
    );

    conformanceTest(
      suite,
      'nack retries after the exponential back-off, then goes dead with its errors',
      async ({ spool, clock }) => {
        const q = spool.queue('backoff', {
          maxAttempts: 3,
          backoff: { type: 'exponential', delay: '1s', maxDelay: '30s' },
        });
        const id = await q.add('x');
        const [a] = await q.lease();
        assert.equal(await a!.nack({ error: new Error('one') }), 'retry');
        assert.equal((await q.get(id))?.runAt, clock.now() + 1000);
        clock.advance(999);
        assert.deepEqual(await q.lease(), []);
        clock.advance(1);
        const [b] = await q.lease();
        assert.equal(await b!.nack({ error: 'two' }), 'retry');
        clock.advance(1999);
        assert.deepEqual(await q.lease(), []);
        clock.advance(1);
        const [c] = await q.lease();
        assert.equal(await c!.nack({ error: 'three' }), 'dead');
        const dead = await q.get(id);
        assert.equal(dead?.state, 'dead');
        assert.equal(dead?.attempts, 3);
        assert.equal(dead?.nacks, 3);
        assert.deepEqual(dead?.errors, ['Error: one', 'two', 'three']);
      },
    );

    conformanceTest(
      suite,
      'nack given an Error in place of its options, or an unknown option, is refused and the lease kept',
      async ({ spool }) => {
        const q = spool.queue('nack-options');
        const id = await q.add('x');
        const [job] = await q.lease();
        // As fail(error) takes it: the error was dropped unread, and the attempt counted without it.
        await assert.rejects(job!.nack(new Error('boom') as never), { code: 'VALIDATION', field: 'options' });
        await assert.rejects(job!.nack({ err: 'boom' } as never), { code: 'VALIDATION', field: 'options.err' });
        assert.equal((await q.get(id))?.state, 'active');
        await job!.nack({ error: 'boom', delay: 0 });
        assert.deepEqual((await q.get(id))?.errors, ['boom']);
      },
    );

    conformanceTest(
      suite,
      'fail sends a job straight to dead; retryDead brings it back with fresh attempts',
      async ({ spool }) => {
        const q = spool.queue('dead', { maxAttempts: 5 });
        const ids = await q.addBulk([{ data: 1 }, { data: 2 }]);
        for (const job of await q.lease({ max: 2 })) await job.fail(new Error('bad input'));
        const page = await q.dead({ limit: 1 });
        assert.equal(page.jobs.length, 1);
        assert.notEqual(page.cursor, null);
        const next = await q.dead({ limit: 1, cursor: page.cursor });
        assert.deepEqual([page.jobs[0]?.id, next.jobs[0]?.id], ids);
        assert.equal(next.cursor, null);
        assert.equal(await q.retryDead([ids[0]!]), 1);
        assert.equal((await q.counts()).dead, 1);
        assert.equal(await q.retryDead(), 1);
        const jobs = await q.lease({ max: 5 });
        assert.equal(jobs.length, 2);
        assert.equal(jobs[0]?.attempt, 1);
      },
    );

    conformanceTest(suite, 'removeDead removes every dead job of the queue, and nothing else', async ({ spool }) => {
      const q = spool.queue('remove-dead');
      const other = spool.queue('remove-dead-other');
      await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
      await other.add(4);
      for (const job of [...(await q.lease({ max: 2 })), ...(await other.lease())]) await job.fail('bad input');
      const [active] = await q.lease();
      await q.add(5);
      assert.equal(await q.removeDead(), 2);
      assert.deepEqual(await q.counts(), { ...(await q.counts()), dead: 0, active: 1, waiting: 1 });
      assert.equal((await other.counts()).dead, 1);
      assert.equal(await q.removeDead(), 0);
      await active!.ack();
    });

    conformanceTest(
      suite,
      'a delay, visibility or back-off given in fractions of a millisecond counts whole ones, and the job is handed out',
      async ({ spool, clock }) => {
        // A back-off function's 1000 * 1.5 ** attempt is such a fraction from the third attempt on.
        const q = spool.queue<string>('fractions', { backoff: () => 2.5 });
        const id = await q.add('x', { delay: 1.5 });
        assert.equal((await q.get(id))?.runAt, clock.now() + 2);
        clock.advance(2);
        const [first] = await q.lease({ visibility: 2.5 });
        assert.equal(first?.id, id);
        assert.equal(first.leaseUntil, clock.now() + 3);
        clock.advance(3);
        const [second] = await q.lease();
        assert.equal(second?.attempt, 2);
        assert.equal(await second.nack({ error: 'again' }), 'retry');
        assert.equal((await q.get(id))?.runAt, clock.now() + 3);
        clock.advance(3);
        const [third] = await q.lease();
        assert.equal(third?.attempt, 3);
        await third.ack();
      },
    );

    conformanceTest(
      suite,
      'on a clock that gives fractions of a millisecond, jobs are handed out, delayed, reclaimed and retried on time',
      async ({ spool, clock, store }) => {
        // performance.timeOrigin + performance.now(), say: a clock no step of the wall clock moves.
        clock.advance(0.25);
        const q = spool.queue<string>('fraction-clock', { backoff: '1s' });
        const first = await q.add('at once');
        const second = await q.add('later', { delay: '1s' });
        const [a] = await q.lease({ visibility: '2s' });
        assert.equal(a?.id, first);
        clock.advance(1000);
        const [b] = await q.lease();
        assert.equal(b?.id, second);
        assert.equal(await b.nack({ error: 'again' }), 'retry');
        clock.advance(999);
        assert.deepEqual(await q.lease(), []);
        // The first's lease ran out as the second's back-off ended: both in line, in add order.
        clock.advance(1);
        const back = await q.lease({ max: 2 });
        assert.deepEqual(
          back.map((j) => [j.id, j.attempt]),
          [
            [first, 2],
            [second, 2],
          ],
        );
        // A store takes a delay in fractions too, from a caller of the contract.
        const nacked = await store.nack({
          now: clock.now(),
          token: back[1]!.token,
          delayMs: 0.5,
          error: null,
          kind: 'fail',
        });
        assert.equal(nacked.outcome, 'retry');
        clock.advance(0.5);
        assert.equal((await q.lease())[0]?.id, second);
      },
    );

    conformanceTest(suite, 'a nack with an explicit delay overrides the back-off', async ({ spool, clock }) => {
      const q = spool.queue('nack-delay');
      await q.add('x');
      const [job] = await q.lease();
      await job!.nack({ delay: '1m' });
      clock.advance(59_999);
      assert.deepEqual(await q.lease(), []);
      clock.advance(1);
      assert.equal((await q.lease()).length, 1);
    });

    conformanceTest(
      suite,
      'a nack, a release and a back-off may put a job off past 2^31 ms (24.8 days)',
      async ({ spool, clock }) => {
        const month = 30 * 86_400_000;
        const q = spool.queue('far-off', { backoff: { type: 'fixed', delay: '30d' } });
        const [nacked, released, backedOff] = await q.addBulk([
          { data: 'nack' },
          { data: 'release' },
          { data: 'back-off' },
        ]);
        const [a, b, c] = await q.lease({ max: 3 });
        assert.equal(await a!.nack({ delay: '30d' }), 'retry');
        await b!.release({ delay: month });
        assert.equal(await c!.nack(), 'retry');
        for (const id of [nacked, released, backedOff]) {
          const job = await q.get(id!);
          assert.deepEqual([job?.state, job?.runAt], ['delayed', clock.now() + month], id);
        }
        clock.advance(month);
        assert.equal((await q.lease({ max: 3 })).length, 3);
      },
    );
  });
}

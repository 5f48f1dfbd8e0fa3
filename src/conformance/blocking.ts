import assert from 'node:assert/strict';
import { ClosedError, JobFailedError, NotFoundError, TimeoutError } from '../index.ts';
import { area, conformanceTest, gateLeases, settle, until } from './harness.ts';
import type { Suite } from './harness.ts';
import type { ManualClock } from '../index.ts';
import type { NewJob } from '../store/contract.ts';

/** Waits until `n` timers are armed on the clock: a blocked lease arms one or more, all at once. */
function blocked(clock: ManualClock, n: number, what: string): Promise<void> {
  return until(() => clock.pending >= n, what);
}

/** Waits until a timer is armed for `at`: the core has heard of that due time. */
function armedFor(clock: ManualClock, at: number, what: string): Promise<void> {
  return until(() => clock.armedFor(at), what);
}

/** A job as another client's add gives it to the store: core's own wake-up on add does not see it. */
function delayedJob(queue: string, data: string, availableAt: number): NewJob {
  return {
    queue,
    payload: new TextEncoder().encode(JSON.stringify(data)),
    priority: 0,
    maxAttempts: 5,
    availableAt,
    expiresAt: null,
    visibilityMs: 30_000,
    backoff: { kind: 'fixed', delayMs: 0, maxDelayMs: 0, jitter: 0 },
    key: null,
  };
}

export function blocking(suite: Suite): void {
  area(suite, 'blocking', () => {
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

    conformanceTest(
      suite,
      'a blocked lease resolves empty after its wait of elapsed time when the wall clock steps back an hour',
      async ({ spool, clock }) => {
        let resolved = false;
        const pending = spool.lease({ queues: ['block-step-back'], wait: '2s' }).then((jobs) => {
          resolved = true;
          return jobs;
        });
        await blocked(clock, 1, 'the lease to block');
        // NTP, a resumed VM, an operator: the wall clock goes back, time goes on.
        clock.step(-3_600_000);
        clock.advance(1999);
        await settle();
        assert.equal(resolved, false);
        clock.advance(1);
        // At its end the lease asks the store once more: on a networked store, a round trip.
        await until(() => resolved, 'the lease to end after 2 s of elapsed time, not an hour later');
        assert.deepEqual(await pending, []);
      },
    );

    conformanceTest(
      suite,
      'a blocked lease woken with nothing to take after the wall clock steps forward an hour waits out its time',
      async ({ spool, store, clock }) => {
        const q = spool.queue('block-step-forward');
        let resolved = false;
        const pending = q.lease({ wait: '2s' }).then((jobs) => {
          resolved = true;
          return jobs;
        });
        await blocked(clock, 1, 'the lease to block');
        clock.step(3_600_000);
        // The add wakes the lease; another consumer's remove wins the race to the job.
        const open = gateLeases(store);
        const id = await q.add('taken');
        assert.equal(await q.remove(id), true);
        open();
        await settle();
        assert.equal(resolved, false, 'the wait did not end at once');
        clock.advance(1999);
        await settle();
        assert.equal(resolved, false);
        clock.advance(1);
        assert.deepEqual(await pending, []);
      },
    );

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
      'a lease blocked before a nack with a delay wakes when the delay ends',
      async ({ spool, clock }) => {
        const q = spool.queue('wake-nack');
        const id = await q.add('x');
        const [held] = await q.lease();
        const pending = q.lease({ wait: '1h' });
        await blocked(clock, 1, 'the lease to block');
        await held!.nack({ delay: '2s' });
        await armedFor(clock, clock.now() + 2000, 'the due time to reach the blocked lease');
        clock.advance(1999);
        await settle();
        clock.advance(1);
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job?.attempt, 2);
      },
    );

    conformanceTest(
      suite,
      'a lease blocked before a requeue wakes with the job at once, the attempt counted',
      async ({ spool, clock }) => {
        const q = spool.queue('wake-requeue');
        const id = await q.add('x');
        const [held] = await q.lease();
        const pending = q.lease({ wait: '1h' });
        await blocked(clock, 1, 'the lease to block');
        assert.equal(await held!.requeue(), 'retry');
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job?.attempt, 2);
      },
    );

    conformanceTest(
      suite,
      'a lease blocked before a release with a delay wakes when the delay ends, the attempt not counted',
      async ({ spool, clock }) => {
        const q = spool.queue('wake-release');
        const id = await q.add('x');
        const [held] = await q.lease();
        const pending = q.lease({ wait: '1h' });
        await blocked(clock, 1, 'the lease to block');
        await held!.release({ delay: '2s' });
        assert.equal((await q.get(id))?.state, 'delayed');
        await armedFor(clock, clock.now() + 2000, 'the due time to reach the blocked lease');
        clock.advance(2000);
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job?.attempt, 1);
      },
    );

    conformanceTest(
      suite,
      'a lease blocked before a job comes and is held at once takes it when the hold ends, as its first attempt',
      async ({ spool, store, clock }) => {
        const q = spool.queue('wake-hold');
        let resolved = false;
        const pending = q.lease({ wait: '1h' }).then((jobs) => {
          resolved = true;
          return jobs;
        });
        await blocked(clock, 1, 'the lease to block');
        // The add wakes the lease; its look comes after the hold, as when the hold wins the race.
        const open = gateLeases(store);
        const id = await q.add('x', { visibility: '2s' });
        assert.deepEqual(await spool.hold([id]), [id]);
        open();
        await armedFor(clock, clock.now() + 2000, 'the end of the hold to reach the blocked lease');
        clock.advance(1999);
        await settle();
        assert.equal(resolved, false);
        clock.advance(1);
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job.attempt, 1);
      },
    );

    conformanceTest(
      suite,
      "a lease blocked before another holder's lease expires takes the job at the visibility time-out",
      async ({ spool, clock }) => {
        const q = spool.queue('wake-expiry', { backoff: { type: 'fixed', delay: '1m' } });
        const first = q.lease({ wait: '1h' });
        await blocked(clock, 1, 'the first lease to block');
        const armed = clock.pending;
        const second = q.lease({ wait: '1h' });
        await blocked(clock, armed + 1, 'the second lease to block');
        const id = await q.add('x', { visibility: '10s' });
        const [taken] = await first;
        assert.equal(taken?.id, id);
        await armedFor(clock, taken.leaseUntil, "the lease's end to reach the blocked lease");
        clock.advance(10_000);
        const [job] = await second;
        assert.equal(job?.id, id);
        assert.equal(job?.attempt, 2);
        await assert.rejects(taken.ack(), { code: 'LEASE_LOST' });
      },
    );

    conformanceTest(
      suite,
      "a lease blocked before another holder's extend shortens its lease takes the job at the new end",
      async ({ spool, clock }) => {
        const q = spool.queue('wake-shortened');
        const id = await q.add('x', { visibility: '1h' });
        const [held] = await q.lease();
        const pending = q.lease({ wait: '2h' });
        await blocked(clock, 1, 'the lease to block');
        // A handler that keeps its lease short from here on (its worker then dies): not an hour.
        const until = await held!.extend('10s');
        await armedFor(clock, until, "the lease's new end to reach the blocked lease");
        clock.advance(10_000);
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job?.attempt, 2);
        await assert.rejects(held!.ack(), { code: 'LEASE_LOST' });
      },
    );

    conformanceTest(
      suite,
      "a lease blocked before another client's delayed add wakes when the job falls due",
      async ({ spool, clock, store }) => {
        const pending = spool.lease({ queues: ['wake-add'], wait: '1h' });
        await blocked(clock, 1, 'the lease to block');
        const added = await store.add({
          now: clock.now(),
          jobs: [delayedJob('wake-add', 'later', clock.now() + 3000)],
        });
        assert.equal(added.ok, true);
        await armedFor(clock, clock.now() + 3000, 'the due time to reach the blocked lease');
        clock.advance(3000);
        const [job] = await pending;
        assert.equal(job?.data, 'later');
      },
    );

    conformanceTest(
      suite,
      "a lease with wait: Infinity or 'forever' blocks until a job comes or its signal aborts",
      async ({ spool, clock }) => {
        const q = spool.queue('forever');
        const abort = new AbortController();
        let gaveUp = false;
        const endless = q.lease({ wait: Infinity });
        const cancelled = q.lease({ wait: 'forever', signal: abort.signal }).then((jobs) => {
          gaveUp = true;
          return jobs;
        });
        await blocked(clock, 2, 'both leases to block');
        clock.advance(10 * 365 * 86_400_000);
        await settle();
        assert.equal(gaveUp, false);
        abort.abort();
        assert.deepEqual(await cancelled, []);
        await q.add('at last');
        const [job] = await endless;
        assert.equal(job?.data, 'at last');
      },
    );

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
      async ({ spool, store }) => {
        const q = spool.queue('wait-unkept', { keepCompleted: false });
        const [withResult, without, gone] = [await q.add('a'), await q.add('b'), await q.add('c')];
        // Each waitFor's first look must be answered before the acks. A round trip of our own
        // proves nothing on a pool, where it may overtake the looks on another connection (a
        // new one still connecting): the case counts the store's answers instead.
        let answered = 0;
        const get = store.get.bind(store);
        store.get = async (params) => {
          try {
            return await get(params);
          } finally {
            answered++;
          }
        };
        const waiting = [q.waitFor(withResult), q.waitFor(without)];
        await until(() => answered >= 2, "both waitFor calls' first looks");
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

    conformanceTest(
      suite,
      'waitFor settles when its job ends by time alone in a queue nobody calls: at its TTL, and when its last lease runs out',
      async ({ spool, clock }) => {
        const q = spool.queue('wait-by-time', { maxAttempts: 1 });
        const crashed = await q.add('its holder never settles it', { visibility: '10s' });
        const [held] = await q.lease();
        const expiring = await q.add('nobody takes it', { ttl: '1m' });
        const dead = assert.rejects(
          q.waitFor(crashed),
          (e: unknown) => e instanceof JobFailedError && e.errors.at(-1) === 'lease expired',
        );
        const gone = assert.rejects(q.waitFor(expiring), { code: 'NOT_FOUND', reason: 'expired before it finished' });
        // Nothing else touches the queue: no lease blocks on it, no call settles it.
        await armedFor(clock, held!.leaseUntil, 'the waitFor to look at the end of the last lease');
        await armedFor(clock, clock.now() + 60_000, 'the waitFor to look at the TTL');
        clock.advance(10_000);
        await dead;
        clock.advance(50_000);
        await gone;
      },
    );

    conformanceTest(
      suite,
      'a waitFor pending when the Spool closes rejects with ClosedError, and so does one after',
      async ({ spool }) => {
        const q = spool.queue('wait-close');
        const id = await q.add('x');
        const rejected = assert.rejects(q.waitFor(id), ClosedError);
        await settle();
        await spool.close();
        await rejected;
        await assert.rejects(q.waitFor(id), ClosedError);
      },
    );

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

// Queue settings kept by the store, the store's list of queues, and transactions refused by a
// store that has none.
import assert from 'node:assert/strict';
import { QueueFullError, Spool, ValidationError } from '../index.ts';
import { defaultQueueSettings } from '../store/contract.ts';
import type { Env, Suite } from './harness.ts';
import { area, conformanceTest, needs } from './harness.ts';

/**
 * A second Spool on the env's store, as another process would have: its own handles and its own
 * settings cache. (On memory and file stores the two share one store object; on Redis the
 * settings travel through the server all the same, since the store object caches none.)
 */
async function secondSpool({ store, clock }: Env): Promise<Spool> {
  return Spool.create(store, { clock, random: () => 0.5 });
}

export function settings(suite: Suite): void {
  area(suite, 'settings', () => {
    conformanceTest(
      suite,
      'a handle made without options, in another Spool, adds with the stored maxAttempts and is refused past the stored maxLength',
      async (env) => {
        const { spool } = env;
        const first = spool.queue('mail', { maxAttempts: 2, maxLength: 2 });
        await first.add('one');
        const other = await secondSpool(env);
        try {
          const q = other.queue<string>('mail');
          const id = await q.add('two');
          assert.equal((await q.get(id))?.maxAttempts, 2);
          await assert.rejects(q.add('three'), (error: unknown) => {
            assert.ok(error instanceof QueueFullError);
            assert.equal(error.maxLength, 2);
            return true;
          });
          await assert.rejects(q.addBulk([{ data: 'four' }]), QueueFullError);
          assert.equal((await q.counts()).waiting, 2, 'a refused add added nothing');
        } finally {
          await other.close();
        }
      },
    );

    conformanceTest(
      suite,
      'a queue with no stored settings has the defaults; configure changes what it names',
      async ({ spool }) => {
        const q = spool.queue('tuned');
        assert.deepEqual(await q.settings(), defaultQueueSettings);
        const changed = await q.configure({ maxAttempts: 9, visibility: '2m', ttl: '1h' });
        assert.deepEqual(changed, { ...defaultQueueSettings, maxAttempts: 9, visibilityMs: 120_000, ttlMs: 3_600_000 });
        const again = await q.configure({ ttl: null, maxAttempts: Infinity });
        assert.equal(again.ttlMs, null);
        assert.equal(again.maxAttempts, Infinity);
        assert.equal(again.visibilityMs, 120_000, 'a setting not named kept its value');
        await assert.rejects(q.configure({ maxLength: 0 }), ValidationError);
        await assert.rejects(q.configure({ colour: 'red' } as never), ValidationError);
      },
    );

    conformanceTest(suite, 'a settings change reaches another Spool within a second', async (env) => {
      const { spool, clock } = env;
      const other = await secondSpool(env);
      try {
        const theirs = other.queue('slow');
        assert.equal((await theirs.settings()).maxAttempts, defaultQueueSettings.maxAttempts);
        await spool.queue('slow').configure({ maxAttempts: 7 });
        clock.advance(1000);
        assert.equal((await theirs.settings()).maxAttempts, 7);
        const id = await theirs.add('x');
        assert.equal((await theirs.get(id))?.maxAttempts, 7);
      } finally {
        await other.close();
      }
    });

    conformanceTest(
      suite,
      "the store keeps completed jobs by the queue's stored retention, whoever acks",
      async ({ spool, store, clock }) => {
        const q = spool.queue<string>('kept', { keepCompleted: 1 });
        await q.addBulk([{ data: 'a' }, { data: 'b' }, { data: 'c' }]);
        const leased = await store.lease({ now: clock.now(), queues: ['kept'], max: 3, visibilityMs: null });
        // Straight to the store, with no retention of its own: the stored one applies.
        const acked = await store.ack({
          now: clock.now(),
          items: leased.jobs.map((job) => ({ token: job.token, result: null })),
        });
        assert.deepEqual(acked, ['ok', 'ok', 'ok']);
        assert.equal((await q.counts()).completed, 1);
        await q.configure({ keepCompleted: false });
        assert.equal((await q.counts()).completed, 0, 'a shorter retention applies at once');
      },
    );

    conformanceTest(
      suite,
      'pause is a stored setting: a lease in another Spool takes nothing until resume',
      async (env) => {
        const { spool } = env;
        const q = spool.queue<string>('held');
        await q.add('x');
        await q.pause();
        const other = await secondSpool(env);
        try {
          assert.equal((await other.queue('held').settings()).paused, true);
          assert.deepEqual(await other.lease({ queues: 'held' }), []);
          assert.equal((await q.counts()).paused, true);
          await q.resume();
          const [job] = await other.lease({ queues: 'held' });
          assert.equal(job?.data, 'x');
          await job?.ack();
        } finally {
          await other.close();
        }
      },
    );

    conformanceTest(
      suite,
      'the store lists every queue that had an add or settings, with counts and settings',
      async ({ spool }) => {
        assert.deepEqual(await spool.queues(), []);
        await spool.queue('b').add(1);
        await spool.queue('a', { maxLength: 5 }).settings();
        await spool.queue('c').counts();
        const queues = await spool.queues();
        assert.deepEqual(
          queues.map((q) => q.name),
          ['a', 'b'],
          'a queue only read is not listed',
        );
        assert.equal(queues[0]?.settings.maxLength, 5);
        assert.equal(queues[1]?.counts.waiting, 1);
      },
    );

    conformanceTest(
      suite,
      'a store without transactions refuses a tx on add, addBulk and ack',
      async ({ spool }) => {
        const q = spool.queue<string>('tx');
        const tx = { query: () => {} };
        const refused = (error: unknown): boolean => error instanceof ValidationError && error.field === 'tx';
        await assert.rejects(q.add('x', { tx }), refused);
        await assert.rejects(q.addBulk([{ data: 'x' }], { tx }), refused);
        await q.add('y');
        const [job] = await q.lease();
        await assert.rejects(job!.ack(undefined, { tx }), refused);
        assert.equal((await q.counts()).waiting, 0, 'nothing of the refused adds was added');
        await job!.ack();
        assert.equal((await q.counts()).completed, 1);
      },
      { needs: needs.noTransactions },
    );
  });
}

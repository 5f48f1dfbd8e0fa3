import assert from 'node:assert/strict';
import { NotFoundError, ValidationError } from '../index.ts';
import { area, conformanceTest } from './harness.ts';
import type { Suite } from './harness.ts';

export function basics(suite: Suite): void {
  area(suite, 'basics', () => {
    conformanceTest(suite, 'add then get shows a waiting job with its data and options', async ({ spool, clock }) => {
      const q = spool.queue<{ n: number }>('basics', { maxAttempts: 3 });
      const id = await q.add({ n: 1 }, { priority: 2 });
      const job = await q.get(id);
      assert.ok(job);
      assert.equal(job.state, 'waiting');
      assert.deepEqual(job.data, { n: 1 });
      assert.equal(job.priority, 2);
      assert.equal(job.maxAttempts, 3);
      assert.equal(job.attempts, 0);
      assert.equal(job.createdAt, clock.now());
      assert.equal(await q.get('no-such-id'), null);
    });

    conformanceTest(suite, 'an open store that takes calls is healthy', async ({ spool }) => {
      await spool.queue('health').add(1);
      assert.deepEqual(await spool.health(), { ok: true });
    });

    conformanceTest(suite, 'counts follow a job through waiting, active, completed', async ({ spool }) => {
      const q = spool.queue('counts');
      await q.add('a');
      await q.add('b', { delay: 1000 });
      assert.deepEqual(await q.counts(), {
        waiting: 1,
        delayed: 1,
        active: 0,
        dead: 0,
        completed: 0,
        expired: 0,
        paused: false,
      });
      const [job] = await q.lease();
      assert.equal((await q.counts()).active, 1);
      await job!.ack({ ok: true });
      const counts = await q.counts();
      assert.equal(counts.active, 0);
      assert.equal(counts.completed, 1);
      assert.equal(counts.delayed, 1);
      assert.deepEqual((await q.get(job!.id))?.result, { ok: true });
    });

    conformanceTest(suite, 'addBulk adds all jobs in order, and none when one is invalid', async ({ spool }) => {
      const q = spool.queue<number>('bulk');
      const ids = await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
      assert.equal(ids.length, 3);
      await assert.rejects(q.addBulk([{ data: 4 }, { data: 5, options: { delay: -1 } }]), ValidationError);
      assert.equal((await q.counts()).waiting, 3);
      const peeked = await q.peek(10);
      assert.deepEqual(
        peeked.map((j) => j.data),
        [1, 2, 3],
      );
    });

    conformanceTest(
      suite,
      'addBulk keeps each job’s own options, in runs of like jobs and between them',
      async ({ spool, clock }) => {
        const q = spool.queue<number>('bulk-options', { maxAttempts: 7 });
        const plain = {};
        const urgent = { priority: 5, maxAttempts: 2, ttl: '1h', key: 'k|1' };
        const later = { delay: '1m' };
        const options = [plain, plain, urgent, plain, later, later, plain];
        const ids = await q.addBulk(options.map((o, i) => ({ data: i, options: o })));
        const jobs = await Promise.all(ids.map((id) => q.get(id)));
        const now = clock.now();
        assert.deepEqual(
          jobs.map((j) => [j?.data, j?.state, j?.priority, j?.maxAttempts, j?.runAt, j?.expiresAt]),
          options.map((o, i) => [
            i,
            o === later ? 'delayed' : 'waiting',
            o === urgent ? 5 : 0,
            o === urgent ? 2 : 7,
            o === later ? now + 60_000 : now,
            o === urgent ? now + 3_600_000 : null,
          ]),
        );
        // The key went with its own job only: adding it again finds that job.
        assert.equal(await q.add(99, { key: 'k|1' }), ids[2]);
      },
    );

    conformanceTest(suite, 'peek shows the next jobs and changes nothing', async ({ spool }) => {
      const q = spool.queue<string>('peek');
      await q.addBulk([{ data: 'x' }, { data: 'y' }]);
      const first = await q.peek(1);
      const again = await q.peek(1);
      assert.equal(first[0]?.data, 'x');
      assert.equal(again[0]?.id, first[0]?.id);
      assert.equal((await q.counts()).waiting, 2);
      assert.equal(first[0]?.attempts, 0);
    });

    conformanceTest(
      suite,
      'cancel removes a waiting job but not an active one; remove takes any state',
      async ({ spool }) => {
        const q = spool.queue('cancel');
        const a = await q.add('a');
        const b = await q.add('b');
        assert.equal(await q.cancel(a), true);
        assert.equal(await q.get(a), null);
        const [leased] = await q.lease();
        assert.equal(leased?.id, b);
        assert.equal(await q.cancel(b), false);
        assert.equal(await q.remove(b), true);
        await assert.rejects(leased.ack(), { code: 'LEASE_LOST' });
        await assert.rejects(q.cancel(a), NotFoundError);
      },
    );

    conformanceTest(suite, 'purge removes every job that is not active', async ({ spool }) => {
      const q = spool.queue('purge');
      const other = spool.queue('purge-other');
      await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3, options: { delay: 50 } }]);
      await other.add('untouched');
      const [active] = await q.lease();
      assert.equal(await q.purge(), 2);
      const counts = await q.counts();
      assert.equal(counts.waiting + counts.delayed, 0);
      assert.equal(counts.active, 1);
      await active!.ack();
      assert.equal((await other.counts()).waiting, 1);
    });

    conformanceTest(
      suite,
      'bad input is refused with a ValidationError naming the field, and nothing is stored',
      async ({ spool }) => {
        const q = spool.queue('invalid');
        await assert.rejects(
          q.add('x', { delay: -5 }),
          (e: unknown) => e instanceof ValidationError && e.field === 'options.delay',
        );
        await assert.rejects(
          q.add('x', { delay: '5 parsecs' }),
          (e: unknown) => e instanceof ValidationError && e.field === 'options.delay',
        );
        await assert.rejects(
          q.add('x', { maxAttempts: 0 }),
          (e: unknown) => e instanceof ValidationError && e.field === 'options.maxAttempts',
        );
        await assert.rejects(q.add(undefined), (e: unknown) => e instanceof ValidationError && e.field === 'data');
        await assert.rejects(
          q.add('x'.repeat(2 << 20)),
          (e: unknown) => e instanceof ValidationError && e.field === 'data',
        );
        await assert.rejects(
          q.add('x', { colour: 'red' } as never),
          (e: unknown) => e instanceof ValidationError && e.field === 'options.colour',
        );
        await assert.rejects(
          q.add('x', { key: 'a\0b' }),
          (e: unknown) => e instanceof ValidationError && e.field === 'options.key',
        );
        assert.throws(() => spool.queue('bad name!'), ValidationError);
        assert.equal((await q.counts()).waiting, 0);
      },
    );

    conformanceTest(
      suite,
      'an id or ids of the wrong type are a ValidationError of that call alone; the store serves on',
      async ({ spool }) => {
        const q = spool.queue('wrong-ids');
        const id = await q.add('kept');
        const isValidation = (e: unknown) => e instanceof ValidationError;
        const calls: (() => Promise<unknown>)[] = [
          () => q.get(5 as never),
          () => q.remove(null as never),
          () => q.cancel(undefined as never),
          () => q.promote(['1'] as never),
          () => q.promoteDelayed('1' as never),
          () => q.retryDead('1' as never),
          () => q.retryDead([id, 7] as never),
          () => q.waitFor(5 as never),
          () => spool.job(''),
          () => spool.hold('1' as never),
        ];
        for (const call of calls) await assert.rejects(call(), isValidation);
        // An add of the same tick as a refused call is not taken down with it.
        const [added] = await Promise.allSettled([q.add('beside'), q.retryDead('1' as never)]);
        assert.equal(added?.status, 'fulfilled');
        assert.deepEqual(
          (await q.peek(5)).map((job) => job.data),
          ['kept', 'beside'],
        );
      },
    );

    conformanceTest(suite, "an attempt's error holding a NUL is kept, the NUL as U+FFFD", async ({ spool }) => {
      const q = spool.queue('nul-errors');
      const [retried, dead] = await q.addBulk([{ data: 'retried' }, { data: 'dead' }]);
      const [a, b] = await q.lease({ max: 2 });
      assert.equal(await a!.nack({ error: new Error('byte \0 at 3'), delay: 0 }), 'retry');
      await b!.fail('\0');
      assert.deepEqual((await q.get(retried!))?.errors, ['Error: byte \uFFFD at 3']);
      assert.deepEqual([(await q.get(dead!))?.state, (await q.get(dead!))?.lastError], ['dead', '\uFFFD']);
    });

    conformanceTest(
      suite,
      "a list's cursor that no page answered is a ValidationError naming it, in every state; pages go on",
      async ({ spool }) => {
        const q = spool.queue('cursors');
        await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
        const bad = ['abc', '-1', '1.5', '1e3', ' 1', '', '99999999999999999999999', 7] as never[];
        for (const state of ['waiting', 'delayed', 'active', 'dead', 'completed'] as const)
          for (const cursor of bad)
            await assert.rejects(
              q.list(state, { cursor }),
              (e: unknown) => e instanceof ValidationError && e.field === 'page.cursor',
              `${state} ${String(cursor)}`,
            );
        const first = await q.list('waiting', { limit: 2 });
        const rest = await q.list('waiting', { limit: 2, cursor: first.cursor });
        assert.deepEqual(
          [...first.jobs, ...rest.jobs].map((j) => j.data),
          [1, 2, 3],
        );
        assert.equal(rest.cursor, null);
        assert.deepEqual((await q.dead({ cursor: null })).jobs, []);
      },
    );

    conformanceTest(
      suite,
      'priorities to ±2^31 are kept as they are; one past them fails its own add alone',
      async ({ spool }) => {
        const q = spool.queue('priorities');
        const [low, high] = [-(2 ** 31), 2 ** 31 - 1];
        const results = await Promise.allSettled([
          q.add('low', { priority: low }),
          q.add('over', { priority: 2 ** 31 }),
          q.add('high', { priority: high }),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        assert.ok(results[1]?.status === 'rejected' && results[1].reason instanceof ValidationError);
        assert.deepEqual(
          (await q.peek(5)).map((job) => [job.data, job.priority]),
          [
            ['high', high],
            ['low', low],
          ],
        );
      },
    );

    conformanceTest(suite, 'meta documents are set, listed by prefix and deleted atomically', async ({ store }) => {
      const now = 0;
      assert.deepEqual(await store.getMeta({ now, names: ['topic/a'] }), [null]);
      await store.setMeta({ now, entries: { 'topic/b': '{"n":2}', 'topic/a': '{"n":1}', 'other/x': 'x' } });
      assert.deepEqual(await store.getMeta({ now, names: ['topic/a', 'topic/b', 'topic/c'] }), [
        '{"n":1}',
        '{"n":2}',
        null,
      ]);
      assert.deepEqual(await store.listMeta({ now, prefix: 'topic/' }), ['topic/a', 'topic/b']);
      await store.setMeta({ now, entries: { 'topic/a': null, 'topic/b': '{"n":3}' } });
      assert.deepEqual(await store.getMeta({ now, names: ['topic/a', 'topic/b'] }), [null, '{"n":3}']);
      assert.deepEqual(await store.listMeta({ now, prefix: '' }), ['other/x', 'topic/b']);
    });
  });
}

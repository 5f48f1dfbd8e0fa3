import assert from 'node:assert/strict';
import { ExistsError, LeaseLostError, NotFoundError, ValidationError } from '../index.ts';
import { area, conformanceTest } from './harness.ts';
import type { Suite } from './harness.ts';

export function topics(suite: Suite): void {
  area(suite, 'topics', () => {
    conformanceTest(suite, 'a publish gives every subscriber its own copy with its own options', async ({ spool }) => {
      const cart = spool.topic<{ item: string }>('cart');
      await cart.create({ counter: { maxAttempts: 2, visibility: '5m' }, created: {} });
      const ids = await cart.publish({ item: 'book' });
      assert.deepEqual(Object.keys(ids).sort(), ['counter', 'created']);
      assert.notEqual(ids.counter, ids.created);

      const counter = cart.subscriber('counter');
      const [a] = await counter.lease();
      assert.deepEqual(a?.data, { item: 'book' });
      assert.equal(a?.maxAttempts, 2);
      assert.equal(a?.leaseUntil, a.createdAt + 300_000);
      const [b] = await cart.subscriber('created').lease();
      assert.equal(b?.maxAttempts, 5);
      assert.deepEqual(b?.data, { item: 'book' });
      assert.equal(b?.queue, 'cart.created');
      await a.ack();
      // Acking one subscriber's copy leaves the other's in flight.
      assert.deepEqual(
        (await cart.status()).map((s) => [s.name, s.waiting, s.inFlight]),
        [
          ['counter', 0, 0],
          ['created', 0, 1],
        ],
      );
    });

    conformanceTest(suite, "a subscriber may be named like an object's own properties", async ({ spool }) => {
      const t = spool.topic('names');
      // '__proto__' as a key set by assignment changes an object's prototype instead of adding the key.
      await t.create(
        Object.fromEntries([
          ['__proto__', {}],
          ['constructor', {}],
        ]),
      );
      await t.addSubscribers(Object.fromEntries([['__proto__', { maxAttempts: 3 }]]));
      assert.deepEqual((await t.info()).subscribers.map((s) => [s.name, s.maxAttempts]).sort(), [
        ['__proto__', 3],
        ['constructor', 5],
      ]);
      const ids = await t.publish('x');
      assert.deepEqual(Object.keys(ids).sort(), ['__proto__', 'constructor']);
      const [job] = await t.subscriber('__proto__').lease();
      assert.equal(job?.data, 'x');
    });

    conformanceTest(suite, 'a publish to many subscribers is one atomic add', async ({ spool, store }) => {
      const t = spool.topic('atomic');
      await t.create({ a: {}, b: {}, c: {} });
      let calls = 0;
      const add = store.add.bind(store);
      store.add = (params) => {
        calls++;
        return add(params);
      };
      // A store with sleepers takes core's adds through its extension.
      const sleepers = store.sleepers;
      if (sleepers !== undefined) {
        const sleeperAdd = sleepers.add.bind(sleepers);
        sleepers.add = (params) => {
          calls++;
          return sleeperAdd(params);
        };
      }
      const ids = await t.publishBulk([{ data: 1 }, { data: 2 }]);
      assert.equal(calls, 1);
      assert.equal(ids.length, 2);
      const counts = await t.status();
      assert.deepEqual(
        counts.map((s) => s.waiting),
        [2, 2, 2],
      );
    });

    conformanceTest(
      suite,
      'status counts waiting (delayed included) and in flight per subscriber',
      async ({ spool }) => {
        const t = spool.topic('status');
        await t.create({ one: {}, two: {} });
        await t.publish('now');
        await t.publish('later', { delay: '1m' });
        await t.subscriber('one').lease();
        assert.deepEqual(
          (await t.status()).map((s) => ({ name: s.name, waiting: s.waiting, inFlight: s.inFlight })),
          [
            { name: 'one', waiting: 1, inFlight: 1 },
            { name: 'two', waiting: 2, inFlight: 0 },
          ],
        );
      },
    );

    conformanceTest(suite, 'a subscriber added later sees only later messages', async ({ spool }) => {
      const t = spool.topic('late');
      await t.create({ early: {} });
      await t.publish('first');
      await t.addSubscribers({ late: { visibility: '1s' } });
      await t.publish('second');
      const late = await t.subscriber('late').peek(10);
      assert.deepEqual(
        late.map((j) => j.data),
        ['second'],
      );
      assert.equal((await t.subscriber('early').counts()).waiting, 2);
      assert.deepEqual(
        (await t.info()).subscribers.map((s) => [s.name, s.visibilityMs]),
        [
          ['early', 30_000],
          ['late', 1000],
        ],
      );
    });

    conformanceTest(
      suite,
      'removing a subscriber drops its messages, in flight too, and leaves the others',
      async ({ spool }) => {
        const t = spool.topic('rm');
        await t.create({ keep: {}, drop: {} });
        await t.publishBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
        const [held] = await t.subscriber('drop').lease();
        await t.removeSubscriber('drop');
        assert.deepEqual(
          (await t.info()).subscribers.map((s) => s.name),
          ['keep'],
        );
        assert.deepEqual(await spool.queue('rm.drop').counts(), {
          waiting: 0,
          delayed: 0,
          active: 0,
          dead: 0,
          completed: 0,
          expired: 0,
          paused: false,
        });
        await assert.rejects(held!.ack(), LeaseLostError);
        assert.equal((await spool.queue('rm.keep').counts()).waiting, 3);
        await assert.rejects(t.removeSubscriber('drop'), NotFoundError);
        await assert.rejects(t.requireSubscriber('drop'), NotFoundError);
        // Later publishes reach only the subscriber left.
        await t.publish(4);
        assert.equal((await spool.queue('rm.drop').counts()).waiting, 0);
      },
    );

    conformanceTest(suite, 'deleting a topic drops its definition and every message', async ({ spool }) => {
      const t = spool.topic('gone');
      await t.create({ s: {} });
      await spool.topic('other').create({ s: {} });
      await t.publish('x');
      assert.deepEqual(await spool.topics(), ['gone', 'other']);
      await t.delete();
      assert.deepEqual(await spool.topics(), ['other']);
      assert.equal(await t.exists(), false);
      assert.equal((await spool.queue('gone.s').counts()).waiting, 0);
      await assert.rejects(t.publish('y'), NotFoundError);
      await assert.rejects(t.delete(), NotFoundError);
      // The name may be used again.
      await t.create({});
      assert.equal(await t.exists(), true);
    });

    conformanceTest(
      suite,
      'concurrent subscriber edits of one topic all take effect, none undoes another',
      async ({ spool }) => {
        const t = spool.topic('busy');
        await t.create({ keep: {}, drop: {} });
        const names = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}`);
        // Separate handles, as separate requests or processes would have; every edit starts before any ends.
        await Promise.all([
          ...names.map((name) => spool.topic('busy').addSubscribers({ [name]: { maxAttempts: 3 } })),
          spool.topic('busy').removeSubscriber('drop'),
        ]);
        const info = await t.info();
        assert.deepEqual(info.subscribers.map((s) => s.name).sort(), ['keep', ...names]);
        assert.ok(info.subscribers.filter((s) => s.name !== 'keep').every((s) => s.maxAttempts === 3));
        const ids = await t.publish('m');
        assert.equal(Object.keys(ids).length, names.length + 1);
        // Another topic whose name starts with this one's is not mistaken for it.
        await spool.topic('busy2').create({ x: {} });
        assert.deepEqual(await spool.topics(), ['busy', 'busy2']);
        assert.equal((await t.info()).subscribers.length, names.length + 1);
      },
    );

    conformanceTest(
      suite,
      'a topic made again after a delete starts with only its own subscribers',
      async ({ spool }) => {
        const t = spool.topic('again');
        await t.create({ old: {} });
        await t.delete();
        await t.create({ fresh: {} });
        assert.deepEqual(
          (await t.info()).subscribers.map((s) => s.name),
          ['fresh'],
        );
        await assert.rejects(t.removeSubscriber('old'), NotFoundError);
        await assert.rejects(spool.topic('nothing').addSubscribers({ a: {} }), NotFoundError);
        assert.deepEqual(await spool.topics(), ['again']);
      },
    );

    conformanceTest(suite, 'create refuses an existing name and bad names or options', async ({ spool }) => {
      await spool.topic('dup').create();
      await assert.rejects(spool.topic('dup').create(), ExistsError);
      assert.throws(() => spool.topic('has.dot'), ValidationError);
      await assert.rejects(spool.topic('t').create({ 'a.b': {} }), ValidationError);
      await assert.rejects(spool.topic('t').create({ a: { maxAttempts: 0 } }), ValidationError);
      await assert.rejects(spool.topic('t').create({ a: { nope: 1 } as never }), ValidationError);
      assert.equal(await spool.topic('t').exists(), false);
    });

    conformanceTest(
      suite,
      'a subscriber message goes dead after exactly maxAttempts deliveries',
      async ({ spool, clock }) => {
        const t = spool.topic('tries');
        await t.create({ s: { maxAttempts: 2, visibility: '1s', backoff: { type: 'fixed', delay: 0 } } });
        await t.publish('m');
        const q = t.subscriber('s');
        let deliveries = 0;
        for (let i = 0; i < 4; i++) {
          const jobs = await q.lease();
          deliveries += jobs.length;
          clock.advance(1001);
        }
        assert.equal(deliveries, 2);
        assert.equal((await t.status())[0]?.dead, 1);
      },
    );

    conformanceTest(suite, 'ack by message id: in flight, waiting again, or already done', async ({ spool, clock }) => {
      const t = spool.topic('byid');
      await t.create({ s: { visibility: '1s' }, other: {} });
      const [a, b] = (await t.publishBulk([{ data: 'a' }, { data: 'b' }])).map((ids) => ids.s!);
      const q = t.subscriber('s');
      await q.lease({ max: 2 });
      assert.equal(await t.ack('s', [a!]), 1);
      clock.advance(60_000); // b's lease ran out: it is waiting again
      assert.equal(await t.ack('s', [b!, 'no-such-id']), 1);
      const status = async (name: string) => (await t.status()).find((s) => s.name === name);
      assert.equal((await status('s'))?.waiting, 0);
      assert.equal((await status('s'))?.inFlight, 0);
      // Another subscriber's ids are not this one's.
      const otherId = (await t.publish('c')).other!;
      assert.equal(await t.ack('s', [otherId]), 0);
      assert.equal((await status('other'))?.waiting, 3);
    });

    conformanceTest(suite, 'a lease is found again by its token', async ({ spool }) => {
      const q = spool.queue('tok');
      await q.add('x');
      const [job] = await q.lease();
      const again = await spool.leased<string>(job!.token);
      assert.equal(again.data, 'x');
      await again.ack();
      await assert.rejects(spool.leased(job!.token), LeaseLostError);
      await assert.rejects(spool.leased('nonsense'), ValidationError);
    });
  });
}

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setImmediate, setTimeout } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { connected, parseRedisUrl } from '../src/store/redis/connection.ts';
import { ManualClock, QueueFullError, Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import type { LeaseParams, SleeperEvent } from '../src/store/contract.ts';
import { RedisStore } from '../src/store/redis/index.ts';
import { overriding } from './fixtures/overriding.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from './fixtures/redis.ts';
import { until } from '../src/conformance/harness.ts';

const skip = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
let n = 0;

/** A store on keys of its own, deleted when the test closes it: runs never meet on the shared server. */
async function makeStore(): Promise<RedisStore> {
  const prefix = `spool-test-${process.pid}-${++n}`;
  const store = await RedisStore.open(withPrefix(redisUrl, prefix));
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await dropPrefix(redisUrl, `${prefix}:`);
  };
  return store;
}

/**
 * `store` with `answered` called as each lease core makes is answered (a blocked lease goes
 * through the sleepers extension, any other through `lease`), and its events filtered by `pass`.
 */
function observed(store: RedisStore, answered: () => void, pass: (event: SleeperEvent) => boolean = () => true): Store {
  const sleepers = store.sleepers;
  const counted = async <T>(result: Promise<T>): Promise<T> => {
    const value = await result;
    answered();
    return value;
  };
  return overriding(store, {
    lease: (params: LeaseParams) => counted(store.lease(params)),
    sleepers: {
      ...sleepers,
      lease: (params) => counted(sleepers.lease(params)),
      watch: (listener) => sleepers.watch((event) => pass(event) && listener(event)),
    },
  });
}

/** `store` with its ready events dropped: only what the Spool does itself can wake its leases. */
function withoutReadyEvents(store: RedisStore): { store: Store; leasesAnswered: () => number } {
  let answered = 0;
  const deaf = observed(
    store,
    () => answered++,
    (event) => event.kind !== 'ready',
  );
  return { store: deaf, leasesAnswered: () => answered };
}

void describe('redis store: connection', { skip }, () => {
  void test("a lease blocked in a Spool takes a job added through it without the store's event", async () => {
    // The Spool wakes its lease when it sends the add; the lease, sent behind the add on the same
    // connection, finds the job. Without either it sleeps until its signal ends the wait.
    const { store, leasesAnswered } = withoutReadyEvents(await makeStore());
    await using spool = await Spool.create(store, { clock: new ManualClock() });
    const q = spool.queue<string>('local-wake');
    const signal = AbortSignal.timeout(5_000);
    const pending = q.lease({ wait: '1h', signal });
    while (leasesAnswered() === 0) await setImmediate();
    await q.add('hello');
    const [job] = await pending;
    assert.equal(signal.aborted, false, 'the lease slept until its signal ended the wait');
    assert.equal(job?.data, 'hello');
  });

  void test('an add of one job wakes one of two blocked leases, whether it came from this Spool or another', async () => {
    const prefix = `spool-test-${process.pid}-one-wake`;
    const base = await RedisStore.open(withPrefix(redisUrl, prefix));
    let leases = 0;
    const counted = observed(base, () => leases++);
    await using consumer = await Spool.create(counted);
    await using producer = await Spool.create(await RedisStore.open(withPrefix(redisUrl, prefix)));
    after(() => dropPrefix(redisUrl, `${prefix}:`));
    const stop = new AbortController();
    const { signal } = stop;
    const q = consumer.queue<string>('one-wake');
    const blocked = [q.lease({ wait: '1h', signal }), q.lease({ wait: '1h', signal })];
    await until(() => leases === 2, 'both leases asked');
    // Their answers must be back too, as below: a lease still on its way when an add is sent asks again.
    await setTimeout(100);
    for (const [from, data] of [
      [producer, 'from another Spool'],
      [consumer, 'from this Spool'],
    ] as const) {
      const before = leases;
      await from.queue('one-wake').add(data);
      const { i, jobs } = await Promise.race(blocked.map(async (lease, i) => ({ i, jobs: await lease })));
      assert.equal(jobs[0]?.data, data);
      await setTimeout(100);
      assert.equal(leases - before, 1, `${data}: one job woke ${leases - before} leases`);
      blocked[i] = q.lease({ wait: '1h', signal });
      await until(() => leases === before + 2, 'the new lease asked');
      // Its answer must be back too: a lease still on its way when an add is sent asks again.
      await setTimeout(100);
    }
    stop.abort();
    assert.deepEqual(await Promise.all(blocked), [[], []]);
  });

  void test("two stores on one prefix, as two processes: the second Spool adds with the first's settings", async () => {
    const prefix = `spool-test-${process.pid}-settings`;
    after(() => dropPrefix(redisUrl, `${prefix}:`));
    await using worker = await Spool.create(await RedisStore.open(withPrefix(redisUrl, prefix)));
    await using producer = await Spool.create(await RedisStore.open(withPrefix(redisUrl, prefix)));
    await worker.queue('mail', { maxAttempts: 3, maxLength: 1 }).settings();
    const q = producer.queue<string>('mail');
    const id = await q.add('one');
    assert.equal((await q.get(id))?.maxAttempts, 3);
    await assert.rejects(q.add('two'), QueueFullError);
    assert.deepEqual(
      (await producer.queues()).map((info) => [info.name, info.counts.waiting, info.settings.maxLength]),
      [['mail', 1, 1]],
    );
  });

  void test('a command issued while an earlier one awaits its reply goes to the server at once', async () => {
    // What an add issued during a worker's lease needs on the shared connection: auto-pipelining
    // would hold it in the client until the lease's reply came back.
    const name = `spool-test-${process.pid}-unheld`;
    const key = `${name}:list`;
    const client = await connected(parseRedisUrl(redisUrl));
    const admin = new Redis(redisUrl);
    try {
      await client.client('SETNAME', name);
      const blocked = client.blpop(key, 0);
      const info = async (): Promise<string> =>
        ((await admin.client('LIST')) as string).split('\n').find((line) => line.includes(`name=${name} `)) ?? '';
      while (!(await info()).includes('cmd=blpop')) await setTimeout(5);
      const ping = client.ping();
      // Redis keeps what a blocked client sent unread in its query buffer.
      let unread = '';
      for (let tries = 0; tries < 200 && unread === ''; tries++) {
        await setTimeout(5);
        unread = /qbuf=([1-9]\d*)/.exec(await info())?.[1] ?? '';
      }
      await admin.lpush(key, 'x');
      assert.deepEqual(await blocked, [key, 'x']);
      assert.equal(await ping, 'PONG');
      assert.notEqual(unread, '', 'the PING stayed in the client while the BLPOP was blocked');
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });
});

// The Redis key layout (docs/redis.md): a job is a field of its queue's hashes, never a key of
// its own, and its record survives any key text.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { open } from '../src/index.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from './fixtures/redis.ts';

const skip = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
const prefix = `spool-layout-${process.pid}`;
const admin = skip === false ? new Redis(redisUrl) : null;
after(async () => {
  admin?.disconnect();
  if (skip === false) await dropPrefix(redisUrl, `${prefix}:`);
});

const keysOf = async (queue: string): Promise<string[]> =>
  (await admin!.keys(`{${prefix}:${queue}}*`)).map((key) => key.slice(`{${prefix}:${queue}}`.length)).sort();
/** The queue's keys but the add calls' answers (add.lua), which are one per add call and expire. */
const jobKeysOf = async (queue: string): Promise<string[]> =>
  (await keysOf(queue)).filter((key) => !key.startsWith(':call:'));

void describe('redis store: key layout', { skip }, () => {
  void test('a queue keeps its jobs in a fixed set of keys, however many jobs it holds', async () => {
    await using spool = await open(withPrefix(redisUrl, prefix));
    const q = spool.queue<number>('fixed');
    await q.addBulk([{ data: 0 }]);
    const one = await jobKeysOf('fixed');
    await q.addBulk(Array.from({ length: 500 }, (_, i) => ({ data: i })));
    const leased = await q.lease({ max: 200 });
    await Promise.all(leased.slice(0, 150).map((job) => job.ack(job.data)));
    assert.deepEqual(await jobKeysOf('fixed'), [':a', ':c', ':j', ':m', ':p', ':r', ':w']);
    assert.deepEqual(one, [':j', ':m', ':p', ':w']);
    const calls = (await keysOf('fixed')).filter((key) => key.startsWith(':call:'));
    assert.equal(calls.length, 2);
    for (const call of calls) assert.ok((await admin!.pttl(`{${prefix}:fixed}${call}`)) > 0, `${call} expires`);
    assert.equal(await admin!.hlen(`{${prefix}:fixed}:j`), 501);
  });

  void test("an idempotency key holding the record's separator is freed whole when its job goes", async () => {
    await using spool = await open(withPrefix(redisUrl, prefix));
    const q = spool.queue<string>('keys');
    const key = 'order|42||x|';
    const id = await q.add('a', { key });
    assert.equal(await q.add('b', { key }), id);
    // Removing the job deletes its key entry, found through the key at the end of its record.
    assert.equal(await q.remove(id), true);
    const next = await q.add('c', { key });
    assert.notEqual(next, id);
    assert.equal((await q.get(next))?.data, 'c');
  });

  void test('a waiting entry without a record is dropped by the lease that meets it; the jobs behind it are leased', async () => {
    await using spool = await open(withPrefix(redisUrl, prefix));
    const q = spool.queue<string>('orphan');
    await q.addBulk([{ data: 'first' }, { data: 'second' }]);
    await admin!.hdel(`{${prefix}:orphan}:j`, '1');
    const jobs = await q.lease({ max: 10 });
    assert.deepEqual(
      jobs.map((job) => job.data),
      ['second'],
    );
    assert.equal((await q.counts()).waiting, 0);
  });
});

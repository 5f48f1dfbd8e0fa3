// Purging a queue, sending every dead job back and promoting every delayed one are sweeps over as many jobs as the queue has:
// on Redis each runs as scripts of a bounded batch, so no one call holds every other client for
// long (issue 18: a dashboard must never run a store command that blocks Redis). Measured with
// the server's own slow log on a private redis-server, which records each call's duration.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { open } from '../src/index.ts';
import { PrivateRedis, redisServerProblem, skipUnless } from './fixtures/redis.ts';

const skip = skipUnless(
  redisServerProblem(),
  'the redis-server binary',
  'install redis-server (apt-get install redis-server)',
);
const servers: PrivateRedis[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** The scripts Redis ran since the last call, as [duration in µs] each. */
async function scriptCalls(admin: Redis): Promise<number[]> {
  const log = (await admin.slowlog('GET', -1)) as [number, number, number, string[]][];
  await admin.slowlog('RESET');
  return log.filter(([, , , args]) => /^(evalsha|eval|fcall)$/i.test(args[0] ?? '')).map(([, , us]) => us);
}

void test(
  'purge, retry-all and promote-all of 30,000 jobs on Redis run as many short scripts, not one long one',
  { skip },
  async () => {
    const redis = await PrivateRedis.start(['slowlog-log-slower-than 0', 'slowlog-max-len 100000']);
    servers.push(redis);
    const admin = new Redis(redis.url);
    try {
      await using spool = await open(redis.url);
      const q = spool.queue<number>('sweep', { maxAttempts: 1 });
      const n = 30_000;
      for (let i = 0; i < n; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: i + k })));
      // 10,000 of them dead: leased and failed once, with one attempt allowed.
      for (let dead = 0; dead < 10_000;) {
        const jobs = await q.lease({ max: 1000 });
        await Promise.all(jobs.map((job) => job.nack({ error: new Error('no') })));
        dead += jobs.length;
      }
      assert.equal((await q.counts()).dead, 10_000);
      await scriptCalls(admin);

      assert.equal(await q.retryDead(), 10_000);
      const retries = await scriptCalls(admin);
      assert.ok(retries.length >= 10, `10,000 dead jobs went back in ${retries.length} script calls`);

      for (let i = 0; i < 5000; i += 1000)
        await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: n + i + k, options: { delay: '1h' } })));
      await scriptCalls(admin);
      assert.equal(await q.promoteDelayed(), 5000);
      const promotions = await scriptCalls(admin);
      assert.ok(promotions.length >= 5, `5,000 delayed jobs were promoted in ${promotions.length} script calls`);
      assert.equal((await q.counts()).delayed, 0);

      assert.equal(await q.purge(), n + 5000);
      const purges = await scriptCalls(admin);
      assert.ok(purges.length >= 35, `35,000 jobs were purged in ${purges.length} script calls`);
      const left = await q.counts();
      assert.equal(left.waiting + left.delayed + left.active + left.completed + left.dead, 0);
    } finally {
      admin.disconnect();
    }
  },
);

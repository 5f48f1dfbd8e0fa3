// Fault tests on private redis-server processes: restarts, killed connections, a full server, replicas.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ManualClock, open, ReplicationError, Spool, StorageError, ValidationError } from '../src/index.ts';
import type { StoreEvent } from '../src/store/contract.ts';
import { connected, parseRedisUrl } from '../src/store/redis/connection.ts';
import { RedisStore } from '../src/store/redis/index.ts';
import { until } from '../src/conformance/harness.ts';
import { CuttingProxy, PrivateRedis, redisServerProblem, skipUnless } from './fixtures/redis.ts';
import { longestGapMs, triesDuringOutage } from './fixtures/stand-in.ts';
import { newJob } from './support/workload.ts';

const skip = skipUnless(
  redisServerProblem(),
  'the redis-server binary',
  'install redis-server (apt-get install redis-server)',
);
const servers: PrivateRedis[] = [];
const proxies: CuttingProxy[] = [];
// A test that fails midway leaves its admin client connected; one retrying a stopped server
// would keep the file's process alive, so every client goes before the servers do.
const clients: Redis[] = [];
after(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(servers.map((s) => s.stop()));
});

function client(url: string): Redis {
  const redis = new Redis(url);
  clients.push(redis);
  return redis;
}

async function server(config: readonly string[] = []): Promise<PrivateRedis> {
  const s = await PrivateRedis.start(config);
  servers.push(s);
  return s;
}

void describe('redis store: faults', { skip }, () => {
  void test('Redis killed and restarted three times under load: every payload is stored once, under the id its add resolved with', async () => {
    const redis = await server(['appendonly yes', 'appendfsync always']);
    // Long enough for a call to outlast each restart, so no add has to fail.
    await using spool = await open(`${redis.url}?timeout=60000`);
    const q = spool.queue<number>('once');
    const resolved = new Map<number, string>();
    const failed: unknown[] = [];
    let n = 0;
    let stop = false;
    const producer = async (): Promise<void> => {
      while (!stop) {
        const payload = n++;
        try {
          resolved.set(payload, await q.add(payload));
        } catch (error) {
          failed.push(error);
        }
      }
    };
    const producers = Array.from({ length: 8 }, producer);
    for (let round = 1; round <= 3; round++) {
      while (resolved.size < 300 * round) await new Promise((r) => setImmediate(r));
      await redis.kill();
      await redis.boot();
    }
    while (resolved.size < 1200) await new Promise((r) => setImmediate(r));
    stop = true;
    await Promise.all(producers);
    const stored = new Map<number, string[]>();
    for (let jobs = await q.lease({ max: 500 }); jobs.length > 0; jobs = await q.lease({ max: 500 })) {
      for (const job of jobs) stored.set(job.data, [...(stored.get(job.data) ?? []), job.id]);
      await Promise.all(jobs.map((job) => job.ack()));
    }
    const twice = [...stored].filter(([, ids]) => ids.length > 1);
    assert.deepEqual(twice, [], 'payloads stored more than once');
    const wrong = [...resolved].filter(([payload, id]) => stored.get(payload)?.[0] !== id);
    assert.deepEqual(wrong, [], 'resolved adds whose id is not the stored job (or which are gone)');
    for (const error of failed) assert.ok(error instanceof StorageError, String(error));
  });

  void test('an add whose reply the connection lost is stored once and resolves with that job’s id', async () => {
    const redis = await server();
    const proxy = await CuttingProxy.start(redis.port);
    proxies.push(proxy);
    const store = await RedisStore.open(`${proxy.url}?prefix=cut`);
    try {
      const now = Date.now();
      const add = (data: string) => store.add({ now, jobs: [newJob('q', Buffer.from(data))] });
      await add('first');
      proxy.cutNextReply();
      const second = await add('second');
      assert.equal(proxy.cuts, 1);
      assert.ok(second.ok);
      const admin = client(redis.url);
      assert.equal(await admin.hlen('{cut:q}:j'), 2, 'jobs stored');
      const [record] = await store.get({ now, ids: second.ids });
      assert.equal(Buffer.from(record?.payload ?? []).toString(), 'second');
      admin.disconnect();
    } finally {
      await store.close();
    }
  });

  void test('a subscriber whose connection drops again before its SUBSCRIBE is answered resubscribes, with no unhandled rejection', async () => {
    const redis = await server();
    const proxy = await CuttingProxy.start(redis.port);
    proxies.push(proxy);
    const store = await RedisStore.open(`${proxy.url}?prefix=resub`);
    // ioredis's own SUBSCRIBE after a reconnect was a promise nobody held: cut, it rejected
    // unhandled (a MaxRetriesPerRequestError), which ends a process and failed a CI run.
    const unhandled: unknown[] = [];
    const onUnhandled = (error: unknown): void => void unhandled.push(error);
    process.on('unhandledRejection', onUnhandled);
    try {
      const events: StoreEvent[] = [];
      await store.watch((event) => events.push(event));
      proxy.cutNextSubscribe();
      proxy.cutAll();
      const deadline = Date.now() + 5_000;
      while (proxy.cuts === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(proxy.cuts, 1, 'the SUBSCRIBE after the reconnect was cut');
      // Subscribed again on the next connection: an add's event comes through.
      const heard = (): boolean => events.some((event) => event.kind === 'ready' && event.queue === 'after');
      while (!heard() && Date.now() < deadline) {
        await store.add({ now: Date.now(), jobs: [newJob('after', Buffer.from('x'))] });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(heard(), 'events flow again');
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await store.close();
    }
  });

  void test('a store whose first SUBSCRIBE was cut subscribes at its next watch: a Spool made on it then wakes a blocked lease', async () => {
    const redis = await server();
    const proxy = await CuttingProxy.start(redis.port);
    proxies.push(proxy);
    const store = await RedisStore.open(`${proxy.url}?prefix=firstsub`);
    const unhandled: unknown[] = [];
    const onUnhandled = (error: unknown): void => void unhandled.push(error);
    process.on('unhandledRejection', onUnhandled);
    try {
      proxy.cutNextSubscribe();
      await assert.rejects(Spool.create(store), StorageError);
      assert.equal(proxy.cuts, 1, 'the first SUBSCRIBE was cut');
      // Before, the failed start was kept and this create failed the same way, for good.
      await using spool = await Spool.create(store);
      await using producer = await open(`${redis.url}?prefix=firstsub`);
      const blocked = spool.queue('firstsub').lease({ wait: '10s' });
      const addedAt = Date.now();
      await producer.queue('firstsub').add('x');
      const [job] = await blocked;
      assert.equal(job?.data, 'x');
      assert.ok(Date.now() - addedAt < 2_000, 'woken by the add, not by asking again');
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await store.close();
    }
  });

  void test('an open whose first SUBSCRIBE is cut fails with a StorageError and closes the store it made', async () => {
    const redis = await server();
    const proxy = await CuttingProxy.start(redis.port);
    proxies.push(proxy);
    const admin = client(redis.url);
    const connections = async (): Promise<number> =>
      String(await admin.client('LIST'))
        .trim()
        .split('\n').length;
    proxy.cutNextSubscribe();
    await assert.rejects(open(`${proxy.url}?prefix=openfail`), StorageError);
    assert.equal(proxy.cuts, 1, 'the first SUBSCRIBE was cut');
    // Before, the store's connection stayed open (and held the process): the admin's and that one.
    await until(async () => (await connections()) === 1, "the failed open's connections to close");
  });

  void test('a waitFor whose job ended while its store was not subscribed reads the job again once it is, not at its timeout', async () => {
    const redis = await server();
    const proxy = await CuttingProxy.start(redis.port);
    proxies.push(proxy);
    await using producer = await open(`${redis.url}?prefix=missed`);
    await using consumer = await open(`${proxy.url}?prefix=missed`);
    const id = await producer.queue('missed').add('x');
    let outcome: unknown = 'waiting';
    void consumer
      .queue('missed')
      .waitFor(id, { timeout: '30s' })
      .then(
        (result) => (outcome = result),
        (error: unknown) => (outcome = error),
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The consumer's connections cut, and its first SUBSCRIBE after too: the job ends before the
    // next one, so its end is published to no one of the consumer's.
    proxy.cutNextSubscribe();
    proxy.cutAll();
    const deadline = Date.now() + 5_000;
    while (proxy.cuts === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(proxy.cuts, 1, 'the SUBSCRIBE after the reconnect was cut');
    const [job] = await producer.queue('missed').lease();
    await job!.ack('done');
    // Before, the subscriber came back and the waitFor slept on to its timeout.
    while (outcome === 'waiting' && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(outcome, 'done');
  });

  void test('with Redis gone, calls fail with a StorageError once their timeout is over', async () => {
    const redis = await server();
    await using spool = await open(`${redis.url}?timeout=200`);
    const q = spool.queue<string>('gone');
    await q.add('before');
    await redis.kill();
    // The slack is the test's only clock: without a bound, a call waited out 20 reconnects (73 s).
    let slack: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (slack = setTimeout(() => resolve('no answer within 10 s'), 10_000)));
    try {
      for (const call of [() => q.add('during'), () => q.lease(), () => q.counts()]) {
        const outcome = await Promise.race([
          call().then(
            () => 'resolved',
            (error: unknown) => error,
          ),
          late,
        ]);
        assert.ok(outcome instanceof StorageError, String(outcome));
      }
    } finally {
      clearTimeout(slack);
    }
  });

  void test('with Redis gone, a call fails once its timeout has passed even if the system clock steps back an hour meanwhile', async () => {
    const redis = await server();
    const store = await RedisStore.open(`${redis.url}?timeout=200`);
    const realNow = Date.now;
    let slack: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (slack = setTimeout(() => resolve('no answer within 10 s'), 10_000)));
    try {
      await redis.kill();
      const outcome = store.counts({ now: realNow(), queues: ['stepped'] }).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      // After the call began: NTP, a resumed VM, an operator.
      Date.now = () => realNow() - 3_600_000;
      const answer = await Promise.race([outcome, late]);
      assert.ok(answer instanceof StorageError, String(answer));
    } finally {
      Date.now = realNow;
      clearTimeout(slack);
      await store.close();
    }
  });

  void test('with Redis gone for seconds, a connection is tried again every 200 ms at most, so the store finds it back that soon', async (t) => {
    const redis = await server();
    const connection = await connected(parseRedisUrl(redis.url));
    try {
      await redis.kill();
      const { count, lastSecondGaps } = await triesDuringOutage(redis.port, performance.now(), 4_000);
      t.diagnostic(`${count} tries; the gaps of the fourth second: ${lastSecondGaps.join(', ')} ms`);
      // Before, ioredis' own waits had grown to 1.6 s by then (50 ms doubled at each try), so a
      // server back was found up to that late, and after a minute's outage up to 5.2 s.
      assert.ok(Math.max(...lastSecondGaps) <= longestGapMs, `gaps of ${lastSecondGaps.join(', ')} ms`);
    } finally {
      connection.disconnect();
    }
  });

  void test('with Redis gone, a close ends the calls waiting for it to come back, long before their timeout', async () => {
    const redis = await server();
    const spool = await open(`${redis.url}?timeout=60000`);
    const q = spool.queue<string>('gone-closed');
    await q.add('before');
    await redis.kill();
    // Once the store knows the connection is gone, a call fails to be sent at once and waits for a reconnect.
    for (const deadline = Date.now() + 10_000; (await spool.health()).ok;) {
      assert.ok(Date.now() < deadline, 'the store did not see Redis go');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Many calls at once, as an outage gathers them (adds in one tick are one call): each listened to the client and to the close,
    // and past 10 Node printed a MaxListenersExceededWarning.
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    const calls = [q.add('during'), ...Array.from({ length: 20 }, (_, i) => spool.queue(`gone-${i}`).counts())];
    const waiting = calls.map((call) =>
      call.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await spool.close();
    const outcomes = await Promise.all(waiting);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    // Before, each waited out its 60 s and held the process (spool serve stopped with Redis down) that long.
    const took = Date.now() - started;
    assert.ok(took < 10_000, `the waiting calls ended ${took} ms after the close`);
    for (const outcome of outcomes) assert.ok(outcome instanceof StorageError, String(outcome));
    assert.deepEqual(
      warnings.map((w) => w.message),
      [],
    );
  });

  void test("with Redis gone, a blocked lease that is aborted answers at once, not after the store's timeout", async () => {
    const redis = await server();
    await using spool = await open(`${redis.url}?timeout=60000`);
    const aborter = new AbortController();
    // Blocked on an empty queue: the store names it as a sleeper, to be forgotten when it ends.
    const lease = spool.lease({ queues: ['gone-blocked'], wait: '5m', signal: aborter.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await redis.kill();
    for (const deadline = Date.now() + 10_000; (await spool.health()).ok;) {
      assert.ok(Date.now() < deadline, 'the store did not see Redis go');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    let slack: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (slack = setTimeout(() => resolve('no answer within 10 s'), 10_000)));
    const started = Date.now();
    aborter.abort();
    try {
      // Before, it waited for its sleeper to be forgotten in Redis: the store's whole timeout.
      assert.deepEqual(await Promise.race([lease, late]), []);
      const took = Date.now() - started;
      assert.ok(took < 2_000, `the aborted lease answered ${took} ms after the abort`);
    } finally {
      clearTimeout(slack);
    }
  });

  void test('with Redis gone, a process whose store is closed ends soon after the close', async () => {
    const redis = await server();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/redis-closer.ts', redis.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      assert.equal((await lines.next()).value, 'open');
      await redis.kill();
      assert.equal((await lines.next()).value, 'closed');
      const closedAt = Date.now();
      assert.equal(await exited, 0);
      // Before, ioredis waited its default 2 s for the socket of the dead server to close.
      const took = Date.now() - closedAt;
      assert.ok(took < 1_500, `the process ended ${took} ms after its store closed`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  void test('with Redis gone, an add to a queue the store has not named yet fails with a StorageError and nothing rejects unheld', async () => {
    const redis = await server();
    const store = await RedisStore.open(`${redis.url}?timeout=200`);
    // The add also sends the queue's name to the set of queues, unawaited so the add goes out at
    // once; when the add failed first, that call's failure rejected unheld and ended the process.
    const unhandled: unknown[] = [];
    const onUnhandled = (error: unknown): void => void unhandled.push(error);
    process.on('unhandledRejection', onUnhandled);
    try {
      await redis.kill();
      await assert.rejects(store.add({ now: Date.now(), jobs: [newJob('unnamed', Buffer.from('x'))] }), StorageError);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await store.close();
    }
  });

  void test('CLIENT KILL of every connection: the store reconnects, and a blocked worker wakes for the next add', async () => {
    const redis = await server();
    await using consumer = await open(redis.url);
    await using producer = await open(redis.url);
    const handled: string[] = [];
    const worker = consumer.queue<string>('kill').process((job) => void handled.push(job.data));
    const first = await producer.queue('kill').add('before');
    await consumer.queue('kill').waitFor(first, { timeout: '5s' });
    const admin = client(redis.url);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    admin.disconnect();
    const second = await producer.queue('kill').add('after');
    await consumer.queue('kill').waitFor(second, { timeout: '5s' });
    await worker.close();
    assert.deepEqual(handled, ['before', 'after']);
  });

  void test('a server back without its data: a process opened since and one from before take each other’s lease tokens', async () => {
    const redis = await server();
    await using before = await open(`${redis.url}?timeout=10000`);
    await before.queue('keys').add('lost with the server');
    await redis.kill();
    await redis.boot();
    // Its first call after the restart waits for the reconnect, which put its token key back.
    await before.queue('keys').add('one');
    await using since = await open(redis.url);
    await since.queue('keys').add('two');
    const [one] = await before.queue<string>('keys').lease();
    const [two] = await since.queue<string>('keys').lease();
    assert.deepEqual([one?.data, two?.data], ['one', 'two']);
    // Before, the store opened since set a key of its own: each refused the other's tokens as lost.
    await (await since.leased(one!.token)).ack();
    await (await before.leased(two!.token)).ack();
    assert.equal((await since.queue('keys').counts()).completed, 2);
  });

  void test('a server back without its data: the queues added to since are listed again', async () => {
    const redis = await server();
    await using spool = await open(`${redis.url}?timeout=10000`);
    await spool.queue('listed').add('lost with the server');
    await redis.kill();
    await redis.boot();
    await spool.queue('listed').add('after');
    assert.deepEqual(
      (await spool.queues()).map((q) => [q.name, q.counts.waiting]),
      [['listed', 1]],
    );
  });

  void test("SCRIPT FLUSH: the next call of each script loads it again, and the queue's jobs are intact", async () => {
    const redis = await server();
    await using spool = await open(redis.url);
    const q = spool.queue<string>('flushed');
    const first = await q.add('before');
    const admin = client(redis.url);
    await admin.script('FLUSH');
    // Each of these is a script called by SHA that the server no longer has.
    const second = await q.add('after');
    const jobs = await q.lease({ max: 2 });
    assert.deepEqual(
      jobs.map((job) => [job.id, job.data]),
      [
        [first, 'before'],
        [second, 'after'],
      ],
    );
    for (const job of jobs) await job.ack();
    assert.equal((await q.counts()).completed, 2);
  });

  void test('at maxmemory with noeviction adds fail with a StorageError, change nothing, and workers still drain', async () => {
    const redis = await server(['maxmemory-policy noeviction']);
    await using spool = await open(redis.url);
    const q = spool.queue<string>('full', { keepCompleted: false });
    const admin = client(redis.url);
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    await admin.config('SET', 'maxmemory', String(used + 2_000_000));
    const pad = 'x'.repeat(10_000);
    let added = 0;
    let refused: unknown = null;
    while (refused === null) {
      try {
        await q.add(pad);
        added++;
      } catch (error) {
        refused = error;
      }
    }
    assert.ok(refused instanceof StorageError);
    assert.match(refused.message, /maxmemory/);
    // Freed buffers could let a small write through again; below what is used, none can.
    await admin.config('SET', 'maxmemory', '1');
    await assert.rejects(q.addBulk([{ data: 'a' }, { data: 'b' }]), StorageError);
    assert.equal((await q.counts()).waiting, added);
    let drained = 0;
    for (let jobs = await q.lease({ max: 50 }); jobs.length > 0; jobs = await q.lease({ max: 50 })) {
      for (const job of jobs) assert.equal(job.data, pad);
      await Promise.all(jobs.map((job) => job.ack()));
      drained += jobs.length;
    }
    assert.equal(drained, added);
    await admin.config('SET', 'maxmemory', '0');
    await q.add('room again');
    assert.equal((await q.counts()).waiting, 1);
    admin.disconnect();
  });

  void test('replicate: n waits for n copies with WAIT, and fails saying the job may still exist', async () => {
    const primary = await server(['repl-diskless-sync-delay 0']);
    const replica = await server([`replicaof 127.0.0.1 ${primary.port}`]);
    const admin = client(primary.url);
    while (!/slave0:.*state=online/.test(await admin.info('replication'))) await new Promise((r) => setTimeout(r, 20));
    // A busy machine can hold a healthy replica's answer past a few hundred ms.
    await using spool = await open(`${primary.url}?replicateTimeout=1000`);
    const q = spool.queue<string>('copies');
    const id = await q.add('twice', { replicate: 2 });
    const onReplica = client(replica.url);
    assert.ok((await onReplica.keys('*copies*')).length > 0);
    onReplica.disconnect();
    await assert.rejects(q.add('thrice', { replicate: 3 }), (e: unknown) => {
      assert.ok(e instanceof ReplicationError);
      assert.equal(e.copies, 3);
      assert.equal(e.confirmed, 2);
      assert.match(e.message, /may still exist/);
      return true;
    });
    await replica.kill();
    const failed = await q.add('lonely', { replicate: 2 }).catch((e: unknown) => e);
    assert.ok(failed instanceof ReplicationError);
    assert.equal((await q.get(failed.ids[0]!))?.data, 'lonely');
    assert.equal((await q.get(id))?.data, 'twice');
    admin.disconnect();
  });

  void test('concurrent acks of one queue share one script call; a stale token in the batch is lost alone', async () => {
    const redis = await server();
    // Acks batch per `now`: a fixed clock keeps a millisecond tick from splitting the batch.
    await using spool = await open(redis.url, { clock: new ManualClock() });
    const q = spool.queue<number>('batched');
    // One ack first, so the server has the script and the batch below is a single EVALSHA.
    await q.add(-1);
    await (await q.lease())[0]!.ack();
    await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ data: i })));
    const jobs = await q.lease({ max: 50 });
    await q.remove(jobs[7]!.id);
    const admin = client(redis.url);
    const scriptCalls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const before = await scriptCalls();
    const results = await Promise.allSettled(jobs.map((job) => job.ack(job.data)));
    const calls = (await scriptCalls()) - before;
    admin.disconnect();
    assert.equal(calls, 1);
    assert.deepEqual(
      results.flatMap((r, i) => (r.status === 'rejected' ? [[i, (r.reason as { code: string }).code]] : [])),
      [[7, 'LEASE_LOST']],
    );
    assert.equal((await q.counts()).completed, 50);
    assert.equal((await q.get(jobs[9]!.id))?.result, 9);
  });

  void test('a worker acks its finished jobs inside its next lease: one script call per job at concurrency 1', async () => {
    const redis = await server();
    await using spool = await open(redis.url);
    const q = spool.queue<number>('riding');
    await q.add(-1);
    await (await q.lease())[0]!.ack(); // the scripts are on the server before counting
    await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ data: i })));
    const admin = client(redis.url);
    const scriptCalls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const before = await scriptCalls();
    const done: number[] = [];
    const worker = q.process((job) => void done.push(job.data), { concurrency: 1 });
    await new Promise<void>((resolve) => worker.on('completed', () => done.length === 20 && resolve()));
    await worker.close();
    const calls = (await scriptCalls()) - before;
    admin.disconnect();
    assert.deepEqual(
      done,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal((await q.counts()).completed, 21);
    // 20 leases, the last 19 carrying the ack before them, and the last job's ack (alone or on
    // a last, empty lease); two calls per job before the acks rode along.
    assert.ok(calls <= 22, `${calls} script calls for 20 jobs`);
  });

  void test('a store without replicas refuses replicate > 1 with a ValidationError', async () => {
    await using spool = await open('memory:');
    const q = spool.queue('solo');
    await q.add('one copy', { replicate: 1 });
    await assert.rejects(
      q.add('x', { replicate: 2 }),
      (e: unknown) => e instanceof ValidationError && e.field === 'options.replicate',
    );
    await assert.rejects(q.addBulk([{ data: 'y', options: { replicate: 2 } }]), ValidationError);
    assert.equal((await q.counts()).waiting, 1);
  });
});

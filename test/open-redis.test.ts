// open() and the redis:// schemes: the driver is optional, the URL checked before any
// connection, and a database the server refuses refuses the open.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { open, StorageError, ValidationError } from '../src/index.ts';
import { parseRedisUrl } from '../src/store/redis/connection.ts';
import { reconnectMaxMs } from '../src/store/reconnect.ts';
import {
  dropPrefix,
  freePort,
  PrivateRedis,
  redisProblem,
  redisServerProblem,
  redisUrl,
  skipUnless,
  withPrefix,
} from './fixtures/redis.ts';

const skipRedis = skipUnless(
  await redisProblem(),
  'redis-server',
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);

void test('redis:// without ioredis installed is a MissingDriverError naming the package; memory: still opens', () => {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/fixtures/hide-ioredis.ts',
      '--input-type=module',
      '-e',
      `import { open } from './src/index.ts';
       for (const url of ['redis://127.0.0.1:6379', 'rediss://h:6380', 'redis+cluster://h:1,h:2'])
         await open(url).catch((e) => console.log(e.code, e.driver));
       await (await open('memory:')).close();
       console.log('memory ok');`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(out, 'MISSING_DRIVER ioredis\n'.repeat(3) + 'memory ok\n');
});

void test('a bad prefix or replicateTimeout in a redis URL is a ValidationError before any connection', async () => {
  await assert.rejects(
    open('redis://127.0.0.1:1?prefix=a%20b'),
    (e: unknown) => e instanceof ValidationError && e.field === 'prefix',
  );
  await assert.rejects(
    open('redis://127.0.0.1:1?replicateTimeout=soon'),
    (e: unknown) => e instanceof ValidationError && e.field === 'replicateTimeout',
  );
  // The one duration grammar, as everywhere: past the URL check, the open fails only to connect.
  await assert.rejects(
    open('redis://127.0.0.1:1?replicateTimeout=1.5s'),
    (e: unknown) => !(e instanceof ValidationError),
  );
});

void test('a redis URL whose db part is no number is a ValidationError naming it, without the password', async () => {
  const refused: [url: string, shown: string][] = [
    ['redis://:topsecret@127.0.0.1:1/abc', '"/abc"'],
    ['redis://127.0.0.1:1/-1', '"/-1"'],
    ['redis+cluster://127.0.0.1:1/2', '"/2"'],
    // A password's raw '/' puts the rest of it in the path.
    ['redis://:top/secret@127.0.0.1:1', 'a path with an @'],
  ];
  for (const [url, shown] of refused) {
    await assert.rejects(open(url), (e: unknown) => {
      assert.ok(e instanceof ValidationError && e.field === 'db', String(e));
      assert.ok(e.message.includes(shown), e.message);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
  }
});

void test(
  'a redis URL whose db the server refuses (past its databases), or no number, fails the open; nothing reaches database 0',
  { skip: skipRedis },
  async () => {
    const prefix = `open-redis-db-${process.pid}`;
    const on = (path: string): string => {
      const url = new URL(redisUrl);
      url.pathname = path;
      return withPrefix(url.toString(), prefix);
    };
    const admin = new Redis(redisUrl);
    const keys = async (): Promise<string[]> => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      return found;
    };
    try {
      const [, databases] = (await admin.config('GET', 'databases')) as [string, string];
      // Opened and used as a program would: the old open answered, on database 0, and the add went there.
      const used = (url: string): Promise<void> =>
        open(url).then(async (spool) => {
          await spool.queue('db-check').add({ n: 1 });
          await spool.close();
        });
      await assert.rejects(
        used(on(`/${databases}`)),
        (e: unknown) => e instanceof StorageError && /DB index/i.test(e.message),
      );
      await assert.rejects(used(on('/abc')), (e: unknown) => e instanceof ValidationError && e.field === 'db');
      assert.deepEqual(await keys(), []);
    } finally {
      admin.disconnect();
      await dropPrefix(redisUrl, prefix);
    }
  },
);

void test(
  'a server back with fewer databases than the URL names: calls fail as in an outage, none goes to database 0',
  { skip: skipUnless(redisServerProblem(), 'redis-server', 'install redis-server to run these tests') },
  async () => {
    let server = await PrivateRedis.start(['databases 16']);
    const spool = await open(`${server.url}/10?timeout=1500`);
    const admin = new Redis(server.url, { lazyConnect: true });
    try {
      await spool.queue('q').add(1);
      await server.stop();
      server = await PrivateRedis.start(['databases 4'], server.port);
      await assert.rejects(spool.queue('q').add(2), StorageError);
      assert.deepEqual(await admin.keys('*'), []);
    } finally {
      admin.disconnect();
      await spool.close();
      await server.stop();
    }
  },
);

void test(
  "an open that cannot connect says why: the server's refusal of the password, or the network's error",
  { skip: skipUnless(redisServerProblem(), 'redis-server', 'install redis-server to run these tests') },
  async () => {
    const server = await PrivateRedis.start();
    try {
      const admin = new Redis(server.url);
      await admin.config('SET', 'requirepass', 'right-password');
      admin.disconnect();
      const refused = async (url: string, reason: RegExp): Promise<void> =>
        assert.rejects(open(url), (e: unknown) => {
          assert.ok(e instanceof StorageError, String(e));
          // Before, every one of these said only 'Connection is closed.'
          assert.match(e.message, reason);
          assert.doesNotMatch(e.message, /wrong-password|right-password/);
          return true;
        });
      const at = server.url.replace('redis://', '');
      await refused(`redis://:wrong-password@${at}`, /WRONGPASS/);
      await refused(`redis://${at}`, /NOAUTH/);
      await refused(`redis://:right-password@nosuchhost.invalid:${server.port}`, /ENOTFOUND/);
      await refused(`redis://:right-password@127.0.0.1:${await freePort()}`, /ECONNREFUSED/);
      await (await open(`redis://:right-password@${at}`)).close();
    } finally {
      await server.stop();
    }
  },
);

void test('a redis+cluster:// client waits 200 ms at most between tries to reach the cluster, however long it has been gone', () => {
  const cluster = parseRedisUrl('redis+cluster://127.0.0.1:1,127.0.0.1:2').connect() as Cluster;
  const strategy = cluster.options.clusterRetryStrategy;
  assert.ok(typeof strategy === 'function');
  // The 10th, 200th and 1,000th tries (a second, a minute and 18 minutes into an outage at ioredis'
  // own pace), and a later one.
  const waits = [10, 200, 1_000, 100_000].map((attempt) => strategy.call(cluster, attempt, new Error('down')));
  // Before, ioredis' own: 100 ms plus 2 ms a try, 2 s from the 950th on.
  for (const ms of waits)
    assert.ok(typeof ms === 'number' && ms > 0 && ms <= reconnectMaxMs, `waits ${waits.join(', ')} ms`);
  cluster.disconnect();
});

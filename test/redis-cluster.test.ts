// The Redis store on a 3-master Redis Cluster of private redis-server processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { open } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import { RedisStore } from '../src/store/redis/index.ts';
import { runConformance } from '../src/conformance/index.ts';
import { freeClusterPort, PrivateRedis, redisServerProblem, skipUnless, withPrefix } from './fixtures/redis.ts';

const skip = skipUnless(
  redisServerProblem(),
  'the redis-server binary',
  'install redis-server (apt-get install redis-server)',
);
const masters: PrivateRedis[] = [];
let url = '';
let n = 0;

// Started before the suite is declared: runConformance opens a store then, to read its capabilities.
if (skip === false) {
  for (let i = 0; i < 3; i++) {
    masters.push(
      await PrivateRedis.start(
        ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 2000'],
        await freeClusterPort(),
      ),
    );
  }
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-yes'],
    { encoding: 'utf8' },
  );
  assert.equal(create.status, 0, create.stdout + create.stderr);
  for (const master of masters) {
    const client = new Redis(master.url);
    while (!(await client.cluster('INFO')).includes('cluster_state:ok')) await new Promise((r) => setTimeout(r, 50));
    client.disconnect();
  }
  url = `redis+cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`;
}
after(() => Promise.all(masters.map((m) => m.stop())));

void describe('redis store on a 3-master cluster', { skip }, () => {
  const prefixes = new WeakMap<Store, string>();
  runConformance({
    name: 'redis cluster',
    async makeStore() {
      const prefix = `c${++n}`;
      const store = await RedisStore.open(withPrefix(url, prefix));
      prefixes.set(store, prefix);
      return store;
    },
    openPeer: (store) => RedisStore.open(withPrefix(url, prefixes.get(store) as string)),
    reopen: (store) => RedisStore.open(withPrefix(url, prefixes.get(store) as string)),
  });

  void test('queues spread over the three masters are leased left to right and worked to the end', async () => {
    await using spool = await open(withPrefix(url, 'spread'));
    const names = Array.from({ length: 12 }, (_, i) => `q${i}`);
    const owners = new Set<number>();
    const probe = new Redis(masters[0]!.url);
    const slots = await probe.cluster('SLOTS');
    for (const name of names) {
      const slot = await probe.cluster('KEYSLOT', `{spread:${name}}`);
      owners.add(slots.find(([from, to]) => slot >= from && slot <= to)![2]![1]);
    }
    probe.disconnect();
    assert.equal(owners.size, 3, 'the queues live on all three masters');
    for (const [i, name] of names.entries()) await spool.queue<number>(name).addBulk([{ data: i }, { data: i }]);
    const first = await spool.lease({ queues: names.slice().reverse(), max: 5 });
    assert.deepEqual(
      first.map((j) => j.data),
      [11, 11, 10, 10, 9],
    );
    await Promise.all(first.map((j) => j.ack()));
    let handled = 0;
    const workers = names.map((name) => spool.queue(name).process(() => void handled++));
    while (handled < 24 - 5) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(workers.map((w) => w.close()));
    for (const name of names) assert.equal((await spool.queue(name).counts()).waiting, 0);
  });
});

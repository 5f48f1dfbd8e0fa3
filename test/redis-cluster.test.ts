// The Redis store on a 3-master Redis Cluster of private redis-server processes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { open, StorageError } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import { RedisStore } from '../src/store/redis/index.ts';
import { runConformance } from '../src/conformance/index.ts';
import {
  CuttingProxy,
  freeClusterPort,
  PrivateRedis,
  redisServerProblem,
  skipUnless,
  withPrefix,
} from './fixtures/redis.ts';
import { newJob } from './support/workload.ts';

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
  for (const master of masters) await waitForClusterOk(master);
  url = `redis+cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`;
}
// Clusters of one master each, for the tests that take their master away or cut its replies.
const singles: PrivateRedis[] = [];
const proxies: CuttingProxy[] = [];
after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all([...masters, ...singles].map((m) => m.stop()));
});

async function waitForClusterOk(server: PrivateRedis): Promise<void> {
  const client = new Redis(server.url);
  while (!(await client.cluster('INFO')).includes('cluster_state:ok')) await new Promise((r) => setTimeout(r, 50));
  client.disconnect();
}

/**
 * A cluster of one master holding every slot. With `proxied`, the master tells clients to reach
 * it through a CuttingProxy (`cluster-announce-port`), so a test can cut a reply. Without
 * `announced`, it has no `cluster-announce-ip`: its CLUSTER SLOTS names it by an empty host.
 */
async function oneMasterCluster({ proxied = false, announced = true } = {}): Promise<{
  master: PrivateRedis;
  url: string;
  proxy?: CuttingProxy;
}> {
  const port = await freeClusterPort();
  const proxy = proxied ? await CuttingProxy.start(port) : undefined;
  if (proxy !== undefined) proxies.push(proxy);
  const announce =
    proxy === undefined ? [] : [`cluster-announce-port ${proxy.port}`, `cluster-announce-bus-port ${port + 10_000}`];
  const master = await PrivateRedis.start(
    [
      'cluster-enabled yes',
      'cluster-config-file nodes.conf',
      'cluster-node-timeout 2000',
      ...(announced ? ['cluster-announce-ip 127.0.0.1'] : []),
      ...announce,
    ],
    port,
  );
  singles.push(master);
  const admin = new Redis(master.url);
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  admin.disconnect();
  await waitForClusterOk(master);
  return { master, url: `redis+cluster://127.0.0.1:${proxy?.port ?? port}`, ...(proxy && { proxy }) };
}

/**
 * `node --import tsx <fixture> <url>`, whose stdout lines a test reads. 10 s is its only clock: a
 * line or an exit that has not come by then answers as a string saying so. Killed when disposed.
 */
function fixtureProcess(fixture: string, url: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let slack: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (slack = setTimeout(() => resolve('nothing within 10 s'), 10_000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    process: child,
    line: (): Promise<string> => Promise.race([lines.next().then((next) => String(next.value)), late]),
    exited: (): Promise<number | null | string> => Promise.race([exited, late]),
    [Symbol.dispose](): void {
      clearTimeout(slack);
      child.kill('SIGKILL');
    },
  };
}

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

  void test('with every master gone, an add and a lease fail with a StorageError by the end of their timeout, and the process ends after its close', async () => {
    const { master, url: single } = await oneMasterCluster();
    // Before, the calls waited in ioredis' offline queue until the cluster was back, for ever.
    using child = fixtureProcess('test/fixtures/redis-outage-calls.ts', `${single}?timeout=500`);
    assert.equal(await child.line(), 'open');
    await master.kill();
    child.process.stdin.end('go\n');
    for (const call of ['add', 'lease']) {
      const [name, outcome, ms] = (await child.line()).split(' ');
      assert.deepEqual([name, outcome], [call, StorageError.name]);
      assert.ok(Number(ms) < 2_000, `the ${call} failed after ${ms} ms, its timeout 500 ms`);
    }
    assert.equal(await child.line(), 'closed');
    const closedAt = Date.now();
    assert.equal(await child.exited(), 0);
    const took = Date.now() - closedAt;
    // Up to 2 s, not a single server's 250 ms: ioredis' subscriber connection of a Cluster takes
    // no options of the store's, so its disconnect waits ioredis' default 2 s for the socket.
    assert.ok(took < 3_000, `the process ended ${took} ms after its store closed`);
  });

  void test('a cluster that names its node by an empty host: open fails with a StorageError after its timeout, and the process ends', async () => {
    const { master, url: single } = await oneMasterCluster({ announced: false });
    const admin = new Redis(master.url);
    const [host] = (await admin.cluster('SLOTS'))[0]?.[2] ?? [];
    assert.equal(host, '', 'CLUSTER SLOTS names the node by an empty host');
    await admin.config('SET', 'requirepass', 'sekret');
    admin.disconnect();
    // Before, ioredis skipped the node and the open waited for one it could reach, for ever.
    using child = fixtureProcess('test/fixtures/redis-opener.ts', `${single.replace('//', '//:sekret@')}?timeout=500`);
    const line = await child.line();
    const answeredAt = Date.now();
    const { name, message, ms } = JSON.parse(line.startsWith('{') ? line : '{}') as Record<string, unknown>;
    assert.equal(name, StorageError.name, line);
    assert.ok(Number(ms) < 2_000, `the open failed after ${String(ms)} ms, its timeout 500 ms`);
    assert.match(String(message), /not ready within 500 ms: CLUSTER SLOTS named no node with a host/);
    assert.doesNotMatch(String(message), /sekret/);
    assert.equal(await child.exited(), 0);
    const took = Date.now() - answeredAt;
    assert.ok(took < 3_000, `the process ended ${took} ms after the open failed`);
  });

  void test('a lease whose reply the connection lost fails with a StorageError, and ioredis does not send it again for the next job', async () => {
    const { master, url: single, proxy } = await oneMasterCluster({ proxied: true });
    const store = await RedisStore.open(withPrefix(single, 'cut'));
    try {
      const now = Date.now();
      await store.add({ now, jobs: [newJob('q', Buffer.from('one')), newJob('q', Buffer.from('two'))] });
      proxy!.cutNextReply();
      const outcome = await store.lease({ now, queues: ['q'], max: 1, visibilityMs: 60_000 }).then(
        (leased) => leased,
        (error: unknown) => error,
      );
      assert.equal(proxy!.cuts, 1);
      assert.ok(outcome instanceof StorageError, `the lease answered ${JSON.stringify(outcome)}`);
      // Before, ioredis sent the lease again 100 ms after the cut (retryDelayOnFailover): the
      // second run leased the second job too, and the first was held by nobody until its visibility ended.
      const admin = new Redis(master.url);
      const leased = await admin.zcard('{cut:q}:a');
      admin.disconnect();
      assert.equal(leased, 1, 'jobs leased');
    } finally {
      await store.close();
    }
  });

  void test('with its master silent (SIGSTOP), a call fails with a StorageError after its timeout', async () => {
    const { master, url: single } = await oneMasterCluster();
    const admin = new Redis(master.url);
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    admin.disconnect();
    const store = await RedisStore.open(`${withPrefix(single, 'silent')}&timeout=500`);
    // Before, a Cluster's node connections had no command timeout: the call waited for the
    // master's answer for as long as it was stopped.
    let slack: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (slack = setTimeout(() => resolve('no answer within 10 s'), 10_000)));
    process.kill(pid, 'SIGSTOP');
    try {
      const began = performance.now();
      const outcome = await Promise.race([
        store.counts({ now: Date.now(), queues: ['q'] }).then(
          () => 'resolved',
          (error: unknown) => error,
        ),
        late,
      ]);
      const took = performance.now() - began;
      assert.ok(outcome instanceof StorageError, String(outcome));
      assert.ok(took < 2_000, `the call failed after ${Math.round(took)} ms, its timeout 500 ms`);
    } finally {
      clearTimeout(slack);
      process.kill(pid, 'SIGCONT');
      await store.close();
    }
  });
});

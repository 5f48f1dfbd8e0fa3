// A pool of Disque nodes: several `spool serve --resp` on one shared store (Redis, PostgreSQL)
// find each other (HELLO, CLUSTER NODES), and a node that dies drops out once its announcement
// goes stale.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ManualClock, open, Spool } from '../../src/index.ts';
import { MemoryStore } from '../../src/store/memory/index.ts';
import { createRespServer } from '../../src/server/index.ts';
import { postgresUrl } from '../fixtures/postgres.ts';
import { redisUrl, skipUnless } from '../fixtures/redis.ts';
import { testStores } from '../support/test-store.ts';

// The stores several machines share; testStores drops what the test leaves in them.
const shared = [
  { name: 'Redis', store: testStores.redis, where: redisUrl },
  { name: 'PostgreSQL', store: testStores.postgres, where: postgresUrl },
];

const run = promisify(execFile);
const cli = async (port: number, ...args: string[]): Promise<string> =>
  (await run('redis-cli', ['-p', String(port), ...args])).stdout.trimEnd();

for (const { name, store, where } of shared)
  void test(
    `nodes on one ${name} store list each other in HELLO and CLUSTER NODES, and leave on close`,
    { skip: skipUnless(await store.problem(), `${name} at ${where}`, `start ${name} or set its SPOOL_*_URL`) },
    async () => {
      const url = store.url();
      const ids = ['a'.repeat(40), 'b'.repeat(40)];
      const nodes = await Promise.all(
        ids.map(async (nodeId) => {
          const spool = await open(url);
          const server = createRespServer({ spool, nodeId });
          const { port } = await server.listen(0);
          return { spool, server, port };
        }),
      );
      const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
      // A failed assertion must not leave a node serving: the test process would never end.
      const running = new Set(nodes);
      const stop = async (node: (typeof nodes)[0]): Promise<void> => {
        running.delete(node);
        await node.server.close();
        await node.spool.close();
      };
      try {
        const hello = (await cli(b.port, 'HELLO')).split('\n');
        assert.deepEqual(hello.slice(0, 2), ['1', ids[1]], 'HELLO names the node asked first');
        assert.deepEqual(hello.slice(2), [
          ids[1],
          '127.0.0.1',
          String(b.port),
          '1',
          ids[0],
          '127.0.0.1',
          String(a.port),
          '1',
        ]);
        const cluster = await cli(a.port, 'CLUSTER', 'NODES');
        assert.match(cluster, new RegExp(`^${ids[0]} 127.0.0.1:${a.port} myself `, 'm'));
        assert.match(cluster, new RegExp(`^${ids[1]} 127.0.0.1:${b.port} noflags `, 'm'));

        // A job added on one node is acked on the other: they share the store.
        const id = await cli(a.port, 'ADDJOB', 'pooled', 'x', '0');
        assert.equal(await cli(b.port, 'ACKJOB', id), '1');
        // QSCAN and JSCAN on any node walk the store's queues, whichever node or API added to them
        // (before: only the queues this node had seen named).
        await a.spool.queue('pooled-lib').add('y');
        assert.deepEqual((await cli(b.port, 'QSCAN', 'BUSYLOOP')).split('\n'), ['0', 'pooled', 'pooled-lib']);
        assert.equal((await cli(b.port, 'JSCAN', 'BUSYLOOP')).split('\n').length, 2, 'the job of pooled-lib');

        await stop(b);
        assert.deepEqual((await cli(a.port, 'HELLO')).split('\n').slice(2), [ids[0], '127.0.0.1', String(a.port), '1']);
      } finally {
        for (const node of running) await stop(node);
      }
    },
  );

void test('a node that stops renewing its announcement drops out after three renewals', async () => {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryStore();
  const spool = await Spool.create(store, { clock });
  try {
    // What a node killed since left behind: its announcement, renewed by nobody.
    const dead = JSON.stringify({ info: { host: '10.0.0.9', port: 7711 }, seenAt: clock.now() });
    await store.setMeta({ now: clock.now(), entries: { 'presence/disque-node/dead': dead } });
    const withdraw = await spool.announce('disque-node', 'live', { host: '10.0.0.8', port: 7711 });
    assert.deepEqual(
      (await spool.present('disque-node')).map((p) => p.id),
      ['dead', 'live'],
    );
    // 'live' renews every 5 s on its timer; 'dead' does not.
    for (let s = 0; s < 16; s++) {
      clock.advance(1_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(
      (await spool.present('disque-node')).map((p) => p.id),
      ['live'],
    );
    await withdraw();
    assert.deepEqual(await spool.present('disque-node'), []);
  } finally {
    await spool.close();
  }
});

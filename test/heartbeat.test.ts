// Worker heartbeats (issue 18): a process running workers keeps a document in the store that
// names its host, pid and workers; it is rewritten while they run, deleted when they close, and a
// process killed without closing shows as gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { connect } from '../src/client/index.ts';
import { ManualClock, open, Spool } from '../src/index.ts';
import type { ProcessBeat } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { dropPrefix, redisProblem, redisUrl, skipUnless, withPrefix } from './fixtures/redis.ts';

const skipRedis = skipUnless(
  await redisProblem(),
  `Redis at ${redisUrl}`,
  'start redis-server on 127.0.0.1:6379 or set SPOOL_REDIS_URL',
);
const stem = `spool-beat-${process.pid}-`;
after(async () => {
  if (skipRedis === false) await dropPrefix(redisUrl, stem);
});

void test('a worker beats every 5 s with its host, pid, queue, concurrency and jobs in flight; its close deletes the document', async () => {
  const clock = new ManualClock();
  const spool = await Spool.create(new MemoryStore(), { clock });
  assert.deepEqual(await spool.workers(), []);
  let finish = (): void => {};
  const worker = spool.queue('mail').process(() => new Promise<void>((resolve) => (finish = resolve)), {
    concurrency: 3,
  });
  const started = clock.now();
  await waitUntil(async () => (await spool.workers()).length === 1);
  const [first] = await spool.workers();
  assert.equal(first?.host, hostname());
  assert.equal(first?.pid, process.pid);
  assert.equal(first?.gone, false);
  assert.equal(first?.beatAt, started);
  assert.deepEqual(first?.workers, [
    { queue: 'mail', concurrency: 3, running: 0, prefetched: 0, completed: 0, failed: 0 },
  ]);

  await spool.queue('mail').add('x');
  await waitUntil(() => worker.running === 1);
  clock.advance(5_000);
  await waitUntil(async () => (await spool.workers())[0]?.beatAt === started + 5_000);
  assert.equal((await spool.workers())[0]?.workers[0]?.running, 1);

  finish();
  await worker.close();
  assert.deepEqual(await spool.workers(), []);
  await spool.close();
});

void test('a worker whose first beat fails (the store down) beats at the next one', async () => {
  const clock = new ManualClock();
  let failing = false;
  let failed = 0;
  class Flaky extends MemoryStore {
    override setMeta(params: Parameters<MemoryStore['setMeta']>[0]): Promise<void> {
      if (!failing) return super.setMeta(params);
      failed++;
      return Promise.reject(new Error('store down'));
    }
  }
  const spool = await Spool.create(new Flaky(), { clock });
  failing = true;
  const worker = spool.queue('mail').process(() => {});
  await waitUntil(() => failed === 1);
  failing = false;
  assert.deepEqual(await spool.workers(), []);
  clock.advance(5_000);
  await waitUntil(async () => (await spool.workers()).length === 1);
  assert.equal((await spool.workers())[0]?.beatAt, clock.now());
  await worker.close();
  assert.deepEqual(await spool.workers(), []);
  await spool.close();
});

void test("a worker's beat counts the jobs it leased ahead (prefetch) apart from those running", async () => {
  const clock = new ManualClock();
  const spool = await Spool.create(new MemoryStore(), { clock });
  const queue = spool.queue('mail');
  for (let i = 0; i < 5; i++) await queue.add(i);
  let finish = (): void => {};
  const worker = queue.process(() => new Promise<void>((resolve) => (finish = resolve)), {
    concurrency: 1,
    prefetch: 3,
  });
  await waitUntil(async () => (await queue.counts()).active === 4);
  clock.advance(5_000);
  await waitUntil(async () => (await spool.workers())[0]?.beatAt === clock.now());
  const [beat] = (await spool.workers())[0]?.workers ?? [];
  assert.deepEqual([beat?.running, beat?.prefetched], [1, 3]);
  // The close hands the prefetched jobs back at once, and waits for the running one.
  const closed = worker.close();
  await waitUntil(async () => (await queue.counts()).waiting === 4);
  finish();
  await closed;
  await spool.close();
});

void test(
  'a worker process killed without closing shows as gone once it missed three beats',
  { skip: skipRedis },
  async () => {
    const url = withPrefix(redisUrl, `${stem}killed`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/redis-worker.ts', url, redisUrl, 'killed', '2', 'hang'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    for await (const line of createInterface({ input: child.stdout })) if (line === 'ready') break;
    const watcher = await open(url);
    await waitUntil(async () => (await watcher.workers()).some((p) => p.pid === child.pid));
    const [live] = await watcher.workers();
    assert.deepEqual(
      live?.workers.map((w) => [w.queue, w.concurrency]),
      [['killed', 2]],
    );
    assert.equal(live?.gone, false);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Nobody deleted the document; seen from 16 s later (three beats of 5 s missed), it is gone.
    const later = await open(url, { clock: { now: () => Date.now() + 16_000, setTimer: () => () => {} } });
    const [dead] = await later.workers();
    assert.equal(dead?.pid, child.pid);
    assert.equal(dead?.gone, true);
    await later.close();
    await watcher.close();
  },
);

void test(
  "the overview's rate out counts the jobs completed by workers of other processes, from their heartbeats",
  { skip: skipRedis },
  async () => {
    const url = withPrefix(redisUrl, `${stem}rates`);
    const spool = await open(url);
    const server = await createServer({ spool });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const rateOut = async (): Promise<number> => {
      const { queues } = (await (await fetch(`${base}/v1/overview`)).json()) as {
        queues: { name: string; rateOut: number }[];
      };
      return queues.find((q) => q.name === 'far')?.rateOut ?? 0;
    };
    assert.equal(await rateOut(), 0);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/redis-worker.ts', url, redisUrl, 'far', '4', 'work'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      for await (const line of lines) if (line === 'ready') break;
      // Added by another Spool than the server's: the server's observer sees none of these jobs.
      const producer = await open(url);
      await producer.queue('far').addBulk(Array.from({ length: 200 }, (_, n) => ({ data: n })));
      await producer.close();
      // The next heartbeat (within 5 s) carries the completed count; the rate shows until the one after.
      await waitUntil(async () => (await rateOut()) > 0, 15_000);
    } finally {
      child.kill('SIGKILL');
      await server.close();
      await spool.close();
    }
  },
);

void test("a spool/client worker beats through the server: workers() shows it with the server's clock, via the server; its close withdraws it", async () => {
  const clock = new ManualClock();
  const spool = await Spool.create(new MemoryStore(), { clock });
  const server = await createServer({ spool });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const client = connect(base);
  let finish = (): void => {};
  const worker = client
    .queue('mail')
    .process(() => new Promise<void>((resolve) => (finish = resolve)), { concurrency: 2, prefetch: 1 });
  await waitUntil(async () => (await spool.workers()).length === 1);
  const [beat] = await spool.workers();
  assert.equal(beat?.host, hostname());
  assert.equal(beat?.pid, process.pid);
  assert.deepEqual(beat?.via, { host: hostname(), pid: process.pid });
  // Stamped by the server's clock, the one every reader of the store compares with.
  assert.equal(beat?.beatAt, clock.now());
  assert.deepEqual(beat?.workers, [
    { queue: 'mail', concurrency: 2, running: 0, prefetched: 0, completed: 0, failed: 0 },
  ]);
  // The dashboard's route, and the client, list it too.
  assert.deepEqual(await client.workers(), await spool.workers());
  // Not beating for three beats by the server's clock: gone.
  clock.advance(16_000);
  assert.equal((await spool.workers())[0]?.gone, true);

  await spool.queue('mail').add('x');
  await waitUntil(() => worker.running === 1);
  finish();
  await worker.close();
  assert.deepEqual(await spool.workers(), []);
  await server.close();
  await spool.close();
});

void test("a worker's beat over HTTP is checked: its queues need the token's consume scope, one token cannot touch another's beats, a bad beat is a 400", async () => {
  const spool = await Spool.create(new MemoryStore());
  const tokenA = 'token-of-a-0123456789';
  const tokenB = 'token-of-b-0123456789';
  const server = await createServer({
    spool,
    tokens: [
      { token: tokenA, scopes: ['consume'], prefix: 'a.*' },
      { token: tokenB, scopes: ['consume'], prefix: 'b.*', name: 'bee' },
    ],
  });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const send = (method: string, token: string, id: string, body?: unknown) => sendBeat(base, method, id, body, token);
  assert.equal((await send('PUT', tokenA, 'p1', beatOf('a.mail'))).status, 200);
  // A queue outside the token's prefix: refused, nothing posted.
  const outside = await send('PUT', tokenA, 'p2', beatOf('b.mail'));
  assert.deepEqual([outside.status, outside.body.error?.code], [403, 'FORBIDDEN']);
  // Another token's process of the same id is another document; its delete leaves A's alone.
  assert.equal((await send('PUT', tokenB, 'p1', beatOf('b.mail'))).status, 200);
  assert.equal((await send('DELETE', tokenB, 'p1')).status, 200);
  const left = await spool.workers();
  assert.deepEqual(
    left.map((p) => [p.id, p.workers[0]?.queue]),
    [['http-token0-p1', 'a.mail']],
  );
  // Bad beats and bad ids: 400 with the error's JSON, and nothing changes.
  for (const [id, body] of [
    ['p1', { ...beatOf('a.mail'), pid: 'seven' }],
    ['p1', { ...beatOf('a.mail'), extra: true }],
    ['p1', { ...beatOf('a.mail'), workers: [{ queue: 'a.mail' }] }],
    // A name no queue can have (within the token's prefix).
    ['p1', beatOf('a.b/c')],
    ['p.1', beatOf('a.mail')],
  ] as const) {
    const answer = await send('PUT', tokenA, id, body);
    assert.deepEqual([answer.status, answer.body.error?.code], [400, 'VALIDATION'], JSON.stringify(body));
  }
  assert.deepEqual(await spool.workers(), left);
  assert.equal((await send('DELETE', tokenA, 'p1')).status, 200);
  assert.deepEqual(await spool.workers(), []);
  await server.close();
  await spool.close();
});

void test("the overview's rate out leaves out the beats of workers that beat through this server: its own settles count their jobs", async () => {
  const clock = new ManualClock();
  const spool = await Spool.create(new MemoryStore(), { clock });
  const server = await createServer({ spool });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const post = async (completed: number): Promise<void> => {
    // One process beating through this server, one on the store itself (another server's client, say).
    assert.equal((await sendBeat(base, 'PUT', 'p1', beatOf('through', completed))).status, 200);
    await spool.postBeat('elsewhere', beatOf('beside', completed));
  };
  const rates = async (): Promise<Record<string, number>> => {
    const { queues } = (await (await fetch(`${base}/v1/overview`)).json()) as {
      queues: { name: string; rateOut: number }[];
    };
    return Object.fromEntries(queues.map((q) => [q.name, q.rateOut]));
  };
  await post(0);
  assert.deepEqual(await rates(), { beside: 0, through: 0 });
  clock.advance(5_000);
  await post(50);
  // 50 jobs in 5 s by the beats' clock, seen at the sampler's next tick (every second).
  await waitUntil(async () => (await rates()).beside === 10);
  assert.equal((await rates()).through, 0);
  await server.close();
  await spool.close();
});

/** One beat of a process elsewhere, with one worker on `queue` that completed `completed` jobs. */
const beatOf = (queue: string, completed = 0): ProcessBeat => ({
  host: 'far-host',
  pid: 7,
  startedAt: 1,
  workers: [{ queue, concurrency: 1, running: 0, prefetched: 0, completed, failed: 0 }],
});

/** A request to the server's beat route for process `id`, as `token` when given. */
async function sendBeat(base: string, method: string, id: string, body?: unknown, token?: string) {
  const response = await fetch(`${base}/v1/workers/${id}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
}

async function waitUntil(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// spool/client against a real server: the local API's shape over HTTP, errors as the same
// classes, a worker that long-polls, extends and settles, and that reconnects after the
// server goes away and comes back on the same port.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import {
  ClosedError,
  ForbiddenError,
  JobFailedError,
  LeaseLostError,
  NotFoundError,
  open,
  systemClock,
  TimeoutError,
  UnauthorizedError,
  ValidationError,
} from '../src/index.ts';
import type { SubscriberOptions, SubscriberStatus, TopicInfo } from '../src/index.ts';
import { parseDuration } from '../src/core/duration.ts';
import { connect } from '../src/client/index.ts';
import type { RemoteQueue } from '../src/client/index.ts';
import { createServer } from '../src/server/index.ts';
import { start } from './server/harness.ts';
import { testStore } from './support/test-store.ts';

void test('queues over HTTP: add, get, peek, counts, lease, extend, ack, nack, dead, retry', async () => {
  const s = await start();
  try {
    const client = connect(s.base);
    assert.equal(await client.healthy(), true);
    const q = client.queue<{ n: number }>('remote');
    const id = await q.add({ n: 1 }, { priority: 1 });
    // Ids are the store's to make (Redis puts the queue in them): compared by what they find.
    const ids = await q.addBulk([{ data: { n: 2 } }, { data: { n: 3 } }]);
    assert.equal(new Set([id, ...ids]).size, 3);
    assert.deepEqual((await q.get(id))?.data, { n: 1 });
    assert.deepEqual((await q.get(ids[1]!))?.data, { n: 3 });
    assert.equal(await q.get('nope'), null);
    assert.deepEqual(
      (await q.peek(3)).map((j) => j.data.n),
      [1, 2, 3],
    );
    const [first] = await client.lease<{ n: number }>({ queues: 'remote', visibility: '10s' });
    assert.equal(first?.data.n, 1);
    const until = first.leaseUntil;
    assert.ok((await first.extend('1m')) > until);
    await first.ack({ done: true });
    await assert.rejects(first.ack(), LeaseLostError);
    const [second] = await q.lease();
    // An Error in place of the options was taken as none: refused, the lease kept.
    await assert.rejects(second!.nack(new Error('later') as never), { code: 'VALIDATION', field: 'options' });
    assert.equal(await second!.nack({ delay: '1h', error: new Error('later') }), 'retry');
    const [third] = await q.lease();
    await third!.fail('broken');
    const dead = await q.dead();
    assert.deepEqual(
      dead.jobs.map((j) => [j.data.n, j.lastError]),
      [[3, 'broken']],
    );
    assert.equal(await q.retryDead(), 1);
    const counts = await q.counts();
    assert.equal(counts.waiting, 1);
    assert.equal(counts.delayed, 1);
    assert.equal(counts.completed, 1);
    const [again] = await q.lease();
    await again!.fail('broken again');
    assert.equal(await q.removeDead(), 1);
    assert.deepEqual([(await q.counts()).dead, (await q.get(again!.id))?.state], [0, undefined]);
    await assert.rejects(q.add({ n: 4 }, { delay: 'soon' }), ValidationError);
    // consume: a loop over long-polled jobs, ended by its signal.
    await client.queue<string>('loop').addBulk([{ data: 'a' }, { data: 'b' }]);
    const stop = new AbortController();
    const got: string[] = [];
    for await (const job of client.queue<string>('loop').consume({ signal: stop.signal })) {
      got.push(job.data);
      await job.ack();
      if (got.length === 2) stop.abort();
    }
    assert.deepEqual(got, ['a', 'b']);
    // consume with prefetch: jobs leased three at a time; those not handed out go back when the loop ends.
    const ahead = client.queue<string>('ahead');
    await ahead.addBulk(['a', 'b', 'c', 'd'].map((data) => ({ data })));
    for await (const job of ahead.consume({ prefetch: 3 })) {
      assert.equal(job.data, 'a');
      assert.equal((await ahead.counts()).active, 3);
      await job.ack();
      break;
    }
    const after = await ahead.counts();
    assert.deepEqual([after.waiting, after.active, after.completed], [3, 0, 1]);
    assert.equal((await ahead.get((await ahead.peek())[0]?.id as string))?.attempts, 0);
    assert.throws(() => ahead.consume({ prefetch: 0 }), ValidationError);
    assert.throws(() => ahead.consume(null as never), ValidationError);
    await assert.rejects(client.queue('bad name').add({ n: 0 }), ValidationError);
  } finally {
    await s.close();
  }
});

void test("a job's trace context reaches a consumer over HTTP: the lease answer's traceparent, a remote job's job.traceparent", async () => {
  const s = await start();
  try {
    // What traceWorkers does for an add inside a span (an HTTP instrumentation's, on the server).
    const producer = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    let active: string | null = producer;
    const stop = s.spool.observe({ traceparent: () => active });
    const q = connect(s.base).queue<number>('traced');
    await q.add(1);
    active = null;
    await q.add(2);
    stop();
    const answer = await s.call('POST', '/v1/lease', { queues: ['traced'] });
    const [leased] = (answer.body as { jobs: { data: number; traceparent: string | null }[] }).jobs;
    assert.deepEqual([leased?.data, leased?.traceparent], [1, producer]);
    const [job] = await q.lease();
    assert.deepEqual([job?.data, job?.traceparent], [2, null]);
    await job?.ack();
  } finally {
    await s.close();
  }
});

void test("a remote waitFor's timeout holds against a server that waits for nothing (--max-wait 0)", async () => {
  const s = await start({ maxWait: 0 });
  try {
    const q = connect(s.base).queue('never-done');
    const id = await q.add(1);
    // Before: each answer said it waited 0 ms, so the time-out never came (requests without end).
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no time-out within 10 s')), 10_000);
    });
    const started = performance.now();
    try {
      await Promise.race([assert.rejects(q.waitFor(id, { timeout: '200ms' }), TimeoutError), bound]);
    } finally {
      clearTimeout(timer);
    }
    assert.ok(performance.now() - started >= 200);
  } finally {
    await s.close();
  }
});

void test('against a server that waits for nothing (--max-wait 0), an idle remote worker and consume() ask again after a pause, and still take the jobs added', async () => {
  const s = await start({ maxWait: 0 });
  let leases = 0;
  // Counted as the server takes them.
  s.server.app.server.on('request', (request: { url?: string }) => void (request.url === '/v1/lease' && leases++));
  const client = connect(s.base);
  let ran = (_: string): void => {};
  const workerRan = new Promise<string>((resolve) => (ran = resolve));
  const worker = client.queue<string>('idle-worker').process((job) => ran(job.data), { concurrency: 4 });
  const stop = new AbortController();
  const consumed = (async () => {
    for await (const job of client.queue<string>('idle-consume').consume({ signal: stop.signal })) {
      await job.ack();
      stop.abort();
      return job.data;
    }
    return null;
  })();
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Before: each answered at once and asked again at once, some 500 requests a second.
    assert.ok(leases < 40, `${leases} leases in 1.5 s`);
    await client.queue<string>('idle-worker').add('for the worker');
    await client.queue<string>('idle-consume').add('for the loop');
    assert.deepEqual(await Promise.all([workerRan, consumed]), ['for the worker', 'for the loop']);
  } finally {
    stop.abort();
    await worker.close();
    await s.close();
  }
});

void test('against a server whose --max-wait is over a second, an idle consume() asks again at once: a job added after an empty answer is taken then', async () => {
  const s = await start({ maxWait: '1200ms' });
  const stop = new AbortController();
  const q = connect(s.base).queue<number>('short-polls');
  let taken = (_: number): void => {};
  const took = new Promise<number>((resolve) => (taken = resolve));
  const loop = (async () => {
    for await (const job of q.consume({ signal: stop.signal })) {
      taken(performance.now());
      await job.ack();
    }
  })();
  try {
    // The first long-poll ends empty at 1.2 s; the add comes 300 ms after it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const added = performance.now();
    await q.add(1);
    const late = (await took) - added;
    // Before, every empty answer was followed by a pause of a second: the job waited ~0.7 s of it.
    assert.ok(late < 400, `taken ${Math.round(late)} ms after its add`);
  } finally {
    stop.abort();
    await loop;
    await s.close();
  }
});

void test('waitFor over HTTP: the result, JobFailedError, TimeoutError, NotFoundError, as a local queue', async () => {
  // A server that long-polls 100ms at most: longer waits take the client several requests.
  const s = await start({ maxWait: '100ms' });
  try {
    const q = connect(s.base).queue<number, { sum: number }>('sums');
    const id = await q.add(1);
    const waiting = q.waitFor(id);
    const done = q.waitFor(id, { timeout: '10s' });
    await new Promise((resolve) => setTimeout(resolve, 350));
    const [job] = await q.lease();
    await job!.ack({ sum: 2 });
    assert.deepEqual(await waiting, { sum: 2 });
    assert.deepEqual(await done, { sum: 2 });

    const doomed = await q.add(2);
    // Checked from the start: on a store whose events come fast it rejects before fail() returns.
    const dying = assert.rejects(q.waitFor(doomed), (error: unknown) => {
      assert.ok(error instanceof JobFailedError);
      assert.deepEqual(error.errors, ['no good']);
      return true;
    });
    const [leased] = await q.lease();
    await leased!.fail('no good');
    await dying;

    const slow = await q.add(3);
    const started = Date.now();
    await assert.rejects(q.waitFor(slow, { timeout: '250ms' }), TimeoutError);
    assert.ok(Date.now() - started >= 240, 'waited the whole timeout, over several requests');
    assert.equal((await q.get(slow))?.state, 'waiting');
    await assert.rejects(q.waitFor('999'), NotFoundError);
    const stop = new AbortController();
    const stopped = q.waitFor(slow, { signal: stop.signal });
    stop.abort();
    await assert.rejects(stopped, { name: 'AbortError' });
  } finally {
    await s.close();
  }
});

void test('topics over HTTP: create, publish, status, read a subscriber', async () => {
  const s = await start();
  try {
    const topic = connect(s.base).topic<string>('news');
    await topic.create({ web: {}, mail: { maxAttempts: 2 } });
    const ids = await topic.publish('hello');
    assert.deepEqual(Object.keys(ids), ['mail', 'web']);
    const [job] = await topic.subscriber('mail').lease({ wait: '1s' });
    assert.equal(job?.data, 'hello');
    assert.equal(job?.maxAttempts, 2);
    assert.deepEqual(
      (await topic.status()).map((x) => [x.name, x.waiting, x.inFlight]),
      [
        ['mail', 0, 1],
        ['web', 1, 0],
      ],
    );
  } finally {
    await s.close();
  }
});

/** What a local Topic and a remote one have in common: the same calls, the same shapes. */
interface AnyTopic {
  create(subscribers: Record<string, SubscriberOptions>): Promise<void>;
  publishBulk(items: { data: string }[]): Promise<Record<string, string>[]>;
  subscriber(name: string): { lease(options: { max: number }): Promise<{ id: string; data: string }[]> };
  ack(subscriber: string, ids: readonly string[]): Promise<number>;
  status(): Promise<SubscriberStatus[]>;
  info(): Promise<TopicInfo>;
}

async function topicShape(topic: AnyTopic): Promise<unknown> {
  await topic.create({ a: {}, b: { backoff: '1s' } });
  const ids = await topic.publishBulk([{ data: 'one' }, { data: 'two' }]);
  assert.deepEqual(
    ids.map((perSubscriber) => Object.keys(perSubscriber).sort()),
    [
      ['a', 'b'],
      ['a', 'b'],
    ],
  );
  // A handle at once, no await.
  const leased = await topic.subscriber('a').lease({ max: 10 });
  assert.deepEqual(
    leased.map((m) => m.data),
    ['one', 'two'],
  );
  assert.equal(await topic.ack('a', [leased[0]!.id, ids[1]!.b!]), 1);
  await assert.rejects(topic.ack('nobody', [leased[1]!.id]), NotFoundError);
  assert.deepEqual(
    (await topic.status()).map((x) => [x.name, x.waiting, x.inFlight]),
    [
      ['a', 0, 1],
      ['b', 2, 0],
    ],
  );
  return (await topic.info()).subscribers.map(({ name, maxAttempts, visibilityMs, backoff }) => ({
    name,
    maxAttempts,
    visibilityMs,
    backoff,
  }));
}

void test('one topic shape, local and remote: subscriber() at once, publishBulk, ack by id, the same default options', async () => {
  await using spool = await open(testStore.url());
  const local = await topicShape(spool.topic<string>('local'));
  const s = await start();
  try {
    const remote = await topicShape(connect(s.base).topic<string>('remote'));
    assert.deepEqual(remote, local);
    assert.deepEqual(local, [
      {
        name: 'a',
        maxAttempts: 5,
        visibilityMs: 30_000,
        backoff: { kind: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0 },
      },
      {
        name: 'b',
        maxAttempts: 5,
        visibilityMs: 30_000,
        backoff: { kind: 'fixed', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0 },
      },
    ]);
  } finally {
    await s.close();
  }
});

void test('a remote worker processes every job, and carries on after the server restarts on its port', async () => {
  await using spool = await open(testStore.url());
  let server = await createServer({ spool });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const port = Number(new URL(base).port);
  const client = connect(base);
  const q = client.queue<number>('work');
  const seen = new Set<number>();
  let errors = 0;
  const worker = q.process(
    (job) => {
      seen.add(job.data);
      return job.data * 2;
    },
    // A short lease: an ack lost with the server comes back in a second, not thirty.
    { concurrency: 4, visibility: '1s' },
  );
  worker.on('error', () => errors++);
  await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ data: i })));
  const until = async (what: string, condition: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await until('the first 50 jobs', () => seen.size === 50);

  await server.close();
  await until('a failed lease while the server is away', () => errors > 0);
  server = await createServer({ spool });
  await server.app.listen({ host: '127.0.0.1', port });
  await spool.queue('work').addBulk(Array.from({ length: 50 }, (_, i) => ({ data: 50 + i })));
  await until('the next 50 jobs', () => seen.size === 100);
  // An ack in flight when the server went away is lost; its job comes back after its lease and is done again.
  let counts = await spool.queue('work').counts();
  for (const deadline = Date.now() + 20_000; counts.completed < 100; counts = await spool.queue('work').counts()) {
    assert.ok(Date.now() < deadline, `not all completed: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await worker.close();
  await server.close();
  assert.equal(counts.waiting, 0);
  assert.equal(counts.active, 0);
});

/** Counts this process's requests to each path of a server until `restore()`. */
function countRequests() {
  const requests = new Map<string, number>();
  const fetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return { requests, restore: () => void (globalThis.fetch = fetch) };
}

void test('client.ack of tokens past one request (1,000) refuses a malformed one before any is acked; lost leases keep their own outcome', async () => {
  const s = await start();
  try {
    const client = connect(s.base);
    const q = client.queue<number>('ack-many');
    await q.addBulk([1, 2, 3].map((data) => ({ data })));
    const jobs = await q.lease({ max: 3 });
    const [kept, acked, released] = jobs.map((job) => job.token) as [string, string, string];
    await jobs[2]!.release();
    // Tokens of leases that never were, well formed: named lost, as the server answers them.
    const fillers = Array.from({ length: 998 }, (_, i) => `${i + 1000}:1.seal`);
    // Before: the first request acked the first 1,000 tokens, then the second was refused.
    await assert.rejects(client.ack([kept, acked, ...fillers, 'not a token']), {
      code: 'VALIDATION',
      field: 'tokens[1000]',
    });
    assert.deepEqual((await q.counts()).active, 2);
    const answer = await client.ack([acked, released, ...fillers, kept]);
    assert.deepEqual([answer.acked, answer.lost.length, answer.lost[0]], [2, 999, released]);
    const counts = await q.counts();
    assert.deepEqual([counts.active, counts.completed, counts.waiting], [0, 2, 1]);
  } finally {
    await s.close();
  }
});

void test("client.ack refuses a token over the server's length limit as the server does, without a request", async () => {
  const long = `${'x'.repeat(300)}:1.0123456789abcdef`;
  const s = await start();
  let requests = 0;
  const counting = createHttpServer((_request, response) => {
    requests += 1;
    response.writeHead(500).end();
  });
  try {
    const refused = await s.call('POST', '/v1/ack/batch', { tokens: [long] });
    assert.equal(refused.status, 400, refused.text);
    const { details } = (refused.body as { error: { details: unknown } }).error;
    assert.deepEqual(details, { field: 'tokens[0]', problem: `must be at most 300 characters, got ${long.length}` });
    await once(counting.listen(0, '127.0.0.1'), 'listening');
    const client = connect(`http://127.0.0.1:${(counting.address() as AddressInfo).port}`);
    // Before: sent, and the server's schema named it body.tokens.0.
    const local = await client.ack([long]).then(
      () => assert.fail('resolved'),
      (error: unknown) => error,
    );
    assert.ok(local instanceof ValidationError, String(local));
    assert.deepEqual(local.details, details);
    assert.equal(requests, 0);
  } finally {
    counting.close();
    await s.close();
  }
});

void test('a remote worker leases many jobs a request and acks the jobs of one turn in one request, with their results', async () => {
  const s = await start();
  const { requests, restore } = countRequests();
  try {
    const q = connect(s.base).queue<number, number>('batched');
    const ids = await q.addBulk(Array.from({ length: 300 }, (_, i) => ({ data: i })));
    let running = 0;
    let most = 0;
    const worker = q.process(
      async (job) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        return job.data * 2;
      },
      { concurrency: 8, prefetch: 24 },
    );
    let completed = 0;
    const done = new Promise<void>((resolve) => worker.on('completed', () => ++completed === 300 && resolve()));
    await done;
    await worker.close();
    assert.equal(most, 8, 'no more handlers at once than the concurrency');
    assert.deepEqual(await s.spool.queue('batched').counts(), {
      ...(await s.spool.queue('batched').counts()),
      waiting: 0,
      active: 0,
      completed: 300,
    });
    for (const i of [0, 150, 299]) assert.equal(await s.spool.queue('batched').waitFor(ids[i] as string), i * 2);
    // One job a request each way would be 600.
    const leases = requests.get('/v1/lease') ?? 0;
    const acks = requests.get('/v1/ack/batch') ?? 0;
    assert.equal(requests.get('/v1/ack') ?? 0, 0);
    assert.ok(leases + acks < 150, `${leases} lease and ${acks} ack requests for 300 jobs`);
  } finally {
    restore();
    await s.close();
  }
});

void test('with prefetch a remote worker holds jobs ahead of a free handler, and a close hands back the ones it never started', async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<number>('ahead');
    await q.addBulk([1, 2, 3, 4, 5].map((data) => ({ data })));
    let finish = (): void => {};
    const started: number[] = [];
    const worker = q.process(
      (job) => {
        started.push(job.data);
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { concurrency: 1, prefetch: 3 },
    );
    const local = s.spool.queue('ahead');
    // Leased in the store before the answer reaches the worker: both are waited for.
    for (const deadline = Date.now() + 10_000; started.length === 0 || (await local.counts()).active < 4;) {
      assert.ok(Date.now() < deadline, 'the worker never leased four jobs and started one');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(started, [1]);
    const closed = worker.close();
    // The three held jobs go back at once; the running one is waited for.
    for (const deadline = Date.now() + 10_000; (await local.counts()).waiting < 4;) {
      assert.ok(Date.now() < deadline, 'the held jobs were not handed back');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    finish();
    await closed;
    const counts = await local.counts();
    assert.deepEqual([counts.waiting, counts.active, counts.completed], [4, 0, 1]);
    assert.deepEqual(started, [1]);
    for (const job of await local.peek(4))
      assert.equal(job.attempts, 0, 'a job handed back unstarted spent no attempt');
  } finally {
    await s.close();
  }
});

void test("acks of one turn go in one request, each told its own outcome: a lost lease's ack rejects with LeaseLostError", async () => {
  const s = await start();
  const { requests, restore } = countRequests();
  try {
    const q = connect(s.base).queue<number>('turn');
    await q.addBulk([1, 2, 3].map((data) => ({ data })));
    const [kept, lost, alsoKept] = await q.lease({ max: 3 });
    assert.ok(kept && lost && alsoKept);
    await s.spool.queue('turn').remove(lost.id);
    // Acked twice in the turn: the first ack is the one that goes through.
    const outcomes = await Promise.allSettled([kept.ack(), lost.ack(), alsoKept.ack(), alsoKept.ack()]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
    assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof LeaseLostError);
    assert.ok((outcomes[3] as PromiseRejectedResult).reason instanceof LeaseLostError);
    assert.ok(lost.signal.reason instanceof LeaseLostError);
    assert.deepEqual([kept.settled, lost.settled], [true, false]);
    assert.equal(requests.get('/v1/ack/batch'), 1);
    assert.equal((await s.spool.queue('turn').counts()).completed, 2);
  } finally {
    restore();
    await s.close();
  }
});

void test('a remote ack refuses a result JSON cannot hold with the ValidationError a local ack throws, and leaves the job leased', async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue('unencodable');
    const local = s.spool.queue('unencodable');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const results: unknown[] = [() => 1, Symbol('s'), 10n, cyclic];
    await q.addBulk(results.map((_, data) => ({ data })));
    const jobs = await q.lease({ max: results.length, visibility: '1m' });
    assert.equal(jobs.length, results.length);
    for (const [i, job] of jobs.entries()) {
      // Before: a function or a symbol was acked as no result, a BigInt or a cycle a TypeError.
      await assert.rejects(job.ack(results[i]), (error) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.equal(error.field, 'data');
        return true;
      });
      assert.equal(job.settled, false);
      assert.equal((await local.get(job.id))?.state, 'active');
    }
    // A local ack of the same result answers the same.
    await local.add('local');
    const [mine] = await local.lease();
    await assert.rejects(
      mine!.ack(() => 1),
      ValidationError,
    );
    // A remote worker's handler returning such a result fails the attempt, as a throw does.
    const remote = connect(s.base).queue('unencodable-worker');
    const id = await remote.add('x', { maxAttempts: 1 });
    const worker = remote.process(() => 10n);
    const [, error] = (await once(worker, 'dead')) as [unknown, unknown];
    await worker.close();
    assert.ok(error instanceof ValidationError);
    assert.equal((await s.spool.queue('unencodable-worker').get(id))?.state, 'dead');
  } finally {
    await s.close();
  }
});

void test("a remote worker's result as large as a job's data (the payload limit, 1 MiB) is acked, as a local ack takes it", async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<string, string>('large-result');
    const data = 'd'.repeat(s.spool.maxPayloadBytes - 16);
    const id = await q.add(data);
    const [job] = await q.lease();
    // Before: 413 TOO_LARGE from /v1/ack/batch (1 MiB), the job left active to run again.
    await job!.ack(data.toUpperCase());
    assert.equal((await q.waitFor(id, { timeout: '5s' })).length, data.length);
    assert.equal((await q.counts()).completed, 1);
  } finally {
    await s.close();
  }
});

void test("no long-poll asks the server to wait past fetch's 300 s for an answer's headers, which would cut it", async () => {
  // Node's fetch gives up on an answer whose headers take 300 s (UND_ERR_HEADERS_TIMEOUT): a
  // long-poll asking for longer (the server's default --max-wait is 5m) failed on an idle server.
  const s = await start();
  const waits: number[] = [];
  const fetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const wait =
      url.searchParams.get('wait') ??
      (JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as { wait?: unknown }).wait;
    if (wait !== undefined && wait !== null)
      waits.push(typeof wait === 'number' ? wait : parseDuration(wait, 'wait', { forever: true }));
    return fetch(input, init);
  };
  try {
    const client = connect(s.base);
    const q = client.queue<number, number>('long-polls');
    const stop = new AbortController();
    const worker = q.process((job) => job.data, { signal: stop.signal });
    const untimed = await q.add(1);
    assert.equal(await q.waitFor(untimed), 1);
    const timed = await q.add(2);
    assert.equal(await q.waitFor(timed, { timeout: '10m' }), 2);
    stop.abort();
    await worker.close();
    const leasing = new AbortController();
    const lease = client.lease({ queues: 'nothing-here', wait: 'forever', signal: leasing.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    leasing.abort();
    await assert.rejects(lease);
    assert.ok(waits.length >= 4, String(waits));
    for (const wait of waits) assert.ok(wait < 300_000, `a long-poll asked for ${wait} ms`);
  } finally {
    globalThis.fetch = fetch;
    await s.close();
  }
});

/** A remote worker whose handler starts on the one job of `queue` and never finishes. */
async function stuckWorker(base: string, queue: string, signal?: AbortSignal) {
  const q = connect(base).queue<string>(queue);
  const id = await q.add('stuck');
  let started = (_: AbortSignal): void => {};
  const handling = new Promise<AbortSignal>((resolve) => (started = resolve));
  const worker = q.process(
    (job) => {
      started(job.signal);
      return new Promise<never>(() => {});
    },
    signal === undefined ? {} : { signal },
  );
  return { q, id, worker, jobSignal: await handling };
}

/** The job is waiting again as if never leased: the attempt was handed back, not failed. */
async function handedBack(q: RemoteQueue<string>, id: string, jobSignal: AbortSignal) {
  assert.equal(jobSignal.aborted, true);
  assert.ok(jobSignal.reason instanceof ClosedError);
  const info = await q.get(id);
  assert.equal(info?.state, 'waiting');
  assert.equal(info?.attempts, 0);
  assert.deepEqual(info?.errors, []);
  const counts = await q.counts();
  assert.equal(counts.waiting, 1);
  assert.equal(counts.active, 0);
  const [again] = await q.lease();
  assert.equal(again?.attempt, 1);
}

void test("a remote worker closed with a timeout aborts a stuck handler's signal and releases its job", async () => {
  const s = await start();
  try {
    const { q, id, worker, jobSignal } = await stuckWorker(s.base, 'stuck-close');
    await assert.rejects(worker.close({ timeout: -1 }), ValidationError);
    await worker.close({ timeout: 50 });
    await handedBack(q, id, jobSignal);
    // A later close does not wait for the handler that never returns either.
    await worker.close();
  } finally {
    await s.close();
  }
});

void test('aborting the signal given to a remote process() hands its running jobs back at once', async () => {
  const s = await start();
  try {
    const stop = new AbortController();
    const { q, id, worker, jobSignal } = await stuckWorker(s.base, 'stuck-signal', stop.signal);
    stop.abort();
    await worker.close();
    await handedBack(q, id, jobSignal);
  } finally {
    await s.close();
  }
});

void test('a remote job whose lease is lost while it runs: job.signal aborts with LeaseLostError and the worker stops extending it', async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<string>('lost-remote');
    await q.add('x');
    const errors: unknown[] = [];
    let ended = (_: AbortSignal): void => {};
    const handled = new Promise<AbortSignal>((resolve) => (ended = resolve));
    const worker = q.process(
      async (job) => {
        // The job goes while its handler runs: the next extension (at half its 200 ms lease) finds the lease lost.
        await s.spool.queue('lost-remote').remove(job.id);
        const told = new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        await Promise.race([told, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        // Four more half-leases: a worker that kept extending would report a lost lease at each.
        await new Promise((resolve) => setTimeout(resolve, 400));
        ended(job.signal);
      },
      { visibility: '200ms' },
    );
    worker.on('error', (error) => errors.push(error));
    const signal = await handled;
    await worker.close();
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof LeaseLostError);
    // The extension that found the lease lost, and nothing more: no ack is tried for a job that is someone else's now.
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof LeaseLostError);
  } finally {
    await s.close();
  }
});

void test("a remote worker times its extensions by the server's clock: a skewed client clock neither floods it nor loses the lease", async () => {
  // The server's clock a minute behind this process's, then a minute ahead: a worker that read
  // leaseUntil against its own clock would extend every millisecond, then not before the lease ran out.
  for (const skewMs of [-60_000, 60_000]) {
    await using spool = await open(testStore.url(), { clock: { ...systemClock, now: () => Date.now() + skewMs } });
    const server = await createServer({ spool });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    let extensions = 0;
    const fetched = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      if (typeof input === 'string' && input.endsWith('/v1/extend')) extensions++;
      return fetched(input, init);
    };
    try {
      const q = connect(base).queue<string>(`skew${skewMs}`);
      await q.add('x');
      const errors: unknown[] = [];
      let done = (_: number): void => {};
      const handled = new Promise<number>((resolve) => (done = resolve));
      const worker = q.process(
        async (job) => {
          // Three and a half leases of 500 ms: extended at each half-lease, about seven times. A
          // lease of 200 ms was lost now and then on PostgreSQL, its store calls slowed by the
          // schemas other tests of the file made and dropped.
          await new Promise((resolve) => setTimeout(resolve, 1_750));
          done(job.attempt);
        },
        { visibility: '500ms' },
      );
      worker.on('error', (error) => errors.push(error));
      const attempt = await handled;
      await worker.close();
      assert.deepEqual(errors, [], `skew ${skewMs}`);
      assert.equal(attempt, 1);
      assert.equal((await spool.queue(`skew${skewMs}`).counts()).completed, 1, `skew ${skewMs}: acked`);
      assert.ok(extensions >= 3 && extensions <= 14, `skew ${skewMs}: ${extensions} extensions`);
    } finally {
      globalThis.fetch = fetched;
      await server.close();
    }
  }
});

void test("a remote worker's timeout aborts the job's signal with TimeoutError and fails the attempt; unknown options are refused", async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<string>('remote-timeout');
    assert.throws(() => q.process(() => {}, { lanes: 2 } as never), /options\.lanes/);
    assert.throws(() => q.process(() => {}, { timeout: 'soon' }), ValidationError);
    assert.throws(() => q.process(() => {}, { prefetch: 1001 }), /options\.prefetch/);
    const id = await q.add('slow', { maxAttempts: 1 });
    let seen: AbortSignal | undefined;
    const dead = new Promise<unknown>((resolve) => {
      const worker = q.process(
        async (job) => {
          seen = job.signal;
          await new Promise((wake) => job.signal.addEventListener('abort', wake, { once: true }));
        },
        { timeout: 100 },
      );
      worker.on('dead', (_job, error) => void worker.close().then(() => resolve(error)));
    });
    const error = await dead;
    assert.ok(error instanceof TimeoutError);
    assert.ok(seen?.reason instanceof TimeoutError);
    const info = await q.get(id);
    assert.equal(info?.state, 'dead');
    assert.equal(info?.attempts, 1);
    assert.match(info?.errors[0] ?? '', /TimeoutError: job .* timed out after 100ms/);
  } finally {
    await s.close();
  }
});

void test('list, promoteDelayed and cancel over HTTP, as a local queue', async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<number>('listed');
    const ids = await q.addBulk([1, 2, 3].map((data) => ({ data })));
    const delayed = await q.addBulk([4, 5, 6].map((data) => ({ data, options: { delay: '1h' } })));
    const first = await q.list('waiting', { limit: 2 });
    assert.deepEqual(
      first.jobs.map((job) => job.id),
      ids.slice(0, 2),
    );
    const rest = await q.list('waiting', { limit: 2, cursor: first.cursor });
    assert.deepEqual([rest.jobs.map((job) => job.data), rest.cursor], [[3], null]);
    assert.equal(await q.promoteDelayed([]), 0);
    assert.equal(await q.promoteDelayed([delayed[0] as string, ids[0] as string]), 1);
    assert.deepEqual((await q.list('delayed')).jobs.map((job) => job.data).sort(), [5, 6]);
    assert.equal(await q.promoteDelayed(), 2);
    assert.equal((await q.counts()).waiting, 6);
    assert.deepEqual(await q.dead(), { jobs: [], cursor: null });
    // cancel: only a job that has not started.
    const [leased] = await q.lease();
    assert.equal(await q.cancel(leased?.id as string), false);
    assert.equal(await q.cancel(ids[1] as string), true);
    assert.equal(await q.get(ids[1] as string), null);
    await assert.rejects(q.cancel('no-such-job'), NotFoundError);
    await assert.rejects(q.list('nowhere' as never), ValidationError);
    await assert.rejects(q.list('waiting', { limit: 0 }), ValidationError);
  } finally {
    await s.close();
  }
});

void test('client.queues() answers as the local spool.queues(): counts, and settings in ms with Infinity for no limit', async () => {
  const s = await start();
  try {
    await s.spool.queue('capped', { maxLength: 5, ttl: '1h', maxAttempts: Infinity }).add(1);
    await s.spool.queue('plain').add(2);
    const remote = await connect(s.base).queues();
    assert.deepEqual(remote, await s.spool.queues());
    const capped = remote.find((q) => q.name === 'capped');
    assert.deepEqual(
      [capped?.settings.maxLength, capped?.settings.ttlMs, capped?.settings.maxAttempts, capped?.settings.backoff.kind],
      [5, 3_600_000, Infinity, 'exponential'],
    );
  } finally {
    await s.close();
  }
});

void test("a remote list page larger than the server's (1,000) is several requests, as a local list is one page", async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<number>('long-list');
    const ids = await q.addBulk(Array.from({ length: 1500 }, (_, data) => ({ data })));
    const first = await q.list('waiting', { limit: 1200 });
    assert.deepEqual(
      first.jobs.map((job) => job.id),
      ids.slice(0, 1200),
    );
    assert.notEqual(first.cursor, null);
    const rest = await q.list('waiting', { limit: 1200, cursor: first.cursor });
    assert.deepEqual([rest.jobs.map((job) => job.id), rest.cursor], [ids.slice(1200), null]);
  } finally {
    await s.close();
  }
});

void test("a remote peek past the server's 1,000 a request answers as a local peek, in lease order", async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<number>('long-peek');
    await q.addBulk(Array.from({ length: 1500 }, (_, data) => ({ data, options: { priority: data % 3 } })));
    const local = s.spool.queue<number>('long-peek');
    const ids = (jobs: readonly { id: string }[]) => jobs.map((job) => job.id);
    for (const n of [1, 1000, 1001, 1499, 5000])
      assert.deepEqual(ids(await q.peek(n)), ids(await local.peek(n)), `peek(${n})`);
    assert.deepEqual(
      (await q.peek(1200)).slice(498, 502).map((job) => [job.data, job.priority]),
      [
        [1496, 2],
        [1499, 2],
        [1, 1],
        [4, 1],
      ],
    );
    await assert.rejects(q.peek(0), ValidationError);
  } finally {
    await s.close();
  }
});

void test("a remote worker nobody listens to for 'error' keeps the process up: a failed call is a process warning", async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  // Port 1: every lease fails at once, and the worker tries again after its pause.
  const worker = connect('http://127.0.0.1:1')
    .queue('unheard')
    .process(() => {});
  try {
    for (const deadline = Date.now() + 10_000; warnings.length < 2;) {
      assert.ok(Date.now() < deadline, 'no warnings came');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await worker.close({ timeout: 0 });
    process.off('warning', onWarning);
  }
  assert.ok(warnings.every((w) => w.name === 'SpoolWorkerWarning' && /cannot reach/.test(w.message)));
});

void test('tokens: the client sends its bearer token; refusals come back as UnauthorizedError and ForbiddenError', async () => {
  const token = 'publisher-token-0123456789';
  const s = await start({ tokens: [{ token, scopes: ['publish'], prefix: 'mine' }] });
  try {
    await assert.rejects(connect(s.base).queue('mine').add(1), UnauthorizedError);
    const client = connect(s.base, { token });
    const id = await client.queue('mine').add(1);
    assert.equal((await s.spool.queue('mine').get(id))?.data, 1);
    await assert.rejects(
      client.queue('theirs').add(1),
      (e: unknown) => e instanceof ForbiddenError && e.scope === 'publish' && e.resource === 'theirs',
    );
    await assert.rejects(client.queue('mine').lease(), ForbiddenError);
    // A token written into the URL was dropped, and every call went without one.
    const url = new URL(s.base);
    url.password = token;
    assert.throws(() => connect(url.href), {
      code: 'VALIDATION',
      field: 'url',
      message: /connect\(url, \{ token \}\)/,
    });
    assert.throws(
      () => connect(`${s.base}/?token=${token}`),
      (error: Error) => (error as ValidationError).field === 'url' && !error.message.includes(token),
    );
  } finally {
    await s.close();
  }
});

void test('a remote worker whose lease the server refuses for good (a token without consume, an unknown token, a bad queue name) reports it once and closes', async () => {
  const publisher = 'publisher-token-0123456789';
  const consumer = 'consumer-token-0123456789';
  const s = await start({
    tokens: [
      { token: publisher, scopes: ['publish'], prefix: 'mine' },
      { token: consumer, scopes: ['consume'], prefix: '' },
    ],
  });
  let leases = 0;
  s.server.app.server.on('request', (request: { url?: string }) => void (request.url === '/v1/lease' && leases++));
  const cases = [
    { token: publisher, queue: 'mine', refusal: ForbiddenError },
    { token: 'unknown-token-0123456789', queue: 'mine', refusal: UnauthorizedError },
    { token: consumer, queue: 'bad name', refusal: ValidationError },
  ];
  const workers = cases.map(({ token, queue }) => {
    // Two lanes each, both refused.
    const worker = connect(s.base, { token })
      .queue(queue)
      .process(() => assert.fail('no job'), { concurrency: 2 });
    const errors: unknown[] = [];
    worker.on('error', (error) => errors.push(error));
    return { worker, errors };
  });
  try {
    for (const deadline = Date.now() + 10_000; workers.some(({ errors }) => errors.length === 0);) {
      assert.ok(Date.now() < deadline, 'no refusal came');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Past the pause after which a worker asks again (1 s), twice over.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Before: each lane asked again every second, an 'error' each time, for ever.
    workers.forEach(({ errors }, i) => {
      assert.equal(errors.length, 1, `case ${i}: ${errors.map(String).join('; ')}`);
      assert.ok(errors[0] instanceof cases[i]!.refusal, String(errors[0]));
    });
    assert.ok(leases <= 2 * cases.length, `${leases} leases`);
  } finally {
    await Promise.all(workers.map(({ worker }) => worker.close()));
    await s.close();
  }
});

void test("an answer that is not JSON (a proxy's 502 page) is an Error naming the status, not JSON.parse's SyntaxError", async () => {
  const proxy = createHttpServer((_, response) => {
    response.writeHead(502, { 'content-type': 'text/html' });
    response.end('<html><body>502 Bad Gateway</body></html>');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = proxy.address() as AddressInfo;
    await assert.rejects(connect(`http://127.0.0.1:${port}`).queue('q').add(1), (error) => {
      assert.ok(!(error instanceof SyntaxError), String(error));
      assert.match((error as Error).message, /HTTP 502 .*not JSON.*502 Bad Gateway/);
      return true;
    });
  } finally {
    proxy.close();
  }
});

/**
 * A TCP proxy to the server at `base` that, once frozen, takes connections and bytes and passes
 * nothing on either way: a server that stopped answering (stopped, swapping, a network dropping
 * packets without a reset).
 */
async function freezingProxy(base: string) {
  const target = new URL(base);
  const sockets = new Set<Socket>();
  let frozen = false;
  const proxy = createNetServer((client) => {
    const upstream = netConnect(Number(target.port), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('error', () => {});
      from.on('data', (bytes: Buffer) => void (frozen || to.write(bytes)));
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    freeze: () => void (frozen = true),
    close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}

void test('a call to a server that stopped answering fails with TimeoutError after the time-out connect() was given', async () => {
  const s = await start();
  const proxy = await freezingProxy(s.base);
  try {
    const q = connect(proxy.base, { timeout: 200 }).queue('frozen');
    assert.equal((await q.counts()).waiting, 0);
    proxy.freeze();
    const started = performance.now();
    await assert.rejects(q.counts(), (error) => {
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.ms, 200);
      assert.match(error.message, /GET http:\/\/127\.0\.0\.1:\d+\/v1\/queues\/frozen\/counts timed out after 200ms/);
      return true;
    });
    assert.ok(performance.now() - started >= 190);
    for (const timeout of [0, -1, 'soon'])
      assert.throws(
        () => connect(s.base, { timeout }),
        (error) => error instanceof ValidationError && error.field === 'options.timeout',
      );
    assert.throws(() => connect(s.base, { timout: 100 } as never), ValidationError);
  } finally {
    proxy.close();
    await s.close();
  }
});

void test("a long-poll may wait as long as it asked the server to, past the connection's time-out", async () => {
  const s = await start();
  try {
    const q = connect(s.base, { timeout: 100 }).queue('long-poll-timeout');
    const started = performance.now();
    assert.deepEqual(await q.lease({ wait: 500 }), []);
    assert.ok(performance.now() - started >= 490);
    const id = await connect(s.base).queue('long-poll-timeout').add('x');
    await assert.rejects(q.waitFor(id, { timeout: 400 }), TimeoutError);
  } finally {
    await s.close();
  }
});

void test('a remote worker closed with a time-out returns though the server stopped answering; its job is not lost', async () => {
  const s = await start();
  const proxy = await freezingProxy(s.base);
  try {
    const q = connect(proxy.base, { timeout: 300 }).queue<string>('frozen-close');
    const id = await q.add('x');
    let finish = (): void => {};
    let started = (): void => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = q.process(async () => {
      started();
      await new Promise<void>((resolve) => (finish = resolve));
      return 'done';
    });
    const errors: unknown[] = [];
    worker.on('error', (error) => errors.push(error));
    await running;
    proxy.freeze();
    // Its ack goes to a server that answers nothing: before, fetch held it (and the close) for 5 minutes.
    finish();
    const closing = worker.close({ timeout: 100 }).then(() => 'closed');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'still closing after 10 s')));
    assert.equal(await Promise.race([closing, late]), 'closed');
    clearTimeout(timer);
    assert.ok(
      errors.some((error) => error instanceof TimeoutError),
      String(errors),
    );
    // The ack never arrived: the job is still leased, to run again once its lease ends.
    assert.equal((await connect(s.base).queue('frozen-close').get(id))?.state, 'active');
  } finally {
    proxy.close();
    await s.close();
  }
});

void test("a remote job's requeue puts it back in line at once with its attempt counted, as a local one does", async () => {
  const s = await start();
  try {
    const q = connect(s.base).queue<string>('remote-requeue');
    await q.add('x');
    const [first] = await q.lease();
    assert.equal(await first!.requeue(), 'retry');
    const [again] = await q.lease();
    assert.deepEqual([again?.data, again?.attempt], ['x', 2]);
    await assert.rejects(first!.requeue(), { code: 'LEASE_LOST' });
  } finally {
    await s.close();
  }
});

// The native HTTP API against a real server on a random port: every route, bad input of every
// kind answered with the right 4xx and a JSON error, and the server serving on afterwards.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { start } from './server/harness.ts';
import type { Answer, Running } from './server/harness.ts';

const json = (answer: Answer) => answer.body as Record<string, unknown>;

/** Sends `text` as it is on a connection of its own; the answer the server wrote before it ended the connection. */
function raw(base: string, text: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(body);
      } catch {
        // Left undefined: the test asserting JSON will say so.
      }
      resolve({ status: Number(head.split(' ')[1]), body: parsed, text: answer });
    });
    socket.end(text);
  });
}
const errorCode = (answer: Answer) => (json(answer).error as { code: string; message: string }).code;

void describe('HTTP /v1: queues', () => {
  let s: Running;
  before(async () => {
    s = await start();
  });
  after(() => s.close());

  void test('queue settings: PUT changes what it names, GET reads them, an add over HTTP uses them, GET /v1/queues lists the queue', async () => {
    const before = json(await s.call('GET', '/v1/queues/stored/settings'));
    assert.deepEqual(before, {
      maxLength: null,
      maxAttempts: 5,
      backoff: { type: 'exponential', delay: 1000, maxDelay: 3_600_000, jitter: 0 },
      visibility: 30_000,
      ttl: null,
      keepCompleted: { count: 1000, age: 86_400_000 },
      keepDead: { count: null, age: null },
      paused: false,
    });
    const changed = json(
      await s.call('PUT', '/v1/queues/stored/settings', {
        maxAttempts: 2,
        maxLength: 1,
        keepCompleted: { count: null },
        keepDead: { count: 100, age: '7d' },
      }),
    );
    assert.deepEqual(changed, {
      ...before,
      maxAttempts: 2,
      maxLength: 1,
      keepCompleted: { count: null, age: 86_400_000 },
      keepDead: { count: 100, age: 604_800_000 },
    });
    assert.deepEqual(json(await s.call('GET', '/v1/queues/stored/settings')), changed);
    const { id } = json(await s.call('POST', '/v1/queues/stored/jobs', { data: 1 })) as { id: string };
    assert.equal(json(await s.call('GET', `/v1/queues/stored/jobs/${id}`)).maxAttempts, 2);
    const full = await s.call('POST', '/v1/queues/stored/jobs', { data: 2 });
    assert.equal(full.status, 429);
    const listed = json(await s.call('GET', '/v1/queues')) as {
      queues: { name: string; counts: { waiting: number }; settings: { maxLength: number } }[];
    };
    const stored = listed.queues.find((q) => q.name === 'stored');
    assert.equal(stored?.counts.waiting, 1);
    assert.equal(stored?.settings.maxLength, 1);
    assert.equal((await s.call('PUT', '/v1/queues/stored/settings', { colour: 'red' })).status, 400);
    assert.equal((await s.call('PUT', '/v1/queues/stored/settings', { maxAttempts: 0 })).status, 400);
    await s.call('PUT', '/v1/queues/stored/settings', { maxLength: null });
    assert.equal((await s.call('POST', '/v1/queues/stored/jobs', { data: 2 })).status, 201);
  });

  void test('add one, get it, peek, counts, lease, ack: the job is gone', async () => {
    const added = await s.call('POST', '/v1/queues/mail/jobs', { data: { to: 'ada' }, options: { priority: 2 } });
    assert.equal(added.status, 201);
    const { id } = json(added) as { id: string };
    const got = json(await s.call('GET', `/v1/queues/mail/jobs/${id}`));
    assert.equal(got.state, 'waiting');
    assert.deepEqual(got.data, { to: 'ada' });
    assert.equal(got.priority, 2);
    const peeked = json(await s.call('GET', '/v1/queues/mail/peek?n=5')) as { jobs: { id: string }[] };
    assert.deepEqual(
      peeked.jobs.map((j) => j.id),
      [id],
    );
    assert.equal(json(await s.call('GET', '/v1/queues/mail/counts')).waiting, 1);
    const leased = json(await s.call('POST', '/v1/lease', { queues: ['mail'], visibility: '10s' })) as {
      jobs: { id: string; token: string; data: unknown; attempt: number }[];
    };
    assert.equal(leased.jobs.length, 1);
    const [job] = leased.jobs;
    assert.equal(job?.id, id);
    assert.equal(job?.attempt, 1);
    assert.equal(json(await s.call('GET', '/v1/queues/mail/counts')).active, 1);
    const extended = json(await s.call('POST', '/v1/extend', { token: job?.token, ms: '20s' }));
    assert.equal(typeof extended.leaseUntil, 'number');
    assert.deepEqual(json(await s.call('POST', '/v1/ack', { token: job?.token, result: { sent: true } })), {
      ok: true,
    });
    const counts = json(await s.call('GET', '/v1/queues/mail/counts'));
    assert.equal(counts.active, 0);
    assert.equal(counts.completed, 1);
    // The same token again: the lease is over.
    const again = await s.call('POST', '/v1/ack', { token: job?.token });
    assert.equal(again.status, 409);
    assert.equal(errorCode(again), 'LEASE_LOST');
  });

  void test('backoff takes a duration alone as a fixed delay: 0 retries at once, 1h waits', async () => {
    for (const [backoff, state] of [
      [0, 'waiting'],
      ['1h', 'delayed'],
      [3_600_000, 'delayed'],
    ] as const) {
      const added = await s.call('POST', '/v1/queues/backoff/jobs', { data: 1, options: { backoff } });
      assert.equal(added.status, 201, added.text);
      const { id } = json(added) as { id: string };
      const leased = json(await s.call('POST', '/v1/lease', { queues: ['backoff'] })) as { jobs: { token: string }[] };
      assert.equal((await s.call('POST', '/v1/nack', { token: leased.jobs[0]?.token })).status, 200);
      assert.equal(json(await s.call('GET', `/v1/queues/backoff/jobs/${id}`)).state, state, String(backoff));
      await s.call('DELETE', `/v1/queues/backoff/jobs/${id}`);
    }
  });

  void test('a batch add is one call; nack with dead, list dead, retry, purge', async () => {
    const added = await s.call('POST', '/v1/queues/batch/jobs/batch', {
      jobs: [{ data: 1 }, { data: 2 }, { data: 3, options: { delay: '1h' } }],
    });
    assert.equal(added.status, 201);
    assert.equal((json(added).ids as string[]).length, 3);
    const leased = json(await s.call('POST', '/v1/lease', { queues: ['batch'], max: 5 })) as {
      jobs: { token: string; data: number }[];
    };
    assert.deepEqual(
      leased.jobs.map((j) => j.data),
      [1, 2],
    );
    assert.deepEqual(
      json(await s.call('POST', '/v1/nack', { token: leased.jobs[0]?.token, dead: true, error: 'bad' })),
      {
        outcome: 'dead',
      },
    );
    assert.deepEqual(json(await s.call('POST', '/v1/nack', { token: leased.jobs[1]?.token, delay: '1h' })), {
      outcome: 'retry',
    });
    const dead = json(await s.call('GET', '/v1/queues/batch/dead?limit=10')) as {
      jobs: { data: number; lastError: string }[];
    };
    assert.deepEqual(
      dead.jobs.map((j) => [j.data, j.lastError]),
      [[1, 'bad']],
    );
    assert.deepEqual(json(await s.call('POST', '/v1/queues/batch/dead/retry', {})), { retried: 1 });
    assert.equal(json(await s.call('GET', '/v1/queues/batch/counts')).waiting, 1);
    assert.deepEqual(json(await s.call('POST', '/v1/queues/batch/purge')), { purged: 3 });
    const counts = json(await s.call('GET', '/v1/queues/batch/counts'));
    assert.equal(counts.waiting, 0);
    assert.equal(counts.delayed, 0);
  });

  void test('a batch ack settles many leases in one request and names the ones it lost', async () => {
    await s.call('POST', '/v1/queues/many/jobs/batch', { jobs: [{ data: 1 }, { data: 2 }, { data: 3 }] });
    const { jobs } = json(await s.call('POST', '/v1/lease', { queues: ['many'], max: 3 })) as {
      jobs: { token: string }[];
    };
    await s.call('POST', '/v1/ack', { token: jobs[2]?.token });
    const tokens = jobs.map((j) => j.token);
    // A token whose lease is over is named in `lost`; the others are acked.
    assert.deepEqual(json(await s.call('POST', '/v1/ack/batch', { tokens })), { acked: 2, lost: [tokens[2]] });
    assert.equal(json(await s.call('GET', '/v1/queues/many/counts')).completed, 3);
    assert.equal((await s.call('POST', '/v1/ack/batch', { tokens: ['nonsense'] })).status, 400);
  });

  void test("a batch ack by `acks` carries each job's result, or none; tokens and acks together are refused", async () => {
    const ids = (
      json(await s.call('POST', '/v1/queues/results/jobs/batch', { jobs: [{ data: 1 }, { data: 2 }] })) as {
        ids: string[];
      }
    ).ids;
    const { jobs } = json(await s.call('POST', '/v1/lease', { queues: ['results'], max: 2 })) as {
      jobs: { token: string }[];
    };
    const [first, second] = jobs.map((j) => j.token) as [string, string];
    const both = await s.call('POST', '/v1/ack/batch', { tokens: [first], acks: [{ token: first }] });
    assert.equal(both.status, 400);
    assert.equal((await s.call('POST', '/v1/ack/batch', {})).status, 400);
    assert.equal((await s.call('POST', '/v1/ack/batch', { acks: [{ token: first, other: 1 }] })).status, 400);
    const answer = await s.call('POST', '/v1/ack/batch', {
      acks: [{ token: first, result: { n: 2 } }, { token: second }],
    });
    assert.deepEqual(json(answer), { acked: 2, lost: [] });
    const result = (id: string) => s.call('GET', `/v1/queues/results/jobs/${id}/result?wait=0`).then(json);
    assert.deepEqual(await result(ids[0] as string), { state: 'completed', result: { n: 2 } });
    assert.deepEqual(await result(ids[1] as string), { state: 'completed' });
  });

  void test('pause stops leases until resume; release hands a job back without an attempt', async () => {
    await s.call('POST', '/v1/queues/p/jobs', { data: 'x' });
    assert.deepEqual(json(await s.call('POST', '/v1/queues/p/pause')), { paused: true });
    assert.deepEqual(json(await s.call('POST', '/v1/lease', { queues: ['p'] })), { jobs: [] });
    assert.equal(json(await s.call('GET', '/v1/queues/p/counts')).paused, true);
    await s.call('POST', '/v1/queues/p/resume');
    const [job] = (json(await s.call('POST', '/v1/lease', { queues: ['p'] })) as { jobs: { token: string }[] }).jobs;
    assert.deepEqual(json(await s.call('POST', '/v1/release', { token: job?.token })), { ok: true });
    const [again] = (json(await s.call('POST', '/v1/lease', { queues: ['p'] })) as { jobs: { attempt: number }[] })
      .jobs;
    assert.equal(again?.attempt, 1);
  });

  void test('requeue puts a leased job back in line at once with its attempt counted, dead on the last', async () => {
    await s.call('POST', '/v1/queues/rq/jobs', { data: 'x', options: { maxAttempts: 2 } });
    type Leased = { jobs: { token: string; attempt: number; errors: string[] }[] };
    const [first] = (json(await s.call('POST', '/v1/lease', { queues: ['rq'] })) as Leased).jobs;
    assert.deepEqual(json(await s.call('POST', '/v1/requeue', { token: first?.token })), { outcome: 'retry' });
    const [second] = (json(await s.call('POST', '/v1/lease', { queues: ['rq'] })) as Leased).jobs;
    assert.deepEqual([second?.attempt, second?.errors], [2, []]);
    assert.deepEqual(json(await s.call('POST', '/v1/requeue', { token: second?.token })), { outcome: 'dead' });
    // The token of a settled lease is lost, as for every other settle.
    assert.equal((await s.call('POST', '/v1/requeue', { token: second?.token })).status, 409);
    assert.equal(json(await s.call('GET', '/v1/queues/rq/counts')).dead, 1);
  });

  void test('a long-poll lease answers as soon as a job is added', async () => {
    const started = Date.now();
    const waiting = s.call('POST', '/v1/lease', { queues: ['lp'], wait: '10s' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await s.call('POST', '/v1/queues/lp/jobs', { data: 'wake' });
    const answer = json(await waiting) as { jobs: { data: string }[] };
    assert.equal(answer.jobs[0]?.data, 'wake');
    assert.ok(Date.now() - started < 5000);
  });

  void test('many long-polls waiting at once are no warning of a listener leak', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const polls = Array.from({ length: 20 }, () => s.call('POST', '/v1/lease', { queues: ['crowd'], wait: '300ms' }));
      assert.deepEqual(
        (await Promise.all(polls)).map((answer) => answer.status),
        Array.from({ length: 20 }, () => 200),
      );
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  void test("wait: 'forever' long-polls as long as the server allows (--max-wait), then answers no job", async () => {
    const short = await start({ maxWait: '50ms' });
    try {
      const idle = await short.call('POST', '/v1/lease', { queues: ['forever'], wait: 'forever' });
      assert.equal(idle.status, 200, idle.text);
      assert.deepEqual(json(idle).jobs, []);
      await short.call('POST', '/v1/queues/forever/jobs', { data: 'here' });
      const got = json(await short.call('POST', '/v1/lease', { queues: ['forever'], wait: 'forever' }));
      assert.equal((got.jobs as { data: string }[])[0]?.data, 'here');
      const bad = await short.call('POST', '/v1/lease', { queues: ['forever'], wait: 'for ever' });
      assert.equal(bad.status, 400);
    } finally {
      await short.close();
    }
  });

  void test("a result's ?wait=forever long-polls as long as the server allows, as a lease's wait: 'forever' does", async () => {
    const short = await start({ maxWait: '50ms' });
    try {
      const { id } = json(await short.call('POST', '/v1/queues/forever/jobs', { data: 1 })) as { id: string };
      // Before: 400 VALIDATION, '"forever" is not a duration'.
      const pending = await short.call('GET', `/v1/queues/forever/jobs/${id}/result?wait=forever`);
      assert.equal(pending.status, 200, pending.text);
      assert.deepEqual(
        { ...json(pending), waitedMs: typeof json(pending).waitedMs },
        { state: 'waiting', waitedMs: 'number', leftMs: null },
      );
      const [job] = (
        json(await short.call('POST', '/v1/lease', { queues: ['forever'] })) as { jobs: { token: string }[] }
      ).jobs;
      await short.call('POST', '/v1/ack', { token: job?.token, result: 'done' });
      assert.deepEqual(json(await short.call('GET', `/v1/queues/forever/jobs/${id}/result?wait=forever`)), {
        state: 'completed',
        result: 'done',
      });
      assert.equal((await short.call('GET', `/v1/queues/forever/jobs/${id}/result?wait=for%20ever`)).status, 400);
    } finally {
      await short.close();
    }
  });

  void test('a long-poll whose client went away leases nothing: the next job stays waiting', async () => {
    const client = new AbortController();
    const gone = fetch(`${s.base}/v1/lease`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queues: ['left'], wait: '10s' }),
      signal: client.signal,
    }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.abort();
    assert.equal(await gone, 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await s.call('POST', '/v1/queues/left/jobs', { data: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const counts = json(await s.call('GET', '/v1/queues/left/counts'));
    assert.equal(counts.waiting, 1);
    assert.equal(counts.active, 0);
  });

  void test('delete a job by id; get of an unknown id is a 404 with a JSON error', async () => {
    const { id } = json(await s.call('POST', '/v1/queues/del/jobs', { data: 1 })) as { id: string };
    assert.deepEqual(json(await s.call('DELETE', `/v1/queues/del/jobs/${id}`)), { removed: true });
    const missing = await s.call('GET', `/v1/queues/del/jobs/${id}`);
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing), 'NOT_FOUND');
  });

  void test('the result route long-polls: the result once acked, the errors once dead, else the state and the wait left', async () => {
    const id = (json(await s.call('POST', '/v1/queues/results/jobs', { data: 1 })) as { id: string }).id;
    const now = json(await s.call('GET', `/v1/queues/results/jobs/${id}/result`));
    assert.deepEqual(now, { state: 'waiting', waitedMs: 0, leftMs: 0 });
    const waiting = s.call('GET', `/v1/queues/results/jobs/${id}/result?wait=10s`);
    const [job] = (json(await s.call('POST', '/v1/lease', { queues: ['results'] })) as { jobs: { token: string }[] })
      .jobs;
    await s.call('POST', '/v1/ack', { token: job?.token, result: { sum: 3 } });
    assert.deepEqual(json(await waiting), { state: 'completed', result: { sum: 3 } });
    // Once done, it answers at once, whatever the wait.
    assert.deepEqual(json(await s.call('GET', `/v1/queues/results/jobs/${id}/result?wait=1h`)), {
      state: 'completed',
      result: { sum: 3 },
    });

    const doomed = (json(await s.call('POST', '/v1/queues/results/jobs', { data: 2 })) as { id: string }).id;
    const dying = s.call('GET', `/v1/queues/results/jobs/${doomed}/result?wait=10000`);
    const [leased] = (json(await s.call('POST', '/v1/lease', { queues: ['results'] })) as { jobs: { token: string }[] })
      .jobs;
    await s.call('POST', '/v1/nack', { token: leased?.token, dead: true, error: 'no good' });
    assert.deepEqual(json(await dying), { state: 'dead', errors: ['no good'] });

    const slow = (json(await s.call('POST', '/v1/queues/results/jobs', { data: 3 })) as { id: string }).id;
    const timedOut = json(await s.call('GET', `/v1/queues/results/jobs/${slow}/result?wait=50ms`));
    assert.deepEqual(
      { ...timedOut, waitedMs: typeof timedOut.waitedMs },
      { state: 'waiting', waitedMs: 'number', leftMs: 0 },
    );
    // Another queue's job is not found through this queue (a token's prefix covers the queue named).
    assert.equal((await s.call('GET', `/v1/queues/other/jobs/${slow}/result`)).status, 404);
  });

  void test('healthz and the OpenAPI document', async () => {
    assert.deepEqual(json(await s.call('GET', '/healthz')), { ok: true });
    const doc = json(await s.call('GET', '/openapi.json'));
    assert.ok(Object.keys(doc.paths as object).includes('/v1/lease'));
    assert.ok(Object.keys(doc.paths as object).includes('/v1/queues/{queue}/jobs/{id}/result'));
    assert.ok(Object.keys(doc.paths as object).includes('/topics/{topic}/subscribers/{subscriber}'));
    assert.equal((await fetch(`${s.base}/docs/`)).status, 200);
  });
});

void describe('HTTP /v1: topics', () => {
  let s: Running;
  before(async () => {
    s = await start();
  });
  after(() => s.close());

  void test('create, publish to every subscriber, lease a subscriber queue, status, remove, delete', async () => {
    const created = await s.call('POST', '/v1/topics', {
      name: 'orders',
      subscribers: { billing: { maxAttempts: 3, visibility: '1m' }, shipping: {} },
    });
    assert.equal(created.status, 201);
    assert.equal((await s.call('POST', '/v1/topics', { name: 'orders' })).status, 409);
    const published = json(await s.call('POST', '/v1/topics/orders/messages', { data: { n: 1 } }));
    assert.deepEqual(Object.keys(published.ids as object).sort(), ['billing', 'shipping']);
    await s.call('POST', '/v1/topics/orders/messages/batch', { messages: [{ data: { n: 2 } }, { data: { n: 3 } }] });
    const leased = json(await s.call('POST', '/v1/lease', { queues: ['orders.billing'], max: 10 })) as {
      jobs: { data: { n: number }; maxAttempts: number }[];
    };
    assert.deepEqual(
      leased.jobs.map((j) => [j.data.n, j.maxAttempts]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    );
    const status = json(await s.call('GET', '/v1/topics/orders/status')) as {
      subscribers: { name: string; waiting: number; inFlight: number }[];
    };
    assert.deepEqual(
      status.subscribers.map((x) => [x.name, x.waiting, x.inFlight]),
      [
        ['billing', 0, 3],
        ['shipping', 3, 0],
      ],
    );
    assert.equal((await s.call('PUT', '/v1/topics/orders/subscribers/audit', { visibility: '5s' })).status, 200);
    const info = json(await s.call('GET', '/v1/topics/orders')) as { subscribers: { name: string }[] };
    // Subscribers are listed by name.
    assert.deepEqual(
      info.subscribers.map((x) => x.name),
      ['audit', 'billing', 'shipping'],
    );
    assert.equal((await s.call('DELETE', '/v1/topics/orders/subscribers/shipping')).status, 200);
    assert.equal((await s.call('DELETE', '/v1/topics/orders/subscribers/shipping')).status, 404);
    assert.deepEqual(json(await s.call('GET', '/v1/topics')), { topics: ['orders'], cursor: null });
    assert.equal((await s.call('DELETE', '/v1/topics/orders')).status, 200);
    assert.equal((await s.call('GET', '/v1/topics/orders')).status, 404);
    assert.deepEqual(json(await s.call('GET', '/v1/topics')), { topics: [], cursor: null });
  });
});

void describe('HTTP: bad input is a 4xx with a JSON error, and the server keeps serving', () => {
  let s: Running;
  before(async () => {
    s = await start({ bodyLimit: 4096 });
  });
  after(() => s.close());

  const cases: [string, string, string, unknown, number, string][] = [
    ['malformed JSON', 'POST', '/v1/queues/q/jobs', '{"data": ', 400, 'VALIDATION'],
    ['an empty JSON body', 'POST', '/v1/queues/q/jobs', '', 400, 'VALIDATION'],
    ['a __proto__ key', 'POST', '/v1/queues/q/jobs', '{"data": 1, "__proto__": {"admin": true}}', 400, 'VALIDATION'],
    ['a missing field', 'POST', '/v1/queues/q/jobs', { options: {} }, 400, 'VALIDATION'],
    ['an unknown field', 'POST', '/v1/queues/q/jobs', { data: 1, extra: true }, 400, 'VALIDATION'],
    ['an unknown job option', 'POST', '/v1/queues/q/jobs', { data: 1, options: { dealy: '1s' } }, 400, 'VALIDATION'],
    ['a wrong type', 'POST', '/v1/lease', { queues: 'q' }, 400, 'VALIDATION'],
    ['a number as a string', 'POST', '/v1/lease', { queues: ['q'], max: '5' }, 400, 'VALIDATION'],
    ['a bad duration', 'POST', '/v1/queues/q/jobs', { data: 1, options: { delay: 'soon' } }, 400, 'VALIDATION'],
    [
      'a delay past 100 years',
      'POST',
      '/v1/queues/q/jobs',
      { data: 1, options: { delay: '9999999999h' } },
      400,
      'VALIDATION',
    ],
    ['a delay of 1e300 ms', 'POST', '/v1/queues/q/jobs', { data: 1, options: { delay: 1e300 } }, 400, 'VALIDATION'],
    ['a wait of 30 digits', 'GET', `/v1/queues/q/jobs/1/result?wait=${'9'.repeat(30)}`, undefined, 400, 'VALIDATION'],
    [
      'a back-off that is no duration',
      'POST',
      '/v1/queues/q/jobs',
      { data: 1, options: { backoff: 'later' } },
      400,
      'VALIDATION',
    ],
    ['a bad queue name', 'POST', '/v1/queues/bad%20name/jobs', { data: 1 }, 400, 'VALIDATION'],
    ['a bad token', 'POST', '/v1/ack', { token: 'nonsense' }, 400, 'VALIDATION'],
    // A bad value is a 400 whatever the token: these were 409 LEASE_LOST, the lease looked up first.
    ['a bad extension, of no lease', 'POST', '/v1/extend', { token: '1:1.abc', ms: 'soon' }, 400, 'VALIDATION'],
    ['an extension by 0, of no lease', 'POST', '/v1/extend', { token: '1:1.abc', ms: 0 }, 400, 'VALIDATION'],
    ['a bad nack delay, of no lease', 'POST', '/v1/nack', { token: '1:1.abc', delay: 'soon' }, 400, 'VALIDATION'],
    ['a token of no lease', 'POST', '/v1/ack', { token: '999:1' }, 409, 'LEASE_LOST'],
    ['a bad count', 'GET', '/v1/queues/q/peek?n=many', undefined, 400, 'VALIDATION'],
    // A page of none would tell a client paging on that the listing is over.
    ['a page of no topics', 'GET', '/v1/topics?limit=0', undefined, 400, 'VALIDATION'],
    ['a page of no audit entries', 'GET', '/v1/audit?limit=0', undefined, 400, 'VALIDATION'],
    // PostgreSQL's OFFSET failed on them: a 500 STORAGE; the other stores read them as the first page.
    ['a cursor no page answered', 'GET', '/v1/queues/q/dead?cursor=abc', undefined, 400, 'VALIDATION'],
    ['a negative cursor', 'GET', '/v1/queues/q/jobs?state=completed&cursor=-1', undefined, 400, 'VALIDATION'],
    ['a bad wait', 'GET', '/v1/queues/q/jobs/1/result?wait=soon', undefined, 400, 'VALIDATION'],
    ['an empty wait', 'GET', '/v1/queues/q/jobs/1/result?wait=', undefined, 400, 'VALIDATION'],
    ['an unknown result parameter', 'GET', '/v1/queues/q/jobs/1/result?timeout=1s', undefined, 400, 'VALIDATION'],
    ['the result of an unknown job', 'GET', '/v1/queues/q/jobs/999/result?wait=1s', undefined, 404, 'NOT_FOUND'],
    ['an unknown query parameter', 'GET', '/v1/queues/q/peek?x=1', undefined, 400, 'VALIDATION'],
    ['an unknown route', 'GET', '/v2/nothing', undefined, 404, 'NOT_FOUND'],
    ['a wrong method', 'PATCH', '/v1/queues/q/jobs', { data: 1 }, 404, 'NOT_FOUND'],
    ['a huge body', 'POST', '/v1/queues/q/jobs', { data: 'x'.repeat(10_000) }, 413, 'TOO_LARGE'],
    ['an unknown topic', 'POST', '/v1/topics/nope/messages', { data: 1 }, 404, 'NOT_FOUND'],
    ['a topic name with a dot', 'POST', '/v1/topics', { name: 'a.b' }, 400, 'VALIDATION'],
  ];
  for (const [what, method, path, body, status, code] of cases) {
    void test(`${what} → ${status} ${code}`, async () => {
      const answer = await s.call(method, path, body);
      assert.equal(answer.status, status, answer.text);
      assert.equal(errorCode(answer), code);
      assert.doesNotMatch(answer.text, /\/work\/|node_modules|\bat .*\(/, 'no paths or stack in the answer');
      assert.deepEqual(json(await s.call('GET', '/healthz')), { ok: true });
    });
  }

  void test("a refusal names the field inside a value of several shapes, and what it may be, not the first shape's type", async () => {
    const backoff = (b: unknown) => ['POST', '/v1/queues/q/jobs', { data: 1, options: { backoff: b } }] as const;
    const cases: [readonly [string, string, unknown], string, string][] = [
      // Each was 'body.options.backoff: must be number' (a back-off may be a duration).
      [backoff({ type: 'fixed', delay: '1s', jitter: 2 }), 'body.options.backoff.jitter', 'must be <= 1'],
      [backoff({ type: 'fixd', delay: '1s' }), 'body.options.backoff.type', 'must be one of fixed, exponential'],
      [backoff({ type: 'fixed', delay: '1s', colour: 1 }), 'body.options.backoff.colour', 'unknown field'],
      [
        ['POST', '/v1/queues/q/jobs', { data: 1, options: { delay: true } }],
        'body.options.delay',
        'must be number or string',
      ],
      [['PUT', '/v1/queues/q/settings', { keepDead: { count: -1 } }], 'body.keepDead.count', 'must be >= 0'],
      [['PUT', '/v1/queues/q/settings', { keepDead: 'x' }], 'body.keepDead', 'must be boolean or integer or object'],
      [
        ['GET', '/v1/queues/q/jobs?state=sleeping', undefined],
        'querystring.state',
        'must be one of waiting, delayed, active, dead, completed',
      ],
    ];
    for (const [[method, path, body], field, problem] of cases) {
      const answer = await s.call(method, path, body);
      assert.equal(answer.status, 400, answer.text);
      assert.deepEqual((json(answer).error as { details: unknown }).details, { field, problem }, answer.text);
    }
    assert.deepEqual(json(await s.call('GET', '/v1/queues/q/settings')).keepDead, { count: null, age: null });
  });

  void test('a wrong content type is refused with 415', async () => {
    const response = await fetch(`${s.base}/v1/queues/q/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'data=1',
    });
    assert.equal(response.status, 415);
    assert.deepEqual(await response.json(), {
      error: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'content type "text/plain" is not supported: send application/json',
        details: { contentType: 'text/plain', contentEncoding: null },
      },
    });
  });

  void test('a compressed body is refused with 415 and Accept-Encoding: identity; an identity one is taken', async () => {
    const send = (path: string, encoding: string, body: Buffer) =>
      fetch(`${s.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      });
    // Before: 400 VALIDATION, "Body is not valid JSON".
    const refused = {
      error: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'content encoding "gzip" is not supported: send the body uncompressed (identity)',
        details: { contentType: 'application/json', contentEncoding: 'gzip' },
      },
    };
    const gzipped = await send('/v1/queues/q/jobs', 'gzip', gzipSync(JSON.stringify({ data: 1 })));
    assert.equal(gzipped.status, 415);
    assert.equal(gzipped.headers.get('accept-encoding'), 'identity');
    assert.deepEqual(await gzipped.json(), refused);
    // Refused before its body is read: one over the limit (4096 bytes here) was a 413, which hid the real problem.
    const large = await send('/v1/queues/q/jobs', 'gzip', gzipSync(randomBytes(64 << 10).toString('hex')));
    assert.equal(large.status, 415);
    assert.deepEqual(await large.json(), refused);
    const blockQueue = await send('/topics', 'br', Buffer.from('{"name":"zipped"}'));
    assert.equal(blockQueue.status, 415);
    assert.deepEqual(await blockQueue.json(), {
      message: 'failure',
      error: 'content encoding "br" is not supported: send the body uncompressed (identity)',
    });
    const plain = await send('/v1/queues/identity/jobs', 'Identity', Buffer.from('{"data":1}'));
    assert.equal(plain.status, 201);
  });

  void test("an Expect other than 100-continue is a 417 with a JSON error, in BlockQueue's envelope on its routes", async () => {
    // Before: Node's bare 417, no body; then a 417 whose body said VALIDATION, a 400's code.
    const expect = (path: string) => raw(s.base, `GET ${path} HTTP/1.1\r\nHost: spool\r\nExpect: tea\r\n\r\n`);
    const message = 'Expect: "tea" cannot be met: only 100-continue is';
    const native = await expect('/v1/queues/q/counts');
    assert.equal(native.status, 417, native.text);
    assert.deepEqual(native.body, { error: { code: 'EXPECTATION_FAILED', message, details: { expect: 'tea' } } });
    const blockQueue = await expect('/topics');
    assert.equal(blockQueue.status, 417, blockQueue.text);
    assert.deepEqual(blockQueue.body, { message: 'failure', error: message });
  });

  void test('nothing of the bad requests was stored', async () => {
    assert.equal(json(await s.call('GET', '/v1/queues/q/counts')).waiting, 0);
  });
});

void describe('HTTP: bearer tokens', () => {
  let s: Running;
  const admin = 'admin-token-0123456789';
  const publisher = 'publish-token-0123456789';
  const consumer = 'consume-token-0123456789';
  before(async () => {
    s = await start({
      tokens: [
        { token: admin, scopes: ['admin'], prefix: '' },
        { token: publisher, scopes: ['publish'], prefix: 'jobs' },
        { token: consumer, scopes: ['consume'], prefix: 'jobs' },
      ],
    });
  });
  after(() => s.close());
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  void test('GET /v1/queues lists only the queues a token may see; PUT settings needs admin', async () => {
    await s.call('PUT', '/v1/queues/jobs.mail/settings', { maxLength: 9 }, bearer(admin));
    await s.call('PUT', '/v1/queues/secret/settings', { maxLength: 9 }, bearer(admin));
    const seen = json(await s.call('GET', '/v1/queues', undefined, bearer(publisher))) as {
      queues: { name: string }[];
    };
    assert.deepEqual(
      seen.queues.map((q) => q.name),
      ['jobs.mail'],
    );
    const refused = await s.call('PUT', '/v1/queues/jobs.mail/settings', { maxLength: 1 }, bearer(publisher));
    assert.equal(refused.status, 403);
    assert.equal(json(await s.call('GET', '/v1/queues/jobs.mail/settings', undefined, bearer(publisher))).maxLength, 9);
  });

  void test('no token or an unknown one: 401; health stays open', async () => {
    const none = await s.call('GET', '/v1/queues/jobs/counts');
    assert.equal(none.status, 401);
    assert.equal(errorCode(none), 'UNAUTHORIZED');
    const wrong = await s.call('GET', '/v1/queues/jobs/counts', undefined, bearer(`${admin}x`));
    assert.equal(wrong.status, 401);
    const malformed = await s.call('GET', '/v1/queues/jobs/counts', undefined, { authorization: admin });
    assert.equal(malformed.status, 401);
    const blockQueue = await s.call('GET', '/topics');
    assert.equal(blockQueue.status, 401);
    assert.equal((blockQueue.body as { message: string }).message, 'failure');
    assert.equal((await s.call('GET', '/healthz')).status, 200);
  });

  void test('the open routes stay open with a query string (a probe or a cache-buster adds one)', async () => {
    // Before: 401 for each, and /docs?… a 500 in fastify's own shape.
    for (const path of ['/healthz?probe=1', '/openapi.json?v=2', '/docs?x=1', '/docs/json?x=1', '/ui?x=1']) {
      const answer = await fetch(s.base + path, { redirect: 'manual' });
      assert.ok(answer.status < 400 || answer.status === 503, `${path}: ${answer.status} ${await answer.text()}`);
    }
    assert.deepEqual(json(await s.call('GET', '/healthz?probe=1')), { ok: true });
    assert.equal(((await s.call('GET', '/openapi.json?v=2')).body as { openapi: string }).openapi, '3.0.3');
    // A query string opens nothing else.
    assert.equal((await s.call('GET', '/v1/queues?/healthz')).status, 401);
    assert.equal((await s.call('GET', '/metrics?/docs/')).status, 401);
  });

  void test('scopes and prefixes: publish may add, not lease; consume may lease and ack, not add; prefix bounds both', async () => {
    assert.equal((await s.call('POST', '/v1/queues/jobs/jobs', { data: 1 }, bearer(publisher))).status, 201);
    const outside = await s.call('POST', '/v1/queues/other/jobs', { data: 1 }, bearer(publisher));
    assert.equal(outside.status, 403);
    assert.equal(errorCode(outside), 'FORBIDDEN');
    assert.equal((await s.call('POST', '/v1/lease', { queues: ['jobs'] }, bearer(publisher))).status, 403);
    assert.equal((await s.call('POST', '/v1/queues/jobs/jobs', { data: 1 }, bearer(consumer))).status, 403);
    assert.equal((await s.call('POST', '/v1/lease', { queues: ['jobs', 'other'] }, bearer(consumer))).status, 403);
    const leased = await s.call('POST', '/v1/lease', { queues: ['jobs'] }, bearer(consumer));
    assert.equal(leased.status, 200);
    const [job] = (json(leased) as { jobs: { token: string }[] }).jobs;
    assert.equal((await s.call('POST', '/v1/queues/jobs/purge', undefined, bearer(consumer))).status, 403);
    // A job of a queue outside the consumer's prefix cannot be settled with its token either: its
    // lease is not the consumer's, so it answers as a lost one.
    await s.call('POST', '/v1/queues/other/jobs', { data: 2 }, bearer(admin));
    const [foreign] = (
      json(await s.call('POST', '/v1/lease', { queues: ['other'] }, bearer(admin))) as { jobs: { token: string }[] }
    ).jobs;
    assert.equal((await s.call('POST', '/v1/ack', { token: foreign?.token }, bearer(consumer))).status, 409);
    assert.equal((await s.call('POST', '/v1/ack', { token: job?.token }, bearer(consumer))).status, 200);
    assert.equal((await s.call('POST', '/v1/queues/jobs/purge', undefined, bearer(admin))).status, 200);
  });

  void test('a token made from a job id answers 409 LEASE_LOST, whoever holds the job and whatever its state', async () => {
    const add = async (queue: string): Promise<string> =>
      (json(await s.call('POST', `/v1/queues/${queue}/jobs`, { data: queue }, bearer(admin))) as { id: string }).id;
    const mine = await add('jobs');
    const foreign = await add('other');
    const waiting = await add('other');
    for (const queue of ['jobs', 'other']) await s.call('POST', '/v1/lease', { queues: [queue] }, bearer(admin));
    const answers = [];
    for (const id of [mine, foreign, waiting, '999999'])
      for (const token of [`${id}:1`, `${id}:1.AAAAAAAAAAAAAAAA`]) {
        const reply = await s.call('POST', '/v1/ack', { token }, bearer(consumer));
        answers.push([token, reply.status, errorCode(reply)]);
      }
    assert.deepEqual(
      answers.filter(([, status, code]) => status !== 409 || code !== 'LEASE_LOST'),
      [],
    );
    const state = async (queue: string, id: string): Promise<unknown> =>
      (json(await s.call('GET', `/v1/queues/${queue}/jobs/${id}`, undefined, bearer(admin))) as { state: string })
        .state;
    assert.deepEqual([await state('jobs', mine), await state('other', foreign)], ['active', 'active']);
    await s.call('POST', '/v1/queues/other/purge', undefined, bearer(admin));
  });
});

void test("a request that comes on a kept-alive connection while the server closes is a 503 CLOSED in spool's JSON", async () => {
  const s = await start();
  /** A kept-alive connection: `send` writes as it is, `answer` waits for the text of the answer to end with `end`. */
  const keptAlive = () => {
    const socket = connect(Number(new URL(s.base).port), '127.0.0.1');
    let text = '';
    const waiters: (() => void)[] = [];
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (const wake of waiters.splice(0)) wake();
    });
    socket.on('close', () => {
      for (const wake of waiters.splice(0)) wake();
    });
    const answer = async (end: string): Promise<string> => {
      while (!text.endsWith(end) && !socket.destroyed) await new Promise<void>((resolve) => waiters.push(resolve));
      const whole = text;
      text = '';
      return whole;
    };
    return { socket, send: (bytes: string) => socket.write(bytes), answer };
  };
  const native = keptAlive();
  const blockQueue = keptAlive();
  native.send('GET /v1/queues/q/counts HTTP/1.1\r\nHost: spool\r\n\r\n');
  assert.match(await native.answer('}'), /^HTTP\/1.1 200 /);
  blockQueue.send('GET /topics HTTP/1.1\r\nHost: spool\r\n\r\n');
  assert.match(await blockQueue.answer('}'), /^HTTP\/1.1 200 /);
  // Each next request is begun, so its connection is not idle and stays open through the close.
  native.send('GET /v1/queues/q/counts HTTP/1.1\r\nHost: spool\r\n');
  blockQueue.send('GET /topics HTTP/1.1\r\nHost: spool\r\n');
  // A round trip on another connection: by its answer the server has read those first lines.
  assert.equal((await s.call('GET', '/healthz')).status, 200);
  const closed = s.server.close();
  native.send('\r\n');
  blockQueue.send('\r\n');
  // Before: fastify's {"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}.
  const [nativeAnswer, blockQueueAnswer] = await Promise.all([native.answer('}'), blockQueue.answer('}')]);
  await closed;
  await s.spool.close();
  const parse = (text: string) => {
    const [head = '', body = ''] = text.split('\r\n\r\n', 2);
    return { status: head.split(' ')[1], close: /^connection: close$/im.test(head), body: JSON.parse(body) as unknown };
  };
  assert.deepEqual(parse(nativeAnswer), {
    status: '503',
    close: true,
    body: { error: { code: 'CLOSED', message: 'server is closed', details: { what: 'server' } } },
  });
  assert.deepEqual(parse(blockQueueAnswer), {
    status: '503',
    close: true,
    body: { message: 'failure', error: 'server is closed' },
  });
});

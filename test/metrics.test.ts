// GET /metrics: scraped after jobs are added, leased, acked, failed, requeued and reclaimed, its text
// format parsed and every figure checked; auth, the store's failures and the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';
import type { HttpServer } from '../src/server/index.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { overriding } from './fixtures/overriding.ts';
import { request, start } from './server/harness.ts';
import type { Running } from './server/harness.ts';

/** Prometheus' text format as `name{label="v",…}` (labels sorted) → value; comments dropped. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  return samples.get(`${name}{${key}}`);
}

async function scrape(base: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const answer = await request(base, 'GET', '/metrics', undefined, headers);
  assert.equal(answer.status, 200, answer.text);
  return parse(answer.text);
}

const json = <T>(answer: { status: number; body: unknown; text: string }, status = 200): T => {
  assert.equal(answer.status, status, answer.text);
  return answer.body as T;
};

void describe('GET /metrics', () => {
  let s: Running;
  before(async () => {
    s = await start({ metricsQueues: ['idle'] });
  });
  after(() => s.close());

  void test('a queue named in the options shows its counts before anything used it', async () => {
    const m = await scrape(s.base);
    for (const state of ['waiting', 'delayed', 'active', 'dead', 'completed'])
      assert.equal(sample(m, 'spool_jobs', { queue: 'idle', state }), 0, state);
    assert.equal(sample(m, 'spool_queue_paused', { queue: 'idle' }), 0);
    assert.equal(sample(m, 'spool_jobs', { queue: 'm', state: 'waiting' }), undefined, 'no queue seen yet');
  });

  void test('adds, leases, an ack, a nack and a failure show in counters, histograms and counts', async () => {
    json(await s.call('POST', '/v1/queues/m/jobs/batch', { jobs: [{ data: 1 }, { data: 2 }, { data: 3 }] }), 201);
    json(await s.call('POST', '/v1/queues/m/jobs', { data: 4, options: { key: 'once', delay: '1h' } }), 201);
    // The same key again is the same job: not counted as added.
    json(await s.call('POST', '/v1/queues/m/jobs', { data: 4, options: { key: 'once', delay: '1h' } }), 201);
    const { jobs } = json<{ jobs: { token: string }[] }>(await s.call('POST', '/v1/lease', { queues: ['m'], max: 3 }));
    assert.equal(jobs.length, 3);
    const [a, b, c] = jobs.map((j) => j.token);
    json(await s.call('POST', '/v1/ack', { token: a }));
    json(await s.call('POST', '/v1/nack', { token: b, delay: '0s', error: 'again' }));
    json(await s.call('POST', '/v1/nack', { token: c, dead: true, error: 'no' }));

    const m = await scrape(s.base);
    const q = { queue: 'm' };
    assert.equal(sample(m, 'spool_jobs_added_total', q), 4);
    assert.equal(sample(m, 'spool_jobs_completed_total', q), 1);
    assert.equal(sample(m, 'spool_jobs_failed_total', q), 1);
    assert.equal(sample(m, 'spool_jobs_dead_total', q), 1);
    assert.equal(sample(m, 'spool_job_wait_seconds_count', q), 3);
    assert.equal(sample(m, 'spool_job_wait_seconds_bucket', { ...q, le: '+Inf' }), 3);
    assert.equal(sample(m, 'spool_job_run_seconds_count', { ...q, outcome: 'completed' }), 1);
    assert.equal(sample(m, 'spool_job_run_seconds_count', { ...q, outcome: 'failed' }), 1);
    assert.equal(sample(m, 'spool_job_run_seconds_count', { ...q, outcome: 'dead' }), 1);
    assert.deepEqual(
      ['waiting', 'delayed', 'active', 'dead', 'completed'].map((state) => sample(m, 'spool_jobs', { ...q, state })),
      [1, 1, 0, 1, 1],
    );
    // Nothing expired, nothing lost, no store error: the counters exist only once something happened.
    assert.equal(sample(m, 'spool_lease_expiries_total', q), undefined);
    assert.equal(sample(m, 'spool_leases_lost_total', q), undefined);
    assert.equal(sample(m, 'spool_store_errors_total', { route: '/metrics' }), undefined);
  });

  void test('/metrics is not in the OpenAPI document', async () => {
    const doc = json<{ paths: Record<string, unknown> }>(await s.call('GET', '/openapi.json'));
    assert.equal(Object.hasOwn(doc.paths, '/metrics'), false);
    assert.ok(Object.hasOwn(doc.paths, '/v1/lease'), 'the document has the other routes');
  });
});

/** A server on a Spool of its own, for a store and clock the test controls. */
async function serveOn(store: Store, clock = new ManualClock()) {
  const spool = await Spool.create(store, { clock });
  const server: HttpServer = await createServer({ spool });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    spool,
    base,
    clock,
    close: async () => {
      await server.close();
      await spool.close();
    },
  };
}

void test('a lease that ran out counts as an expiry when the job is leased again, and its late acks as lost, by the job or by its token', async () => {
  const s = await serveOn(new MemoryStore());
  try {
    const q = s.spool.queue('x');
    await q.add('job', { visibility: '10s' });
    const [first] = await s.spool.lease({ queues: 'x' });
    assert.ok(first);
    s.clock.advance(10_001);
    const [second] = await s.spool.lease({ queues: 'x' });
    assert.equal(second?.attempt, 2);
    await assert.rejects(first.ack(), { code: 'LEASE_LOST' });
    // An ack by token (HTTP's batch ack, RESP's ACKJOB) of the same lost lease counts as lost too;
    // a lease still held, named by a caller whose scope does not reach it, does not.
    assert.deepEqual(await s.spool.ack([first.token]), { acked: 0, lost: [first.token] });
    const elsewhere = { queues: ['y'], prefixes: [] };
    assert.deepEqual(await s.spool.ack([second.token], { within: elsewhere }), { acked: 0, lost: [second.token] });
    await second.ack();
    const m = await scrape(s.base);
    assert.equal(sample(m, 'spool_lease_expiries_total', { queue: 'x' }), 1);
    assert.equal(sample(m, 'spool_leases_lost_total', { queue: 'x' }), 2);
    assert.equal(sample(m, 'spool_jobs_completed_total', { queue: 'x' }), 1);
    // The clock stood still from the second lease to its ack; that lease came 1 ms after the first ran out.
    assert.equal(sample(m, 'spool_job_run_seconds_sum', { queue: 'x', outcome: 'completed' }), 0);
    assert.equal(sample(m, 'spool_job_wait_seconds_sum', { queue: 'x' }), 0.001);
  } finally {
    await s.close();
  }
});

void test('a requeue that leaves the job in line is no attempt outcome; one on the last attempt counts the death', async () => {
  const s = await serveOn(new MemoryStore());
  try {
    const q = s.spool.queue('r', { maxAttempts: 2 });
    await q.add('job');
    const [first] = await q.lease();
    assert.equal(await first!.requeue(), 'retry');
    const [second] = await q.lease();
    assert.equal(await second!.requeue(), 'dead');
    const m = await scrape(s.base);
    const queue = { queue: 'r' };
    assert.equal(sample(m, 'spool_jobs_failed_total', queue), undefined, 'no attempt failed');
    assert.equal(sample(m, 'spool_jobs_dead_total', queue), 1);
    assert.equal(sample(m, 'spool_job_run_seconds_count', { ...queue, outcome: 'dead' }), 1);
    assert.equal(sample(m, 'spool_job_run_seconds_count', { ...queue, outcome: 'failed' }), undefined);
    assert.equal(sample(m, 'spool_lease_expiries_total', queue), undefined, 'no lease ran out');
  } finally {
    await s.close();
  }
});

void test("the jobs of a worker in the server's own process are counted like those settled over HTTP", async () => {
  const s = await serveOn(new MemoryStore());
  try {
    const q = s.spool.queue<number>('w', { maxAttempts: 1 });
    await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
    let left = 3;
    const settled = new Promise<void>((resolve) => {
      const worker = q.process((job) => {
        if (job.data === 2) throw new Error('two');
      });
      const count = (): void => {
        if (--left === 0) void worker.close().then(resolve);
      };
      worker.on('completed', count);
      worker.on('dead', count);
    });
    await settled;
    const m = await scrape(s.base);
    assert.equal(sample(m, 'spool_jobs_completed_total', { queue: 'w' }), 2);
    assert.equal(sample(m, 'spool_jobs_dead_total', { queue: 'w' }), 1);
    assert.equal(sample(m, 'spool_job_run_seconds_count', { queue: 'w', outcome: 'completed' }), 2);
    assert.equal(sample(m, 'spool_jobs', { queue: 'w', state: 'dead' }), 1);
  } finally {
    await s.close();
  }
});

void test('a queue the store lists shows its counts from the first scrape, though this server never used it', async () => {
  // Jobs added before the server started (a restart), or by another process on a shared store.
  const store = new MemoryStore();
  const before = await Spool.create(store, { clock: new ManualClock() });
  await before.queue('backlog').addBulk([{ data: 1 }, { data: 2 }]);
  await before.queue('held').pause();
  const s = await serveOn(store);
  try {
    const m = await scrape(s.base);
    assert.equal(sample(m, 'spool_jobs', { queue: 'backlog', state: 'waiting' }), 2);
    assert.equal(sample(m, 'spool_queue_paused', { queue: 'backlog' }), 0);
    assert.equal(sample(m, 'spool_queue_paused', { queue: 'held' }), 1);
  } finally {
    await s.close();
    await before.close();
  }
});

void test('a store that fails: the scrape still answers, and the failures are counted by route', async () => {
  const inner = new MemoryStore();
  let failing = false;
  const store = overriding(inner, {
    counts: (params) => (failing ? Promise.reject(new Error('store down')) : inner.counts(params)),
  });
  const s = await serveOn(store);
  try {
    await s.spool.queue('y').add('job');
    failing = true;
    assert.equal((await request(s.base, 'GET', '/v1/queues/y/counts')).status, 500);
    const m = await scrape(s.base);
    assert.equal(sample(m, 'spool_store_errors_total', { route: '/metrics' }), 1);
    assert.equal(sample(m, 'spool_store_errors_total', { route: '/v1/queues/:queue/counts' }), 1);
    assert.equal(sample(m, 'spool_jobs', { queue: 'y', state: 'waiting' }), undefined, 'no stale counts');
    assert.equal(sample(m, 'spool_jobs_added_total', { queue: 'y' }), 1);
    failing = false;
    assert.equal(sample(await scrape(s.base), 'spool_jobs', { queue: 'y', state: 'waiting' }), 1);
  } finally {
    await s.close();
  }
});

void describe('GET /metrics with tokens', () => {
  let s: Running;
  const reader = 'consume-token-0123456789';
  const narrow = 'narrow-token-0123456789';
  before(async () => {
    s = await start({
      tokens: [
        { token: reader, scopes: ['consume'], prefix: '' },
        { token: narrow, scopes: ['admin'], prefix: 'jobs' },
      ],
    });
  });
  after(() => s.close());

  void test('needs a token of any scope that covers every queue', async () => {
    assert.equal((await request(s.base, 'GET', '/metrics')).status, 401);
    const forbidden = await request(s.base, 'GET', '/metrics', undefined, { authorization: `Bearer ${narrow}` });
    assert.equal(forbidden.status, 403);
    await scrape(s.base, { authorization: `Bearer ${reader}` });
  });
});

// The routes behind the dashboard (issue 18): listing and bounded payload search, bulk actions
// on a filter, the overview and its event stream, the audit log, whoami.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ManualClock, open, Spool } from '../src/index.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { searchBudget } from '../src/server/http/jobs.ts';
import { createServer } from '../src/server/index.ts';
import { start } from './server/harness.ts';
import type { Running } from './server/harness.ts';

const admin = 'admin-token-0123456789';
const reader = 'reader-token-0123456789';
let s: Running;
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const call = (method: string, path: string, body?: unknown) => s.call(method, path, body, as(admin));

before(async () => {
  s = await start({
    tokens: [
      { token: admin, scopes: ['admin'], prefix: '', name: 'ops' },
      { token: reader, scopes: ['consume'], prefix: 'team' },
    ],
  });
});
after(() => s.close());

interface Page {
  jobs: { id: string; data: { n: number; tag: string } }[];
  cursor: string | null;
  scanned: number;
}

void test('a payload search reads a bounded number of jobs per request and finds the match past them with the cursor', async () => {
  const total = searchBudget + 1_500;
  const jobs = Array.from({ length: total }, (_, n) => ({ data: { n, tag: n === total - 1 ? 'Needle' : 'hay' } }));
  for (let i = 0; i < jobs.length; i += 5_000)
    assert.equal((await call('POST', '/v1/queues/hay/jobs/batch', { jobs: jobs.slice(i, i + 5_000) })).status, 201);

  const first = (await call('GET', '/v1/queues/hay/jobs?state=waiting&q=needle')).body as Page;
  assert.deepEqual(first.jobs, []);
  assert.ok(first.scanned <= searchBudget, `read ${first.scanned} jobs in one request`);
  assert.notEqual(first.cursor, null);
  let page = first;
  let requests = 1;
  while (page.jobs.length === 0 && page.cursor !== null) {
    page = (await call('GET', `/v1/queues/hay/jobs?state=waiting&q=needle&cursor=${page.cursor}`)).body as Page;
    requests++;
  }
  assert.deepEqual(
    page.jobs.map((j) => j.data),
    [{ n: total - 1, tag: 'Needle' }],
  );
  assert.ok(requests >= 2);

  // Without q: a plain page.
  const plain = (await call('GET', '/v1/queues/hay/jobs?state=waiting&limit=3')).body as Page;
  assert.deepEqual(
    plain.jobs.map((j) => j.data.n),
    [0, 1, 2],
  );
});

void test('a bulk retry takes every dead job matching the search, and leaves the others dead', async () => {
  const ids = (
    (
      await call('POST', '/v1/queues/bulk/jobs/batch', {
        jobs: Array.from({ length: 6 }, (_, n) => ({ data: { n, tag: n % 2 === 0 ? 'even' : 'odd' } })),
      })
    ).body as { ids: string[] }
  ).ids;
  const { jobs } = (await call('POST', '/v1/lease', { queues: ['bulk'], max: 6 })).body as {
    jobs: { token: string }[];
  };
  for (const job of jobs) await call('POST', '/v1/nack', { token: job.token, dead: true });
  const retried = await call('POST', '/v1/queues/bulk/jobs/bulk', { action: 'retry', state: 'dead', q: 'even' });
  assert.deepEqual(retried.body, { changed: 3 });
  const counts = (await call('GET', '/v1/queues/bulk/counts')).body as { waiting: number; dead: number };
  assert.deepEqual([counts.waiting, counts.dead], [3, 3]);
  // retry is for dead jobs only.
  assert.equal((await call('POST', '/v1/queues/bulk/jobs/bulk', { action: 'retry', state: 'waiting' })).status, 400);
  // One by id; a job that is not dead is not found dead.
  const dead = ((await call('GET', '/v1/queues/bulk/jobs?state=dead')).body as Page).jobs[0]!.id;
  assert.deepEqual((await call('POST', `/v1/queues/bulk/jobs/${dead}/retry`)).body, { retried: 1 });
  assert.equal((await call('POST', `/v1/queues/bulk/jobs/${ids[0]}/retry`)).status, 404);
});

void test('a delayed job is promoted by id, every delayed job matching a search by a bulk promote, and a job not delayed is refused', async () => {
  const ids = (
    (
      await call('POST', '/v1/queues/later/jobs/batch', {
        jobs: Array.from({ length: 5 }, (_, n) => ({
          data: { n, tag: n < 3 ? 'soon' : 'late' },
          options: { delay: '1h' },
        })),
      })
    ).body as { ids: string[] }
  ).ids;
  assert.deepEqual((await call('POST', `/v1/queues/later/jobs/${ids[4]}/promote`)).body, { promoted: 1 });
  const refused = await call('POST', `/v1/queues/later/jobs/${ids[4]}/promote`);
  assert.equal(refused.status, 404);
  assert.deepEqual((refused.body as { error: { details: unknown } }).error.details, {
    kind: 'job',
    id: ids[4],
    within: 'later',
    reason: 'not delayed: it is waiting',
  });
  // promote is for delayed jobs only.
  assert.equal((await call('POST', '/v1/queues/later/jobs/bulk', { action: 'promote', state: 'dead' })).status, 400);
  const bulk = await call('POST', '/v1/queues/later/jobs/bulk', { action: 'promote', state: 'delayed', q: 'soon' });
  assert.deepEqual(bulk.body, { changed: 3 });
  let counts = (await call('GET', '/v1/queues/later/counts')).body as { waiting: number; delayed: number };
  assert.deepEqual([counts.waiting, counts.delayed], [4, 1]);
  // Without a filter: every delayed job, in one store call.
  assert.deepEqual((await call('POST', '/v1/queues/later/jobs/bulk', { action: 'promote', state: 'delayed' })).body, {
    changed: 1,
  });
  counts = (await call('GET', '/v1/queues/later/counts')).body as { waiting: number; delayed: number };
  assert.deepEqual([counts.waiting, counts.delayed], [5, 0]);
});

void test('the overview counts every queue it knows and its event stream sends a fresh snapshot every second', async () => {
  await call('POST', '/v1/queues/live/jobs', { data: 1 });
  const overview = (await call('GET', '/v1/overview')).body as {
    queues: { name: string; counts: { waiting: number }; unattended: boolean }[];
  };
  const live = overview.queues.find((q) => q.name === 'live');
  assert.equal(live?.counts.waiting, 1);
  assert.equal(live?.unattended, true);

  const abort = new AbortController();
  const response = await fetch(`${s.base}/v1/overview/events`, { headers: as(admin), signal: abort.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let added = false;
  for (;;) {
    const { value } = await reader.read();
    text += value ?? '';
    if (!added && text.includes('"name":"live"')) {
      added = true;
      await call('POST', '/v1/queues/live/jobs', { data: 2 });
    }
    if (/"name":"live","counts":\{"waiting":2/.test(text)) break;
  }
  abort.abort();
});

void test('a token limited to a prefix sees only its queues in the overview and may not read the audit log', async () => {
  await call('POST', '/v1/queues/team.a/jobs', { data: 1 });
  // The overview is sampled every second: the new queue shows in the next sample.
  let overview: { queues: { name: string }[] };
  do overview = (await s.call('GET', '/v1/overview', undefined, as(reader))).body as typeof overview;
  while (overview.queues.length === 0);
  assert.ok(overview.queues.every((q) => q.name.startsWith('team')));
  assert.equal((await s.call('GET', '/v1/audit', undefined, as(reader))).status, 403);
  assert.deepEqual((await s.call('GET', '/v1/whoami', undefined, as(reader))).body, {
    // A token without a name is named by the start of its SHA-256 digest, never by itself.
    who: `token ${createHash('sha256').update(reader).digest('hex').slice(0, 8)}`,
    auth: true,
    scopes: ['consume'],
    prefix: 'team',
  });
});

void test("a token limited to a prefix sees the worker processes of its queues only, not another tenant's hosts", async () => {
  const beat = (queue: string) => ({
    host: `host-of-${queue}`,
    pid: 7,
    startedAt: 1,
    workers: [{ queue, concurrency: 1, running: 0, prefetched: 0, completed: 0, failed: 0 }],
  });
  assert.equal((await call('PUT', '/v1/workers/elsewhere', beat('other.q'))).status, 200);
  assert.equal((await s.call('PUT', '/v1/workers/mine', beat('team.q'), as(reader))).status, 200);
  const hosts = async (token: string) =>
    ((await s.call('GET', '/v1/workers', undefined, as(token))).body as { processes: { host: string }[] }).processes
      .map((p) => p.host)
      .sort();
  assert.deepEqual(await hosts(reader), ['host-of-team.q']);
  assert.deepEqual(await hosts(admin), ['host-of-other.q', 'host-of-team.q']);
  await call('DELETE', '/v1/workers/elsewhere');
  await s.call('DELETE', '/v1/workers/mine', undefined, as(reader));
});

void test('every change through an admin route is in the audit log: who, what, on what, from where', async () => {
  await s.call('POST', '/v1/queues/audited/pause', undefined, { ...as(admin), 'x-spool-ui': '1' });
  await call('DELETE', '/v1/queues/audited/jobs/404');
  const { entries } = (await call('GET', '/v1/audit?limit=2')).body as {
    entries: { who: string; action: string; target: Record<string, string>; status: number; ui: boolean }[];
  };
  assert.deepEqual(
    entries.map(({ who, action, target, status, ui }) => ({ who, action, target, status, ui })),
    [
      {
        who: 'ops',
        action: 'DELETE /v1/queues/:queue/jobs/:id',
        target: { queue: 'audited', id: '404' },
        status: 404,
        ui: false,
      },
      { who: 'ops', action: 'POST /v1/queues/:queue/pause', target: { queue: 'audited' }, status: 200, ui: true },
    ],
  );
});

void test('a request without a known token writes nothing to the audit log (anyone could push the entries out)', async () => {
  await call('POST', '/v1/queues/audited/resume');
  const newest = async () =>
    ((await call('GET', '/v1/audit?limit=1')).body as { entries: { at: number; action: string }[] }).entries;
  const before = await newest();
  assert.equal(before[0]?.action, 'POST /v1/queues/:queue/resume');
  for (const headers of [{}, as('not-a-token-of-this-server'), { authorization: 'Basic b3BzOnB3' }]) {
    assert.equal((await s.call('POST', '/v1/queues/audited/purge', undefined, headers)).status, 401);
    assert.equal((await s.call('DELETE', '/v1/queues/audited/jobs/1', undefined, headers)).status, 401);
  }
  assert.deepEqual(await newest(), before);
});

void test('closing the server ends the overview streams still open instead of waiting on them', async () => {
  const other = await start();
  const response = await fetch(`${other.base}/v1/overview/events`);
  const reader = response.body!.getReader();
  await reader.read();
  await other.close();
  // The stream ends: read until done.
  while (!(await reader.read()).done);
});

void test('the overview lists the queues the store holds, those added before this server started too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-overview-'));
  try {
    const before = await open(`file:${dir}`);
    await before.queue('earlier').add({ n: 1 });
    await before.close();
    const spool = await open(`file:${dir}`);
    const server = await createServer({ spool });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const { queues } = (await (await fetch(`${base}/v1/overview`)).json()) as {
      queues: { name: string; counts: { waiting: number } }[];
    };
    assert.deepEqual(
      queues.map((q) => [q.name, q.counts.waiting]),
      [['earlier', 1]],
    );
    await server.close();
    await spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("the overview's ages are by the Spool's clock, which dated the jobs", async () => {
  const clock = new ManualClock();
  const spool = await Spool.create(new MemoryStore(), { clock });
  const server = await createServer({ spool });
  try {
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    await spool.queue('aged').add({ n: 1 });
    clock.advance(90_000);
    const { at, queues } = (await (await fetch(`${base}/v1/overview`)).json()) as {
      at: number;
      queues: { name: string; oldestMs: number | null }[];
    };
    // Before, a wall-clock now made the age of a job dated by this clock (2026-01-01) months.
    assert.equal(at, clock.now());
    assert.deepEqual(
      queues.map((q) => [q.name, q.oldestMs]),
      [['aged', 90_000]],
    );
  } finally {
    await server.close();
    await spool.close();
  }
});

// The server under faults and attack (issue 20): /healthz fails when the store cannot take
// calls; a token's prefix reaches whole name segments; a token for another tenant's job answers
// as a lost lease, active or not; a batch ack checks every token before acking any; listings are
// bounded; every legal name is reachable on every route; what fastify or Node refuse answers in
// spool's error shape; a body over the payload limit is refused before it is read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serveSettings } from '../src/cli/settings.ts';
import { connect } from '../src/client/index.ts';
import { open, Spool } from '../src/index.ts';
import { reaches, scopeOf } from '../src/server/http/auth.ts';
import { inScope } from '../src/store/contract.ts';
import { createServer } from '../src/server/index.ts';
import { FileStore } from '../src/store/file/file-store.ts';
import { PrivateRedis, redisServerProblem, skipUnless } from './fixtures/redis.ts';
import { CrashDisk } from './support/crash-io.ts';
import { request, start } from './server/harness.ts';
import type { Answer, Running } from './server/harness.ts';

const json = (answer: Answer) => answer.body as Record<string, unknown>;
const errorOf = (answer: Answer) => (json(answer).error ?? {}) as { code?: string; message?: string };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Sends raw bytes on a fresh connection; resolves with all the server sent back before it closed. */
function raw(base: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connectSocket(Number(port), hostname, () => socket.write(bytes));
    let got = '';
    socket.on('data', (chunk: Buffer) => (got += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
  });
}

void describe('/healthz', () => {
  void test('answers 503 with the reason once the file store has failed, and 200 before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-health-'));
    const disk = new CrashDisk(5);
    const spool = await Spool.create(await FileStore.open(dir, { io: disk.io(), durability: 'fsync' }));
    const token = 'admin-token-0123456789';
    const server = await createServer({ spool, tokens: [{ token, scopes: ['admin'], prefix: '' }] });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      assert.deepEqual((await request(base, 'GET', '/healthz')).body, { ok: true });
      assert.equal((await request(base, 'POST', '/v1/queues/q/jobs', { data: 1 }, bearer(token))).status, 201);
      disk.failDatasync(1, (name) => name.endsWith('.seg'));
      const failed = await request(base, 'POST', '/v1/queues/q/jobs', { data: 2 }, bearer(token));
      assert.equal(failed.status, 500);
      assert.equal(errorOf(failed).code, 'STORAGE');

      const trusted = await request(base, 'GET', '/healthz', undefined, bearer(token));
      assert.equal(trusted.status, 503);
      const { ok, reason } = json(trusted) as { ok: boolean; reason: string };
      assert.equal(ok, false);
      assert.match(reason, /EIO/);
      // Without a token the reason, which names the data directory, stays in the log.
      const anonymous = await request(base, 'GET', '/healthz');
      assert.equal(anonymous.status, 503);
      assert.deepEqual(anonymous.body, { ok: false, reason: 'see the server log' });
    } finally {
      await server.close();
      await spool.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test(
    'answers 503 while Redis is down and 200 once it is back',
    { skip: skipUnless(redisServerProblem(), 'the redis-server binary', 'install redis-server') },
    async () => {
      const redis = await PrivateRedis.start();
      const spool = await open(redis.url);
      const server = await createServer({ spool });
      const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
      // The store tells what its client saw; the client sees the loss and the return a moment after.
      const healthz = async (status: number) => {
        for (;;) {
          const answer = await request(base, 'GET', '/healthz');
          if (answer.status === status) return answer.body;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      try {
        assert.deepEqual(await healthz(200), { ok: true });
        await redis.kill();
        const down = (await healthz(503)) as { ok: boolean; reason: string };
        assert.equal(down.ok, false);
        assert.match(down.reason, /^redis connection (close|reconnecting|connecting)$/);
        await redis.boot();
        assert.deepEqual(await healthz(200), { ok: true });
      } finally {
        await server.close();
        await spool.close().catch(() => {});
        await redis.stop();
      }
    },
  );

  void test('the memory store is healthy until closed', async () => {
    const s = await start();
    assert.deepEqual(await s.spool.health(), { ok: true });
    await s.close();
    assert.deepEqual(await s.spool.health(), { ok: false, reason: 'closed' });
  });
});

void describe('token prefixes reach whole name segments', () => {
  void test('a prefix reaches itself, the names under it after "." or ":", and nothing else unless it ends in "*"', () => {
    const cases: [string, string, boolean][] = [
      ['', 'anything', true],
      ['tenant-a', 'tenant-a', true],
      ['tenant-a', 'tenant-a.billing', true],
      ['tenant-a', 'tenant-a:jobs', true],
      ['tenant-a', 'tenant-ab', false],
      ['tenant-a', 'tenant-a-b', false],
      ['tenant-a', 'tenant-a_b', false],
      ['tenant-a', 'tenant', false],
      ['tenant-a.', 'tenant-a.x', true],
      ['tenant-a.', 'tenant-a', false],
      ['tenant-a:', 'tenant-a:x', true],
      ['tenant-*', 'tenant-ab', true],
      ['tenant-*', 'tenan', false],
      ['*', 'anything', true],
    ];
    for (const [prefix, name, expected] of cases) {
      assert.equal(reaches(prefix, name), expected, `${prefix} → ${name}`);
      // The same reach as a store holds it in a batch ack.
      const scope = scopeOf(prefix);
      assert.equal(scope === undefined || inScope(scope, name), expected, `scope of ${prefix} → ${name}`);
    }
  });

  void test('a prefix that is no name is refused when the server starts', async () => {
    const spool = await Spool.create(new (await import('../src/store/memory/index.ts')).MemoryStore());
    try {
      for (const prefix of ['tenant a', 'a*b', '**', 'x'.repeat(201)])
        await assert.rejects(
          createServer({ spool, tokens: [{ token: 'a-token-0123456789', scopes: ['admin'], prefix }] }),
          (error: Error & { code?: string }) => error.code === 'VALIDATION',
          prefix,
        );
    } finally {
      await spool.close();
    }
  });
});

void describe('HTTP tokens: tenants, foreign leases and batches', () => {
  let s: Running;
  const admin = 'admin-token-0123456789';
  const tenantA = 'tenant-a-token-0123456789';
  before(async () => {
    s = await start({
      tokens: [
        { token: admin, scopes: ['admin'], prefix: '' },
        { token: tenantA, scopes: ['publish', 'consume'], prefix: 'tenant-a' },
      ],
    });
  });
  after(() => s.close());

  const lease = async (queue: string, token: string) => {
    const answer = await s.call('POST', '/v1/lease', { queues: [queue], visibility: '1m' }, bearer(token));
    assert.equal(answer.status, 200, answer.text);
    const [job] = (json(answer) as { jobs: { id: string; token: string }[] }).jobs;
    assert.ok(job !== undefined, `nothing to lease in ${queue}`);
    return job;
  };
  const counts = async (queue: string) =>
    json(await s.call('GET', `/v1/queues/${queue}/counts`, undefined, bearer(admin)));

  void test('scope tenant-a reaches tenant-a and tenant-a.x, not tenant-ab', async () => {
    assert.equal((await s.call('POST', '/v1/queues/tenant-a/jobs', { data: 1 }, bearer(tenantA))).status, 201);
    assert.equal((await s.call('POST', '/v1/queues/tenant-a.x/jobs', { data: 1 }, bearer(tenantA))).status, 201);
    const other = await s.call('POST', '/v1/queues/tenant-ab/jobs', { data: 1 }, bearer(tenantA));
    assert.equal(other.status, 403);
    assert.equal(errorOf(other).code, 'FORBIDDEN');
    assert.equal((await s.call('POST', '/v1/lease', { queues: ['tenant-ab'] }, bearer(tenantA))).status, 403);
    assert.equal((await s.call('GET', '/v1/queues/tenant-ab/peek', undefined, bearer(tenantA))).status, 403);
    assert.equal((await counts('tenant-ab')).waiting, 0);
    await s.call('POST', '/v1/queues/tenant-a/purge', undefined, bearer(admin));
    await s.call('POST', '/v1/queues/tenant-a.x/purge', undefined, bearer(admin));
  });

  void test("another tenant's token answers as a lost lease whether its job is active or not", async () => {
    await s.call('POST', '/v1/queues/tenant-ab/jobs', { data: 'theirs' }, bearer(admin));
    const foreign = await lease('tenant-ab', admin);
    const settles: [string, object][] = [
      ['/v1/ack', { token: foreign.token }],
      ['/v1/nack', { token: foreign.token }],
      ['/v1/release', { token: foreign.token }],
      ['/v1/extend', { token: foreign.token, ms: '1h' }],
      ['/v1/ack/batch', { tokens: [foreign.token] }],
    ];
    const answers = async () => {
      const all: [number, unknown][] = [];
      for (const [path, body] of settles) {
        const answer = await s.call('POST', path, body, bearer(tenantA));
        all.push([answer.status, answer.status === 200 ? json(answer) : errorOf(answer).code]);
      }
      return all;
    };
    const whileActive = await answers();
    // The batch names the token in `lost`, as it does a lease that expired.
    assert.deepEqual(whileActive, [
      ...settles.slice(0, -1).map(() => [409, 'LEASE_LOST']),
      [200, { acked: 0, lost: [foreign.token] }],
    ]);
    // None of them touched the job: it is still leased by its holder.
    assert.equal((await counts('tenant-ab')).active, 1);
    assert.equal((await s.call('POST', '/v1/ack', { token: foreign.token }, bearer(admin))).status, 200);
    assert.deepEqual(await answers(), whileActive);
  });

  void test('a batch ack checks every token first: a foreign one is reported as lost and left untouched', async () => {
    await s.call('POST', '/v1/queues/tenant-a/jobs', { data: 'mine' }, bearer(tenantA));
    await s.call('POST', '/v1/queues/tenant-ab/jobs', { data: 'theirs' }, bearer(admin));
    const own = await lease('tenant-a', tenantA);
    const foreign = await lease('tenant-ab', admin);
    // A malformed token among good ones: 400, and nothing acked.
    const malformed = await s.call('POST', '/v1/ack/batch', { tokens: [own.token, 'nonsense'] }, bearer(tenantA));
    assert.equal(malformed.status, 400);
    assert.equal((await counts('tenant-a')).active, 1);
    // The foreign token gets the answer of a lost lease, whatever its job's state; the own one is acked.
    const batch = await s.call('POST', '/v1/ack/batch', { tokens: [own.token, foreign.token] }, bearer(tenantA));
    assert.deepEqual(json(batch), { acked: 1, lost: [foreign.token] });
    assert.equal((await counts('tenant-a')).active, 0);
    assert.equal((await counts('tenant-ab')).active, 1);
    await s.call('POST', '/v1/ack', { token: foreign.token }, bearer(admin));
  });
});

void test('long-polls outlast the idle and request time-outs: they answer at the end of their own wait', async () => {
  const s = await start({ idleTimeout: '100ms', requestTimeout: '200ms' });
  try {
    await s.call('POST', '/v1/topics', { name: 'polls', subscribers: { reader: {} } });
    // Nothing arrives: each answers only when its wait, well past both time-outs, is over.
    const [lease, read] = await Promise.all([
      s.call('POST', '/v1/lease', { queues: ['polls'], wait: '1s' }),
      s.call('GET', '/topics/polls/subscribers/reader?timeout=1s'),
    ]);
    assert.deepEqual([lease.status, lease.body], [200, { jobs: [] }]);
    assert.deepEqual([read.status, read.body], [200, { message: 'success', data: [] }]);
  } finally {
    await s.close();
  }
});

void test('spool serve reads --idle-timeout, --request-timeout and --max-connections once, and refuses bad ones', async () => {
  const settings = serveSettings({ idleTimeout: '2s', requestTimeout: '1m' }, { SPOOL_MAX_CONNECTIONS: '64' });
  assert.deepEqual([settings.idleTimeoutMs, settings.requestTimeoutMs, settings.maxConnections], [2000, 60_000, 64]);
  const defaults = serveSettings({}, {});
  assert.deepEqual([defaults.idleTimeoutMs, defaults.requestTimeoutMs, defaults.maxConnections], [5000, 30_000, null]);
  for (const flags of [{ maxConnections: '0' }, { maxConnections: 'many' }, { idleTimeout: 'soon' }])
    assert.throws(() => serveSettings(flags, {}), { code: 'VALIDATION' });
  const spool = await open('memory:');
  try {
    for (const options of [{ idleTimeout: 0 }, { requestTimeout: '0ms' }, { maxConnections: 1.5 }])
      await assert.rejects(createServer({ spool, ...options }), { code: 'VALIDATION' });
  } finally {
    await spool.close();
  }
});

void describe('HTTP limits and edges', () => {
  let s: Running;
  before(async () => {
    s = await start({ bodyLimit: 64 << 20 });
  });
  after(() => s.close());

  void test('peek and the dead list answer at most 1000 jobs; more is a 400 in the error shape, and the schema says so', async () => {
    await s.call('POST', '/v1/queues/big/jobs/batch', { jobs: Array.from({ length: 1001 }, (_, i) => ({ data: i })) });
    const most = json(await s.call('GET', '/v1/queues/big/peek?n=1000')) as { jobs: unknown[] };
    assert.equal(most.jobs.length, 1000);
    for (const path of [
      '/v1/queues/big/peek?n=1001',
      '/v1/queues/big/peek?n=999999',
      '/v1/queues/big/dead?limit=1001',
    ]) {
      const answer = await s.call('GET', path);
      assert.equal(answer.status, 400, path);
      assert.equal(errorOf(answer).code, 'VALIDATION');
      assert.match(errorOf(answer).message ?? '', /at most 1000/);
      // Where the rest is: peek has no cursor, the dead list has one.
      assert.match(
        errorOf(answer).message ?? '',
        path.includes('peek') ? /GET \/v1\/queues\/\{queue\}\/jobs\?state=waiting/ : /cursor/,
      );
    }
    const audit = await s.call('GET', '/v1/audit?limit=1001');
    assert.equal(audit.status, 400);
    assert.match(errorOf(audit).message ?? '', /at most 1000, got 1001; the log keeps no more than that$/);
    const doc = json(await s.call('GET', '/openapi.json')) as {
      paths: Record<string, { get: { parameters: { name: string; description?: string }[] } }>;
    };
    const peekN = doc.paths['/v1/queues/{queue}/peek']?.get.parameters.find((p) => p.name === 'n');
    assert.equal(peekN?.description, 'at most 1000');
  });

  void test('the topic list pages on with its cursor, and the client follows it', async () => {
    for (const name of ['pa', 'pb', 'pc']) await s.call('POST', '/v1/topics', { name });
    const first = json(await s.call('GET', '/v1/topics?limit=2'));
    assert.deepEqual(first, { topics: ['pa', 'pb'], cursor: 'pb' });
    assert.deepEqual(json(await s.call('GET', '/v1/topics?limit=2&cursor=pb')), { topics: ['pc'], cursor: null });
    assert.equal((await s.call('GET', '/v1/topics?limit=1001')).status, 400);
    assert.deepEqual(await connect(s.base).topics(), ['pa', 'pb', 'pc']);
  });

  void test('a queue or topic name of 200 characters is reachable on every route, even percent-encoded', async () => {
    const queue = `q${':'.repeat(199)}`;
    const path = encodeURIComponent(queue);
    assert.equal(queue.length, 200);
    assert.ok(path.length > 500);
    const added = await s.call('POST', `/v1/queues/${path}/jobs`, { data: 'long' });
    assert.equal(added.status, 201, added.text);
    const { id } = json(added) as { id: string };
    for (const route of [`jobs/${id}`, `jobs/${id}/result`, 'peek', 'counts', 'dead']) {
      const answer = await s.call('GET', `/v1/queues/${path}/${route}`);
      assert.equal(answer.status, 200, `${route}: ${answer.text}`);
    }
    // Topic and subscriber names are at most 99 characters (`<topic>.<subscriber>` is a queue name).
    const topic = encodeURIComponent(`t${':'.repeat(98)}`);
    const subscriber = encodeURIComponent(`s${':'.repeat(98)}`);
    const created = await s.call('POST', '/topics', {
      name: `t${':'.repeat(98)}`,
      subscribers: [{ name: `s${':'.repeat(98)}` }],
    });
    assert.equal(created.status, 200, created.text);
    const published = await s.call('POST', `/topics/${topic}/messages`, { message: 'hi' });
    assert.equal(published.status, 200, published.text);
    for (const path of [
      `/topics/${topic}/subscribers/${subscriber}?timeout=1ms`,
      `/topics/${topic}/subscribers/${subscriber}/messages`,
      `/v1/topics/${topic}/status`,
    ]) {
      const answer = await s.call('GET', path);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    }
  });

  void test('what the router and the HTTP parser refuse answers in the error shape', async () => {
    const tooLong = await s.call('GET', `/v1/queues/${'x'.repeat(700)}/counts`);
    assert.equal(tooLong.status, 400);
    assert.equal(errorOf(tooLong).code, 'VALIDATION');
    const badEscape = await s.call('GET', '/v1/queues/%zz/counts');
    assert.equal(badEscape.status, 400);
    assert.equal(errorOf(badEscape).code, 'VALIDATION');
    const garbage = await raw(s.base, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.deepEqual(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)), {
      error: {
        code: 'VALIDATION',
        message: 'request: is not valid HTTP',
        details: { field: 'request', problem: 'is not valid HTTP' },
      },
    });
    assert.deepEqual(json(await s.call('GET', '/healthz')), { ok: true });
  });

  // Before the fix the server waited for the 5 MiB it was told of: the time-out ends that wait.
  void test(
    'a job body over the payload limit is refused from its Content-Length, before the body is sent',
    { timeout: 20_000 },
    async () => {
      // The server's body limit is 64 MiB; the spool's payload limit (1 MiB) bounds a one-job body.
      for (const path of ['/v1/queues/q/jobs', '/v1/topics/t/messages', '/topics/t/messages']) {
        const answer = await raw(
          s.base,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${5 << 20}\r\nConnection: close\r\n\r\n`,
        );
        assert.match(answer, /^HTTP\/1\.1 413 /, path);
        assert.match(answer, /TOO_LARGE|over the limit/, path);
      }
      assert.equal(json(await s.call('GET', '/v1/queues/q/counts')).waiting, 0);
    },
  );
});

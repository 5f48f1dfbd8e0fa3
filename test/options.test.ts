import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ClosedError,
  ManualClock,
  open,
  parseDuration,
  Spool,
  TimeoutError,
  UnknownStoreError,
  ValidationError,
} from '../src/index.ts';
import type { BackoffOptions, JobOptions, LeasedJob } from '../src/index.ts';
import { fileStoreDir } from '../src/open.ts';
import { maxDurationMs } from '../src/core/duration.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { serveSettings } from '../src/cli/settings.ts';
import { backoffDelayMs } from '../src/store/contract.ts';

void test('durations take milliseconds or unit strings, parsed once', () => {
  assert.equal(parseDuration(250, 'd'), 250);
  assert.equal(parseDuration('250ms', 'd'), 250);
  assert.equal(parseDuration('30s', 'd'), 30_000);
  assert.equal(parseDuration('5m', 'd'), 300_000);
  assert.equal(parseDuration('1h30m', 'd'), 5_400_000);
  assert.equal(parseDuration('1d', 'd'), 86_400_000);
  assert.equal(parseDuration('1.5s', 'd'), 1500);
  for (const bad of ['5 parsecs', '-1s', '', 'm', '5 m s', '1h30', 'forever', -1, NaN, Infinity, null, {}]) {
    assert.throws(
      () => parseDuration(bad, 'options.delay'),
      (e: unknown) => e instanceof ValidationError && e.field === 'options.delay',
      JSON.stringify(bad),
    );
  }
});

void test('durations take the spellings people write, one grammar', () => {
  const cases: [string, number][] = [
    ['5min', 300_000],
    ['5 mins', 300_000],
    ['1.5h', 5_400_000],
    ['2 days', 172_800_000],
    ['1 day', 86_400_000],
    ['1h 30m', 5_400_000],
    ['250 ms', 250],
    ['10 seconds', 10_000],
    ['2 hours', 7_200_000],
    ['1w', 604_800_000],
    [' 5MIN ', 300_000],
    ['.5s', 500],
    ['0', 0],
    ['1000', 1000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text, 'd'), ms, text);
});

void test('the same grammar at every edge: CLI flags, SPOOL_* variables, store URLs', async () => {
  assert.equal(serveSettings({ maxWait: '2 minutes' }, {}).maxWaitMs, 120_000);
  assert.equal(serveSettings({}, { SPOOL_MAX_WAIT: '1.5h' }).maxWaitMs, 5_400_000);
  assert.throws(
    () => serveSettings({}, { SPOOL_MAX_WAIT: '9'.repeat(400) }),
    (e: unknown) => e instanceof ValidationError && e.field === '--max-wait',
  );
  const dir = mkdtempSync(join(tmpdir(), 'spool-interval-'));
  try {
    await using spool = await open(`file:${dir}?durability=interval&interval=1.5s`);
    assert.equal(spool.capabilities.durable, 'process-crash');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a duration has one range: a huge number is the same ValidationError as digits or as a number', () => {
  const refused = (value: unknown) =>
    assert.throws(
      () => parseDuration(value, 'visibility'),
      (e: unknown) =>
        e instanceof ValidationError && e.field === 'visibility' && e.message.includes('not exceed 100 years'),
      String(value).slice(0, 20),
    );
  refused('9'.repeat(400));
  refused(Number('9'.repeat(400)));
  refused(Infinity);
  refused('9999999999h');
  refused(maxDurationMs + 1);
  assert.equal(parseDuration(maxDurationMs, 'd'), maxDurationMs);
  assert.equal(parseDuration('36500 days', 'd'), 36_500 * 86_400_000);
  // A wait that may end only when something happens opts in to Infinity and 'forever'.
  assert.equal(parseDuration('forever', 'wait', { forever: true }), Infinity);
  assert.equal(parseDuration(Infinity, 'wait', { forever: true }), Infinity);
  assert.throws(() => parseDuration('9'.repeat(400), 'wait', { forever: true }), ValidationError);
});

void test("a time-out past setTimeout's longest wait (24.8 days) is waited whole: a waitFor's and a handler's of 30 days", async (t) => {
  const spool = await open('memory:');
  const waited = await spool.queue('month-wait').add('x');
  await spool.queue('month-work').add('y');
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() });
  let outcome: unknown = 'waiting';
  let aborted: unknown = null;
  try {
    spool
      .queue('month-wait')
      .waitFor(waited, { timeout: '30d' })
      .then(
        (v) => (outcome = v),
        (e: unknown) => (outcome = e),
      );
    const handler = (job: LeasedJob): Promise<void> =>
      new Promise((resolve) => job.signal.addEventListener('abort', () => resolve(void (aborted = job.signal.reason))));
    // A lease longer than the time-out: nothing but the time-out ends the attempt.
    spool.queue('month-work').process(handler, { timeout: '30d', visibility: '40d', autoExtend: false });
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    await turns();
    const month = 30 * 86_400_000;
    t.mock.timers.tick(2 ** 31);
    await turns();
    // Cut to the longest wait, both ran out here, 5 days early.
    assert.deepEqual({ outcome, aborted }, { outcome: 'waiting', aborted: null });
    t.mock.timers.tick(month - 10 - 2 ** 31);
    await turns();
    assert.deepEqual({ outcome, aborted }, { outcome: 'waiting', aborted: null });
    t.mock.timers.tick(20);
    await turns();
    assert.ok(outcome instanceof TimeoutError, String(outcome));
    assert.ok(aborted instanceof TimeoutError, String(aborted));
  } finally {
    t.mock.timers.reset();
    await spool.close({ timeout: 0 });
  }
});

void test('backoff takes a number of ms or a duration string as a fixed delay, wherever options are read', async () => {
  const clock = new ManualClock();
  await using spool = await Spool.create(new MemoryStore(), { clock });
  for (const [backoff, ms] of [
    [0, 0],
    [1000, 1000],
    ['1s', 1000],
    ['5min', 300_000],
  ] as const) {
    const q = spool.queue(`q${ms}`, { backoff });
    const id = await q.add('x');
    const [job] = await q.lease();
    assert.equal(await job?.nack(), 'retry');
    assert.equal((await q.get(id))?.runAt, clock.now() + ms, String(backoff));
  }
  // A job's own option and a topic subscriber's take it too.
  const q = spool.queue('own');
  const id = await q.add('x', { backoff: '2s' });
  const [job] = await q.lease();
  await job?.nack();
  assert.equal((await q.get(id))?.runAt, clock.now() + 2000);
  const topic = spool.topic('t');
  await topic.create({ s: { backoff: 250 } });
  assert.deepEqual((await topic.info()).subscribers[0]?.backoff, {
    kind: 'fixed',
    delayMs: 250,
    maxDelayMs: 3_600_000,
    jitter: 0,
  });
  for (const bad of [true, null, [], '1 parsec', -5]) {
    assert.throws(
      () => spool.queue('bad', { backoff: bad as never }),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.field === 'options.backoff' &&
        (typeof bad === 'number' || typeof bad === 'string' || e.message.includes("'fixed' | 'exponential'")),
      JSON.stringify(bad),
    );
  }
});

void test('back-off: fixed, exponential doubling up to its cap, jitter takes a random share off', () => {
  const fixed = { kind: 'fixed', delayMs: 500, maxDelayMs: 500, jitter: 0 } as const;
  assert.deepEqual(
    [1, 2, 5].map((a) => backoffDelayMs(fixed, a, 0.9)),
    [500, 500, 500],
  );
  const exp = { kind: 'exponential', delayMs: 1000, maxDelayMs: 30_000, jitter: 0 } as const;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelayMs(exp, a, 0)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  );
  const jittered = { ...exp, jitter: 0.5 };
  assert.equal(backoffDelayMs(jittered, 2, 0), 2000);
  assert.equal(backoffDelayMs(jittered, 2, 0.5), 1500);
  assert.equal(backoffDelayMs(jittered, 2, 0.999), 1001);
});

void test('open refuses a connection string no store answers to, and opens memory:', async () => {
  await assert.rejects(open('carrier-pigeon://coop'), UnknownStoreError);
  await using spool = await open('memory:');
  assert.equal(spool.capabilities.durable, 'none');
});

// `file://spool-data` opened the root directory (the URL's host dropped), `sqlite://q.db` the file /q.db.
void test('a local store URL with a host (scheme://name) is a ValidationError of url; scheme:/// and file://localhost/ open', async () => {
  const hostRefused = (e: unknown) =>
    e instanceof ValidationError && e.field === 'url' && e.message.includes('names a host');
  // Read without opening: on a regression these would open the root directory.
  for (const url of ['file://spool-data', 'file://./d']) assert.throws(() => fileStoreDir(url), hostRefused, url);
  const dir = mkdtempSync(join(tmpdir(), 'spool-url-'));
  try {
    // `//tmp/…` is the same path as `/tmp/…`: what these opened before stays inside dir.
    const host = dir.slice(1);
    for (const url of [`sqlite://${host}/q.db`, `sqlite://${host}/q.db?synchronous=normal`, `leveldb://${host}/l`])
      await assert.rejects(open(url), hostRefused, url);
    assert.deepEqual(readdirSync(dir), []);
    // dir is absolute: `file://${dir}` is file:///tmp/….
    for (const url of [`file://${dir}/f`, `file://localhost${dir}/g`, `sqlite://${dir}/q.db`, `leveldb://${dir}/l`]) {
      await using spool = await open(url);
      await spool.queue('q').add('x');
    }
    assert.deepEqual(readdirSync(dir).sort(), ['f', 'g', 'l', 'q.db']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// sqlite:///tmp/a%20b.db opened "a b.db" and sqlite:./a%20b.db "a%20b.db" (leveldb: alike), file:
// decoded neither, and file:///tmp/my data opened "my%20data".
void test('a local store path is taken as written in every form; a scheme:/// path that stores read differently is refused', async () => {
  const ambiguous = (e: unknown) =>
    e instanceof ValidationError && e.field === 'url' && e.message.includes('ambiguous');
  const dir = mkdtempSync(join(tmpdir(), 'spool-url-'));
  try {
    for (const scheme of ['file', 'sqlite', 'libsql', 'leveldb']) {
      await assert.rejects(open(`${scheme}://${dir}/${scheme}%20escaped`), ambiguous, scheme);
      await using _literal = await open(`${scheme}:${dir}/${scheme}%20literal`);
    }
    for (const url of [`file://${dir}/a space`, `file://${dir}/caf\u00e9`, `file://${dir}/x/../y`, `file://${dir}/h#x`])
      await assert.rejects(open(url), ambiguous, url);
    assert.deepEqual(fileStoreDir(`file:${dir}/a%20b?durability=none`), `${dir}/a%20b`);
    {
      // A space is the same character to every reading of sqlite:///, and taken as written.
      await using _spaced = await open(`sqlite://${dir}/a space.db`);
    }
    assert.deepEqual(readdirSync(dir).sort(), [
      'a space.db',
      'file%20literal',
      'leveldb%20literal',
      'libsql%20literal',
      'sqlite%20literal',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a store URL parameter the store does not know is a ValidationError naming it and the known ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-url-'));
  try {
    await assert.rejects(
      open(`file:${dir}?durabilty=none`),
      (e: unknown) =>
        e instanceof ValidationError && e.field === 'durabilty' && e.message.includes('durability, interval, repair'),
    );
    // An interval without durability=interval would be unused: the store syncs every call.
    await assert.rejects(
      open(`file:${dir}?interval=100ms`),
      (e: unknown) => e instanceof ValidationError && e.field === 'interval' && e.message.includes('durability=fsync'),
    );
    await assert.rejects(
      open(`file:${dir}?durability=none&interval=100ms`),
      (e: unknown) => e instanceof ValidationError && e.field === 'interval',
    );
    await assert.rejects(
      open(`file:${dir}?repair=yes`),
      (e: unknown) => e instanceof ValidationError && e.field === 'repair',
    );
    // Nothing was opened, so nothing holds the directory: the right spelling opens it.
    await using spool = await open(`file:${dir}?durability=none`);
    assert.equal(spool.capabilities.durable, 'process-crash');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    open('memory:?durability=none'),
    (e: unknown) => e instanceof ValidationError && e.field === 'durability',
  );
  await assert.rejects(
    open('redis://127.0.0.1:1/?prefx=a'),
    (e: unknown) =>
      e instanceof ValidationError && e.field === 'prefx' && e.message.includes('prefix, replicateTimeout'),
  );
});

// `get` reads the first of two: `?durability=none&durability=fsync` opened a store that never synced.
void test('a store URL parameter given twice is a ValidationError naming it, on every store, before anything opens', async () => {
  const twice = (name: string) => (e: unknown) =>
    e instanceof ValidationError && e.field === name && e.message.includes('given twice');
  const dir = mkdtempSync(join(tmpdir(), 'spool-url-'));
  try {
    const urls: [string, string][] = [
      [`file:${dir}/f?durability=none&durability=fsync`, 'durability'],
      [`file://${dir}/f?repair=0&durability=none&repair=1`, 'repair'],
      [`sqlite:${dir}/q.db?synchronous=normal&synchronous=full`, 'synchronous'],
      [`libsql:${dir}/q.db?busyTimeout=1s&busyTimeout=1s`, 'busyTimeout'],
      [`leveldb:${dir}/l?durability=none&durability=fsync`, 'durability'],
      // Nothing listens on port 1: a refusal anywhere but in the URL would be a StorageError.
      ['redis://127.0.0.1:1/?timeout=1&timeout=2', 'timeout'],
      ['redis+cluster://127.0.0.1:1?prefix=a&prefix=b', 'prefix'],
      ['postgres://postgres@127.0.0.1:1/test?schema=a&schema=b', 'schema'],
      ['postgresql://postgres@127.0.0.1:1/test?statementTimeout=1s&statementTimeout=2s', 'statementTimeout'],
      ['postgres://postgres@127.0.0.1:1/test?sslmode=disable&sslmode=require', 'sslmode'],
    ];
    for (const [url, name] of urls) await assert.rejects(open(url), twice(name), url);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// open() read redis:// and postgres:// durations before the store checked its parameters.
void test('a store URL parameter given twice is refused as such even when its first value is malformed', async () => {
  const twice = (name: string) => (e: unknown) =>
    e instanceof ValidationError && e.field === name && e.message.includes('given twice');
  const dir = mkdtempSync(join(tmpdir(), 'spool-url-'));
  try {
    const urls: [string, string][] = [
      [`file:${dir}/f?durability=interval&interval=bad&interval=2`, 'interval'],
      [`sqlite:${dir}/q.db?busyTimeout=bad&busyTimeout=2`, 'busyTimeout'],
      [`libsql:${dir}/q.db?busyTimeout=bad&busyTimeout=2`, 'busyTimeout'],
      // Nothing listens on port 1: a refusal anywhere but in the URL would be a StorageError.
      ['redis://127.0.0.1:1/?timeout=bad&timeout=2', 'timeout'],
      ['rediss://127.0.0.1:1/?replicateTimeout=bad&replicateTimeout=2', 'replicateTimeout'],
      ['redis+cluster://127.0.0.1:1?timeout=2&prefix=a&timeout=bad', 'timeout'],
      ['redis://127.0.0.1:1/?timeout=bad&prefix=a&prefix=b', 'prefix'],
      ['postgres://postgres@127.0.0.1:1/test?statementTimeout=bad&statementTimeout=2', 'statementTimeout'],
      ['postgresql://postgres@127.0.0.1:1/test?statementTimeout=bad&max=0&max=2', 'max'],
      ['postgres://postgres@127.0.0.1:1/test?max=bad&max=2', 'max'],
    ];
    for (const [url, name] of urls) await assert.rejects(open(url), twice(name), url);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('queue options are checked at the edge', async () => {
  await using spool = await open('memory:');
  assert.throws(
    () => spool.queue('q', { maxLength: 0 }),
    (e: unknown) => e instanceof ValidationError && e.field === 'options.maxLength',
  );
  assert.throws(
    () => spool.queue('q', { backoff: { type: 'linear' as never, delay: 1 } }),
    (e: unknown) => e instanceof ValidationError && e.field === 'options.backoff.type',
  );
  assert.throws(
    () => spool.queue('q', { backoff: { type: 'exponential', delay: '10s', maxDelay: '1s' } }),
    (e: unknown) => e instanceof ValidationError && e.field === 'options.backoff.maxDelay',
  );
  assert.throws(() => spool.queue('q', { keepCompleted: { count: -1 } }), ValidationError);
  await assert.rejects(
    spool.lease({ queues: [] }),
    (e: unknown) => e instanceof ValidationError && e.field === 'lease.queues',
  );
  await assert.rejects(
    spool.lease({ queues: 'q', max: 5000 }),
    (e: unknown) => e instanceof ValidationError && e.field === 'lease.max',
  );
  for (const prefetch of [-1, 1.5, 1001, '4']) {
    assert.throws(
      () => spool.queue('q').process(() => undefined, { prefetch: prefetch as number }),
      (e: unknown) =>
        e instanceof ValidationError && e.field === 'options.prefetch' && /from 0 to 1000/.test(e.message),
    );
  }
});

void test('two changes of settings at once: the settings read after hold both, whichever the store wrote last', async () => {
  // The store writes the second change before the first, as PostgreSQL may on two connections
  // (two admins' PUT /v1/queues/:queue/settings at once through one server).
  const store = new MemoryStore();
  const configure = store.configure.bind(store);
  let secondWritten: () => void = () => {};
  const gate = new Promise<void>((resolve) => (secondWritten = resolve));
  let calls = 0;
  store.configure = async (params) => {
    if (++calls === 1) await gate;
    const written = await configure(params);
    if (calls === 2) secondWritten();
    return written;
  };
  await using spool = await Spool.create(store);
  const q = spool.queue('both');
  await Promise.all([q.configure({ maxLength: 7 }), q.configure({ maxAttempts: 2 })]);
  const settings = await q.settings();
  // Before: the second's answer, written first, for a second: maxLength null.
  assert.deepEqual([settings.maxLength, settings.maxAttempts], [7, 2]);
  const id = await q.add(1);
  assert.equal((await q.get(id))?.maxAttempts, 2);
});

void test('open() with no URL opens the embedded file store in ./spool-data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-default-'));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    {
      await using spool = await open();
      assert.equal(spool.capabilities.durable, 'power-loss');
      await spool.queue('q').add('x');
    }
    assert.ok(existsSync(join(dir, 'spool-data', '000000000001.seg')));
    await using again = await open();
    assert.equal((await again.queue('q').counts()).waiting, 1);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('an addBulk is made at one time: its jobs with the same delay run at the same time, created then', async () => {
  // A clock that moves on every read: jobs made at reads of their own would run apart.
  let t = 1_000_000;
  await using spool = await open('memory:', { clock: { now: () => (t += 7), setTimer: () => () => {} } });
  const queue = spool.queue('bulk-time');
  const ids = await queue.addBulk([{ data: 1 }, { data: 2 }, { data: 3, options: { delay: 50 } }]);
  const jobs = await Promise.all(ids.map(async (id) => queue.get(id)));
  const [first, second, third] = jobs.map((job) => {
    assert.ok(job !== null);
    return job;
  });
  assert.ok(first !== undefined && second !== undefined && third !== undefined);
  assert.equal(first.runAt, first.createdAt);
  assert.equal(second.runAt, first.createdAt);
  assert.equal(third.runAt, first.createdAt + 50);
});

void test('an add that is refused rejects, never throws: bad data, bad options, a closed spool, settings still being written', async () => {
  const spool = await open('memory:');
  const q = spool.queue('q');
  // Each call is made first and awaited after, so a synchronous throw would fail the test here.
  const undefinedData = q.add(undefined);
  const badOption = q.add('a', { priority: 'high' } as never);
  const writing = spool.queue('w', { maxAttempts: 2 }).add('b', { delay: -1 });
  await assert.rejects(undefinedData, (e: unknown) => e instanceof ValidationError && e.field === 'data');
  await assert.rejects(badOption, (e: unknown) => e instanceof ValidationError && e.field === 'options.priority');
  await assert.rejects(writing, (e: unknown) => e instanceof ValidationError && e.field === 'options.delay');
  await spool.close();
  const closed = q.add('c');
  await assert.rejects(closed, ClosedError);
});

void test('a worker of a closed Spool is a ClosedError, not a worker that takes nothing; open() of no string is a ValidationError', async () => {
  const spool = await open('memory:');
  const q = spool.queue('q');
  await spool.close();
  assert.throws(() => q.process(() => {}), ClosedError);
  await assert.rejects(open(5 as never), (e: unknown) => e instanceof ValidationError && e.field === 'url');
});

void test('an add reads its options again unless they are frozen, back-off included; frozen ones go over the settings of the moment', async () => {
  await using spool = await open('memory:');
  const q = spool.queue('q');
  const isField = (field: string) => (e: unknown) => e instanceof ValidationError && e.field === field;
  const options: JobOptions = { maxAttempts: 2 };
  await q.add('a', options);
  options.maxAttempts = 0;
  await assert.rejects(q.add('b', options), isField('options.maxAttempts'));
  // A frozen object whose back-off object is not: the back-off may change, so it is read again.
  const backoff: BackoffOptions = { type: 'fixed', delay: 1 };
  const shallow = Object.freeze({ backoff });
  await q.add('c', shallow);
  backoff.type = 'linear' as never;
  await assert.rejects(q.add('d', shallow), isField('options.backoff.type'));
  const frozen = Object.freeze({ priority: 1 });
  const before = await q.add('e', frozen);
  await q.configure({ maxAttempts: 7 });
  const after = await q.add('f', frozen);
  assert.equal((await spool.job(before))?.maxAttempts, 5);
  assert.equal((await spool.job(after))?.maxAttempts, 7);
  assert.equal((await spool.job(after))?.priority, 1);
});

void test('a frozen options object is read once per queue settings, however adds of other options interleave', async () => {
  await using spool = await open('memory:');
  // Frozen objects whose priority moves at every read: jobs made from one read share a priority.
  let reads = 0;
  const a: JobOptions = Object.freeze({
    get priority() {
      return ++reads;
    },
  });
  const b: JobOptions = Object.freeze({ priority: 9 });
  const one = spool.queue('one');
  const two = spool.queue('two', { maxAttempts: 3 });
  const ids = { one: [] as string[], two: [] as string[] };
  for (let i = 0; i < 3; i++) {
    ids.one.push(await one.add(i, a));
    await one.add(i, b);
    ids.two.push(await two.add(i, a));
  }
  ids.one.push(
    ...(await one.addBulk([
      { data: 'x', options: a },
      { data: 'y', options: a },
    ])),
  );
  ids.two.push(...(await two.addBulk([{ data: 'z', options: a }])));
  const priorities = async (list: string[]): Promise<Set<number | undefined>> =>
    new Set(await Promise.all(list.map(async (id) => (await spool.job(id))?.priority)));
  assert.equal((await priorities(ids.one)).size, 1);
  assert.equal((await priorities(ids.two)).size, 1);
  // Made over each queue's own settings.
  assert.equal((await spool.job(ids.two[0] as string))?.maxAttempts, 3);
  assert.equal((await spool.job(ids.one[0] as string))?.maxAttempts, 5);
});

void test('a job whose delay is not shorter than its ttl is refused: it would expire before it could run', async () => {
  await using spool = await open('memory:');
  const q = spool.queue('delay-ttl');
  await assert.rejects(
    q.add('x', { delay: '1h', ttl: '1h' }),
    (e: unknown) =>
      e instanceof ValidationError && e.field === 'options.delay' && /expire before it could run/.test(e.message),
  );
  const stored = spool.queue('delay-ttl-stored', { ttl: '1m' });
  await assert.rejects(stored.add('x', { delay: '2m' }), { field: 'options.delay' });
  await assert.rejects(
    spool.queue('delay-ttl').addBulk([{ data: 1 }, { data: 2, options: { delay: 5000, ttl: 1000 } }]),
    { field: 'items[1].options.delay' },
  );
  assert.deepEqual(await q.counts(), { ...(await q.counts()), waiting: 0, delayed: 0 });
  // A delay shorter than the ttl, and a ttl alone, are taken.
  await q.add('x', { delay: '59s', ttl: '1m' });
  await stored.add('x', { ttl: '1s' });
  assert.equal((await q.counts()).delayed, 1);
});

void test("a queue's own delay not shorter than its stored ttl is refused at an add without options, as an add's own is", async () => {
  await using spool = await open('memory:');
  const late = spool.queue('handle-delay-ttl', { delay: '2m', ttl: '1m' });
  await assert.rejects(late.add('x'), { name: 'ValidationError', field: 'options.delay' });
  await assert.rejects(late.addBulk([{ data: 'y', options: { delay: 0 } }, { data: 'x' }]), {
    name: 'ValidationError',
    field: 'items[1].options.delay',
  });
  // An add that gives a shorter delay of its own is taken, and a bulk whose every item does.
  await late.add('x', { delay: '30s' });
  await late.addBulk([{ data: 'y', options: { delay: 0 } }]);
  assert.deepEqual([(await late.counts()).delayed, (await late.counts()).waiting], [1, 1]);
});

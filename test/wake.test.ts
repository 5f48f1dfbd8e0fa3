// Which blocked leases a ready event or a sent add wakes: as many as it calls for, and never
// one that would find nothing where another lease is already on its way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, Spool, StorageError } from '../src/index.ts';
import type {
  AddResult,
  LeaseResult,
  NewJob,
  SleeperEvent,
  SleeperExtension,
  StoreEvent,
} from '../src/store/contract.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { settle, until } from '../src/conformance/harness.ts';
import { overriding } from './fixtures/overriding.ts';

/**
 * A memory store with the sleepers extension, whose own events never reach the Spool: the test
 * sends the events. It counts the lease calls, keeps each add's `origin` and each lease's
 * sleeper id, and holds each add until `letAddsThrough`.
 */
function scriptedStore(options: { holdAdds?: boolean }) {
  const inner = new MemoryStore();
  let listener: (event: SleeperEvent) => void = () => {};
  let leases = 0;
  const origins: string[] = [];
  const sleepers: string[] = [];
  const passedOn: [string, number][] = [];
  const forgotten: string[] = [];
  const held: (() => void)[] = [];
  const extension: SleeperExtension = {
    watch: (fn) => {
      listener = fn;
      return Promise.resolve(() => Promise.resolve());
    },
    lease: (params): Promise<LeaseResult> => {
      leases++;
      if (params.sleeper !== undefined && !sleepers.includes(params.sleeper.id)) sleepers.push(params.sleeper.id);
      return inner.lease(params);
    },
    add: async (params): Promise<AddResult> => {
      origins.push(params.origin);
      if (options.holdAdds === true) await new Promise<void>((go) => held.push(go));
      return inner.add(params);
    },
    wake: ({ queue, count }) => {
      passedOn.push([queue, count]);
      return Promise.resolve();
    },
    forget: ({ id }) => {
      forgotten.push(id);
      return Promise.resolve();
    },
  };
  const store = overriding(inner, {
    capabilities: { ...inner.capabilities, sleepers: true },
    sleepers: extension,
  });
  return {
    store,
    inner,
    send: (event: SleeperEvent) => listener(event),
    leases: () => leases,
    origins,
    sleepers,
    passedOn,
    forgotten,
    letAddsThrough: () => held.splice(0).forEach((go) => go()),
  };
}

/** A job added straight to the memory store, behind the Spool's back. */
const newJob = (queue: string): NewJob => ({
  queue,
  payload: new TextEncoder().encode('"x"'),
  priority: 0,
  maxAttempts: 1,
  availableAt: 0,
  expiresAt: null,
  visibilityMs: 30_000,
  backoff: { kind: 'fixed', delayMs: 0, maxDelayMs: 0, jitter: 0 },
  key: null,
});

void test('a ready event wakes as many blocked leases as it calls for, the longest waiting first; without a number, all', async () => {
  const s = scriptedStore({});
  await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
  const q = spool.queue<string>('q');
  const signal = AbortSignal.timeout(5_000);
  const first = q.lease({ wait: '1h', signal });
  await settle();
  const second = q.lease({ wait: '1h', signal });
  await settle();
  assert.equal(s.leases(), 2);

  // A job the Spool did not send: only the store's event can wake a lease for it.
  await s.inner.add({ now: 0, jobs: [newJob('q')] });
  s.send({ kind: 'ready', queue: 'q', wake: 1 });
  const [taken] = await first;
  await settle();
  assert.equal(taken?.data, 'x');
  assert.equal(s.leases(), 3, 'the event called for one lease and woke two');

  s.send({ kind: 'ready', queue: 'q' });
  await settle();
  assert.equal(s.leases(), 4);
  s.send({ kind: 'ready', queue: 'other', wake: 5 });
  await settle();
  assert.equal(s.leases(), 4, 'an event of another queue woke a lease');
  await s.inner.add({ now: 0, jobs: [newJob('q')] });
  s.send({ kind: 'ready', queue: 'q', wake: 1 });
  assert.equal((await second).length, 1);
});

void test("an add wakes one blocked lease a job, and the store's event of that add, marked as the Spool's own, none", async () => {
  const s = scriptedStore({});
  await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
  const q = spool.queue<string>('q');
  const signal = AbortSignal.timeout(5_000);
  const leases = [q.lease({ wait: '1h', signal }), q.lease({ wait: '1h', signal })];
  await settle();
  assert.equal(s.leases(), 2);
  await q.add('x');
  await settle();
  assert.equal(s.leases(), 3, 'one add woke both leases');
  const origin = s.origins[0];
  assert.equal(typeof origin, 'string');
  s.send({ kind: 'ready', queue: 'q', wake: 1, origin });
  await settle();
  assert.equal(s.leases(), 3, "the Spool's own add woke a lease a second time");
  s.send({ kind: 'ready', queue: 'q', wake: 1, origin: 'another Spool' });
  await settle();
  assert.equal(s.leases(), 4, "another Spool's add woke no lease");
  const [taken] = await leases[0]!;
  assert.equal(taken?.data, 'x', 'the longest waiting lease took the job');
  await s.inner.add({ now: 0, jobs: [newJob('q')] });
  s.send({ kind: 'ready', queue: 'q', wake: 1 });
  assert.equal((await leases[1]!).length, 1);
});

void test('a lease woken by its Spool’s add that finds nothing asks again once the store has the add', async () => {
  // The store answers the lease before it has applied the add (a commit still on its way) and
  // sends no event: only the add settling can wake the lease again.
  const s = scriptedStore({ holdAdds: true });
  await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
  const q = spool.queue<string>('q');
  const signal = AbortSignal.timeout(5_000);
  const pending = q.lease({ wait: '1h', signal });
  await settle();
  const added = q.add('late');
  await until(() => s.leases() === 2, 'the lease woken by the add');
  await settle();
  s.letAddsThrough();
  await added;
  const [taken] = await pending;
  assert.equal(signal.aborted, false, 'the lease slept until its signal ended the wait');
  assert.equal(taken?.data, 'late');
  assert.equal(s.leases(), 3);
});

void test(
  'on a store with sleepers an event that names sleepers wakes those alone, however many leases wait',
  { timeout: 10_000 },
  async () => {
    const s = scriptedStore({});
    await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
    const q = spool.queue<string>('q');
    const stop = new AbortController();
    const leases = [0, 1, 2].map(() => q.lease({ wait: '1h', signal: stop.signal }));
    await settle();
    assert.equal(s.sleepers.length, 3, 'each blocked lease is a sleeper of its own');
    await s.inner.add({ now: 0, jobs: [newJob('q')] });
    s.send({ kind: 'ready', queue: 'q', wake: 1, sleepers: [s.sleepers[2]!, 'another-spool/1'] });
    const [taken] = await leases[2]!;
    await settle();
    assert.equal(taken?.data, 'x');
    assert.equal(s.leases(), 4, 'an event naming one sleeper woke others');
    s.send({ kind: 'ready', queue: 'q', wake: 1, sleepers: [] });
    await settle();
    assert.equal(s.leases(), 4, 'an event naming nobody here woke a lease');
    stop.abort();
    assert.deepEqual(await Promise.all(leases.slice(0, 2)), [[], []]);
    assert.deepEqual(s.forgotten, s.sleepers.slice(0, 2), 'an aborted sleeper was not forgotten');
  },
);

void test(
  'the wake of a sleeper gone goes to another blocked lease here, or else to every watcher',
  { timeout: 10_000 },
  async () => {
    const s = scriptedStore({});
    await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
    const q = spool.queue<string>('q');
    const gone = new AbortController();
    const goneLease = q.lease({ wait: '1h', signal: gone.signal });
    await settle();
    gone.abort();
    await goneLease;
    const [goneSleeper] = s.sleepers;
    const stop = new AbortController();
    const other = q.lease({ wait: '1h', signal: stop.signal });
    await settle();
    const before = s.leases();
    s.send({ kind: 'ready', queue: 'q', wake: 1, sleepers: [goneSleeper!] });
    await settle();
    assert.equal(s.leases(), before + 1, 'the other lease did not wake');
    assert.deepEqual(s.passedOn, []);
    stop.abort();
    await other;
    s.send({ kind: 'ready', queue: 'q', wake: 1, sleepers: [goneSleeper!] });
    await settle();
    assert.deepEqual(s.passedOn, [['q', 1]]);
  },
);

void test('a named sleeper whose lease is still on its way asks the store again', { timeout: 10_000 }, async () => {
  const s = scriptedStore({});
  let answer: (() => void) | undefined;
  const extension = s.store.sleepers as SleeperExtension;
  const slow = overriding(s.store, {
    sleepers: {
      ...extension,
      lease: async (params) => {
        const result = await extension.lease(params);
        if (answer === undefined) await new Promise<void>((go) => (answer = go));
        return result;
      },
    },
  });
  await using spool = await Spool.create(slow, { clock: new ManualClock(0) });
  const q = spool.queue<string>('q');
  const signal = AbortSignal.timeout(5_000);
  const pending = q.lease({ wait: '1h', signal });
  await until(() => answer !== undefined, 'the first answer held');
  // The store answered "nothing" and noted the sleeper; a job comes and its event names it
  // before that answer is back.
  await s.inner.add({ now: 0, jobs: [newJob('q')] });
  s.send({ kind: 'ready', queue: 'q', wake: 1, sleepers: [s.sleepers[0]!] });
  answer!();
  const [taken] = await pending;
  assert.equal(signal.aborted, false, 'the lease slept through the event that named it');
  assert.equal(taken?.data, 'x');
});

void test('a stream of leases and later delays announces a due time only when it is sooner than the blocked leases were told', async () => {
  const store = new MemoryStore();
  const due: number[] = [];
  await store.watch((event) => {
    if (event.kind === 'due') due.push(event.at);
  });
  const t = Date.UTC(2026, 0, 1);
  const job: NewJob = {
    queue: 'stream',
    payload: new Uint8Array(1),
    priority: 0,
    maxAttempts: 5,
    availableAt: t,
    expiresAt: null,
    visibilityMs: 30_000,
    backoff: { kind: 'fixed', delayMs: 0, maxDelayMs: 0, jitter: 0 },
    key: null,
  };
  const lease = (now: number) => store.lease({ now, queues: ['stream'], max: 1, visibilityMs: null });
  // A lease blocks, told nothing falls due: the first time anything will is announced.
  assert.deepEqual((await lease(t)).jobs, []);
  await store.add({ now: t, jobs: Array.from({ length: 100 }, () => job) });
  const tokens: string[] = [];
  for (let i = 0; i < 100; i++) tokens.push((await lease(t + i)).jobs[0]!.token);
  assert.deepEqual(due, [t + 30_000]);
  for (let i = 0; i < 100; i++)
    await store.nack({ now: t + 100 + i, token: tokens[i]!, delayMs: 1000, error: null, kind: 'fail' });
  assert.deepEqual(due, [t + 30_000, t + 1100]);
  // A delayed add later than that time announces nothing: the leases wake by then and learn it.
  await store.add({ now: t + 200, jobs: [{ ...job, availableAt: t + 5000 }] });
  assert.deepEqual(due, [t + 30_000, t + 1100]);
});

void test('a missed event (the store lost some) wakes every blocked lease, and every waitFor reads its job again', async () => {
  const s = scriptedStore({});
  await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
  const signal = AbortSignal.timeout(5_000);
  const blocked = [
    spool.queue<string>('a').lease({ wait: '1h', signal }),
    spool.queue('b').lease({ wait: '1h', signal }),
  ];
  const waited = await spool.queue('w').add('waited');
  let outcome: unknown = 'waiting';
  void spool
    .queue('w')
    .waitFor(waited, { timeout: '1h' })
    .then(
      (result) => (outcome = { result }),
      (error: unknown) => (outcome = error),
    );
  await settle();
  const before = s.leases();
  // Behind the Spool's back, their events lost: a job for each lease, and the waited job done.
  await s.inner.add({ now: 0, jobs: [newJob('a'), newJob('b')] });
  const [job] = (await s.inner.lease({ now: 0, queues: ['w'], max: 1, visibilityMs: null })).jobs;
  await s.inner.ack({ now: 0, items: [{ token: job!.token, result: new TextEncoder().encode('"done"') }] });
  await settle();
  assert.equal(s.leases(), before, 'a lease woke with no event');
  assert.equal(outcome, 'waiting');

  s.send({ kind: 'missed' });
  // Before, the store's word that it lost events changed nothing: both slept on for the hour.
  assert.deepEqual(
    (await Promise.all(blocked)).map((jobs) => jobs.map((j) => j.data)),
    [['x'], ['x']],
  );
  await until(() => outcome !== 'waiting', 'the waitFor to read its job again');
  assert.deepEqual(outcome, { result: 'done' });
});

/**
 * A worker of queue 'back' with a job waiting, on a memory store that is down until `up()`: each
 * lease meanwhile is held until `failLeases()`, then fails with a StorageError. The test sends the
 * store's events; the clock never moves.
 */
async function workerOnStoreDown() {
  const inner = new MemoryStore();
  let listener: (event: StoreEvent) => void = () => {};
  let down = true;
  let leases = 0;
  const failing: (() => void)[] = [];
  const store = overriding(inner, {
    watch: (fn) => {
      listener = fn;
      return Promise.resolve(() => Promise.resolve());
    },
    lease: (params) => {
      leases++;
      if (!down) return inner.lease(params);
      return new Promise((_, reject) => failing.push(() => reject(new StorageError('the store is down'))));
    },
  });
  const clock = new ManualClock(0);
  const spool = await Spool.create(store, { clock });
  await inner.add({ now: 0, jobs: [newJob('back')] });
  const handled: unknown[] = [];
  const errors: unknown[] = [];
  const worker = spool.queue('back').process((job) => void handled.push(job.data));
  worker.on('error', (error) => errors.push(error));
  await until(() => failing.length === 1, 'the first lease sent');
  return {
    clock,
    handled,
    errors,
    leases: () => leases,
    send: (event: StoreEvent) => listener(event),
    up: () => (down = false),
    failLeases: () => failing.splice(0).forEach((fail) => fail()),
    close: async () => {
      await worker.close();
      await spool.close();
    },
  };
}

void test("a worker whose lease failed asks again once its store says it is back ('missed'), not a second later", async () => {
  const w = await workerOnStoreDown();
  w.failLeases();
  await until(() => w.errors.length === 1, 'the failure reported');
  await settle();
  // A store that keeps failing is not asked again in a hot loop: the worker pauses.
  assert.equal(w.leases(), 1);
  w.up();
  w.send({ kind: 'missed' });
  // Before, the worker paused on until its clock had moved a second.
  await until(() => w.handled.length === 1, 'the job handled');
  assert.deepEqual(w.handled, ['x']);
  assert.equal(w.clock.now(), 0);
  await w.close();
});

void test('a worker whose lease fails after its store said it was back asks again at once', async () => {
  const w = await workerOnStoreDown();
  // Back while the lease, sent on the connection that went, is still on its way.
  w.up();
  w.send({ kind: 'missed' });
  w.failLeases();
  // Before, the worker paused a second: the word had come before the failure.
  await until(() => w.handled.length === 1, 'the job handled');
  assert.equal(w.errors.length, 1);
  assert.equal(w.clock.now(), 0);
  await w.close();
});

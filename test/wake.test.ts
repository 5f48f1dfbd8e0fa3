// Which blocked leases a ready event or a sent add wakes: as many as it calls for, and never
// one that would find nothing where another lease is already on its way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, Spool } from '../src/index.ts';
import type { AddParams, AddResult, LeaseParams, LeaseResult, NewJob, StoreEvent } from '../src/store/contract.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { settle, until } from './conformance/harness.ts';
import { overriding } from './fixtures/overriding.ts';

/**
 * A memory store whose own events never reach the Spool: the test sends the events. It counts
 * the lease calls, keeps each add's `origin`, and holds each add until `letAddsThrough`.
 */
function scriptedStore(options: { holdAdds: boolean }) {
  const inner = new MemoryStore();
  let listener: (event: StoreEvent) => void = () => {};
  let leases = 0;
  const origins: (string | undefined)[] = [];
  const held: (() => void)[] = [];
  const store = overriding(inner, {
    watch: (fn: (event: StoreEvent) => void) => {
      listener = fn;
      return Promise.resolve(() => Promise.resolve());
    },
    lease: (params: LeaseParams): Promise<LeaseResult> => {
      leases++;
      return inner.lease(params);
    },
    add: async (params: AddParams): Promise<AddResult> => {
      origins.push(params.origin);
      if (options.holdAdds) await new Promise<void>((go) => held.push(go));
      return inner.add(params);
    },
  });
  return {
    store,
    inner,
    send: (event: StoreEvent) => listener(event),
    leases: () => leases,
    origins,
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
  const s = scriptedStore({ holdAdds: false });
  await using spool = await Spool.create(s.store, { clock: new ManualClock(0) });
  const q = spool.queue<string>('q');
  const signal = AbortSignal.timeout(5_000);
  const first = q.lease({ wait: '1h', signal });
  await settle();
  const second = q.lease({ wait: '1h', signal });
  await settle();
  assert.equal(s.leases(), 2);

  // A job the Spool did not send: only the store's event can wake a lease for it.
  await s.inner.add({ now: 0, jobs: [newJob('q')], maxLength: {} });
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
  await s.inner.add({ now: 0, jobs: [newJob('q')], maxLength: {} });
  s.send({ kind: 'ready', queue: 'q', wake: 1 });
  assert.equal((await second).length, 1);
});

void test("an add wakes one blocked lease a job, and the store's event of that add, marked as the Spool's own, none", async () => {
  const s = scriptedStore({ holdAdds: false });
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
  await s.inner.add({ now: 0, jobs: [newJob('q')], maxLength: {} });
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

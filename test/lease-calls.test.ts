// The lease calls a worker and a blocked lease make: how many are on their way, and when they stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, Spool } from '../src/index.ts';
import type { Store } from '../src/index.ts';
import type { LeaseParams, LeaseResult } from '../src/store/contract.ts';
import { MemoryStore } from '../src/store/memory/index.ts';
import { settle, until } from '../src/conformance/harness.ts';
import { overriding } from './fixtures/overriding.ts';

/** A memory store whose leases wait until the test lets them through, like a round trip; `remote` as asked. */
function heldLeases(remote: boolean): { store: Store; inFlight: () => number[]; release: () => void } {
  const inner = new MemoryStore();
  const held: { max: number; go: () => void }[] = [];
  const lease = (params: LeaseParams): Promise<LeaseResult> =>
    new Promise<void>((go) => held.push({ max: params.max, go })).then(() => inner.lease(params));
  const store = overriding(inner, { lease, capabilities: { ...inner.capabilities, remote } });
  return { store, inFlight: () => held.map((h) => h.max), release: () => held.splice(0).forEach((h) => h.go()) };
}

async function leasesOnTheirWay(remote: boolean, concurrency: number): Promise<number[][]> {
  const { store, inFlight, release } = heldLeases(remote);
  const spool = await Spool.create(store);
  const q = spool.queue('lanes');
  await q.addBulk(Array.from({ length: 100 }, (_, i) => ({ data: i })));
  let done = 0;
  const worker = q.process(() => void done++, { concurrency });
  const seen: number[][] = [];
  for (let round = 0; round < 3; round++) {
    await settle();
    seen.push(inFlight().sort((a, b) => a - b));
    release();
  }
  await until(() => {
    release();
    return done === 100;
  }, 'every job done');
  let closed = false;
  void worker.close().then(() => (closed = true));
  await until(() => {
    release();
    return closed;
  }, 'the worker closed');
  await spool.close();
  return seen;
}

void test('on a remote store (capabilities.remote) a worker keeps two leases on their way, sharing its free slots between them', async () => {
  // While the store answers one lease, the jobs of the other run: neither side waits for the other.
  assert.deepEqual(await leasesOnTheirWay(true, 8), [
    [4, 4],
    [4, 4],
    [4, 4],
  ]);
});

void test('on an embedded store, or with one slot, a worker leases once at a time for all its free slots', async () => {
  assert.deepEqual(await leasesOnTheirWay(false, 8), [[8], [8], [8]]);
  assert.deepEqual(await leasesOnTheirWay(true, 1), [[1], [1], [1]]);
});

void test('a blocked lease whose signal aborts returns without asking the store again', async () => {
  const inner = new MemoryStore();
  let calls = 0;
  const store = overriding(inner, {
    lease: (params: LeaseParams) => {
      calls++;
      return inner.lease(params);
    },
  });
  const spool = await Spool.create(store);
  const q = spool.queue('aborted');
  const stop = new AbortController();
  const pending = q.lease({ wait: '1h', signal: stop.signal });
  await until(() => calls === 1, 'the first lease');
  await settle();
  stop.abort();
  assert.deepEqual(await pending, []);
  assert.equal(calls, 1);
  await spool.close();
});

void test('consume() blocks in one lease until a job comes, however long: no lease every 30 s', async () => {
  const inner = new MemoryStore();
  let calls = 0;
  const store = overriding(inner, {
    lease: (params: LeaseParams) => {
      calls++;
      return inner.lease(params);
    },
  });
  const clock = new ManualClock();
  const spool = await Spool.create(store, { clock });
  const q = spool.queue<string>('consumed');
  const stop = new AbortController();
  const got: string[] = [];
  const loop = (async () => {
    for await (const job of q.consume({ signal: stop.signal })) {
      got.push(job.data);
      await job.ack();
      stop.abort();
    }
  })();
  await until(() => calls === 1, 'the first lease');
  await settle();
  clock.advance(3_600_000);
  await settle();
  assert.equal(calls, 1);
  await q.add('late');
  await loop;
  assert.deepEqual(got, ['late']);
  await spool.close();
});

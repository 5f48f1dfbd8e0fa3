import assert from 'node:assert/strict';
import { LeaseLostError, ValidationError } from '../index.ts';
import { area, conformanceTest } from './harness.ts';
import type { Suite } from './harness.ts';

export function tokens(suite: Suite): void {
  area(suite, 'tokens', () => {
    conformanceTest(
      suite,
      'a token made from the job id, or with a wrong seal, is lost everywhere and leaves the lease as it was',
      async ({ spool, clock, store }) => {
        const q = spool.queue<string>('forged', { maxAttempts: 5 });
        const id = await q.add('x');
        const [job] = await q.lease({ visibility: '1m' });
        assert.ok(job);
        const prefix = `${id}:1.`;
        assert.ok(job.token.startsWith(prefix), job.token);
        const seal = job.token.slice(prefix.length);
        assert.ok(seal.length >= 16, `a seal of ${seal.length} characters`);
        const flipped = (seal[0] === 'A' ? 'B' : 'A') + seal.slice(1);
        const before = await q.get(id);
        const now = clock.now();
        for (const token of [`${id}:1`, `${prefix}${flipped}`, `${prefix}${'A'.repeat(seal.length)}`, `${prefix}`]) {
          assert.deepEqual(await store.ack({ now, items: [{ token, result: null }] }), [null], token);
          for (const kind of ['fail', 'dead', 'release', 'requeue'] as const) {
            const nack = { now, token, delayMs: 0, error: 'forged', kind };
            assert.deepEqual(await store.nack(nack), { outcome: 'lost' }, `${token} ${kind}`);
          }
          assert.deepEqual(await store.extend({ now, token, ms: 3_600_000 }), { outcome: 'lost' }, token);
          assert.deepEqual(await store.leases({ now, tokens: [token] }), [null], token);
          // A token with no seal at all is not a token: refused as such, whatever the job.
          await assert.rejects(spool.leased(token), token === prefix ? ValidationError : LeaseLostError);
        }
        const after = await q.get(id);
        assert.equal(after?.state, 'active');
        assert.equal(after.attempts, 1);
        assert.equal(after.leaseUntil, before?.leaseUntil);
        assert.deepEqual(after.errors, []);
        // The holder's token still works, found again by the store and settled.
        const [held] = await store.leases({ now, tokens: [job.token] });
        assert.equal(held?.id, id);
        await job.ack('done');
        assert.equal((await q.get(id))?.state, 'completed');
      },
    );
    conformanceTest(
      suite,
      'an ack by tokens within a scope completes the jobs of its queues only; the others stay leased, untouched',
      async ({ spool }) => {
        const queues = ['tenant-a', 'tenant-a.jobs', 'tenant-ab', 'other'];
        for (const name of queues) await spool.queue(name).add(name);
        const leased = await spool.lease({ queues, max: 4, visibility: '1m' });
        assert.deepEqual(
          leased.map((j) => j.queue),
          queues,
        );
        const before = await Promise.all(leased.map((j) => spool.job(j.id)));
        // What a server's `tenant-a` token reaches: the queue itself and the names under it.
        const within = { queues: ['tenant-a'], prefixes: ['tenant-a.', 'tenant-a:'] };
        const tokens = [...leased.map((j) => j.token), `${leased[0]?.token ?? ''}`];
        assert.deepEqual(await spool.ack(tokens, { within }), {
          acked: 2,
          lost: [leased[2]?.token, leased[3]?.token, leased[0]?.token],
        });
        // Completed and kept, as an ack through the queue's handle keeps it (the default retention).
        for (const j of leased.slice(0, 2)) assert.equal((await spool.job(j.id))?.state, 'completed');
        for (const [i, j] of leased.entries())
          if (i >= 2) assert.deepEqual(await spool.job(j.id), before[i], `${j.queue} untouched`);
        // Their holders still hold them.
        assert.deepEqual(await spool.ack(leased.slice(2).map((j) => j.token)), { acked: 2, lost: [] });
      },
    );
    conformanceTest(
      suite,
      "a job's current lease is found by its id, with the holder's token; none once it is settled or not leased",
      async ({ spool, clock, store }) => {
        const q = spool.queue<string>('by-id', { maxAttempts: 5 });
        const [leasedId, waitingId] = [await q.add('a'), await q.add('b')];
        const [job] = await q.lease({ visibility: '1m' });
        assert.equal(job?.id, leasedId);
        const [current, waiting, unknown] = await store.leasesOf({
          now: clock.now(),
          ids: [leasedId, waitingId, '999999'],
        });
        assert.equal(current?.token, job.token);
        assert.equal(waiting, null);
        assert.equal(unknown, null);
        const lease = await spool.currentLease(leasedId);
        await lease?.ack('by id');
        assert.equal((await q.get(leasedId))?.state, 'completed');
        assert.equal(await spool.currentLease(leasedId), null);
        await assert.rejects(job.ack(), LeaseLostError);
      },
    );

    conformanceTest(
      suite,
      'a token of an earlier attempt is lost once the job is leased again',
      async ({ spool, clock }) => {
        const q = spool.queue<string>('stale', {
          maxAttempts: 5,
          visibility: '1s',
          backoff: { type: 'fixed', delay: 0 },
        });
        const id = await q.add('x');
        const [first] = await q.lease();
        clock.advance(1_001);
        const [second] = await q.lease();
        assert.equal(second?.id, id);
        assert.notEqual(second.token, first?.token);
        await assert.rejects(first!.ack(), LeaseLostError);
        await assert.rejects(spool.leased(first!.token), LeaseLostError);
        await second.ack();
      },
    );
  });
}

// Two handles on one store's data, as two processes have them: what one writes the other reads,
// and the events of one wake the leases and waitFor calls of the other. Only for stores that
// declare `capabilities.events: 'shared'`.
import assert from 'node:assert/strict';
import { area, conformanceTest, gateLeases, needs, until } from './harness.ts';
import type { Suite } from './harness.ts';

export function processes(suite: Suite): void {
  area(suite, 'processes', () => {
    conformanceTest(
      suite,
      'a lease blocked on one handle takes a job another handle adds',
      async ({ spool, clock, peer }) => {
        const producer = (await peer()).spool;
        const pending = spool.queue<string>('peer-add').lease({ wait: '1h' });
        await until(() => clock.pending >= 1, 'the lease to block');
        await producer.queue('peer-add').add('from the other handle');
        const [job] = await pending;
        assert.equal(job?.data, 'from the other handle');
      },
      { needs: needs.shared },
    );

    conformanceTest(
      suite,
      "a lease blocked on one handle wakes when another handle's delayed add falls due",
      async ({ spool, clock, peer }) => {
        const producer = (await peer()).spool;
        const pending = spool.queue<string>('peer-delay').lease({ wait: '1h' });
        await until(() => clock.pending >= 1, 'the lease to block');
        await producer.queue('peer-delay').add('later', { delay: '3s' });
        await until(() => clock.armedFor(clock.now() + 3000), 'the due time to reach the blocked lease');
        clock.advance(3000);
        const [job] = await pending;
        assert.equal(job?.data, 'later');
      },
      { needs: needs.shared },
    );

    conformanceTest(
      suite,
      'a lease blocked on one handle takes a job another handle adds and holds at once when the hold ends',
      async ({ spool, store, clock, peer }) => {
        const other = (await peer()).spool;
        const pending = spool.queue('peer-hold').lease({ wait: '1h' });
        await until(() => clock.pending >= 1, 'the lease to block');
        // The add wakes the lease; its look comes after the hold, as when the hold wins the race.
        const open = gateLeases(store);
        const id = await other.queue('peer-hold').add('held', { visibility: '2s' });
        assert.deepEqual(await other.hold([id]), [id]);
        open();
        await until(() => clock.armedFor(clock.now() + 2000), 'the end of the hold to reach the blocked lease');
        clock.advance(2000);
        const [job] = await pending;
        assert.equal(job?.id, id);
        assert.equal(job.attempt, 1);
      },
      { needs: needs.shared },
    );

    conformanceTest(
      suite,
      'waitFor on one handle resolves with the result of an ack made through another',
      async ({ spool, peer }) => {
        const worker = (await peer()).spool;
        const q = spool.queue('peer-wait');
        const id = await q.add('x');
        const waiting = q.waitFor(id);
        const [job] = await worker.queue('peer-wait').lease();
        assert.equal(job?.id, id);
        await job.ack({ by: 'the other handle' });
        assert.deepEqual(await waiting, { by: 'the other handle' });
      },
      { needs: needs.shared },
    );

    conformanceTest(
      suite,
      'a pause, a topic and a lease made through one handle are what the other sees',
      async ({ spool, peer }) => {
        const other = (await peer()).spool;
        await spool.queue('peer-state').add('x');
        await spool.queue('peer-state').pause();
        assert.equal((await other.queue('peer-state').counts()).paused, true);
        assert.deepEqual(await other.queue('peer-state').lease(), []);
        await other.queue('peer-state').resume();
        const [job] = await spool.queue('peer-state').lease();
        const again = await other.leased(job!.token);
        await again.ack('acked by the other');
        assert.equal((await spool.queue('peer-state').get(job!.id))?.result, 'acked by the other');
        await spool.topic('peer-topic').create({ s: {} });
        assert.deepEqual(Object.keys(await other.topic('peer-topic').publish('m')), ['s']);
        assert.equal((await spool.queue('peer-topic.s').counts()).waiting, 1);
      },
      { needs: needs.shared },
    );

    conformanceTest(
      suite,
      'two handles leasing one queue at once never hold the same job and take every job once',
      async ({ spool, peer }) => {
        const other = (await peer()).spool;
        await spool.queue<number>('peer-crowd').addBulk(Array.from({ length: 200 }, (_, i) => ({ data: i })));
        const held = new Set<string>();
        const seen: number[] = [];
        await Promise.all(
          [spool, other, spool, other].map(async (s) => {
            for (;;) {
              const jobs = await s.queue<number>('peer-crowd').lease({ max: 5 });
              if (jobs.length === 0) return;
              for (const job of jobs) {
                assert.ok(!held.has(job.id), `job ${job.id} held twice`);
                held.add(job.id);
              }
              for (const job of jobs) {
                held.delete(job.id);
                seen.push(job.data);
                await job.ack();
              }
            }
          }),
        );
        assert.equal(seen.length, 200);
        assert.equal(new Set(seen).size, 200);
      },
      { needs: needs.shared },
    );
  });
}

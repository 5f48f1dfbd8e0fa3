// One AbortSignal for a whole process's shutdown, given to each of its workers, consume loops,
// leases and waitFors: each listening to it alone passed Node's 10 listeners an EventTarget, and
// Node warned of a memory leak (MaxListenersExceededWarning) where none was.
import assert from 'node:assert/strict';
import { setImmediate } from 'node:timers/promises';
import { test } from 'node:test';
import { open } from '../src/index.ts';
import { connect } from '../src/client/index.ts';
import { start } from './server/harness.ts';

/** Runs `body`; then fails with the listener-leak warnings Node printed meanwhile, if any. */
async function withoutListenerWarnings(body: () => Promise<void>): Promise<void> {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  try {
    await body();
    // Warnings are emitted on a later turn.
    await setImmediate();
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
    [],
  );
}

void test('one signal shared by 30 consume loops, 12 workers, 12 waitFors and 12 remote leases: no listener warning, and its abort ends them all', () =>
  withoutListenerWarnings(async () => {
    const s = await start();
    await using spool = await open('memory:');
    try {
      const shutdown = new AbortController();
      const { signal } = shutdown;
      const consumed: unknown[] = [];
      const loops = Array.from({ length: 30 }, async () => {
        for await (const job of spool.queue('loops').consume({ signal })) {
          consumed.push(job.data);
          await job.ack();
        }
      });
      const processed: unknown[] = [];
      const workers = Array.from({ length: 12 }, () =>
        spool.queue('workers').process((job) => void processed.push(job.data), { signal }),
      );
      const waiting = await spool.queue('waits').addBulk(Array.from({ length: 12 }, (_, i) => ({ data: i })));
      const waits = waiting.map((id) => spool.queue('waits').waitFor(id, { signal }));
      const remote = connect(s.base).queue('remote');
      const leases = Array.from({ length: 12 }, () => remote.lease({ wait: 'forever', signal }));
      await spool.queue('loops').addBulk(Array.from({ length: 40 }, (_, i) => ({ data: i })));
      await spool.queue('workers').addBulk(Array.from({ length: 40 }, (_, i) => ({ data: i })));
      for (let tries = 0; consumed.length < 40 || processed.length < 40; tries++) {
        assert.ok(tries < 500, `consumed ${consumed.length}, processed ${processed.length}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      shutdown.abort();
      await Promise.all(loops);
      await Promise.all(workers.map((worker) => worker.close()));
      for (const wait of waits) await assert.rejects(wait);
      for (const lease of leases) await assert.rejects(lease);
    } finally {
      await s.close();
    }
  }));

void test('one signal shared by 12 remote consume loops pausing between empty answers (--max-wait 0): no listener warning, and its abort ends them', () =>
  withoutListenerWarnings(async () => {
    const s = await start({ maxWait: 0 });
    try {
      const shutdown = new AbortController();
      const { signal } = shutdown;
      const remote = connect(s.base).queue('idle');
      const loops = Array.from({ length: 12 }, async () => {
        for await (const job of remote.consume({ signal })) await job.ack();
      });
      // Each loop's first empty answer comes at once; then it pauses, listening to the signal.
      await new Promise((resolve) => setTimeout(resolve, 500));
      shutdown.abort();
      await Promise.all(loops);
    } finally {
      await s.close();
    }
  }));

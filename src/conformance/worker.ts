import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { LeasedJob } from '../index.ts';
import { area, conformanceTest, settle, until } from './harness.ts';
import type { Suite } from './harness.ts';

export function worker(suite: Suite): void {
  area(suite, 'worker', () => {
    conformanceTest(suite, 'process runs every job once and acks it with the handler result', async ({ spool }) => {
      const q = spool.queue<number>('work');
      const ids = await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ data: i })));
      const seen: number[] = [];
      const w = q.process(
        (job) => {
          seen.push(job.data);
          return job.data * 2;
        },
        { concurrency: 4 },
      );
      while (seen.length < 20) await settle();
      await w.close();
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i),
      );
      assert.equal((await q.get(ids[3]!))?.result, 6);
      assert.equal((await q.counts()).completed, 20);
    });

    conformanceTest(
      suite,
      'a failing handler is retried with back-off and ends dead with its errors',
      async ({ spool, clock }) => {
        const q = spool.queue('work-fail', { maxAttempts: 2, backoff: { type: 'fixed', delay: '1s' } });
        const id = await q.add('x');
        let calls = 0;
        const w = q.process(() => {
          calls++;
          throw new Error(`attempt ${calls}`);
        });
        const failed = once(w, 'failed');
        await failed;
        const dead = once(w, 'dead');
        await settle();
        clock.advance(1000);
        await dead;
        await w.close();
        const info = await q.get(id);
        assert.equal(info?.state, 'dead');
        assert.deepEqual(info?.errors, ['Error: attempt 1', 'Error: attempt 2']);
      },
    );

    conformanceTest(
      suite,
      "a queue's back-off function sets the retry delay, with jitter drawn from the injected random",
      async ({ spool, clock }) => {
        const calls: [number, string][] = [];
        const q = spool.queue('work-fn', {
          maxAttempts: 3,
          backoff: (attempt, error) => {
            calls.push([attempt, (error as Error).message]);
            return `${attempt * 10}s`;
          },
        });
        const id = await q.add('x');
        const w = q.process(() => {
          throw new Error('nope');
        });
        await once(w, 'failed');
        assert.equal((await q.get(id))?.runAt, clock.now() + 10_000);
        await w.close();
        assert.deepEqual(calls, [[1, 'nope']]);
        // A data back-off with jitter 0.5 and random() = 0.5 (the harness's) waits 75% of the delay.
        const j = spool.queue('work-jitter', { backoff: { type: 'fixed', delay: '4s', jitter: 0.5 } });
        const jid = await j.add('y');
        const [job] = await j.lease();
        await job!.nack();
        assert.equal((await j.get(jid))?.runAt, clock.now() + 3000);
      },
    );

    conformanceTest(
      suite,
      'a worker whose lease was lost leaves the job alone and reports the loss',
      async ({ spool, clock }) => {
        const q = spool.queue('work-lost', { backoff: { type: 'fixed', delay: 0 } });
        const id = await q.add('x', { visibility: '10s' });
        let finish = (): void => {};
        let started = false;
        const errors: unknown[] = [];
        const w = q.process(
          () => {
            started = true;
            return new Promise<void>((r) => (finish = r));
          },
          { autoExtend: false },
        );
        w.on('error', (e) => errors.push(e));
        // The handler itself, not the store: a store on another connection shows the job active
        // before the worker has its lease.
        await until(() => started, 'the handler to start');
        clock.advance(10_000);
        const [other] = await q.lease();
        assert.equal(other?.id, id);
        finish();
        await until(() => errors.length > 0, 'the lost lease to be reported');
        assert.equal((errors[0] as { code?: string }).code, 'LEASE_LOST');
        assert.equal((await q.get(id))?.state, 'active');
        await other.ack();
        await w.close();
      },
    );

    conformanceTest(suite, 'the worker extends the lease while a long handler runs', async ({ spool, clock }) => {
      const q = spool.queue('work-long');
      const id = await q.add('x', { visibility: '10s' });
      let finish = (): void => {};
      let running: LeasedJob | undefined;
      const started = new Promise<void>((resolve) => {
        q.process((job) => {
          running = job;
          resolve();
          return new Promise<void>((r) => (finish = r));
        });
      });
      await started;
      try {
        for (let i = 0; i < 6; i++) {
          // Half-way through the lease, the keeper's timer extends it. Its next timer is armed once
          // the worker's own lease has the new end: the store can show that end sooner (another
          // connection), and another timer is pending too, so neither tells the keeper is ready.
          clock.advance(5000);
          await until(() => running?.leaseUntil === clock.now() + 10_000, 'the lease extension');
          assert.equal((await q.get(id))?.leaseUntil, clock.now() + 10_000);
        }
        const info = await q.get(id);
        assert.equal(info?.state, 'active');
        assert.equal(info?.attempts, 1);
      } finally {
        // Also when an assertion failed: the handler must end, or closing the spool waits for it for ever.
        finish();
      }
      while ((await q.get(id))?.state !== 'completed') await settle();
    });

    conformanceTest(suite, 'a handler past its time-out is aborted and the attempt fails', async ({ spool, clock }) => {
      const q = spool.queue('work-timeout', { maxAttempts: 1 });
      const id = await q.add('x');
      let aborted = false;
      let started = false;
      const w = q.process(
        (job) =>
          new Promise<void>((resolve) => {
            started = true;
            job.signal.addEventListener('abort', () => {
              aborted = true;
              resolve();
            });
          }),
        { timeout: '2s' },
      );
      const dead = once(w, 'dead');
      await until(() => started, 'the handler');
      clock.advance(2000);
      await dead;
      assert.equal(aborted, true);
      assert.match((await q.get(id))?.lastError ?? '', /timed out/);
      await w.close();
    });

    conformanceTest(suite, 'close waits for running handlers and leases nothing more', async ({ spool }) => {
      const q = spool.queue<number>('work-close');
      await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
      let release = (): void => {};
      const gate = new Promise<void>((r) => (release = r));
      const started: number[] = [];
      const w = q.process(async (job) => {
        started.push(job.data);
        await gate;
      });
      while (started.length === 0) await settle();
      const closing = w.close();
      await settle();
      release();
      await closing;
      assert.deepEqual(started, [1]);
      const counts = await q.counts();
      assert.equal(counts.completed, 1);
      assert.equal(counts.waiting, 2);
      assert.equal(counts.active, 0);
    });

    conformanceTest(
      suite,
      'a failed job runs again as its back-off ends while the worker waits in a lease',
      async ({ spool, clock }) => {
        const q = spool.queue('work-retry', { backoff: { type: 'fixed', delay: '1s' } });
        let fail = (): void => {};
        const failing = new Promise<void>((r) => (fail = r));
        const attempts: number[] = [];
        const w = q.process(
          async (job) => {
            attempts.push(job.attempt);
            if (job.attempt === 1) {
              await failing;
              throw new Error('once');
            }
          },
          { concurrency: 3, autoExtend: false },
        );
        const id = await q.add('x');
        await until(() => attempts.length === 1, 'the first attempt');
        // Every lease lane (two on a remote store) blocks with free slots: the failure must wake
        // one, no poll does, and no lane waits for the slot the failed job frees.
        const lanes = spool.capabilities.remote ? 2 : 1;
        await until(() => clock.pending >= lanes, 'the free slots to wait in leases');
        const failed = once(w, 'failed');
        fail();
        await failed;
        const retry = await q.get(id);
        assert.equal(retry?.state, 'delayed');
        await until(() => clock.armedFor(retry.runAt), 'the retry time to reach the waiting lease');
        clock.advance(1000);
        await until(() => attempts.length === 2, 'the second attempt');
        await w.close();
        assert.deepEqual(attempts, [1, 2]);
        assert.equal((await q.counts()).completed, 1);
      },
    );

    conformanceTest(
      suite,
      'close with a time-out aborts running handlers after it and hands their jobs back unattempted',
      async ({ spool, clock }) => {
        const q = spool.queue('work-close-timeout');
        const [slow, next] = await q.addBulk([{ data: 'slow' }, { data: 'next' }]);
        let reason: unknown = null;
        let handling = false;
        const w = q.process(
          (job) =>
            new Promise<void>((resolve) => {
              handling = true;
              job.signal.addEventListener('abort', () => {
                reason = job.signal.reason;
                // A handler that returns normally once aborted: its job is handed back all the same.
                resolve();
              });
            }),
          { autoExtend: false },
        );
        await until(() => handling, 'the handler to start');
        let closed = false;
        const closing = w.close({ timeout: '5s' }).then(() => (closed = true));
        clock.advance(4999);
        await settle();
        assert.equal(reason, null);
        assert.equal(closed, false);
        clock.advance(1);
        await closing;
        assert.equal((reason as { code?: string } | null)?.code, 'CLOSED');
        const info = await q.get(slow!);
        assert.equal(info?.state, 'waiting');
        assert.equal(info?.attempts, 0);
        assert.deepEqual(info?.errors, []);
        assert.equal((await q.get(next!))?.state, 'waiting');
        assert.equal((await q.counts()).completed, 0);
      },
    );

    conformanceTest(
      suite,
      'aborting the signal given to process aborts running handlers and hands their jobs back',
      async ({ spool }) => {
        const q = spool.queue('work-signal');
        const id = await q.add('x');
        const abort = new AbortController();
        let aborted = false;
        const w = q.process(
          (job) =>
            new Promise<void>((_resolve, reject) => {
              job.signal.addEventListener('abort', () => {
                aborted = true;
                reject(job.signal.reason as Error);
              });
            }),
          { signal: abort.signal, autoExtend: false },
        );
        await until(async () => (await q.get(id))?.state === 'active', 'the handler to start');
        abort.abort();
        await w.close();
        assert.equal(aborted, true);
        const info = await q.get(id);
        assert.equal(info?.state, 'waiting');
        assert.equal(info?.attempts, 0);
      },
    );

    conformanceTest(
      suite,
      'a handler whose result cannot be stored fails its attempt with the ValidationError, as a throw does',
      async ({ spool }) => {
        const q = spool.queue('work-bad-result', { maxAttempts: 1 });
        const id = await q.add('x');
        const worker = q.process(() => 10n);
        const [, error] = (await once(worker, 'dead')) as [unknown, unknown];
        await worker.close();
        assert.equal((error as { code?: string }).code, 'VALIDATION');
        const info = await q.get(id);
        assert.equal(info?.state, 'dead');
        assert.match(info?.lastError ?? '', /BigInt/);
      },
    );

    conformanceTest(
      suite,
      'a signal aborted before process starts no handler: the worker leases nothing and another takes the job',
      async ({ spool }) => {
        // An aborted signal sends no 'abort' event: the worker took every job until close().
        const q = spool.queue('work-signal-aborted');
        const id = await q.add('x');
        const abort = new AbortController();
        abort.abort();
        let ran = 0;
        const gaveUp = q.process(
          () => {
            ran++;
          },
          { signal: abort.signal },
        );
        const other = q.process(() => 'done');
        await new Promise((resolve) => other.once('completed', resolve));
        await Promise.all([gaveUp.close(), other.close()]);
        assert.equal(ran, 0);
        const info = await q.get(id);
        assert.equal(info?.attempts, 1, "one attempt: the other worker's");
      },
    );

    conformanceTest(
      suite,
      'with prefetch a worker leases ahead of its free slots, runs no more than its concurrency, and a close hands back what it never started',
      async ({ spool }) => {
        const q = spool.queue<number>('work-prefetch');
        await q.addBulk(Array.from({ length: 10 }, (_, i) => ({ data: i })));
        const started: number[] = [];
        const finish = new Map<number, () => void>();
        let running = 0;
        let most = 0;
        const w = q.process(
          async (job) => {
            started.push(job.data);
            most = Math.max(most, ++running);
            await new Promise<void>((resolve) => finish.set(job.data, resolve));
            running--;
          },
          { concurrency: 2, prefetch: 3 },
        );
        try {
          await until(() => started.length === 2, 'two handlers');
          // Two running, three waiting in the worker: leased, so no other consumer can take them.
          await until(async () => (await q.counts()).active === 5, 'five jobs leased');
          assert.deepEqual(started, [0, 1]);
          finish.get(0)?.();
          // A held job starts in the freed slot, in lease order; the worker leases one more.
          await until(() => started.length === 3, 'a prefetched job to start');
          assert.equal(started[2], 2);
          await until(async () => (await q.counts()).completed === 1, 'the ack');
          await until(async () => (await q.counts()).active === 5, 'a lease for the freed room');
        } finally {
          const closing = w.close();
          for (const end of finish.values()) end();
          await closing;
        }
        assert.equal(most, 2);
        const counts = await q.counts();
        assert.equal(counts.active, 0);
        assert.equal(counts.completed, started.length);
        assert.equal(counts.waiting, 10 - started.length);
        // The prefetched jobs went back as they were: their lease counted no attempt.
        const waiting = await q.peek(10);
        assert.deepEqual(
          waiting.map((j) => j.attempts),
          waiting.map(() => 0),
        );
        assert.deepEqual(
          waiting.map((j) => j.data),
          Array.from({ length: 10 }, (_, i) => i).filter((i) => !started.includes(i)),
        );
      },
    );

    conformanceTest(
      suite,
      "a prefetched job's lease is extended while it waits for a slot",
      async ({ spool, clock }) => {
        const q = spool.queue<string>('work-prefetch-keep');
        const [, second] = await q.addBulk([
          { data: 'first', options: { visibility: '10s' } },
          { data: 'second', options: { visibility: '10s' } },
        ]);
        const attempts = new Map<string, number>();
        let finish = (): void => {};
        const w = q.process(
          (job) => {
            attempts.set(job.data, job.attempt);
            if (job.data === 'first') return new Promise<void>((resolve) => (finish = resolve));
            return undefined;
          },
          { prefetch: 1 },
        );
        try {
          await until(() => attempts.has('first'), 'the first handler');
          await until(async () => (await q.counts()).active === 2, 'the second job prefetched');
          clock.advance(5000);
          await until(
            async () => (await q.get(second!))?.leaseUntil === clock.now() + 10_000,
            "the waiting job's lease extension",
          );
        } finally {
          finish();
        }
        await until(async () => (await q.counts()).completed === 2, 'both jobs');
        // Run on the lease it was prefetched with, not on a second one after it ran out.
        assert.equal(attempts.get('second'), 1);
        await w.close();
      },
    );

    conformanceTest(
      suite,
      'a prefetched job whose lease ended while it waited is not run on that lease',
      async ({ spool, clock }) => {
        const q = spool.queue<string>('work-prefetch-late');
        await q.addBulk([
          { data: 'first', options: { visibility: '10s' } },
          { data: 'second', options: { visibility: '10s' } },
        ]);
        const runs: string[] = [];
        let finish = (): void => {};
        const w = q.process(
          (job) => {
            runs.push(`${job.data}#${job.attempt}`);
            if (runs.length === 1) return new Promise<void>((resolve) => (finish = resolve));
            return undefined;
          },
          { prefetch: 1, autoExtend: false },
        );
        w.on('error', () => undefined);
        try {
          await until(() => runs.length === 1, 'the first handler');
          await until(async () => (await q.counts()).active === 2, 'the second job prefetched');
          // Both leases end: the store hands both jobs out again, to anyone.
          clock.advance(10_000);
        } finally {
          finish();
        }
        await until(async () => (await q.counts()).completed === 2, 'both jobs, leased again');
        await w.close();
        assert.equal(runs[0], 'first#1');
        assert.ok(!runs.includes('second#1'), `ran ${runs.join(', ')}`);
        assert.ok(runs.includes('second#2'), `ran ${runs.join(', ')}`);
      },
    );

    conformanceTest(
      suite,
      'consume yields jobs to a for-await loop and releases what it fetched ahead',
      async ({ spool }) => {
        const q = spool.queue<number>('consume');
        await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
        const got: number[] = [];
        for await (const job of q.consume({ prefetch: 2 })) {
          got.push(job.data);
          await job.ack();
          if (got.length === 1) break;
        }
        assert.deepEqual(got, [1]);
        const counts = await q.counts();
        assert.equal(counts.waiting, 2);
        assert.equal(counts.active, 0);
        assert.equal((await q.peek(1))[0]?.attempts, 0);
      },
    );
  });
}

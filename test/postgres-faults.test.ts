// Fault tests on a private PostgreSQL cluster: a restart under load, every connection killed
// with pg_terminate_backend (idle, or one mid-statement), and a statement time-out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { open, StorageError } from '../src/index.ts';
import type { Spool } from '../src/index.ts';
import { PostgresStore } from '../src/store/postgres/index.ts';
import { initdbProblem, PrivatePostgres, withSchema } from './fixtures/postgres.ts';
import { skipUnless } from './fixtures/redis.ts';
import { longestGapMs, triesDuringOutage } from './fixtures/stand-in.ts';

const skip = skipUnless(initdbProblem(), 'PostgreSQL 15 (initdb, pg_ctl)', 'apt-get install postgresql-15');
let server: PrivatePostgres | null = null;
before(async () => {
  if (skip === false) server = await PrivatePostgres.start();
});
after(() => server?.stop());

function cluster(): PrivatePostgres {
  if (server === null) throw new Error('the private cluster did not start');
  return server;
}

/** `promise`'s outcome (its value or its error), or `late` if it has none within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, late = 'no answer'): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  try {
    return await Promise.race([promise.catch((error: unknown) => error), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function admin<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: cluster().url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Resolves once the store's connections, its listening one too, are up. */
async function healthy(spool: Spool): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await spool.health()).ok) {
    assert.ok(Date.now() < deadline, `unhealthy: ${JSON.stringify(await spool.health())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `body` while another connection holds `table` in ACCESS EXCLUSIVE mode, so the store's
 * statements on it block; `body` gets that connection's pid. The lock ends with `body`.
 */
async function whileLocked<T>(table: string, body: (lockerPid: number) => Promise<T>): Promise<T> {
  const locker = new pg.Client({ connectionString: cluster().url });
  locker.on('error', () => {});
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return await body((await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end().catch(() => {});
  }
}

/** The store serves again after a fault: an add is leased behind the one added before it. */
async function servesAgain(spool: Spool, queue: string): Promise<void> {
  const q = spool.queue<string>(queue);
  await q.add('after');
  const jobs = await q.lease({ max: 10 });
  assert.deepEqual(
    jobs.map((job) => job.data),
    ['before', 'after'],
  );
  await healthy(spool);
}

/** A lease on `queue` in `consumer` blocked until an add of `producer`'s: how long it took to wake. */
async function wakeMs(consumer: Spool, producer: Spool, queue: string): Promise<number> {
  const lease = consumer.queue<string>(queue).lease({ wait: '10s' });
  // Long enough for the lease to block; a slow safety poll would not fire in the time allowed.
  await new Promise((r) => setTimeout(r, 200));
  const addedAt = Date.now();
  await producer.queue<string>(queue).add('wake');
  const jobs = await lease;
  assert.equal(jobs.length, 1);
  await jobs[0]!.ack();
  return Date.now() - addedAt;
}

void describe('postgres store: faults', { skip }, () => {
  void test('PostgreSQL restarted mid-load: every resolved add is delivered once, outage calls fail typed, and the store reconnects (LISTEN too)', async (t) => {
    const url = withSchema(cluster().url, 'restart');
    await using spool = await open(url);
    await using consumer = await open(url);
    const q = spool.queue<number>('load');
    // A worker blocked in its lease through the outage.
    const handled: string[] = [];
    const worker = consumer.queue<string>('steady').process((job) => void handled.push(job.data));
    worker.on('error', () => {});
    const resolved = new Map<number, string>();
    const failed: unknown[] = [];
    let n = 0;
    let stop = false;
    const producer = async (): Promise<void> => {
      while (!stop) {
        const payload = n++;
        // Bounded: a call that hung through the outage would show up as this string.
        const outcome = await within(q.add(payload), 10_000, 'hung');
        if (typeof outcome === 'string' && outcome !== 'hung') resolved.set(payload, outcome);
        else failed.push(outcome);
        if (outcome instanceof Error) await new Promise((r) => setTimeout(r, 10));
      }
    };
    const producers = Array.from({ length: 4 }, producer);
    while (resolved.size < 200) await new Promise((r) => setTimeout(r, 5));
    await cluster().halt();
    const failedBefore = failed.length;
    await new Promise((r) => setTimeout(r, 500));
    const duringOutage = failed.length - failedBefore;
    const stalled = resolved.size;
    await cluster().boot();
    while (resolved.size < stalled + 200) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(producers);
    assert.ok(duringOutage > 0, 'calls during the outage failed');
    for (const error of failed) assert.ok(error instanceof StorageError, String(error));
    const stored = new Map<number, string[]>();
    for (let jobs = await q.lease({ max: 500 }); jobs.length > 0; jobs = await q.lease({ max: 500 })) {
      for (const job of jobs) stored.set(job.data, [...(stored.get(job.data) ?? []), job.id]);
      await Promise.all(jobs.map((job) => job.ack()));
    }
    assert.deepEqual(
      [...stored].filter(([, ids]) => ids.length > 1),
      [],
      'payloads delivered more than once',
    );
    assert.deepEqual(
      [...resolved].filter(([payload, id]) => stored.get(payload)?.[0] !== id),
      [],
      'resolved adds not delivered under their id',
    );
    // Only the store's LISTEN connection can tell `consumer` of `spool`'s add.
    await healthy(consumer);
    await spool.queue('steady').waitFor(await spool.queue('steady').add('after'), { timeout: '5s' });
    await worker.close();
    assert.deepEqual(handled, ['after']);
    const ms = await wakeMs(consumer, spool, 'after-restart');
    t.diagnostic(
      `${resolved.size} adds resolved, ${failed.length} failed with a StorageError, woken ${ms} ms after an add`,
    );
    assert.ok(ms < 500, `woken ${ms} ms after the add`);
  });

  void test('pg_terminate_backend of every spool connection while idle: the next calls work and wake-ups still arrive', async () => {
    const url = withSchema(cluster().url, 'terminated');
    await using producer = await open(url);
    await using consumer = await open(url);
    const handled: string[] = [];
    const worker = consumer.queue<string>('kill').process((job) => void handled.push(job.data));
    const first = await producer.queue('kill').add('before');
    await consumer.queue('kill').waitFor(first, { timeout: '5s' });
    const pids = await admin<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    const killed = await admin<{ pid: number }>(
      'SELECT pid FROM unnest($1::int[]) AS pid WHERE pg_terminate_backend(pid)',
      [pids.map((row) => row.pid)],
    );
    assert.ok(killed.length >= 3, `terminated ${killed.length} connections, both listeners among them`);
    // The pool hears of its idle connections' end a moment later, and the listener reconnects.
    await healthy(producer);
    await healthy(consumer);
    const second = await producer.queue('kill').add('after');
    await consumer.queue('kill').waitFor(second, { timeout: '5s' });
    await worker.close();
    assert.deepEqual(handled, ['before', 'after']);
    const listening = await admin(`SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`);
    assert.equal(listening.length, 2, 'each store listens again');
    const ms = await wakeMs(consumer, producer, 'after-kill');
    assert.ok(ms < 500, `woken ${ms} ms after the add`);
  });

  void test('a waitFor whose job ended while its store was not listening reads the job again once it listens, not at its timeout', async () => {
    const url = withSchema(cluster().url, 'missed');
    await using producer = await open(url);
    await using consumer = await open(url);
    const id = await producer.queue('missed').add('x');
    const waited = within(consumer.queue('missed').waitFor(id, { timeout: '30s' }), 20_000);
    // Its watch in place (capabilities.endedEvents 'watched'), as the first look follows it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The listener cut and kept from coming back while the job ends: its end's notification is lost.
    const other = cluster().url.replace(/\/postgres$/, '/template1');
    const onOther = async (text: string): Promise<void> => {
      const client = new pg.Client({ connectionString: other });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    await onOther('ALTER DATABASE postgres ALLOW_CONNECTIONS false');
    try {
      await onOther(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'postgres' AND query LIKE 'LISTEN%'",
      );
      for (const deadline = Date.now() + 10_000; (await consumer.health()).ok;) {
        assert.ok(Date.now() < deadline, 'the consumer did not see its listener go');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The producer's pooled connection, idle since its add, is still there.
      const [job] = await producer.queue('missed').lease();
      await job!.ack('done');
    } finally {
      await onOther('ALTER DATABASE postgres ALLOW_CONNECTIONS true');
    }
    // Before, the listener came back and the waitFor slept on to its timeout.
    assert.equal(await waited, 'done');
  });

  void test('with PostgreSQL gone for seconds, the listening connection is tried again every 200 ms at most, so the store hears it back that soon', async (t) => {
    const server = cluster();
    // The store makes no call, so its pool connects to nothing: each try is its listener's.
    const store = await PostgresStore.open({ connectionString: server.url, schema: 'reconnect' });
    try {
      const stoppedAt = performance.now();
      await server.halt();
      const { count, lastSecondGaps } = await triesDuringOutage(server.port, stoppedAt, 4_000);
      t.diagnostic(`${count} tries; the gaps of the fourth second: ${lastSecondGaps.join(', ')} ms`);
      // Before, the waits had grown to 1 s by then: the store heard the server back, and its
      // leases and waitFors looked again ('missed'), up to 1 s late.
      assert.ok(Math.max(...lastSecondGaps) <= longestGapMs, `gaps of ${lastSecondGaps.join(', ')} ms`);
    } finally {
      await server.boot();
      await store.close();
    }
  });

  void test('a statement time-out fails the call with a StorageError, and the store keeps serving', async () => {
    const url = `${withSchema(cluster().url, 'slow')}&statementTimeout=200ms`;
    await using spool = await open(url);
    const q = spool.queue<string>('slow');
    await q.add('before');
    await whileLocked('slow.jobs', async () => {
      const startedAt = Date.now();
      const outcome = await within(q.add('blocked'), 5000);
      assert.ok(outcome instanceof StorageError, String(outcome));
      assert.match(outcome.message, /statement timeout/);
      assert.ok(Date.now() - startedAt < 2000, 'failed at the time-out, not later');
    });
    assert.deepEqual(await spool.health(), { ok: true }, 'a time-out is not an outage');
    await servesAgain(spool, 'slow');
  });

  void test('pg_terminate_backend of a connection mid-statement: that call fails with a StorageError, the next works', async () => {
    await using spool = await open(withSchema(cluster().url, 'midway'));
    const q = spool.queue<string>('midway');
    await q.add('before');
    await whileLocked('midway.jobs', async (lockerPid) => {
      const blocked = within(q.add('blocked'), 5000);
      let waiting: { pid: number }[] = [];
      while (waiting.length === 0) {
        waiting = await admin<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> $1`,
          [lockerPid],
        );
      }
      await admin('SELECT pg_terminate_backend($1)', [waiting[0]!.pid]);
      const outcome = await blocked;
      assert.ok(outcome instanceof StorageError, String(outcome));
    });
    await servesAgain(spool, 'midway');
  });
});

// The PostgreSQL store tells other processes of an acked job only while a waitFor watches it
// (sql/migrations/007-watches.sql): what it sends, what it never misses, and what it leaves behind.
import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import pg from 'pg';
import { until } from '../src/conformance/harness.ts';
import { open } from '../src/index.ts';
import type { Spool } from '../src/index.ts';
import { loadStatements } from '../src/store/postgres/statements.ts';
import { dropSchemas, listenTo, postgresProblem, postgresUrl, withSchema } from './fixtures/postgres.ts';
import { skipUnless } from './fixtures/redis.ts';

const skip = skipUnless(
  await postgresProblem(),
  `PostgreSQL at ${postgresUrl}`,
  'start PostgreSQL or set SPOOL_POSTGRES_URL',
);
const stem = `postgres_watch_${process.pid}_`;
after(() => (skip === false ? dropSchemas(postgresUrl, stem) : undefined));

/** What a test opened, closed after it whatever its outcome: a failed test must not hang the file. */
let opened: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.map((close) => close()));
  opened = [];
});

async function spoolOn(schema: string): Promise<Spool> {
  const spool = await open(withSchema(postgresUrl, schema));
  opened.push(() => spool.close());
  return spool;
}

async function connected(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgresUrl });
  opened.push(() => client.end());
  await client.connect();
  return client;
}

/** A client listening on the store's channel, closed after the test: the ids of the ended events it heard. */
async function endedHeard(schema: string): Promise<{ client: pg.Client; ended: () => string[] }> {
  const { client, heard } = await listenTo(schema);
  opened.push(() => client.end());
  return { client, ended: () => heard.filter((e) => e.kind === 'ended').map((e) => e.id as string) };
}

async function rowsOfWatches(client: pg.Client, schema: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".watches`);
  return Number(rows[0]?.n);
}

/** Runs jobs `data` through a worker of `spool`, one at a time, each done before the next is added. */
async function runOneByOne(spool: Spool, queue: string, data: readonly number[]): Promise<string[]> {
  const q = spool.queue<number, number>(queue);
  let done = 0;
  const worker = q.process((job) => job.data * 10);
  worker.on('completed', () => done++);
  const ids: string[] = [];
  for (const [i, value] of data.entries()) {
    ids.push(await q.add(value));
    await until(() => done > i, `job ${value} to complete`);
  }
  await worker.close();
  return ids;
}

void describe('postgres: acks tell of watched jobs only', { skip }, () => {
  void test('an ack sends no ended event for a job nobody waits for, and one for a job a waitFor in another process watches', async () => {
    const schema = `${stem}told`;
    const worker = await spoolOn(schema);
    const waiter = await spoolOn(schema);
    const { client, ended } = await endedHeard(schema);
    await runOneByOne(worker, 'told', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Notifications come after their commit: one round trip more settles the last.
    await client.query('SELECT 1');
    assert.deepEqual(ended(), []);

    const id = await worker.queue<number>('told').add(11);
    const waiting = waiter.queue<number, number>('told').waitFor(id, { timeout: '10s' });
    await until(async () => (await rowsOfWatches(client, schema)) > 0, "the waitFor's watch");
    await runOneByOne(worker, 'told', [12]);
    assert.equal(await waiting, 110);
    await client.query('SELECT 1');
    assert.deepEqual(ended(), [id]);
    assert.equal(await rowsOfWatches(client, schema), 0, 'the ack deleted the watch of the job it ended');
  });

  void test('a watch that commits while an ack of its job waits for the row is seen by that ack', async () => {
    const schema = `${stem}race`;
    const spool = await spoolOn(schema);
    const q = spool.queue<number>('race');
    const id = await q.add(1);
    const [job] = await q.lease({ max: 1 });
    assert.ok(job !== undefined);
    const { client, ended } = await endedHeard(schema);
    // The store's own watch statement, held open before its commit, as a watch caught mid-way.
    const { watch, ack } = loadStatements(schema);
    const watcher = await connected();
    await watcher.query('BEGIN');
    assert.equal((await watcher.query(watch, [id])).rowCount, 1);
    const acked = job.ack(null);
    // The ack's statement started before the watch committed and waits for the job's row.
    await until(async () => {
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND starts_with(query, $1)",
        [ack.slice(0, 200)],
      );
      return Number(rows[0]?.n) > 0;
    }, 'the ack to wait for the row');
    await watcher.query('COMMIT');
    await acked;
    await client.query('SELECT 1');
    assert.deepEqual(ended(), [id]);
  });

  void test('a job whose watch is on its way is leased all the same', async () => {
    const schema = `${stem}leasable`;
    const spool = await spoolOn(schema);
    const q = spool.queue<number>('leasable');
    const id = await q.add(1);
    // The store's own watch statement, held open before its commit, as a watch caught mid-way.
    const { watch } = loadStatements(schema);
    const watcher = await connected();
    await watcher.query('BEGIN');
    assert.equal((await watcher.query(watch, [id])).rowCount, 1);
    const [job] = await q.lease({ max: 1 });
    assert.equal(job?.id, id);
    await watcher.query('COMMIT');
    await job.ack(null);
  });

  void test("an ack in a REPEATABLE READ transaction whose snapshot predates a watch still tells the job's end", async () => {
    const schema = `${stem}rr`;
    const worker = await spoolOn(schema);
    const waiter = await spoolOn(schema);
    const q = worker.queue<number>('rr');
    const id = await q.add(1);
    const [job] = await q.lease({ max: 1 });
    assert.ok(job !== undefined);
    const tx = await connected();
    await tx.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await tx.query('SELECT 1');
    const waiting = waiter.queue<number, number>('rr').waitFor(id, { timeout: '10s' });
    const client = await connected();
    await until(async () => (await rowsOfWatches(client, schema)) > 0, "the waitFor's watch");
    await job.ack(7, { tx });
    await tx.query('COMMIT');
    assert.equal(await waiting, 7);
  });

  void test('a waitFor that ends without its job ending leaves no watch behind', async () => {
    const schema = `${stem}left`;
    const spool = await spoolOn(schema);
    const q = spool.queue<number>('left');
    const id = await q.add(1);
    await assert.rejects(q.waitFor(id, { timeout: '50ms' }), { code: 'TIMEOUT' });
    const client = await connected();
    // The watch is deleted after the waitFor has answered, without holding up its answer.
    await until(async () => (await rowsOfWatches(client, schema)) === 0, 'the watch to go');
  });
});

// The PostgreSQL store's per-queue counters (migration 003-counts.sql): counts() and a queue's
// max length read them, not the queue's jobs, and they agree with the jobs through every change.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { open } from '../src/index.ts';
import type { Counts } from '../src/index.ts';
import { loadStatements } from '../src/store/postgres/statements.ts';
import { dropSchemas, postgresProblem, postgresUrl, withSchema } from './fixtures/postgres.ts';
import { skipUnless } from './fixtures/redis.ts';

const skip = skipUnless(
  await postgresProblem(),
  `PostgreSQL at ${postgresUrl}`,
  'start PostgreSQL or set SPOOL_POSTGRES_URL',
);
const stem = `postgres_counts_${process.pid}_`;
after(() => (skip === false ? dropSchemas(postgresUrl, stem) : undefined));

async function withClient<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** The rows a statement's plan read from spool.jobs (its heap and indexes), by EXPLAIN ANALYZE, rolled back. */
async function jobRowsRead(schema: string, text: string, values: unknown[]): Promise<number> {
  return withClient(async (client) => {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
    await client.query('ROLLBACK');
    let read = 0;
    const walk = (node: Record<string, unknown>): void => {
      if (node['Relation Name'] === 'jobs' && node['Schema'] === schema && node['Node Type'] !== 'ModifyTable')
        read += (node['Actual Rows'] as number) * (node['Actual Loops'] as number);
      for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((rows[0]?.['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]?.Plan as Record<string, unknown>);
    return read;
  });
}

/** The counts as the jobs table has them: what the counters must agree with. */
async function countedByRows(schema: string, queue: string, now: number): Promise<Omit<Counts, 'expired' | 'paused'>> {
  return withClient(async (client) => {
    const { rows } = await client.query<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE state = 'queued' AND available_at <= $2)::float8 AS waiting,
         count(*) FILTER (WHERE state = 'queued' AND available_at > $2)::float8 AS delayed,
         count(*) FILTER (WHERE state = 'active')::float8 AS active,
         count(*) FILTER (WHERE state = 'dead')::float8 AS dead,
         count(*) FILTER (WHERE state = 'completed')::float8 AS completed
       FROM "${schema}".jobs WHERE queue = $1`,
      [queue, now],
    );
    const r = rows[0] as Record<string, number>;
    return { waiting: r.waiting!, delayed: r.delayed!, active: r.active!, dead: r.dead!, completed: r.completed! };
  });
}

const pick = (c: Counts): Omit<Counts, 'expired' | 'paused'> => ({
  waiting: c.waiting,
  delayed: c.delayed,
  active: c.active,
  dead: c.dead,
  completed: c.completed,
});

void describe('postgres store counters', { skip }, () => {
  void test('counts() and the max-length check read no job rows of a queue 20,000 deep', async () => {
    const schema = `${stem}deep`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('deep');
    await q.configure({ maxLength: 100_000 });
    for (let i = 0; i < 20_000; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: i + k })));
    assert.equal((await q.counts()).waiting, 20_000);
    const sql = loadStatements(schema);
    const now = Date.now();
    assert.equal(await jobRowsRead(schema, sql.counts, [['deep'], now]), 0, 'counts read job rows');
    const one = [
      ['deep'],
      Buffer.from('1'),
      [1],
      [1],
      [0],
      [1],
      [now],
      [null],
      [30_000],
      ['fixed'],
      [0],
      [0],
      [0],
      [null],
    ];
    // The add reads jobs_key for its key (none here): one probe per job added, whatever the depth.
    assert.ok((await jobRowsRead(schema, sql.add, [...one, now, 'c', 'o'])) <= 1, 'the max-length check read job rows');
    await spool.close();
  });

  void test('the counters agree with the jobs after adds, delays, leases, acks, a dead job, a removal and a purge', async () => {
    const schema = `${stem}agree`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('agree');
    const check = async (when: string): Promise<void> => {
      const counted = await q.counts();
      assert.deepEqual(pick(counted), await countedByRows(schema, 'agree', Date.now()), when);
    };
    await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ data: i })));
    await q.add(99, { delay: '1h' });
    await check('after adds');
    assert.deepEqual(pick(await q.counts()), { waiting: 50, delayed: 1, active: 0, dead: 0, completed: 0 });
    const leased = await q.lease({ max: 10 });
    await check('after a lease');
    await Promise.all(leased.slice(0, 6).map((job) => job.ack()));
    await check('after acks');
    await leased[6]!.fail(new Error('no'));
    await leased[7]!.nack({ error: new Error('again'), delay: 0 });
    await check('after a dead job and a retry');
    const [waiting] = await q.peek(1);
    assert.equal(await q.remove(waiting!.id), true);
    await check('after a removal');
    assert.deepEqual(pick(await q.counts()), { waiting: 40, delayed: 1, active: 2, dead: 1, completed: 6 });
    await q.purge();
    await check('after a purge');
    assert.deepEqual(pick(await q.counts()), { waiting: 0, delayed: 0, active: 2, dead: 0, completed: 0 });
    await spool.close();
  });

  void test('many writers at once keep the counts exact, each taking a slot no other holds', async () => {
    const schema = `${stem}busy`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('busy');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => q.addBulk(Array.from({ length: 25 }, (_, k) => ({ data: i * 25 + k })))),
    );
    let done = 0;
    const worker = q.process(() => undefined, { concurrency: 16 });
    await new Promise<void>((resolve) => worker.on('completed', () => ++done === 600 && resolve()));
    await worker.close();
    const counted = pick(await q.counts());
    assert.deepEqual(counted, await countedByRows(schema, 'busy', Date.now()));
    assert.equal(counted.waiting + counted.completed, 1000);
    await spool.close();
  });

  void test('migration 3 counts the jobs a schema held before it', async () => {
    const schema = `${stem}upgrade`;
    let spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('old');
    await q.addBulk(Array.from({ length: 30 }, (_, i) => ({ data: i })));
    const leased = await q.lease({ max: 5 });
    await leased[0]!.ack();
    await spool.close();
    // The schema as version 2 left it, the jobs as they were.
    await withClient((client) =>
      client.query(
        `DROP TABLE "${schema}".counts; DROP FUNCTION "${schema}".count_jobs CASCADE; DROP FUNCTION "${schema}".count;
         DELETE FROM "${schema}".migrations WHERE version = 3`,
      ),
    );
    spool = await open(withSchema(postgresUrl, schema));
    const counted = await spool.queue<number>('old').counts();
    assert.deepEqual(pick(counted), { waiting: 25, delayed: 0, active: 4, dead: 0, completed: 1 });
    await spool.close();
  });
});

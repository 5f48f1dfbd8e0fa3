// The PostgreSQL store's own behaviour beyond the conformance suite: the URL, and migrations
// applied once when many processes open a new schema at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { ManualClock, systemClock } from '../src/core/clock.ts';
import { open, Spool } from '../src/index.ts';
import { PostgresStore } from '../src/store/postgres/index.ts';
import { newTokenKey, tokenKeyName } from '../src/store/memory/token-seal.ts';
import { loadStatements, migrations } from '../src/store/postgres/statements.ts';
import { dropSchemas, listenTo, postgresProblem, postgresUrl, withSchema } from './fixtures/postgres.ts';
import { skipUnless } from './fixtures/redis.ts';
import { runCli } from './support/cli.ts';

/** A node of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), the fields read here. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

/** The plan of `EXECUTE statement` as it ran (EXPLAIN ANALYZE: the statement runs). */
async function executed(client: pg.Client, statement: string): Promise<PlanNode> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE ${statement}`,
  );
  return rows[0]?.['QUERY PLAN'][0].Plan as PlanNode;
}

/** The buffers a plan's run read, its own and its children's. */
const buffersOf = (plan: PlanNode): number => plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];

/** The nodes of a plan, subplans included, that read table `relation` whole or by a bitmap of it. */
const tableScans = (plan: PlanNode, relation: string): string[] => [
  ...(plan['Relation Name'] === relation && ['Seq Scan', 'Bitmap Heap Scan'].includes(plan['Node Type'])
    ? [plan['Node Type']]
    : []),
  ...(plan.Plans ?? []).flatMap((child) => tableScans(child, relation)),
];

const skip = skipUnless(
  await postgresProblem(),
  `PostgreSQL at ${postgresUrl}`,
  'start PostgreSQL or set SPOOL_POSTGRES_URL',
);
const stem = `postgres_own_${process.pid}_`;
after(() => (skip === false ? dropSchemas(postgresUrl, stem) : undefined));

/**
 * How many times the jobs table of `schema` was vacuumed or analyzed, read again for up to 5 s
 * while it is 0: the store's upkeep runs in the background, and the statistics see it a moment later.
 */
async function upkeeps(schema: string, column: 'vacuum_count' | 'analyze_count'): Promise<number> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    for (let tries = 0; ; tries++) {
      const { rows } = await client.query<{ n: string }>(
        `SELECT ${column} AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'jobs'`,
        [schema],
      );
      const count = Number(rows[0]?.n ?? 0);
      if (count > 0 || tries === 50) return count;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

void describe('postgres store', { skip }, () => {
  void test("open('postgres://…?schema=…') stores jobs in that schema; an unknown URL parameter is refused", async () => {
    const schema = `${stem}url`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<string>('jobs');
    const id = await q.add('hello');
    const [job] = await q.lease();
    assert.equal(job?.id, id);
    await job.ack();
    await spool.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".jobs`);
    await client.end();
    assert.equal(rows[0]?.n, '1');
    await assert.rejects(open(`${postgresUrl}?schem=x`), { code: 'VALIDATION', field: 'schem' });
  });

  void test('single adds that come while one is in flight go together as the next statement, each answered for itself', async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
    let inserts = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
      if (text?.includes('INSERT INTO') === true && text.includes('unnest') === true) inserts++;
      return query(...args);
    };
    const store = await PostgresStore.open({ pool, schema: `${stem}line` });
    const spool = await Spool.create(store);
    const q = spool.queue<number>('trickle');
    await q.add(-1); // the queue is known: what follows is the add statement alone
    inserts = 0;
    // One add a turn of the event loop, as a web handler or a timer makes them: no tick batches them.
    const adds: Promise<string>[] = [];
    for (let i = 0; i < 40; i++) {
      adds.push(q.add(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const ids = await Promise.all(adds);
    assert.equal(new Set(ids).size, 40);
    for (const [i, id] of ids.entries()) assert.equal((await q.get(id))?.data, i);
    assert.ok(inserts < 40, `${inserts} add statements for 40 adds`);
    // Merged adds that meet a full queue: each call answers for itself, as if sent alone.
    const bounded = spool.queue<number>('bounded', { maxLength: 3 });
    await bounded.add(0);
    const calls: Promise<string>[] = [];
    for (let i = 1; i <= 4; i++) {
      calls.push(bounded.add(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answers = await Promise.allSettled(calls);
    assert.deepEqual(
      answers.map((a) => a.status),
      ['fulfilled', 'fulfilled', 'rejected', 'rejected'],
    );
    assert.equal((await bounded.counts()).waiting, 3);
    await spool.close();
    await pool.end();
  });

  /** A pool that counts the named statements sent through it, by the name of their .sql file. */
  const countingPool = (): { pool: pg.Pool; sent: Map<string, number> } => {
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
    const sent = new Map<string, number>();
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const name = (args[0] as { name?: string }).name?.split(':').at(-1);
      if (name !== undefined) sent.set(name, (sent.get(name) ?? 0) + 1);
      return query(...args);
    };
    return { pool, sent };
  };

  void test('an idle worker fed one add at a time leases each job once and tells the store it sleeps once, not per job', async () => {
    const { pool, sent } = countingPool();
    const store = await PostgresStore.open({ pool, schema: `${stem}idle` });
    const spool = await Spool.create(store);
    const q = spool.queue<number>('idle');
    const handled: number[] = [];
    const worker = q.process((job) => void handled.push(job.data));
    const completed = (): Promise<void> => new Promise((resolve) => worker.once('completed', () => resolve()));
    // The worker's first lease finds nothing and tells the store; then each add wakes it.
    await q.add(0);
    await completed();
    sent.clear();
    const jobs = 20;
    for (let i = 1; i <= jobs; i++) {
      const done = completed();
      await q.add(i);
      await done;
    }
    await worker.close();
    assert.equal(handled.length, jobs + 1);
    // Per job: the lease that finds it, sent once the add has committed, and the empty one after
    // it. The queue's wake-up time covers every sleep since the first, so no told statement.
    assert.equal(sent.get('told') ?? 0, 0);
    assert.ok((sent.get('lease') ?? 0) <= 2 * jobs + 1, `${sent.get('lease')} lease statements for ${jobs} jobs`);
    await spool.close();
    await pool.end();
  });

  void test('leases of the default length taken while a worker sleeps on the queue send no due event', async () => {
    const schema = `${stem}nodue`;
    const spool = await open(withSchema(postgresUrl, schema));
    const { client: listener, heard } = await listenTo(schema);
    // As a spool before migration 005 left it: told 'Infinity', nothing being due.
    await listener.query(`INSERT INTO "${schema}".queues (name, wake_by) VALUES ('nodue', 'Infinity')`);
    const q = spool.queue<number>('nodue');
    let done = 0;
    const worker = q.process(() => undefined);
    worker.on('completed', () => done++);
    for (let i = 1; i <= 10; i++) {
      await q.add(i);
      while (done < i) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await worker.close();
    await spool.close();
    // Notifications come after their commit: one round trip more settles the last.
    await listener.query('SELECT 1');
    await listener.end();
    // Each add tells the other processes its job is ready, each ack that it ended; each lease, before,
    // that a lease ends in 30 s, sooner than the 'Infinity' its queue's sleepers were told.
    assert.equal(heard.filter((e) => e.kind === 'ready').length, 10);
    assert.deepEqual(
      heard.filter((e) => e.kind === 'due'),
      [],
    );
  });

  void test('a lease that finds nothing looks again after the wake horizon, with no event to wake it', async () => {
    const { pool, sent } = countingPool();
    const clock = new ManualClock(Date.now());
    const spool = await Spool.create(await PostgresStore.open({ pool, schema: `${stem}horizon` }), { clock });
    const q = spool.queue<number>('horizon');
    const stop = new AbortController();
    const leased = q.lease({ wait: '1h', signal: stop.signal });
    while ((sent.get('told') ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const leases = sent.get('lease');
    clock.advance(29_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sent.get('lease'), leases);
    clock.advance(1_000);
    for (let tries = 0; sent.get('lease') === leases && tries < 400; tries++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(sent.get('lease'), (leases ?? 0) + 1, 'a lease 30 s after the told');
    stop.abort();
    assert.deepEqual(await leased, []);
    await spool.close();
    await pool.end();
  });

  void test('a lease for one job on a drained queue waits for the add being committed, not for the adds queued behind it', async () => {
    // Each add statement answers 300 ms late, as on a disk whose commits are slow.
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
    const order: string[] = [];
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const name = (args[0] as { name?: string }).name?.split(':').at(-1);
      if (name === 'lease') order.push('lease sent');
      const answer = query(...args);
      if (name !== 'add') return answer;
      return answer.then(
        (r) =>
          new Promise((resolve) =>
            setTimeout(() => {
              order.push('add in');
              resolve(r);
            }, 300),
          ),
      );
    };
    const spool = await Spool.create(await PostgresStore.open({ pool, schema: `${stem}firstadd` }));
    const q = spool.queue<string>('firstadd');
    await q.add('known');
    await (await q.lease())[0]?.ack();
    assert.deepEqual(await q.lease(), [], 'drained');
    order.length = 0;
    const a = q.add('a');
    await new Promise((resolve) => setImmediate(resolve));
    // Sent while a's statement is in flight: it waits in the add line, its commit 300 ms after a's.
    const b = q.add('b');
    await new Promise((resolve) => setImmediate(resolve));
    const [job] = await q.lease();
    assert.equal(job?.id, await a);
    await b;
    assert.deepEqual(order, ['add in', 'lease sent', 'add in']);
    await spool.close();
    await pool.end();
  });

  void test('a worker that took the last job waits for the adds its process has on their way before it leases again: one lease per job, no empty one between', async () => {
    const { pool, sent } = countingPool();
    const store = await PostgresStore.open({ pool, schema: `${stem}next` });
    const spool = await Spool.create(store);
    const q = spool.queue<number>('next');
    const jobs = 20;
    const handled: number[] = [];
    const adds: Promise<string>[] = [];
    let finished = (): void => {};
    const all = new Promise<void>((resolve) => (finished = resolve));
    // Each handler adds the next job, as a stream of adds does: that add is on its way to the
    // store (sent at the end of the turn, not committed) when the worker leases again.
    const worker = q.process(async (job) => {
      handled.push(job.data);
      if (job.data === jobs) return finished();
      adds.push(q.add(job.data + 1));
      await new Promise((resolve) => setImmediate(resolve));
    });
    await q.add(0);
    await all;
    await Promise.all(adds);
    await worker.close();
    assert.deepEqual(
      handled,
      Array.from({ length: jobs + 1 }, (_, i) => i),
    );
    // The first lease finds nothing and sleeps until the first add; then one lease per job, and
    // at most one more that finds nothing after the last.
    const leases = sent.get('lease') ?? 0;
    assert.ok(leases <= jobs + 3, `${leases} lease statements for ${jobs + 1} jobs`);
    await spool.close();
    await pool.end();
  });

  void test('the store runs its leases and acks with plans made once per connection, not planned again at every call', async () => {
    // The store's own pool, caught as it is made; one connection, so one session's prepared statements.
    const pools: pg.Pool[] = [];
    const Pool = pg.Pool;
    pg.Pool = class extends Pool {
      constructor(config?: pg.PoolConfig) {
        super(config);
        pools.push(this);
      }
    };
    const schema = `${stem}plans`;
    try {
      const store = await PostgresStore.open({ connectionString: postgresUrl, schema, max: 1 });
      const spool = await Spool.create(store);
      const q = spool.queue<number>('plans');
      for (let i = 0; i < 8; i++) {
        await q.add(i);
        const [job] = await q.lease();
        await job?.ack();
      }
      const { rows } = await (pools[0] as pg.Pool).query<{ name: string; custom_plans: string; generic_plans: string }>(
        'SELECT name, custom_plans, generic_plans FROM pg_prepared_statements WHERE name = ANY ($1) ORDER BY name',
        [[`spool:${schema}:ack`, `spool:${schema}:lease`]],
      );
      assert.deepEqual(
        rows.map((r) => [r.name.split(':').at(-1), Number(r.custom_plans), Number(r.generic_plans) >= 8]),
        [
          ['ack', 0, true],
          ['lease', 0, true],
        ],
      );
      const settings = await (pools[0] as pg.Pool).query<{ jit: string }>(`SELECT current_setting('jit') AS jit`);
      assert.equal(settings.rows[0]?.jit, 'off', 'no JIT compiling of short statements');
      await spool.close();
    } finally {
      pg.Pool = Pool;
    }
  });

  void test('the store vacuums its jobs table as jobs end, so the table levels off without autovacuum, and sweeps the watches left behind', async () => {
    const schema = `${stem}vacuum`;
    const spool = await open(withSchema(postgresUrl, schema));
    // A watch a process left when it stopped, of a job gone since: the vacuum sweeps it first.
    const watches = new pg.Client({ connectionString: postgresUrl });
    await watches.connect();
    await watches.query(`INSERT INTO "${schema}".watches (job) VALUES (424242)`);
    const q = spool.queue<number>('churn');
    const n = 24_000;
    let done = 0;
    const worker = q.process(() => undefined, { concurrency: 64 });
    const finished = new Promise<void>((resolve) => worker.on('completed', () => ++done === n && resolve()));
    for (let i = 0; i < n; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: i + k })));
    await finished;
    await worker.close();
    const count = await upkeeps(schema, 'vacuum_count');
    await spool.close();
    assert.ok(count >= 1, `${n} jobs ended and the jobs table was vacuumed ${count} times by the store`);
    const { rows } = await watches.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".watches`);
    await watches.end();
    assert.equal(Number(rows[0]?.n), 0, 'the watch left behind was swept');
  });

  void test("spool.tell sends every event in order, each notification under PostgreSQL's 8,000-byte limit", async () => {
    const schema = `${stem}tell`;
    const spool = await open(withSchema(postgresUrl, schema));
    await spool.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    const heard: string[] = [];
    client.on('notification', (message) => heard.push(message.payload ?? ''));
    try {
      await client.query('LISTEN told_test');
      // Small events, and events as large as an ended one with a result gets (4,000 base64 bytes).
      const events = Array.from({ length: 300 }, (_, i) =>
        i % 3 === 0
          ? { kind: 'ended', queue: 'q', id: String(i), end: 'completed', result: 'x'.repeat(4000) }
          : { kind: 'ended', queue: 'qü', id: String(i), end: 'completed' },
      );
      const { rows } = await client.query<{ n: number }>(`SELECT "${schema}".tell('told_test', 'origin', $1) AS n`, [
        JSON.stringify(events),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(heard.length, rows[0]?.n);
      const told = heard.flatMap((payload) => {
        assert.ok(Buffer.byteLength(payload) < 8000, `a notification of ${Buffer.byteLength(payload)} bytes`);
        assert.ok(payload.endsWith('"o": "origin"}'), 'the origin ends the text, as listeners look for it');
        return (JSON.parse(payload) as { e: unknown[] }).e;
      });
      assert.deepEqual(told, events);
    } finally {
      await client.end();
    }
  });

  void test('the store analyzes the jobs table it fills, so that plans made for any values fit it', async () => {
    const schema = `${stem}analyze`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('filled');
    for (let i = 0; i < 4000; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: i + k })));
    const count = await upkeeps(schema, 'analyze_count');
    await spool.close();
    assert.ok(count >= 1, `4,000 jobs added to a new table and it was analyzed ${count} times by the store`);
  });

  void test('with the statistics of a filled table, a lease and an ack half-way through its drain read the pages of their jobs, not of the queue', async (t) => {
    const schema = `${stem}plans`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('deep');
    const n = 20_000;
    for (let i = 0; i < n; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: i + k })));
    // A connection of its own that plans as the store's do: once, for any values.
    const client = new pg.Client({
      connectionString: postgresUrl,
      options: '-c plan_cache_mode=force_generic_plan -c jit=off',
    });
    await client.connect();
    // The statistics as the store's last analyze of a filling table leaves them: every job waiting.
    await client.query(`ANALYZE "${schema}".jobs`);
    // Half of them done: their rows lie ahead of the waiting ones in the table, as mid-drain.
    let done = 0;
    const worker = q.process(() => undefined, { concurrency: 64 });
    await new Promise<void>((resolve) => worker.on('completed', () => ++done === n / 2 && resolve()));
    await worker.close();
    await spool.close();
    try {
      const sql = loadStatements(schema);
      await client.query(`PREPARE lease (text, float8, integer, float8, text, text) AS ${sql.lease}`);
      await client.query(
        `PREPARE ack (bigint[], integer[], bytea[], float8, text[], text[], text, text, boolean) AS ${sql.ack}`,
      );
      await client.query('BEGIN');
      const now = Date.now();
      const lease = await executed(client, `lease ('deep', ${now}, 32, null, 'none', 'test')`);
      const { rows } = await client.query<{ id: string; attempts: number }>(
        `SELECT id, attempts FROM "${schema}".jobs WHERE state = 'active'`,
      );
      const [ids, attempts, nulls] = [rows.map((r) => r.id), rows.map((r) => r.attempts), rows.map(() => 'NULL')].map(
        (list) => list.join(','),
      );
      const ack = await executed(
        client,
        `ack ('{${ids}}', '{${attempts}}', '{${nulls}}', ${now}, null, null, 'none', 'test', false)`,
      );
      await client.query('ROLLBACK');
      assert.equal(rows.length, 32);
      // Each job leased or acked reads and writes its row and index entries, about 20 pages (a
      // lease read 550-620 alone on the server). The 10,000 jobs done lie in some 250 pages ahead
      // of the waiting ones: counting what is left by a scan of the table read them (800-820), and
      // so did a lease that looked for due TTLs or joined its picked jobs by a scan (1,300-1,400).
      // The plans are what is checked: what a good one reads also grows while another session's
      // snapshot keeps the done jobs' index entries from being marked dead (a CI run, tests on
      // the same server: 810), and an index scan then visits their rows too.
      t.diagnostic(`buffers read: a lease of 32 ${buffersOf(lease)}, an ack of 32 ${buffersOf(ack)}`);
      assert.deepEqual(tableScans(lease, 'jobs'), [], 'the lease reads jobs through its indexes');
      assert.deepEqual(tableScans(ack, 'jobs'), [], 'the ack reads jobs through its indexes');
    } finally {
      await client.end();
    }
  });

  void test('a retention prune reads the jobs it drops, not every job the queue keeps', async () => {
    const schema = `${stem}prune`;
    const spool = await open(withSchema(postgresUrl, schema));
    const kept = 10_000;
    const q = spool.queue<number>('kept', { keepCompleted: kept });
    for (let i = 0; i < kept; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: i + k })));
    let done = 0;
    const worker = q.process(() => undefined, { concurrency: 64 });
    await new Promise<void>((resolve) => worker.on('completed', () => ++done === kept && resolve()));
    await worker.close();
    await spool.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      // Five past the retention: what a prune after the next acks would find.
      await client.query(`UPDATE "${schema}".queues SET keep_count = $1 WHERE name = 'kept'`, [kept - 5]);
      await client.query('BEGIN');
      await client.query(`PREPARE prune (text[], float8) AS ${loadStatements(schema).prune}`);
      const plan = await executed(client, `prune ('{kept}', ${Date.now()})`);
      await client.query('ROLLBACK');
      assert.equal(plan.Plans?.[0]?.['Actual Rows'], 5, 'the five oldest are dropped');
      const buffers = buffersOf(plan);
      // Reading the 10,000 kept jobs takes over 400 pages of the table alone.
      assert.ok(buffers < 150, `the prune of 5 jobs of ${kept} kept read ${buffers} buffers`);
    } finally {
      await client.end();
    }
  });

  void test('jobs due when added take no jobs_delay entry; delayed ones do, and a sleeping worker wakes at their time', async () => {
    const schema = `${stem}delayidx`;
    const spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<number>('due');
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    const entries = async (): Promise<number> => {
      // An index-only count over jobs_delay alone: the planner may use no other index for it.
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".jobs WHERE queue = 'due' AND state = 'queued' AND available_at > created_at`,
      );
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT count(*) FROM "${schema}".jobs WHERE queue = 'due' AND state = 'queued' AND available_at > created_at`,
      );
      await client.query('COMMIT');
      assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /jobs_delay/);
      return Number(rows[0]?.n);
    };
    await q.addBulk(Array.from({ length: 500 }, (_, i) => ({ data: i })));
    const { rows } = await client.query<{ size: string }>(`SELECT pg_relation_size('"${schema}".jobs_delay') AS size`);
    // 500 entries take several 8 kB pages; an index nobody wrote to has its meta page only.
    assert.equal(Number(rows[0]?.size), 8192);
    assert.equal(await entries(), 0);
    const started = Date.now();
    await q.add(500, { delay: 300 });
    assert.equal(await entries(), 1);
    assert.equal((await q.counts()).delayed, 1);
    const leased = await q.lease({ max: 1000 });
    await Promise.all(leased.map((job) => job.ack()));
    const worker = q.process(() => undefined);
    const late = await new Promise<number>((resolve) => worker.once('completed', () => resolve(Date.now() - started)));
    await worker.close();
    await client.end();
    await spool.close();
    assert.equal(leased.length, 500);
    assert.ok(late >= 300, `handled ${late} ms after its add, before its delay of 300 ms ended`);
  });

  void test("a job due when added is leased at once by a process whose clock is behind the adder's", async () => {
    const schema = `${stem}skew`;
    const ahead = await Spool.create(await PostgresStore.open({ connectionString: postgresUrl, schema }), {
      clock: { ...systemClock, now: () => Date.now() + 60_000 },
    });
    const behind = await open(withSchema(postgresUrl, schema));
    const id = await ahead.queue<string>('skew').add('from the future');
    const [job] = await behind.queue<string>('skew').lease({ wait: '2s' });
    assert.equal(job?.id, id);
    assert.equal((await behind.queue('skew').counts()).active, 1);
    await job.ack();
    await ahead.close();
    await behind.close();
  });

  void test('a lease that passes over a job another statement holds locked takes it once the lock goes, not at the wake horizon', async () => {
    const schema = `${stem}locked`;
    const spool = await open(withSchema(postgresUrl, schema));
    const id = await spool.queue('held').add('x');
    const other = new pg.Client({ connectionString: postgresUrl });
    await other.connect();
    // What an ack or a release of a lease that ran out does: holds the row a moment, changes nothing.
    await other.query('BEGIN');
    await other.query(`SELECT id FROM "${schema}".jobs WHERE id = $1 FOR UPDATE`, [id]);
    const leasing = spool.queue('held').lease({ wait: '5s' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await other.query('COMMIT');
    const committed = Date.now();
    const [job] = await leasing;
    const late = Date.now() - committed;
    await other.end();
    await spool.close();
    assert.equal(job?.id, id);
    // Before: no event came, and the lease slept to the wake horizon (30 s) past its wait.
    assert.ok(late < 2000, `leased ${late} ms after the lock went`);
  });

  void test('a job held locked in the first queue does not hold up the leases of the queues after it', async () => {
    const schema = `${stem}locked2`;
    const spool = await open(withSchema(postgresUrl, schema));
    const id = await spool.queue('held').add('x');
    await spool.queue('free').addBulk(Array.from({ length: 40 }, (_, i) => ({ data: i })));
    const other = new pg.Client({ connectionString: postgresUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT id FROM "${schema}".jobs WHERE id = $1 FOR UPDATE`, [id]);
      const started = performance.now();
      for (let i = 0; i < 40; i++) {
        const [job] = await spool.lease({ queues: ['held', 'free'] });
        assert.equal(job?.queue, 'free');
      }
      const took = performance.now() - started;
      // Before, each lease paused 10 ms five times on the held job (2 s at least for the 40)
      // before it looked at the next queue; a lease here is a few ms.
      assert.ok(took < 1500, `40 leases took ${Math.round(took)} ms`);
      await other.query('COMMIT');
      const [held] = await spool.lease({ queues: ['held', 'free'] });
      assert.equal(held?.id, id);
    } finally {
      await other.end();
      await spool.close();
    }
  });

  void test('eight processes opening one new schema at once apply each migration once', async () => {
    const url = withSchema(postgresUrl, `${stem}race`);
    const script = `import { open } from './src/index.ts'; const s = await open(${JSON.stringify(url)}); await s.queue('q').add(1); await s.close();`;
    const codes = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            child.on('exit', resolve);
          }),
      ),
    );
    assert.deepEqual(codes, Array(8).fill(0));
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    const applied = await client.query<{ version: number }>(`SELECT version FROM "${stem}race".migrations ORDER BY 1`);
    const jobs = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${stem}race".jobs`);
    await client.end();
    // Each migration once, and every one of them.
    assert.deepEqual(
      applied.rows.map((r) => r.version),
      migrations('x').map((m) => m.version),
    );
    assert.equal(jobs.rows[0]?.n, '8');
  });

  void test("a store opening while another process stores the new schema's token key opens with that key", async () => {
    const schema = `${stem}key`;
    await (await PostgresStore.open({ connectionString: postgresUrl, schema })).close();
    const [other, watcher] = [
      new pg.Client({ connectionString: postgresUrl }),
      new pg.Client({ connectionString: postgresUrl }),
    ];
    await other.connect();
    await watcher.connect();
    const meta = `"${schema}".meta`;
    await other.query(`DELETE FROM ${meta} WHERE name = $1`, [tokenKeyName]);
    // The other process's insert, not yet committed: the opening store's own insert waits for it.
    const key = newTokenKey();
    await other.query('BEGIN');
    await other.query(`INSERT INTO ${meta} (name, value) VALUES ($1, $2)`, [tokenKeyName, key]);
    const opening = PostgresStore.open({ connectionString: postgresUrl, schema });
    for (;;) {
      const { rows } = await watcher.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%${schema}".meta%'`,
      );
      if (rows[0]?.n !== '0') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await other.query('COMMIT');
    const store = await opening;
    const stored = await other.query<{ value: string }>(`SELECT value FROM ${meta} WHERE name = $1`, [tokenKeyName]);
    await Promise.all([other.end(), watcher.end(), store.close()]);
    assert.equal(stored.rows[0]?.value, key);
  });

  void test('spool migrate --dry-run prints the migrations and changes nothing; without it applies them', () => {
    const url = withSchema(postgresUrl, `${stem}cli`);
    const run = (...args: string[]): string => {
      const out = runCli(['migrate', '--store', url, ...args]);
      assert.equal(out.status, 0, out.stderr);
      return out.stdout;
    };
    const dryRun = run('--dry-run');
    assert.match(dryRun, /would apply 001-jobs\.sql[\s\S]*CREATE TABLE/);
    // Every spool. renamed, comments too, and none doubly quoted (a quoted "spool." printed ""schema".).
    assert.ok(dryRun.includes(`"${stem}cli".migrations`));
    assert.doesNotMatch(dryRun, /""|\bspool\./);
    assert.match(run('--dry-run'), /would apply 001-jobs\.sql/);
    assert.match(run(), /applied 001-jobs\.sql/);
    assert.match(run('--dry-run'), /the schema is up to date/);
  });
});

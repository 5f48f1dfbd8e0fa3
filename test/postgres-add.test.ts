// The PostgreSQL store's add binds its batch as array literals it writes itself and every payload
// in one binary bytea (src/store/postgres/arrays.ts): values that need quoting or escaping, the
// word NULL, non-finite numbers and empty payloads come back as they went in.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { bytesCodec, open } from '../src/index.ts';
import { numberArray, packed, textArray } from '../src/store/postgres/arrays.ts';
import { loadStatements } from '../src/store/postgres/statements.ts';
import { dropSchemas, postgresProblem, postgresUrl, withSchema } from './fixtures/postgres.ts';
import { skipUnless } from './fixtures/redis.ts';

const skip = skipUnless(
  await postgresProblem(),
  `PostgreSQL at ${postgresUrl}`,
  'start PostgreSQL or set SPOOL_POSTGRES_URL',
);
const stem = `postgres_add_${process.pid}_`;
after(() => (skip === false ? dropSchemas(postgresUrl, stem) : undefined));

const awkward = ['NULL', 'null', 'a,b', '{x}', '"quoted"', 'back\\slash', '\\"', ' spaced ', 'é ☃ 𝄞', 'line\nbreak'];

void describe('postgres add encoding', { skip }, () => {
  void test('array literals and packed bytes read back in the server as the values they were made of', async () => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const numbers = [0, -1, 0.5, 1e21, 1.7976931348623157e308, 5e-324, Infinity, -Infinity, null];
      const bytes = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from([0, 255, 92, 34, 123]), Buffer.from('z')];
      const p = packed(bytes);
      const { rows } = await client.query<{ t: (string | null)[]; f: (number | null)[]; b: Buffer[] }>(
        `SELECT $1::text[] AS t, $2::float8[] AS f,
           ARRAY(SELECT substring($3::bytea FROM s FOR l) FROM unnest($4::integer[], $5::integer[]) WITH ORDINALITY AS x (s, l, n) ORDER BY n) AS b`,
        [textArray(['', ...awkward, null]), numberArray(numbers), p.bytes, p.starts, p.lengths],
      );
      const row = rows[0];
      assert.ok(row !== undefined);
      assert.deepEqual(row.t, ['', ...awkward, null]);
      assert.deepEqual(
        row.f.map((v) => (v === null ? null : Number(v))),
        numbers,
      );
      assert.deepEqual(row.b, bytes);
    } finally {
      await client.end();
    }
  });

  void test('a bulk of awkward keys, empty payloads and no attempt limit is stored and deduplicated as given', async () => {
    const spool = await open(withSchema(postgresUrl, `${stem}bulk`));
    try {
      const queue = spool.queue('add:awkward', { codec: bytesCodec });
      const items = awkward.map((key, i) => ({
        data: i % 2 === 0 ? new Uint8Array(0) : Buffer.from(key, 'utf8'),
        options: { key, maxAttempts: Infinity },
      }));
      const ids = await queue.addBulk(items);
      assert.equal(new Set(ids).size, awkward.length);
      for (const [i, id] of ids.entries()) {
        const job = await queue.get(id);
        assert.ok(job !== null);
        assert.deepEqual(Buffer.from(job.data), Buffer.from(items[i]!.data));
        assert.equal(job.maxAttempts, Infinity);
        assert.equal(job.queue, 'add:awkward');
      }
      // The same keys again: each finds its own job, so each was stored exactly as given.
      assert.deepEqual(await queue.addBulk(items), ids);
      assert.deepEqual((await queue.counts()).waiting, awkward.length);
    } finally {
      await spool.close();
    }
  });

  void test('the generic plan of a 1,000-job add handles each job a bounded number of times', async () => {
    // PostgreSQL runs a named statement on a generic plan after five runs, guessing ten rows for
    // each array: the add's joins of its CTEs then became a nested loop that filtered 999,000 rows.
    const schema = `${stem}plan`;
    const spool = await open(withSchema(postgresUrl, schema));
    await spool.close();
    const n = 1000;
    const now = Date.now();
    const p = packed(Array.from({ length: n }, (_, i) => Buffer.from(String(i))));
    const values = [
      textArray(Array<string>(n).fill('plan')),
      p.bytes,
      p.starts,
      p.lengths,
      numberArray(Array<number>(n).fill(0)),
      numberArray(Array<number>(n).fill(3)),
      numberArray(Array<number>(n).fill(now)),
      numberArray(Array<null>(n).fill(null)),
      numberArray(Array<number>(n).fill(30_000)),
      textArray(Array<string>(n).fill('fixed')),
      numberArray(Array<number>(n).fill(0)),
      numberArray(Array<number>(n).fill(0)),
      numberArray(Array<number>(n).fill(0)),
      textArray(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? null : `k${i}`))),
      now,
      'c',
      'o',
    ];
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${loadStatements(schema).add}`,
        values,
      );
      await client.query('ROLLBACK');
      let handled = 0;
      const walk = (node: Record<string, unknown>): void => {
        const loops = (node['Actual Loops'] as number | undefined) ?? 1;
        handled += ((node['Actual Rows'] as number | undefined) ?? 0) * loops;
        handled += ((node['Rows Removed by Join Filter'] as number | undefined) ?? 0) * loops;
        handled += ((node['Rows Removed by Filter'] as number | undefined) ?? 0) * loops;
        for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((rows[0]?.['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]?.Plan as Record<string, unknown>);
      assert.ok(handled > n, `the plan handled ${handled} rows, fewer than the jobs`);
      assert.ok(handled < 100 * n, `the plan handled ${handled} rows for ${n} jobs`);
    } finally {
      await client.end();
    }
  });
});

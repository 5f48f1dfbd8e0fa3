// The PostgreSQL store's add binds its batch as array literals it writes itself and every payload
// in one binary bytea (src/store/postgres/arrays.ts): values that need quoting or escaping, the
// word NULL, non-finite numbers and empty payloads come back as they went in.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { bytesCodec, open } from '../src/index.ts';
import { numberArray, packed, textArray } from '../src/store/postgres/arrays.ts';
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
});

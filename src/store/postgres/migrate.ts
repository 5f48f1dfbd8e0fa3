// Brings a schema to the newest migration (statements.ts) under a session advisory lock named
// after the schema, so processes opening one new database at once apply each step once: the
// second waits for the first and then finds nothing left to do. Each step commits with its row
// in <schema>.migrations.
import type { ClientBase } from 'pg';
import { StorageError } from '../../errors.ts';
import { migrations, quoteIdent } from './statements.ts';
import type { Migration } from './statements.ts';

/** The advisory lock's key: one per schema, the same in every process. */
const lockKey = 'SELECT pg_advisory_lock(hashtextextended($1, 0))';
const unlockKey = 'SELECT pg_advisory_unlock(hashtextextended($1, 0))';

async function applied(client: ClientBase, schema: string): Promise<Set<number>> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    `${quoteIdent(schema)}.migrations`,
  ]);
  if (exists.rows[0]?.t === null) return new Set();
  const rows = await client.query<{ version: number }>(`SELECT version FROM ${quoteIdent(schema)}.migrations`);
  return new Set(rows.rows.map((r) => r.version));
}

/** The migrations `schema` still lacks, changing nothing. */
export async function pending(client: ClientBase, schema: string): Promise<Migration[]> {
  const done = await applied(client, schema);
  return migrations(schema).filter((m) => !done.has(m.version));
}

/** Applies what `schema` lacks; returns the migrations applied. */
export async function migrate(client: ClientBase, schema: string): Promise<Migration[]> {
  const all = migrations(schema);
  const newest = all.at(-1)?.version ?? 0;
  await client.query(lockKey, [`spool:${schema}`]);
  try {
    const s = quoteIdent(schema);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, name text NOT NULL, ` +
        'applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = await applied(client, schema);
    const beyond = [...done].filter((v) => v > newest);
    if (beyond.length > 0)
      throw new StorageError(
        `schema ${schema} is at version ${Math.max(...beyond)}, newer than this spool knows (${newest}); upgrade spool`,
      );
    const todo = all.filter((m) => !done.has(m.version));
    for (const step of todo) {
      await client.query('BEGIN');
      try {
        await client.query(step.sql);
        await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [step.version, step.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    return todo;
  } finally {
    await client.query(unlockKey, [`spool:${schema}`]);
  }
}

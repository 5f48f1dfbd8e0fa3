// A `postgres://` (or `postgresql://`) URL to a PostgresStore: spool's own parameters are taken
// out of the query, the rest of the URL goes to pg as its connection string.
import { ValidationError } from '../../errors.ts';
import { checkUrlParams } from '../contract.ts';
import pg from 'pg';
import { migrate, pending } from './migrate.ts';
import { PostgresStore } from './postgres-store.ts';
import type { Migration } from './statements.ts';

const known = ['schema', 'max', 'statementTimeout', 'sslmode', 'application_name'];

/** `statementTimeout` is a duration ('30s'); open.ts hands it here in milliseconds. */
export function parsePostgresUrl(url: string): {
  connectionString: string;
  schema: string;
  max: number | undefined;
  statementTimeoutMs: number | undefined;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('url', 'not a postgres:// URL');
  }
  checkUrlParams(parsed.searchParams, known);
  const schema = parsed.searchParams.get('schema') ?? 'spool';
  const max = parsed.searchParams.get('max');
  const timeout = parsed.searchParams.get('statementTimeout');
  for (const name of ['schema', 'max', 'statementTimeout']) parsed.searchParams.delete(name);
  const whole = (value: string | null, name: string): number | undefined => {
    if (value === null) return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new ValidationError(name, 'must be a whole number ≥ 1');
    return n;
  };
  return {
    connectionString: parsed.toString(),
    schema,
    max: whole(max, 'max'),
    statementTimeoutMs: whole(timeout, 'statementTimeout'),
  };
}

export function openPostgres(url: string): Promise<PostgresStore> {
  return PostgresStore.open(parsePostgresUrl(url));
}

/**
 * The migrations the schema a URL names still lacks: applied (and returned) unless `dryRun`,
 * when they are only returned. For `spool migrate`.
 */
export async function migrateUrl(url: string, dryRun: boolean): Promise<Migration[]> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const client = new pg.Client({ connectionString });
  client.on('error', () => {});
  await client.connect();
  try {
    return dryRun ? await pending(client, schema) : await migrate(client, schema);
  } finally {
    await client.end().catch(() => {});
  }
}

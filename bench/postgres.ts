// The PostgreSQL server the Postgres-backed rows share: what it is and how durable its commits are, for the
// rows' labels, and a clean schema for each system before each of its runs.
import pg from 'pg';
import type { Durability } from './scenarios.ts';

export interface PostgresInfo {
  /** `server_version`, e.g. 15.20. */
  version: string;
  synchronousCommit: string;
  fsync: string;
}

/** Where a Postgres-backed peer keeps its tables: a schema of its own, dropped before each run. */
export interface PostgresTarget {
  url: string;
  schema: string;
  durable: Durability;
}

export const isPostgresStore = (store: string): boolean => /^postgres(ql)?:/i.test(store);

/** The schema spool's row uses when its URL names none, so that the bench never drops a real `spool` schema. */
export const spoolBenchSchema = 'spool_bench';

/** A postgres:// store with its `schema` (spool's default made explicit as `spool_bench`). */
export function spoolOnPostgres(store: string): { store: string; schema: string } {
  const url = new URL(store);
  const schema = url.searchParams.get('schema');
  if (schema !== null) return { store, schema };
  url.searchParams.set('schema', spoolBenchSchema);
  return { store: url.href, schema: spoolBenchSchema };
}

/** The server's address without spool's own URL parameters, which the peers' drivers do not know. */
export function serverUrl(store: string): string {
  const url = new URL(store);
  url.search = '';
  url.hash = '';
  return url.href;
}

async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl(url) });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

export function describePostgres(url: string): Promise<PostgresInfo> {
  return withClient(url, async (client) => {
    const show = async (name: string): Promise<string> =>
      ((await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '?').split(' ')[0]!;
    return {
      version: await show('server_version'),
      synchronousCommit: await show('synchronous_commit'),
      fsync: await show('fsync'),
    };
  });
}

/**
 * A commit that returned survives power loss when `fsync` is on and `synchronous_commit` is anything but
 * off (every other level waits at least for the local WAL flush); with it off a server crash loses the last
 * commits, though the client process may crash safely.
 */
export const postgresDurability = (info: PostgresInfo): Durability =>
  info.fsync === 'on' && info.synchronousCommit !== 'off' ? 'power-loss' : 'process-crash';

export const postgresLabel = (info: PostgresInfo): string =>
  `PostgreSQL ${info.version}, synchronous_commit=${info.synchronousCommit}`;

export function dropSchema(url: string, schema: string): Promise<void> {
  return withClient(url, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  });
}

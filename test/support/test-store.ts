// The stores the tests run on, each new and empty on every call. SPOOL_TEST_STORE picks the one
// the server, client, worker and property tests use (memory when unset); `npm test` runs those
// files once more on each other store. Adding a backend here is one entry in `testStores`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import Libsql from 'libsql';
import type { OpenTransaction } from '../../src/conformance/harness.ts';
import type { Store } from '../../src/index.ts';
import { FileStore } from '../../src/store/file/file-store.ts';
import { MemoryStore } from '../../src/store/memory/index.ts';
import { LevelStore } from '../../src/store/leveldb/index.ts';
import { RedisStore } from '../../src/store/redis/index.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { openLibsql } from '../../src/store/sqlite/libsql.ts';
import { dropPrefix, redisProblem, redisUrl, withPrefix } from '../fixtures/redis.ts';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/index.ts';
import { dropSchemas, postgresProblem, postgresUrl } from '../fixtures/postgres.ts';

export interface TestStore {
  /** The URL of a new, empty store, for `open()` and `spool serve`. */
  readonly url: () => string;
  /** A new, empty store. */
  readonly open: () => Promise<Store>;
  /** One of the caller's own transactions on `store`'s database; only for a store with `capabilities.transactions`. */
  readonly transaction?: (store: Store) => Promise<OpenTransaction>;
  /** Another handle on `store`'s data, as a second process opens it; only for a store several processes share. */
  readonly peer?: (store: Store) => Promise<Store>;
  /** Opens the data of `store`, closed by the caller, again; only for a store whose data outlives its handle. */
  readonly reopen?: (store: Store) => Promise<Store>;
  /** Why the store's service cannot be used here, or null when it can. */
  readonly problem: () => Promise<string | null>;
}

let dirs: string | null = null;
let n = 0;
/** A new directory under this process's temp root, removed after the test file. */
function freshDir(): string {
  dirs ??= mkdtempSync(join(tmpdir(), 'spool-test-store-'));
  return join(dirs, String(++n));
}

/** Every key prefix made here starts so; what is left of them goes after the test file. */
const stem = `spool-test-${process.pid}-`;
let redisUsed = false;
const redisUrls = new WeakMap<Store, string>();
const sqliteFiles = new WeakMap<Store, string>();
/** The directory of each file and LevelDB store opened here, for `reopen`. */
const storeDirs = new WeakMap<Store, string>();

/** The path `store` was opened on here; `what` names the factory for the error. */
function pathOf(paths: WeakMap<Store, string>, store: Store, what: string): string {
  const path = paths.get(store);
  if (path === undefined) throw new Error(`not a store of testStores.${what}.open()`);
  return path;
}

/** Opens a store with `open` and notes its path under it. */
async function noted<S extends Store>(
  paths: WeakMap<Store, string>,
  path: string,
  open: (path: string) => S | Promise<S>,
): Promise<S> {
  const store = await open(path);
  paths.set(store, path);
  return store;
}

/** A handle of the test's own on the store's file (better-sqlite3's, or libsql's), after BEGIN. */
function sqliteTransaction(store: Store, Driver: typeof Database | typeof Libsql = Database): Promise<OpenTransaction> {
  const file = sqliteFiles.get(store);
  if (file === undefined) throw new Error('not a store of testStores.sqlite.open()');
  const db = new Driver(file, { timeout: 5000 });
  db.exec('BEGIN');
  const end = (sql: string): Promise<void> => {
    db.exec(sql);
    db.close();
    return Promise.resolve();
  };
  return Promise.resolve({ tx: db, commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') });
}
function freshRedisUrl(): string {
  redisUsed = true;
  return withPrefix(redisUrl, `${stem}${++n}`);
}

/** PostgreSQL schemas made here start so (the branch's own names: postgres_<pid>_<n>). */
const schemaStem = `postgres_${process.pid}_`;
let postgresUsed = false;
const postgresSchemas = new WeakMap<Store, string>();
function freshSchema(): string {
  postgresUsed = true;
  return `${schemaStem}${++n}`;
}

/** One of the test's own pg clients, after BEGIN: what `add`/`ack` take as `tx`. */
async function postgresTransaction(): Promise<OpenTransaction> {
  const client = new pg.Client({ connectionString: postgresUrl });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  const end = async (sql: string): Promise<void> => {
    await client.query(sql);
    await client.end();
  };
  return { tx: client, commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') };
}

after(async () => {
  if (dirs !== null) rmSync(dirs, { recursive: true, force: true });
  if (redisUsed) await dropPrefix(redisUrl, stem);
  if (postgresUsed) await dropSchemas(postgresUrl, schemaStem);
});

/** Another handle on the data of a store opened here: a peer while it is open, a reopen once it is closed. */
const sqliteAgain = (store: Store): Promise<Store> =>
  noted(sqliteFiles, pathOf(sqliteFiles, store, 'sqlite'), (file) => SqliteStore.open(file, { synchronous: 'normal' }));
const libsqlAgain = (store: Store): Promise<Store> =>
  noted(sqliteFiles, pathOf(sqliteFiles, store, 'libsql'), (file) => openLibsql(file, { synchronous: 'normal' }));
const redisAgain = (store: Store): Promise<Store> =>
  noted(redisUrls, pathOf(redisUrls, store, 'redis'), (url) => RedisStore.open(url));

export const testStores = {
  memory: {
    url: () => 'memory:',
    open: () => Promise.resolve(new MemoryStore()),
    problem: () => Promise.resolve(null),
  },
  file: {
    url: () => `file:${freshDir()}?durability=none`,
    open: () => noted(storeDirs, freshDir(), (dir) => FileStore.open(dir, { durability: 'none' })),
    reopen: (store: Store) =>
      noted(storeDirs, pathOf(storeDirs, store, 'file'), (dir) => FileStore.open(dir, { durability: 'none' })),
    problem: () => Promise.resolve(null),
  },
  sqlite: {
    url: () => `sqlite:${freshDir()}.db?synchronous=normal`,
    open: () => {
      const file = `${freshDir()}.db`;
      const store = SqliteStore.open(file, { synchronous: 'normal' });
      sqliteFiles.set(store, file);
      return Promise.resolve(store);
    },
    peer: sqliteAgain,
    reopen: sqliteAgain,
    transaction: sqliteTransaction,
    problem: () => Promise.resolve(null),
  },
  libsql: {
    url: () => `libsql:${freshDir()}.db?synchronous=normal`,
    open: () => {
      const file = `${freshDir()}.db`;
      const store = openLibsql(file, { synchronous: 'normal' });
      sqliteFiles.set(store, file);
      return Promise.resolve(store);
    },
    peer: libsqlAgain,
    reopen: libsqlAgain,
    transaction: (store: Store) => sqliteTransaction(store, Libsql),
    problem: () => Promise.resolve(null),
  },
  leveldb: {
    url: () => `leveldb:${freshDir()}?durability=none`,
    open: () => noted(storeDirs, freshDir(), (dir) => LevelStore.open(dir, { durability: 'none' })),
    reopen: (store: Store) =>
      noted(storeDirs, pathOf(storeDirs, store, 'leveldb'), (dir) => LevelStore.open(dir, { durability: 'none' })),
    problem: () => Promise.resolve(null),
  },
  redis: {
    url: freshRedisUrl,
    open: async () => {
      const url = freshRedisUrl();
      const store = await RedisStore.open(url);
      redisUrls.set(store, url);
      return store;
    },
    peer: redisAgain,
    reopen: redisAgain,
    problem: () => redisProblem(),
  },
  postgres: {
    url: () => {
      const url = new URL(postgresUrl);
      url.searchParams.set('schema', freshSchema());
      return url.toString();
    },
    open: async () => {
      const schema = freshSchema();
      const store = await PostgresStore.open({ connectionString: postgresUrl, schema, max: 4 });
      postgresSchemas.set(store, schema);
      return store;
    },
    peer: postgresAgain,
    reopen: postgresAgain,
    transaction: () => postgresTransaction(),
    problem: () => postgresProblem(),
  },
} satisfies Record<string, TestStore>;

/** Another store on the schema of `store`, which testStores.postgres.open() made. */
async function postgresAgain(store: Store): Promise<PostgresStore> {
  const schema = postgresSchemas.get(store);
  if (schema === undefined) throw new Error('not a store of testStores.postgres.open()');
  const again = await PostgresStore.open({ connectionString: postgresUrl, schema, max: 4 });
  postgresSchemas.set(again, schema);
  return again;
}

export type TestStoreName = keyof typeof testStores;

function chosen(): TestStoreName {
  const name = process.env.SPOOL_TEST_STORE ?? 'memory';
  if (!Object.hasOwn(testStores, name))
    throw new Error(`SPOOL_TEST_STORE is ${name}: one of ${Object.keys(testStores).join(', ')} expected`);
  return name as TestStoreName;
}

/** The store SPOOL_TEST_STORE names, for the tests that run on each. */
export const testStoreName = chosen();
export const testStore: TestStore = testStores[testStoreName];

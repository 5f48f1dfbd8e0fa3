// `libsql:./q.db`: the SQLite store on libSQL (Turso's fork of SQLite) through the libsql driver,
// for BlockQueue's Turso users: the same schema, rows and events as `sqlite:` (sqlite-store.ts),
// on a local file. A remote Turso database (libsql://…turso.io) is not a file several processes
// lock, and the row engine needs a synchronous connection: it is refused (open.ts).
import Database from 'libsql';
import { SqliteStore } from './sqlite-store.ts';
import type { SqliteStoreOptions } from './sqlite-store.ts';

export function openLibsql(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return SqliteStore.on(path, options, { name: 'libsql', Database });
}

// The one file that names backends: a connection string picks one, loaded with import() so
// that `import 'spool'` loads no driver it does not use.
import { MissingDriverError, UnknownStoreError, ValidationError } from './errors.ts';
import { Spool } from './core/spool.ts';
import type { SpoolOptions } from './core/spool.ts';
import { parseDuration } from './core/duration.ts';
import { checkUrlParams, refuseRepeated } from './store/contract.ts';
import type { Store } from './store/contract.ts';

export const defaultUrl = 'file:./spool-data';

async function storeFor(url: string): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      checkUrlParams(new URL(url).searchParams, []);
      const { MemoryStore } = await import('./store/memory/index.ts');
      return new MemoryStore();
    }
    case 'file': {
      const { FileStore } = await import('./store/file/file-store.ts');
      const { path: dir, params } = pathUrl(url, 'file', './spool-data');
      checkUrlParams(params, ['durability', 'interval', 'repair']);
      const durability = params.get('durability') ?? 'fsync';
      if (durability !== 'fsync' && durability !== 'interval' && durability !== 'none')
        throw new ValidationError('durability', `must be fsync, interval or none, got "${durability}"`);
      const interval = params.get('interval');
      // `?interval=100ms` alone read as dque's TurboSync opened an fsync store, the interval unused.
      if (interval !== null && durability !== 'interval')
        throw new ValidationError('interval', `is only read with durability=interval, got durability=${durability}`);
      return FileStore.open(dir, {
        durability,
        intervalMs: interval === null ? undefined : parseDuration(interval, 'interval'),
        repair: flag(params.get('repair'), 'repair'),
      });
    }
    case 'sqlite':
    case 'libsql': {
      if (scheme === 'libsql' && /^libsql:\/\/(?!\/)/i.test(url))
        throw new ValidationError(
          'url',
          'libsql: opens a local file (libsql:./q.db); a remote Turso database is not supported',
        );
      const { path, params } = pathUrl(url, scheme, './spool.db');
      checkUrlParams(params, ['synchronous', 'busyTimeout']);
      const synchronous = params.get('synchronous') ?? 'full';
      if (synchronous !== 'full' && synchronous !== 'normal')
        throw new ValidationError('synchronous', `must be full or normal, got "${synchronous}"`);
      const busy = params.get('busyTimeout');
      const options = {
        synchronous,
        busyTimeoutMs: busy === null ? undefined : parseDuration(busy, 'busyTimeout'),
      } as const;
      if (scheme === 'libsql') {
        const { openLibsql } = await importDriver(() => import('./store/sqlite/libsql.ts'), 'libsql', url);
        return openLibsql(path, options);
      }
      const { SqliteStore } = await importDriver(() => import('./store/sqlite/index.ts'), 'better-sqlite3', url);
      return SqliteStore.open(path, options);
    }
    case 'leveldb': {
      const { LevelStore } = await importDriver(() => import('./store/leveldb/index.ts'), 'classic-level', url);
      const { path, params } = pathUrl(url, 'leveldb', './spool-leveldb');
      checkUrlParams(params, ['durability']);
      const durability = params.get('durability') ?? 'fsync';
      if (durability !== 'fsync' && durability !== 'none')
        throw new ValidationError('durability', `must be fsync or none, got "${durability}"`);
      return LevelStore.open(path, { durability });
    }
    case 'redis':
    case 'rediss':
    case 'redis+cluster': {
      const { RedisStore } = await importDriver(() => import('./store/redis/index.ts'), 'ioredis', url);
      return RedisStore.open(durationsInMs(url, ['replicateTimeout', 'timeout']));
    }
    case 'postgres':
    case 'postgresql': {
      const { openPostgres } = await importDriver(() => import('./store/postgres/url.ts'), 'pg', url);
      return openPostgres(durationsInMs(url, ['statementTimeout']));
    }
    default:
      throw new UnknownStoreError(url);
  }
}

/** The data directory a `file:` URL names (`file:./d`, `file:///abs/d`), or null for another store. */
export function fileStoreDir(url: string): string | null {
  return /^file:/i.test(url) ? pathUrl(url, 'file', './spool-data').path : null;
}

/**
 * The URL with its parameters `names`, durations in spool's one grammar ('2s'), turned into
 * milliseconds for a backend, which may not import core's parser. A parameter given twice is
 * refused first, as the backend would: `?timeout=bad&timeout=2` was a bad duration here before
 * the backend could say it was given twice.
 */
function durationsInMs(url: string, names: readonly string[]): string {
  refuseRepeated(new URLSearchParams(/\?([^#]*)/.exec(url)?.[1] ?? ''));
  return names.reduce(
    (converted, name) =>
      converted.replace(
        new RegExp(`([?&]${name}=)([^&#]*)`),
        (_, head: string, value: string) => head + String(parseDuration(decodeURIComponent(value), name)),
      ),
    url,
  );
}

/**
 * The path and parameters of `scheme:./path?…`, `scheme:/abs/path?…` or `scheme:///abs/path?…`
 * (`file://localhost/abs/path` too, as RFC 8089 has it). The path is taken as written.
 */
function pathUrl(url: string, scheme: string, fallback: string): { path: string; params: URLSearchParams } {
  const rest = url.slice(scheme.length + 1);
  const query = rest.indexOf('?');
  const path = query < 0 ? rest : rest.slice(0, query);
  const params = new URLSearchParams(query < 0 ? '' : rest.slice(query + 1));
  if (!path.startsWith('//')) return { path: path || fallback, params };
  const host = path.slice(2).split('/')[0] ?? '';
  const absolute = path.slice(2 + host.length);
  const hostless = host === '' || (scheme === 'file' && host.toLowerCase() === 'localhost');
  if (!hostless || absolute === '') throw hostInPath(scheme, url, host);
  refuseAmbiguous(url, scheme, absolute);
  return { path: absolute, params };
}

/**
 * A `scheme:///abs/path` whose path was read differently by different stores: sqlite: and
 * leveldb: decoded its %XX escapes (`sqlite:///tmp/a%20b.db` opened "a b.db", `sqlite:./a%20b.db`
 * "a%20b.db"), file: did not, and file: read it with the URL parser, which wrote `file:///tmp/my
 * data` as the directory "my%20data". Refused rather than read one way: either reading would open
 * another file or directory than some user's store has opened so far.
 */
function refuseAmbiguous(url: string, scheme: string, path: string): void {
  const rewritten = scheme === 'file' && new URL(`file://${path}`).pathname !== path;
  if (!rewritten && !/%[0-9a-f]{2}/i.test(path)) return;
  throw new ValidationError(
    'url',
    `${url.split('?')[0]} is ambiguous: a ${scheme}:/// path with a %XX escape` +
      (scheme === 'file' ? ' or a character a URL parser rewrites (a space, non-ASCII, #, \\, . or ..)' : '') +
      ` has named different files in different stores; write the path as the file system spells it after one slash (${scheme}:/abs/path), which is taken as written`,
  );
}

/**
 * `scheme://name…` names a host: `file://spool-data` opened the root directory, and
 * `sqlite://q.db` the file /q.db (a relative path was meant), as root in a container.
 */
function hostInPath(scheme: string, url: string, host: string): ValidationError {
  return new ValidationError(
    'url',
    `${url.split('?')[0]} names a host ("${host}"), which a local store has not: ` +
      `a relative path is ${scheme}:./path, an absolute one ${scheme}:///abs/path`,
  );
}

/** A yes/no URL parameter: absent is no. */
function flag(value: string | null, field: string): boolean {
  if (value === null || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new ValidationError(field, `must be 1, 0, true or false, got "${value}"`);
}

/** Imports a backend whose npm driver is an optional peer dependency; a missing driver is a MissingDriverError. */
async function importDriver<T>(load: () => Promise<T>, driver: string, url: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message?.includes(`'${driver}'`) === true)
      throw new MissingDriverError(driver, url);
    throw error;
  }
}

/**
 * Opens a Spool on the store `url` names: `memory:`,
 * `file:<dir>[?durability=fsync|interval|none][&interval=100ms][&repair=1]`,
 * `sqlite:<file>[?synchronous=full|normal][&busyTimeout=5s]` (needs better-sqlite3),
 * `libsql:<file>[?…the same]` (the same store on libSQL; needs libsql),
 * `leveldb:<dir>[?durability=fsync|none]` (needs classic-level),
 * `redis://…`, `rediss://…` or `redis+cluster://host:port,host:port` (needs ioredis),
 * `postgres://user@host:port/db[?schema=spool][&max=10][&statementTimeout=30s]` (needs pg).
 */
export async function open(url: string = defaultUrl, options: SpoolOptions = {}): Promise<Spool> {
  if (typeof url !== 'string') throw new ValidationError('url', `must be a store URL string, got ${typeof url}`);
  const store = await storeFor(url);
  try {
    return await Spool.create(store, options);
  } catch (error) {
    // The store is open's own: kept, a Redis store whose first SUBSCRIBE failed held its connection,
    // reconnecting for ever, and with it the process; a file store would hold its directory's lock.
    await store.close().catch(() => {});
    throw error;
  }
}

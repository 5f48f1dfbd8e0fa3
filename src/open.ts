// The one file that names backends: a connection string picks one, loaded with import() so
// that `import 'spool'` loads no driver it does not use.
import { MissingDriverError, UnknownStoreError, ValidationError } from './errors.ts';
import { Spool } from './core/spool.ts';
import type { SpoolOptions } from './core/spool.ts';
import { parseDuration } from './core/duration.ts';
import { checkUrlParams } from './store/contract.ts';
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
      const parsed = new URL(url, 'file:./');
      checkUrlParams(parsed.searchParams, ['durability', 'interval', 'repair']);
      const dir = fileStoreDir(url) as string;
      const durability = parsed.searchParams.get('durability') ?? 'fsync';
      if (durability !== 'fsync' && durability !== 'interval' && durability !== 'none')
        throw new ValidationError('durability', `must be fsync, interval or none, got "${durability}"`);
      const interval = parsed.searchParams.get('interval');
      // `?interval=100ms` alone read as dque's TurboSync opened an fsync store, the interval unused.
      if (interval !== null && durability !== 'interval')
        throw new ValidationError('interval', `is only read with durability=interval, got durability=${durability}`);
      return FileStore.open(dir, {
        durability,
        intervalMs: interval === null ? undefined : parseDuration(interval, 'interval'),
        repair: flag(parsed.searchParams.get('repair'), 'repair'),
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
      return RedisStore.open(durationInMs(durationInMs(url, 'replicateTimeout'), 'timeout'));
    }
    case 'postgres':
    case 'postgresql': {
      const { openPostgres } = await importDriver(() => import('./store/postgres/url.ts'), 'pg', url);
      return openPostgres(durationInMs(url, 'statementTimeout'));
    }
    default:
      throw new UnknownStoreError(url);
  }
}

/** The data directory a `file:` URL names (`file:./d`, `file:///abs/d`), or null for another store. */
export function fileStoreDir(url: string): string | null {
  if (!/^file:/i.test(url)) return null;
  if (/^file:\/\//i.test(url)) {
    const { host, pathname } = new URL(url);
    if (host !== '' && host !== 'localhost') throw hostInPath('file', url, host);
    return pathname;
  }
  return url.slice('file:'.length).split('?')[0] || './spool-data';
}

/**
 * The URL with parameter `name`, a duration in spool's one grammar ('2s'), turned into
 * milliseconds for a backend, which may not import core's parser.
 */
function durationInMs(url: string, name: string): string {
  return url.replace(
    new RegExp(`([?&]${name}=)([^&#]*)`),
    (_, head: string, value: string) => head + String(parseDuration(decodeURIComponent(value), name)),
  );
}

/** The path and parameters of `scheme:./path?…` or `scheme:///abs/path?…`. */
function pathUrl(url: string, scheme: string, fallback: string): { path: string; params: URLSearchParams } {
  const rest = url.slice(scheme.length + 1);
  const query = rest.indexOf('?');
  const path = query < 0 ? rest : rest.slice(0, query);
  const params = new URLSearchParams(query < 0 ? '' : rest.slice(query + 1));
  if (path.startsWith('//') && !path.startsWith('///'))
    throw hostInPath(scheme, url, path.slice(2).split('/')[0] ?? '');
  return { path: path.startsWith('///') ? decodeURIComponent(path.slice(2)) : path || fallback, params };
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
  return Spool.create(await storeFor(url), options);
}

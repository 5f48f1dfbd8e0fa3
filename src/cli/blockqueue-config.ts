// BlockQueue's config.yaml as a `spool serve --config` file: its settings mapped to spool's, the
// ones with no meaning here noted (the server logs each note at start), and the ones spool cannot
// honour refused, naming the setting.
//
//   http.port          → --http 127.0.0.1:<port> (BlockQueue listens on every interface; spool
//                        on loopback unless told otherwise with --http, as everywhere)
//   http.driver        → sqlite: sqlite:<sqlite.db_name>?busyTimeout=<sqlite.busy_timeout>ms
//                        turso:  libsql:<turso.url> for a file (a remote Turso URL is refused)
//                        pgsql:  postgres://…@<pgsql.host>:<port>/<name>
//   logging.level      → --log-level; logging.type must be json (spool logs JSON lines)
//   http.shutdown, job.*, etcd.*, metric.*, pgsql.timezone and pool sizes: noted, no effect
import { ValidationError } from '../index.ts';
import type { RawSettings } from './settings.ts';

/** BlockQueue's top-level sections; a config object with any of them but `http` as a string is BlockQueue's. */
const sections = ['http', 'logging', 'sqlite', 'turso', 'pgsql', 'job', 'etcd', 'metric'];

export function isBlockQueueConfig(value: Record<string, unknown>): boolean {
  if (typeof value.http === 'object' && value.http !== null) return true;
  return ['logging', 'sqlite', 'turso', 'pgsql', 'etcd'].some((key) => key in value);
}

type Section = Record<string, unknown>;

/** A scalar setting as text (YAML may give a number where a name is meant), or `fallback`. */
function scalar(value: unknown, field: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new ValidationError(`--config ${field}`, `must be a string or a number, got ${JSON.stringify(value)}`);
}

export function fromBlockQueue(config: Record<string, unknown>): { settings: RawSettings; notes: string[] } {
  const notes: string[] = [];
  for (const key of Object.keys(config))
    if (!sections.includes(key))
      throw new ValidationError(
        `--config ${key}`,
        `not a BlockQueue config.yaml section (known: ${sections.join(', ')})`,
      );
  const section = (name: string): Section => {
    const value = config[name] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new ValidationError(`--config ${name}`, 'must be a section of settings');
    return value as Section;
  };
  const known = (name: string, keys: readonly string[]): Section => {
    const s = section(name);
    for (const key of Object.keys(s))
      if (!keys.includes(key))
        throw new ValidationError(`--config ${name}.${key}`, `unknown setting (known: ${keys.join(', ')})`);
    return s;
  };
  const http = known('http', ['port', 'driver', 'shutdown']);
  const logging = known('logging', ['level', 'type']);
  const settings: RawSettings = {};
  if (http.port !== undefined) {
    if (!Number.isSafeInteger(http.port) || (http.port as number) < 0 || (http.port as number) > 65535)
      throw new ValidationError('--config http.port', `must be a port number, got ${JSON.stringify(http.port)}`);
    settings.http = `127.0.0.1:${http.port as number}`;
  }
  settings.store = storeUrl(scalar(http.driver, 'http.driver', 'sqlite'), known, notes);
  if (logging.level !== undefined) settings.logLevel = logging.level;
  if (logging.type !== undefined && logging.type !== 'json')
    throw new ValidationError(
      '--config logging.type',
      `spool logs JSON lines only, got ${JSON.stringify(logging.type)}`,
    );
  if (http.shutdown !== undefined)
    notes.push(
      'http.shutdown: spool stops when requests in flight are answered, long-polls at once; no time-out to set',
    );
  if (Object.keys(known('job', ['producer_partition', 'consumer_partition'])).length > 0)
    notes.push('job.*_partition: spool has no partitions to size; ignored');
  if (Object.keys(known('etcd', ['path', 'sync'])).length > 0)
    notes.push('etcd.*: spool keeps everything in its one store, there is no second database; ignored');
  const metric = known('metric', ['enable']);
  if (metric.enable !== undefined) notes.push('metric.enable: spool always serves /metrics; ignored');
  return { settings, notes };
}

function storeUrl(driver: string, known: (name: string, keys: readonly string[]) => Section, notes: string[]): string {
  switch (driver) {
    case 'sqlite': {
      const sqlite = known('sqlite', ['db_name', 'busy_timeout']);
      const name = sqlite.db_name ?? 'blockqueue';
      if (typeof name !== 'string' || name === '')
        throw new ValidationError('--config sqlite.db_name', 'must be a file name');
      const busy = sqlite.busy_timeout;
      if (busy !== undefined && (!Number.isSafeInteger(busy) || (busy as number) < 0))
        throw new ValidationError('--config sqlite.busy_timeout', `must be milliseconds, got ${JSON.stringify(busy)}`);
      return `sqlite:${name}${busy === undefined ? '' : `?busyTimeout=${busy as number}ms`}`;
    }
    case 'turso': {
      const { url } = known('turso', ['url']);
      if (typeof url !== 'string') throw new ValidationError('--config turso.url', 'must be a libsql URL or a file');
      // spool's libsql: store opens local files; a remote database is no file several processes lock.
      if (/^(libsql|https?|wss?):/i.test(url))
        throw new ValidationError(
          '--config turso.url',
          'a remote Turso database is not supported: spool opens libSQL files (turso.url: file:./queue.db)',
        );
      return `libsql:${url.replace(/^file:/i, '')}`;
    }
    case 'pgsql': {
      const pg = known('pgsql', [
        'host',
        'username',
        'password',
        'name',
        'port',
        'timezone',
        'max_open_conns',
        'max_idle_conns',
      ]);
      const user = encodeURIComponent(scalar(pg.username, 'pgsql.username', 'postgres'));
      const secret = scalar(pg.password, 'pgsql.password', '');
      const password = secret === '' ? '' : `:${encodeURIComponent(secret)}`;
      const host = scalar(pg.host, 'pgsql.host', 'localhost');
      const port = scalar(pg.port, 'pgsql.port', '5432');
      const name = encodeURIComponent(scalar(pg.name, 'pgsql.name', 'blockqueue'));
      if (pg.timezone !== undefined)
        notes.push('pgsql.timezone: spool stores times as milliseconds since the epoch; ignored');
      if (pg.max_open_conns !== undefined || pg.max_idle_conns !== undefined)
        notes.push('pgsql.max_*_conns: the PostgreSQL store sizes its own pool; ignored');
      return `postgres://${user}${password}@${host}:${port}/${name}`;
    }
    default:
      throw new ValidationError(
        '--config http.driver',
        `must be sqlite, turso or pgsql, got ${JSON.stringify(driver)}`,
      );
  }
}

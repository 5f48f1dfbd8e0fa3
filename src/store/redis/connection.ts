// A connection string to ioredis clients: `redis://[user:password@]host:port[/db]`, `rediss://`
// (TLS) or `redis+cluster://` (a Redis Cluster, seed nodes separated by commas; database 0 only).
// spool's own settings ride in the query: `prefix` (default 'spool'), `replicateTimeout` (ms
// WAIT gives replicas, default 1000) and `timeout` (ms a call waits for an unreachable or silent
// server, default 10000).
import { Cluster, Redis } from 'ioredis';
import { redactUrl, ValidationError } from '../../errors.ts';
import { checkUrlParams } from '../contract.ts';
import type { Capabilities } from '../contract.ts';
import { reconnectDelayMs } from '../reconnect.ts';

export interface RedisSettings {
  readonly prefix: string;
  readonly replicateTimeoutMs: number;
  /** How long one call may wait for the server, reconnecting included, before it fails. */
  readonly timeoutMs: number;
  readonly cluster: boolean;
  /** A new client to the same server; each one has its own connection. `waitMs`: a command's longer wait of its own (WAIT). */
  readonly connect: (waitMs?: number) => Redis | Cluster;
}

// No auto-pipelining: ioredis holds every command issued while its pipeline awaits replies until
// they come back, so a producer's add waited out a worker's lease on the shared connection (and
// on `appendfsync always` its fsync); its per-call pipelines also lived long enough to be promoted,
// tripling the GC pauses of an idle worker. Calls of one tick are one script call anyway
// (TickBatch, AckBatcher).
//
// No offline queue, no resending, no retries inside ioredis (issue 20, defect 5): with them a call
// made while Redis was down waited out 20 reconnects (73 s) in the offline queue, and an add whose
// reply the dying connection lost was sent again on reconnect and stored twice. A command is sent
// once, on a ready connection, or fails at once; RedisStore waits for the connection and tries
// again itself, within `timeout`, and only where a second run is safe.
// No resubscribing inside ioredis either: its own SUBSCRIBE after a reconnect is a promise nobody
// holds, so a connection that dropped again before the answer (Redis restarting) rejected it
// unhandled, a MaxRetriesPerRequestError that ended the process. The Subscriber subscribes again
// itself on 'ready' (events.ts), and handles the failure.
// A Cluster's node connections take these too (`redisOptions`); ioredis gives each an offline
// queue and no reconnecting whatever it is told (the Cluster connects again), so a node's
// connection never resends either.
const connectionOptions = {
  lazyConnect: true,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
  maxRetriesPerRequest: 0,
  // How long a disconnect waits for the socket to close before destroying it: ioredis' 2 s held
  // a process whose Redis was gone that long after its store closed (spool serve, stopped
  // during an outage), the socket of a dead server never closing. A live one closes in a round trip.
  disconnectTimeout: 250,
} as const;

const clientOptions = {
  ...connectionOptions,
  enableOfflineQueue: false,
  // A lost connection is tried again every 200 ms at most (reconnect.ts), where ioredis' own
  // waits grow to 5 s: a server back after a long outage was found that late.
  retryStrategy: (attempt: number) => reconnectDelayMs(attempt),
} as const;

const defaultTimeoutMs = 10_000;

function milliseconds(params: URLSearchParams, name: string, otherwise: number): number {
  const ms = Number(params.get(name) ?? otherwise);
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new ValidationError(name, 'must be a whole number of milliseconds ≥ 1');
  return ms;
}

export function parseRedisUrl(url: string): RedisSettings {
  const match = /^([a-z+]+):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (match === null) throw new ValidationError('url', `not a redis URL: "${redactUrl(url)}"`);
  const [, scheme = '', authority = '', path = '', query = ''] = match;
  const params = new URLSearchParams(query);
  checkUrlParams(params, ['prefix', 'replicateTimeout', 'timeout']);
  const prefix = params.get('prefix') ?? 'spool';
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix))
    throw new ValidationError('prefix', `must be 1-100 letters, digits, '_', '.' or '-', got "${prefix}"`);
  const replicateTimeoutMs = milliseconds(params, 'replicateTimeout', 1000);
  const timeoutMs = milliseconds(params, 'timeout', defaultTimeoutMs);
  const db = database(path);
  if (scheme.toLowerCase() === 'redis+cluster') {
    if (db !== 0) throw new ValidationError('db', `a Redis Cluster has database 0 only, got "${path}"`);
    const at = authority.lastIndexOf('@');
    const [user, password] = at < 0 ? [] : authority.slice(0, at).split(':').map(decodeURIComponent);
    const nodes = (at < 0 ? authority : authority.slice(at + 1)).split(',').map((hostPort) => {
      const [host = '127.0.0.1', port = '6379'] = hostPort.split(':');
      return { host, port: Number(port) };
    });
    const credentials = { ...(user ? { username: user } : {}), ...(password ? { password } : {}) };
    return {
      prefix,
      replicateTimeoutMs,
      timeoutMs,
      cluster: true,
      connect: (waitMs = 0) =>
        offlineQueueWhileReady(
          new Cluster(nodes, {
            lazyConnect: true,
            // Not sent again by ioredis after a node's connection closed, which it did 100 ms later
            // whether or not the command had run there: a lease whose reply was lost ran twice and
            // leased the next job too. The store tries again itself where that is safe.
            retryDelayOnFailover: 0,
            // Refused, not run: the store tries again for `timeout`, where ioredis gave up after
            // 16 tries 100 ms apart.
            retryDelayOnClusterDown: 0,
            // A MOVED, ASK or TRYAGAIN is a refusal too (the node ran nothing): ioredis' own
            // redirections (16 at most) and TRYAGAIN waits stay.
            redisOptions: { ...connectionOptions, ...credentials, commandTimeout: timeoutMs + waitMs },
            // ioredis' own waits between tries to reach the cluster grow by 2 ms a try, to 2 s: 0.5 s
            // after a minute's outage, 1.5 s after ten (reconnect.ts).
            clusterRetryStrategy: (attempt: number) => reconnectDelayMs(attempt),
          }),
        ),
    };
  }
  const server = `${scheme}://${authority}`;
  return {
    prefix,
    replicateTimeoutMs,
    timeoutMs,
    cluster: false,
    // A command the server does not answer (a hung or partitioned server keeps the socket open) fails too.
    connect: (waitMs = 0) =>
      stayingOnItsDatabase(new Redis(server, { ...clientOptions, db, commandTimeout: timeoutMs + waitMs })),
  };
}

/**
 * `cluster`, whose offline queue is on only while it is ready. Off, a call made while the cluster
 * is unreachable fails at once ("Cluster isn't ready"), and the store tries it again within
 * `timeout`; on, ioredis held it until the cluster was back, for ever. Off while ready too, ioredis
 * refused every command for a master whose connection it was still making (it makes one at the
 * master's first command) with "Connection is closed.", nothing sent but no different from a cut
 * connection's: each of three runs of the cluster conformance suite failed a test so. ioredis reads the
 * option at each command, so a getter on its options decides it then.
 */
function offlineQueueWhileReady(cluster: Cluster): Cluster {
  Object.defineProperty(cluster.options, 'enableOfflineQueue', { get: () => cluster.status === 'ready' });
  return cluster;
}

/** The database the path of a URL names: none (or `/`) is 0. */
function database(path: string): number {
  if (path === '' || path === '/') return 0;
  const digits = /^\/(\d{1,9})$/.exec(path)?.[1];
  if (digits !== undefined) return Number(digits);
  // Past the host, as a password's raw '/' puts the rest of it (and the '@') in the path.
  const got = path.includes('@') ? 'a path with an @ in it (a "/" in a password is written %2F)' : `"${path}"`;
  throw new ValidationError('db', `the path of a redis URL is a database number (redis://host:6379/2), got ${got}`);
}

/** Whether `error` is the server's refusal of a SELECT (a database past its `databases`). */
const refusedSelect = (error: unknown): error is Error =>
  (error as { command?: { name?: unknown } } | null)?.command?.name === 'select';

/**
 * `client`, which drops a connection whose SELECT the server refused. ioredis reports that
 * refusal as an 'error' event and goes on, on database 0: `redis://…/99` on a server of 16
 * databases wrote to database 0. Dropped, the connection is tried again as after an outage.
 */
function stayingOnItsDatabase(client: Redis): Redis {
  client.on('error', (error: unknown) => {
    if (refusedSelect(error)) client.disconnect(true);
  });
  return client;
}

/**
 * A new client of `settings` (`waitMs` as in `connect`), connected, or the server's error at once
 * instead of retrying in the background; an error too when it is not ready within the timeout.
 */
export async function connected(settings: RedisSettings, waitMs?: number): Promise<Redis | Cluster> {
  const client = settings.connect(waitMs);
  let refused: Error | undefined;
  let first: Error | undefined;
  // Connection errors reach callers as rejected commands (StorageError); without a listener
  // ioredis would also print each reconnect attempt. The connect itself only says "Connection
  // is closed.", whatever closed it: the error that did is kept and thrown instead, so a wrong
  // password (WRONGPASS), a missing one (NOAUTH), an unknown host (ENOTFOUND) or no server
  // (ECONNREFUSED) are told apart. A refused SELECT comes first, whatever came before it.
  client.on('error', (error: unknown) => {
    if (refusedSelect(error)) refused ??= error;
    else if (error instanceof Error) first ??= error;
  });
  const connecting = client.connect();
  // Given up at the timeout, it may still reject when the disconnect below ends it.
  connecting.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  // A Cluster's connect never settled when no node it was told of could be reached (CLUSTER SLOTS
  // naming nodes by an empty host): RedisStore.open waited for ever, its connections kept open.
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(notReady(client, settings.timeoutMs))), settings.timeoutMs);
  });
  try {
    await Promise.race([connecting, late]);
    return client;
  } catch (error) {
    client.disconnect();
    throw refused ?? first ?? error;
  } finally {
    clearTimeout(timer);
  }
}

/** Why `client` is not ready after `timeoutMs`, as far as ioredis tells. */
function notReady(client: Redis | Cluster, timeoutMs: number): string {
  const what = `not ready within ${timeoutMs} ms`;
  if (!(client instanceof Cluster) || client.slots.length === 0) return what;
  // ioredis skips a node whose host is empty and waits for one it can reach, which never comes.
  const named = client.nodes('all').length;
  return named > 0
    ? what
    : `${what}: CLUSTER SLOTS named no node with a host (a node without cluster-announce-ip may report an empty one)`;
}

/** What a resolved write survives, from the server's persistence settings (unknown: none). */
export async function durability(client: Redis | Cluster): Promise<Capabilities['durable']> {
  try {
    const reply = (await client.call('CONFIG', 'GET', 'append*')) as string[];
    const config = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) config.set(reply[i] as string, reply[i + 1] as string);
    if (config.get('appendonly') !== 'yes') return 'none';
    // The AOF is written before the reply in every mode, so a server crash loses nothing;
    // only `always` fsyncs it before the reply too.
    return config.get('appendfsync') === 'always' ? 'power-loss' : 'process-crash';
  } catch {
    return 'none';
  }
}

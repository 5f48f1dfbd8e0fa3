// A connection string to ioredis clients: `redis://`, `rediss://` (TLS) or `redis+cluster://`
// (a Redis Cluster, seed nodes separated by commas). spool's own settings ride in the query:
// `prefix` (default 'spool') and `replicateTimeout` (ms WAIT gives replicas, default 1000).
import { Cluster, Redis } from 'ioredis';
import { redactUrl, ValidationError } from '../../errors.ts';
import { checkUrlParams } from '../contract.ts';
import type { Capabilities } from '../contract.ts';

export interface RedisSettings {
  readonly prefix: string;
  readonly replicateTimeoutMs: number;
  readonly cluster: boolean;
  /** A new client to the same server; each one has its own connection. */
  readonly connect: () => Redis | Cluster;
}

// No auto-pipelining: ioredis holds every command issued while its pipeline awaits replies until
// they come back, so a producer's add waited out a worker's lease on the shared connection (and
// on `appendfsync always` its fsync); its per-call pipelines also lived long enough to be promoted,
// tripling the GC pauses of an idle worker. Calls of one tick are one script call anyway
// (TickBatch, AckBatcher).
const clientOptions = { lazyConnect: true } as const;

export function parseRedisUrl(url: string): RedisSettings {
  const match = /^([a-z+]+):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (match === null) throw new ValidationError('url', `not a redis URL: "${redactUrl(url)}"`);
  const [, scheme = '', authority = '', path = '', query = ''] = match;
  const params = new URLSearchParams(query);
  checkUrlParams(params, ['prefix', 'replicateTimeout']);
  const prefix = params.get('prefix') ?? 'spool';
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix))
    throw new ValidationError('prefix', `must be 1-100 letters, digits, '_', '.' or '-', got "${prefix}"`);
  const timeout = Number(params.get('replicateTimeout') ?? 1000);
  if (!Number.isSafeInteger(timeout) || timeout < 1)
    throw new ValidationError('replicateTimeout', 'must be a whole number of milliseconds ≥ 1');
  if (scheme.toLowerCase() === 'redis+cluster') {
    const at = authority.lastIndexOf('@');
    const [user, password] = at < 0 ? [] : authority.slice(0, at).split(':').map(decodeURIComponent);
    const nodes = (at < 0 ? authority : authority.slice(at + 1)).split(',').map((hostPort) => {
      const [host = '127.0.0.1', port = '6379'] = hostPort.split(':');
      return { host, port: Number(port) };
    });
    const redisOptions = { ...(user ? { username: user } : {}), ...(password ? { password } : {}) };
    return {
      prefix,
      replicateTimeoutMs: timeout,
      cluster: true,
      connect: () => new Cluster(nodes, { lazyConnect: true, redisOptions }),
    };
  }
  const clean = `${scheme}://${authority}${path}`;
  return { prefix, replicateTimeoutMs: timeout, cluster: false, connect: () => new Redis(clean, clientOptions) };
}

/** Connects, or fails at once with the server's error instead of retrying in the background. */
export async function connected(client: Redis | Cluster): Promise<Redis | Cluster> {
  // Connection errors reach callers as rejected commands (StorageError); without a listener
  // ioredis would also print each reconnect attempt.
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.disconnect();
    throw error;
  }
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
